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

# one xdist worker runs this file in order (its module-scoped fixtures are shared; `make test`)
pytestmark = pytest.mark.xdist_group("simulators.test_demo")

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


# ---------------------------------------------------------------- banner, progress, supervision


def _node(hall: str):
    from simulators.demo import HallNode
    from simulators.procs import EdgeProcess

    path = halls_dir(REPO_CONFIG) / f"{hall}.toml"
    cfg = load(path)
    edge = EdgeProcess(path, Path("/nonexistent"), "127.0.0.1", 8101)
    return HallNode(cfg, path, edge, proxy=type("P", (), {"is_cut": True})())


def test_demo_progress_line_under_100_characters():
    from simulators.campus import HallSim
    from simulators.demo import progress_line

    h = _node("north-student")
    h.sim = HallSim(h.cfg, "http://127.0.0.1:9", __import__("random").Random(1))
    try:
        h.sim_t0, h.real_t0 = datetime(2026, 11, 23, 9, 12, tzinfo=SH), time.monotonic()
        h.sim.stats.issued, h.sim.stats.served, h.sim.waiting = 999, 998, {"a": 60, "b": 39}
        line = progress_line(h, 10, {"online": False, "events": 99_999}, 9_999)
    finally:
        h.sim.close()
    assert line.startswith("north-student 09:12 tickets 999 served 998 waiting 99 · cut, offline · backlog 9999")
    assert len(line) < 100, (len(line), line)


