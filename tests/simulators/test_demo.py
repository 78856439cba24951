"""`onestop-sim demo`: a real edge on a simulated clock with simulated visitors."""

from __future__ import annotations

import base64
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

import httpx
import pytest

from edge.config import load
from simulators.demo import DEMO_CENTRAL_LOGIN, demo_start, halls_dir, pick_hall
from simulators.procs import port_in_use
from sync.kernel.calendar import HallCalendar
from tests.conftest import wait_until

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


def _get(url: str, auth: tuple[str, str] | None = None) -> object:
    req = urllib.request.Request(url)
    if auth is not None:  # central's API needs a login (HTTP Basic)
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_demo_runs_a_campus_and_stops_on_signal(tmp_path, stop_signal):
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [str(BIN / "onestop-sim"), "demo", "--speed", "60", "--seed", "7", "--config-dir", str(REPO_CONFIG),
         "--free-ports", "--data-dir", str(tmp_path / "demo")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=open(tmp_path / "stderr.txt", "w"), text=True,
    )
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], name="demo-stdout")
    reader.start()
    out: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while not any("up in" in x for x in out):
            assert time.monotonic() < deadline, f"the demo did not come up: {out}"
            assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
            try:
                out.append(lines.get(timeout=1))
            except queue.Empty:
                pass
        assert time.monotonic() - t0 < 60
        text = "".join(out)
        kiosks = re.findall(r"kiosk (http://127\.0\.0\.1:\d+)/kiosk", text)
        assert len(kiosks) == 3, text
        central = re.search(r"central\s+(http://127\.0\.0\.1:\d+)/", text).group(1)
        pids = [int(x) for x in os.listdir("/proc") if x.isdigit()]
        children = [p for p in pids if _parent(p) == proc.pid]
        assert len(children) >= 5, children  # broker, central, three halls

        assert {h["id"] for h in _get(f"{central}/api/halls", DEMO_CENTRAL_LOGIN)} >= {
            "north-staff", "north-student", "south-hall"}
        wait_until(lambda: all(sum(q["waiting"] for q in _get(f"{k}/api/queue")) or
                               any(w["state"] == "serving" for w in _get(f"{k}/api/windows")) for k in kiosks),
                   30, what="every hall to get visitors and staff", interval=0.5)
        wait_until(lambda: all(h["online"] and h["events"] > 0 for h in _get(f"{central}/api/halls", DEMO_CENTRAL_LOGIN)),
                   20, what="every hall online with events at central", interval=0.5)
        # the banner's dashboard login works and the live view shows every hall
        assert "admin / admin123" in text
        with httpx.Client(base_url=central, timeout=10, headers={"origin": central}) as web:  # as its login page
            r = web.post("/login", data={"username": "admin", "password": "admin123"}, follow_redirects=True)
            assert r.status_code == 200 and str(r.url).endswith("/live"), r.text[:300]
            for name in ("北校区学生事务大厅", "南校区综合服务大厅"):
                assert name in r.text

        proc.send_signal(stop_signal)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)
    for pid in children:
        assert not os.path.exists(f"/proc/{pid}") or _parent(pid) != proc.pid, "a node outlived the demo"
    for k in kiosks:
        assert not port_in_use("127.0.0.1", int(k.rsplit(":", 1)[1]))


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rpartition(")")[2].split()[1])
    except (OSError, ValueError, IndexError):
        return None
