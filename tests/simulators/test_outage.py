"""`onestop-sim outage`: a hall of the running demo cut off the broker, then healed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from simulators.demo import Campus, DemoOptions
from simulators.outage import main as outage_main, parse_duration
from tests.conftest import wait_until

from .test_campus import wait_converged

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"
MONDAY = datetime(2026, 11, 23, 8, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_outage_parse_duration():
    assert parse_duration("2m") == 120
    assert parse_duration("90s") == parse_duration("90") == 90
    assert parse_duration("1m30s") == 90
    for bad in ("", "2x", "-1m", "0s"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_outage_without_a_demo_says_so(tmp_path, capsys):
    assert outage_main(["--hall", "north-staff", "--for", "1m", "--data-dir", str(tmp_path)]) == 1
    assert "no running demo" in capsys.readouterr().err


@pytest.mark.slow
def test_outage_cuts_a_hall_off_and_heals(tmp_path):
    data = tmp_path / "demo"
    campus = Campus(DemoOptions(speed=60, seed=3, config_dir=REPO_CONFIG, data_dir=data, free_ports=True,
                                halls=["north-staff", "south-hall"], clock_start=MONDAY), log=lambda _l: None)
    try:
        campus.start()
        campus.run_people()
        hall = campus.halls[0]
        hid = hall.cfg.hall.id
        wait_until(lambda: campus.central_halls().get(hid, {}).get("online"), 20, interval=0.2,
                   what="the hall online at central")

        assert outage_main(["--hall", hid, "--for", "12s", "--data-dir", str(data)]) == 0
        wait_until(lambda: not campus.central_halls()[hid]["online"], 10, interval=0.2,
                   what="central to show the hall offline")
        # the hall keeps serving: numbers are taken and its backlog grows
        with httpx.Client(base_url=hall.edge.base_url, timeout=5) as c:
            # numbers only for a department with a window open (rules.issue_without_open_window)
            dept = wait_until(lambda: next((w["department"] for w in c.get("/api/windows").json() if w.get("staff")),
                                           None), 20, interval=0.2, what="a window with staff signed on")
            for _ in range(3):
                assert c.post("/api/tickets", json={"department": dept}).status_code == 201
            assert wait_until(lambda: c.get("/api/health").json()["sync"]["pending"], 5, interval=0.2,
                              what="a backlog") > 0
        assert campus.halls[1].cfg.hall.id and campus.central_halls()[campus.halls[1].cfg.hall.id]["online"]

        # healed after 12 s: online again, the backlog drains, central holds exactly the halls' logs
        wait_until(lambda: campus.central_halls()[hid]["online"], 30, interval=0.2, what="the hall back online")
        campus.stop_event.set()  # people stop; the nodes keep running
        for h in campus.halls:
            h.thread.join(10)
        wait_converged(campus, 30)
        assert httpx.get(hall.edge.base_url + "/api/health").json()["sync"]["pending"] == 0
    finally:
        campus.stop()