def test_demo_banner_logins_match_the_configuration():
    """Every login the banner prints is checked against the configuration's hashes: central's
    three users and one manager per hall; and a console example whose PIN is the demo's."""
    from simulators.demologins import DEMO_PIN, central_logins, hall_logins
    from sync.kernel.passwords import verify_secret

    found, unknown = central_logins(REPO_CONFIG / "central.toml", "http://c")
    assert [(x.name, x.password) for x in found] == [("admin", "admin123"), ("academic-head", "dept123"),
                                                     ("south-manager", "hall123")] and not unknown
    nodes = [_node(h) for h in ("north-staff", "north-student", "south-hall")]
    managers, unknown = hall_logins(nodes)
    assert len(managers) == 3 and not unknown
    staff = nodes[0].cfg.business.staff[0]
    assert verify_secret(staff.pin_hash, DEMO_PIN)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One demo for the tests below, started as a user would with .venv/bin NOT on PATH; its
    output lines (a list growing in a reader thread); SIGTERM at the end must stop it with 0."""
    tmp = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "PATH": os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                                                 if Path(p).resolve() != BIN.resolve())}
    proc = subprocess.Popen(
        [str(BIN / "onestop-sim"), "demo", "--speed", "60", "--seed", "11", "--config-dir", str(REPO_CONFIG),
         "--free-ports", "--data-dir", str(tmp / "data")],
        cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=open(tmp / "stderr.txt", "w"), text=True)
    out: list[str] = []
    reader = threading.Thread(target=lambda: [out.append(x) for x in proc.stdout], name="demo-out", daemon=True)
    reader.start()
    try:
        wait_until(lambda: any("up in" in x for x in out) or proc.poll() is not None, 60,
                   what=lambda: f"the demo to come up: {''.join(out)} {(tmp / 'stderr.txt').read_text()}")
        assert proc.poll() is None, (tmp / "stderr.txt").read_text()
        yield {"proc": proc, "out": out, "cwd": tmp, "env": env}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)


def _banner(demo) -> str:
    text = "".join(demo["out"])
    return text[:text.index("up in")]


@pytest.mark.slow
def test_demo_banner_commands_run_as_printed(demo):
    """The outage and heal commands run exactly as printed, in the demo's directory, with the
    venv's bin/ not on PATH (no `command not found`)."""
    banner = _banner(demo)
    cut = re.search(r"^  outage:\s+(.+)$", banner, re.M).group(1)
    heal = re.search(r"^  heal:\s+(.+)$", banner, re.M).group(1)
    assert "--hall north-staff" in cut and "--heal" in heal
    for cmd, said in ((cut, "cut off from the broker"), (heal, "reconnected")):
        r = subprocess.run(cmd, shell=True, cwd=demo["cwd"], env=demo["env"], capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0 and said in r.stdout, (cmd, r.stdout, r.stderr)


@pytest.mark.slow
def test_demo_banner_logins_work(demo):
    """Every `name / password` the banner prints logs in where it says: central's dashboard
    (to the live view) and each hall's manager API."""
    banner = _banner(demo)
    central = re.search(r"central dashboard (http://\S+)/login\n((?:      .+\n)+)", banner)
    logins = re.findall(r"^      (\S+) / (\S+) ", central.group(2), re.M)
    assert {n for n, _ in logins} == {"admin", "academic-head", "south-manager"}
    base = central.group(1)
    for name, password in logins:
        with httpx.Client(base_url=base, timeout=10, headers={"origin": base}) as web:
            r = web.post("/login", data={"username": name, "password": password}, follow_redirects=True)
            assert r.status_code == 200 and str(r.url).endswith("/live"), (name, r.status_code)
    managers = re.findall(r"^      (\S+) / (\S+) .* \(([a-z-]+)\)$", banner.split("hall settings")[1], re.M)
    assert len(managers) == 3
    kiosks = dict(re.findall(r"\((\S+)\)\n     kiosk (http://\S+)/kiosk", banner))
    for name, password, hall in managers:
        with httpx.Client(base_url=kiosks[hall], timeout=10, headers={"origin": kiosks[hall]}) as web:
            r = web.post("/api/login", json={"manager": name, "password": password})
            assert r.status_code == 200 and r.json()["manager"] == name, (hall, r.text)


@pytest.mark.slow
def test_demo_restarts_a_stopped_hall_and_keeps_running(demo):
    """A hall's process killed: the demo says so once, restarts it on its port, says so, and
    goes on (no flood of `Connection refused` lines from the simulated people)."""
    proc, out = demo["proc"], demo["out"]
    kiosk = re.search(r"\(south-hall\)\n     kiosk (http://\S+)/kiosk", _banner(demo)).group(1)
    edge = next(p for p in _children(proc.pid) if "south-hall.toml" in _cmdline(p))
    start = len(out)
    os.kill(edge, signal.SIGKILL)
    wait_until(lambda: any("south-hall restarted" in x for x in out[start:]), 30, interval=0.2,
               what=lambda: "a restart report: " + "".join(out[start:]))
    later = "".join(out[start:])
    assert "south-hall stopped (killed by SIGKILL)" in later
    assert later.count("Connection refused") <= 1, later
    assert proc.poll() is None  # the demo goes on
    assert _get(f"{kiosk}/api/health")["status"] == "ok"
    restarted = next(p for p in _children(proc.pid) if "south-hall.toml" in _cmdline(p))
    assert restarted != edge
    wait_until(lambda: any(x.startswith("south-hall ") and "online" in x for x in out[start:]), 20, interval=0.2,
               what="a progress line with the restarted hall online")
    progress = [x for x in out if " tickets " in x]
    assert progress and all(len(x.rstrip("\n")) < 100 for x in progress), max(progress, key=len)


def _children(pid: int) -> list[int]:
    return [int(x) for x in os.listdir("/proc") if x.isdigit() and _parent(int(x)) == pid]


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_demo_prints_a_phone_page_link_that_opens(demo):
    """The demo points each hall's `public_url` at where it serves it and prints the phone page of
    the first hall's first number (its slip's QR code) once a visitor took one."""
    found = wait_until(lambda: re.search(r"phone page of the first number at (\S+) \(its slip's QR code\): (\S+)",
                                         "".join(demo["out"])), 60, what="the phone-page link", interval=0.5)
    kiosk = re.search(r"\(" + re.escape(found.group(1)) + r"\)\n     kiosk (http://\S+)/kiosk", _banner(demo)).group(1)
    assert found.group(2).startswith(kiosk + "/m/")
    r = httpx.get(found.group(2), timeout=10)
    assert r.status_code == 200 and "您的号码" in r.text and 'id="live"' in r.text
