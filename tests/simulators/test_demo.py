"""`onestop-sim demo`: a real edge on a simulated clock with simulated visitors."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.config import load
from simulators.demo import demo_start, halls_dir, pick_hall
from simulators.procs import free_port, port_in_use
from sync.calendar import HallCalendar

BIN = Path(sys.executable).parent
REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"
SH = ZoneInfo("Asia/Shanghai")


def _calendar() -> HallCalendar:
    return HallCalendar(load(pick_hall(halls_dir(REPO_CONFIG), None)).business.calendar)


def test_demo_start_now_when_open():
    cal = _calendar()
    monday = datetime(2026, 11, 23, 9, 15, 30, 123, tzinfo=SH)
    assert demo_start(cal, monday) == monday.replace(microsecond=0)


def test_demo_start_next_opening_when_closed():
    cal = _calendar()
    sunday = datetime(2026, 11, 22, 10, 0, tzinfo=SH)
    assert demo_start(cal, sunday) == datetime(2026, 11, 23, 8, 0, tzinfo=SH)


def test_demo_start_skips_a_period_about_to_end():
    cal = _calendar()
    late_morning = datetime(2026, 11, 23, 11, 20, tzinfo=SH)  # the morning period ends at 11:30
    assert demo_start(cal, late_morning) == datetime(2026, 11, 23, 13, 0, tzinfo=SH)


def test_demo_pick_hall_prefers_the_hall_with_devices(tmp_path):
    folder = halls_dir(REPO_CONFIG)
    assert pick_hall(folder, None).name == "north-student.toml"  # it has readers and pins for /sim
    for name in ("b.toml", "a.toml"):
        (tmp_path / name).write_text("")
    assert pick_hall(tmp_path, None).name == "a.toml"  # otherwise the first, sorted


def _get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_demo_serves_issues_tickets_and_stops_on_signal(tmp_path, stop_signal):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [str(BIN / "onestop-sim"), "demo", "--speed", "120", "--seed", "7", "--config-dir", str(REPO_CONFIG),
         "--http", f"127.0.0.1:{port}"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=open(tmp_path / "stderr.txt", "w"), text=True,
    )
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], name="demo-stdout")
    reader.start()
    out: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while not any("/kiosk" in x for x in out):
            assert time.monotonic() < deadline, f"no kiosk URL printed: {out}"
            assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
            try:
                out.append(lines.get(timeout=1))
            except queue.Empty:
                pass
        assert any(f"{base}/kiosk" in x for x in out)
        edge_pid = int(re.search(r"pid (\d+)", "".join(out)).group(1))
        assert (tmp_path / "var" / "demo").is_dir()

        assert _get(f"{base}/api/health")["status"] == "ok"
        deadline = time.monotonic() + 20
        while sum(q["waiting"] for q in _get(f"{base}/api/queue")) == 0:
            assert time.monotonic() < deadline, "the simulated visitors took no number"
            time.sleep(0.2)

        proc.send_signal(stop_signal)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)
    assert not os.path.exists(f"/proc/{edge_pid}"), "the edge process outlived the demo"
    assert not port_in_use("127.0.0.1", port)
