"""`onestop-sim bench edge` against a real edge process, and the statistics it reports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulators.bench import percentile, summarize

BIN = Path(sys.executable).parent


def test_bench_percentile_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0


def test_bench_summarize_reports_milliseconds():
    s = summarize([0.001, 0.002, 0.010], errors=1, rate=20)
    assert s["p50"] == 2.0 and s["max"] == 10.0 and s["requests"] == 3 and s["errors"] == 1


@pytest.mark.slow
def test_bench_edge_json_has_sane_figures():
    r = subprocess.run(
        [str(BIN / "onestop-sim"), "bench", "edge", "--tickets", "300", "--rate", "20", "--seconds", "2", "--json"],
        capture_output=True, text=True, timeout=90,
    )
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    for phase in ("health_latency_ms", "ticket_latency_ms"):
        s = result[phase]
        assert s["requests"] == 40 and s["errors"] == 0
        assert 0 < s["p50"] <= s["p90"] <= s["p99"] <= s["max"]
        assert s["edge_cpu_ms"] > 0
    assert result["throughput"]["tickets"] == 300 - 40 - result["options"]["warmup_tickets"]
    assert result["throughput"]["tickets_per_s"] > 0 and result["throughput"]["errors"] == 0
    assert result["memory_mb"]["rss"] > 0 and result["memory_mb"]["tickets"] == 300
    # every ticket was committed and is waiting in the hall's queues
    assert result["tickets_issued"] == result["tickets_waiting"] == 300
    assert result["edge"]["exit_code"] == 0 and not result["edge"]["killed"]
    assert {t["name"] for t in result["targets"]} and all(isinstance(t["pass"], bool) for t in result["targets"])
    assert "PASS" in r.stderr or "FAIL" in r.stderr  # the table went to stderr


def test_bench_edge_pins_the_edge_to_the_cores_asked():
    """--edge-cpus 0: the hall on one core (closer to a Pi 4 whose other cores are busy)."""
    r = subprocess.run(
        [str(BIN / "onestop-sim"), "bench", "edge", "--tickets", "120", "--rate", "20", "--seconds", "1",
         "--no-devices", "--edge-cpus", "0", "--json"], capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["edge"]["cpus"] == [0] and result["options"]["edge_cpus"] == "0"
    assert result["throughput"]["tickets_per_s"] > 0 and result["tickets_issued"] == 120
