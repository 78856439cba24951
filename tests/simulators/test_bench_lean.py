"""`onestop-sim bench edge --lean` against a real edge process (this environment's, not a fresh
venv: building one takes a minute and the network or pip's cache): start-up to /api/health, RSS
after tickets, the import profile, and the targets it prints."""

from __future__ import annotations

import sys
from pathlib import Path

from simulators import bench_lean
from simulators.procs import edge_command

BIN = Path(sys.executable).parent


def test_bench_lean_measures_startup_and_rss_of_a_real_edge(tmp_path):
    m = bench_lean.measure(edge_command(), tmp_path, tickets=60, starts=2, label="test")
    s = m["startup_s"]
    assert s["runs"] == 2 and 0 < s["min"] <= s["median"] <= s["max"] < 60 and 0 < s["cpu_median"]
    assert m["tickets"] == 60 and m["errors"] == 0
    assert 10 < m["idle_rss_mb"] <= m["peak_rss_mb"] and m["rss_mb"] <= m["peak_rss_mb"]


def test_bench_lean_import_profile_lists_the_edge_and_no_printer_library(tmp_path):
    profile = bench_lean.import_profile(BIN, tmp_path)
    assert profile["modules"] > 100 and {"edge", "litestar", "peewee"} <= set(profile["imported"])
    # the bench hall has no printer: python-escpos (Pillow, qrcode, pyusb) is not loaded at start
    assert set(profile["imported"]).isdisjoint({"escpos", "PIL", "qrcode", "usb", "segno"})
    # this environment is the developer's (central's and the test packages installed): the hall
    # loads only what its libraries probe for when present (peewee psycopg2, litestar pydantic)
    assert set(profile["not_edge"]) <= {"psycopg2", "pydantic"}
    assert "amqtt" not in profile["imported"] and "xlsxwriter" not in profile["imported"]


def test_bench_lean_targets_pass_and_fail_by_the_numbers():
    def setting(startup: float, rss: float, tickets: int = 10_000) -> dict:
        return {"startup_s": {"median": startup}, "rss_mb": rss, "tickets": tickets}

    r = {"all_cores": setting(1.2, 61.0), "one_core": setting(2.5, 70.0)}
    verdicts = [g["pass"] for g in bench_lean.targets(r)]
    assert verdicts == [True, True, False, False]
    assert [g["pass"] for g in bench_lean.targets({"all_cores": setting(1.0, 50.0, tickets=500)})] == [True, False]
