"""The campus simulation end to end: a simulated morning at high speed, then central's merged
events for each hall must equal that hall's own log (every epoch) once the backlog drained."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from simulators.demo import DEMO_CENTRAL_LOGIN, Campus, DemoOptions
from tests.conftest import EVENTS_TOKEN, wait_until

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"
MONDAY = datetime(2026, 11, 23, 7, 55, tzinfo=ZoneInfo("Asia/Shanghai"))


EDGE_READ = {"Authorization": f"Bearer {EVENTS_TOKEN}"}


def hall_keys(base: str) -> set[tuple]:
    out = set()
    with httpx.Client(base_url=base, timeout=10, headers=EDGE_READ) as c:
        for ep in c.get("/api/health").json()["epochs"]:
            after = 0
            while page := c.get("/api/events", params={"after": after, "limit": 1000, "epoch": ep["epoch"]}).json():
                out |= {(e["epoch"], e["seq"], e["id"]) for e in page}
                after = page[-1]["seq"]
    return out


def central_keys(base: str, hall: str) -> list[tuple]:
    out, after = [], 0
    with httpx.Client(base_url=base, timeout=10, auth=DEMO_CENTRAL_LOGIN) as c:  # central's API needs a login
        while page := c.get("/api/events", params={"hall": hall, "after": after, "limit": 5000}).json():
            out += [(e["epoch"], e["seq"], e["event_id"]) for e in page]
            after = page[-1]["id"]  # without an epoch, `after` is central's row id
    return out


def wait_converged(campus: Campus, timeout: float) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        sizes, ok = {}, True
        for h in campus.halls:
            want, got = hall_keys(h.edge.base_url), central_keys(campus.central_url, h.cfg.hall.id)
            sizes[h.cfg.hall.id] = len(want)
            ok &= len(got) == len(set(got)) and set(got) == want
        if ok:
            return sizes
        assert time.monotonic() < deadline, f"central did not converge: halls {sizes}"
        time.sleep(0.5)


@pytest.mark.slow
@pytest.mark.soak  # a simulation at 400x: it needs the machine to itself (the soak step runs alone)
def test_campus_morning_central_equals_hall_logs(tmp_path):
    opts = DemoOptions(speed=400, seed=11, config_dir=REPO_CONFIG, data_dir=tmp_path / "demo", free_ports=True,
                       clock_start=MONDAY, until=MONDAY.replace(hour=11, minute=0))
    campus = Campus(opts, log=lambda _line: None)
    try:
        campus.start()
        assert len(campus.halls) == 3
        campus.run_people()
        wait_until(campus.people_done, 60, what=lambda: f"the simulated people to finish: {campus.progress()}", interval=0.5)
        stats = {h.cfg.hall.id: h.sim.stats for h in campus.halls}
        assert all(s.issued > 20 and s.served > 10 for s in stats.values()), stats
        assert sum(s.ratings for s in stats.values()) > 0
        outcomes = sum((s.outcomes for s in stats.values()), start=type(stats["south-hall"].outcomes)())
        assert outcomes["instant"] > 0 and len(outcomes) >= 3, outcomes
        sizes = wait_converged(campus, 30)
        assert all(n > 50 for n in sizes.values()), sizes
        kinds = {e["kind"] for e in httpx.get(campus.halls[1].edge.base_url + "/api/events", headers=EDGE_READ,
                                              params={"limit": 1000}).json()}
        assert {"attendance.punch", "window.signed_on", "ticket.completed", "window.paused"} <= kinds, kinds
    finally:
        campus.stop()


def central_events(base: str, hall: str, kinds: set[str]) -> list[dict]:
    out, after = [], 0
    with httpx.Client(base_url=base, timeout=10, auth=DEMO_CENTRAL_LOGIN) as c:
        while page := c.get("/api/events", params={"hall": hall, "after": after, "limit": 5000}).json():
            out += [e for e in page if e["kind"] in kinds]
            after = page[-1]["id"]
    return out


@pytest.mark.slow
@pytest.mark.soak
def test_campus_two_days_closing_leave_cases_and_sign_off_while_paused_reach_central(tmp_path):
    """A simulated Monday and Tuesday, opening to after closing. Monday: every hall's closing check
    first fails on the door left open (naming it), alarms, then passes once it is shut; staff
    badge out after the last period. Over the two days the halls' leave cycle
    (simulators.campus.LEAVE_CYCLE) produces each leave case and central holds it: same-day sick
    leave with the A→B hand-over [C 7, AB-2], an absence filed the next day after the fact
    [J 28], annual leave approved with the home department's consent [C 9(3)], 销假 at the
    return [C 9]; a step-away over the limit ended by a sign-off while paused [C 9(4)]; and at
    the hall manager's desk a complaint taken at the reflection window [J 35, C 19] and a manual
    closing check [J 42, U 31]."""
    opts = DemoOptions(speed=600, seed=5, config_dir=REPO_CONFIG, data_dir=tmp_path / "demo", free_ports=True,
                       clock_start=MONDAY, until=MONDAY.replace(day=24, hour=19, minute=45))
    campus = Campus(opts, log=lambda _line: None)
    leave_kinds = {"leave.requested", "leave.approved", "leave.ended", "window.resumed", "complaint.received"}
    try:
        campus.start()
        campus.run_people()
        wait_until(campus.people_done, 420, what=lambda: f"the simulated people to finish: {campus.progress()}", interval=0.5)
        wait_converged(campus, 60)
        leave: list[dict] = []
        manual: list[dict] = []
        for h in campus.halls:
            hid = h.cfg.hall.id
            doors = [n for n, p in h.cfg.devices.pins.items() if p.role == "door"]
            evs = central_events(campus.central_url, hid, {"closing.checked", "closing.alarm", "attendance.punch"} | leave_kinds)
            leave += [e for e in evs if e["kind"] in leave_kinds]
            checks = [e["body"] for e in evs if e["kind"] == "closing.checked" and e["body"]["service_date"] == "2026-11-23"
                      and not e["body"].get("manual")]
            manual += [e["body"] for e in evs if e["kind"] == "closing.checked" and e["body"].get("manual")]
            alarms = [e["body"] for e in evs if e["kind"] == "closing.alarm"]
            outs = [e["body"] for e in evs if e["kind"] == "attendance.punch" and e["body"]["kind"] == "out"]
            if any(r.role == "hall" for r in h.cfg.devices.readers):
                assert outs, f"{hid}: nobody badged out"
            if not doors:
                continue
            assert checks and not checks[0]["ok"], f"{hid}: {checks}"
            assert [f["name"] for f in checks[0]["failed"]] == [doors[-1]], checks[0]
            assert alarms and alarms[0]["repeat"] == 1, f"{hid}: no alarm"
            assert checks[-1]["ok"], f"{hid}: the check never passed: {checks}"
        bodies = lambda kind: [e["body"] for e in leave if e["kind"] == kind]  # noqa: E731
        requested = bodies("leave.requested")
        approved = bodies("leave.approved")
        assert any(r.get("after_the_fact") and r["leave_kind"] == "personal" for r in requested), requested  # J 28
        assert any(a.get("approver") == "department" for a in approved), approved  # C 9(3)
        assert any(any(x["stand_in"] for x in a.get("handover", [])) for a in approved), approved  # C 7, AB-2
        assert bodies("leave.ended"), "no 销假"  # C 9
        assert any(r.get("via") == "sign-off" and r.get("over_limit") for r in bodies("window.resumed")), \
            bodies("window.resumed")  # C 9(4)
        assert bodies("complaint.received"), "no complaint taken at a hall"  # J 35, C 19
        assert any(m["ok"] for m in manual), manual  # J 42, U 31
        with httpx.Client(base_url=campus.central_url, timeout=10, headers={"origin": campus.central_url}) as web:
            r = web.post("/login", data={"username": "admin", "password": "admin123"}, follow_redirects=True)
            assert r.status_code == 200 and all(h.cfg.hall.name in r.text for h in campus.halls)
    finally:
        campus.stop()


@pytest.mark.slow
@pytest.mark.soak
def test_campus_winter_duty_day_only_the_roster_signs_on_and_central_holds_it(tmp_path):
    """J 29, U 22, B 29: on 2027-01-19, a duty day of the winter vacation, north-student opens
    only the windows of its duty roster (config/halls/north-student.toml `[[business.duty]]`)
    and only the rostered staff sign on there — a duty-only staff member as role "duty"; central
    holds those sign-ons. The halls without a roster open as usual."""
    duty_day = datetime(2027, 1, 19, 8, 20, tzinfo=ZoneInfo("Asia/Shanghai"))
    opts = DemoOptions(speed=600, seed=7, config_dir=REPO_CONFIG, data_dir=tmp_path / "demo", free_ports=True,
                       clock_start=duty_day, until=duty_day.replace(hour=11, minute=45))
    campus = Campus(opts, log=lambda _line: None)
    try:
        campus.start()
        campus.run_people()
        wait_until(campus.people_done, 120, what=lambda: f"the simulated people to finish: {campus.progress()}", interval=0.5)
        wait_converged(campus, 60)
        hall = next(h for h in campus.halls if h.cfg.hall.id == "north-student")
        rostered = {(w, s) for entry in hall.cfg.business.duty if duty_day.date() in entry.days
                    for w in entry.windows for s in entry.staff}
        ons = [e["body"] for e in central_events(campus.central_url, "north-student", {"window.signed_on"})]
        assert ons, "nobody signed on at north-student"
        assert {(b["window"], b["staff"]) for b in ons} <= rostered, (ons, rostered)
        # 20220301 is on the roster only (neither A nor B): a duty sign-on; a rostered colleague
        # who is also the window's A or B signs on in that role
        assert {b.get("role") for b in ons if b["staff"] == "20220301"} == {"duty"}, ons
        others = [e["body"] for h in campus.halls if h is not hall
                  for e in central_events(campus.central_url, h.cfg.hall.id, {"window.signed_on"})]
        assert others and {b.get("role", "A") for b in others} <= {"A", "B"}
    finally:
        campus.stop()


@pytest.mark.slow
def test_campus_on_the_embedded_amqtt_broker(tmp_path):
    """Where mosquitto is not installed the demo runs on amqtt (MQTT 3.1.1): the same campus
    converges at central."""
    opts = DemoOptions(speed=400, seed=3, config_dir=REPO_CONFIG, data_dir=tmp_path / "demo", free_ports=True,
                       broker="amqtt", clock_start=MONDAY, until=MONDAY.replace(hour=9, minute=30))
    campus = Campus(opts, log=lambda _line: None)
    try:
        campus.start()
        assert campus.broker.name.startswith("amqtt") and campus.protocol == 4
        campus.run_people()
        wait_until(campus.people_done, 60, what=lambda: f"the simulated people to finish: {campus.progress()}", interval=0.5)
        sizes = wait_converged(campus, 30)
        assert all(n > 20 for n in sizes.values()), sizes
    finally:
        campus.stop()
