"""One schedule (sync.kernel.schedule) drives who is expected, at the hall and at central: a week
of a real hall's attendance (punches on the injected clock, the manager opening and withdrawing a
flexible window), its event log ingested at central, and both sides' figures compared day by day;
and a sign-off during a pause judged by the step-away limit at both ends.

The test hall: W1 s-li, W2 s-wang (fixed, academic), W3 s-qian (fixed, finance), W4 s-sun
(periodic: Tuesdays and Thursdays [B 7, B 10]), W5 flexible (机动窗口 [J 9]) with s-ma added as
its A-role staff; s-zhao is B-role only.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from central import reports as rp
from central.config import load as load_central
from central.facts.sources import Raw, source
from central.projections import Directory
from edge import attendance, windows
from sync.contract import wire
from tests.central.data import USERS_TOML
from tests.conftest import HALL_TOML, SH

MONDAY = date(2026, 11, 23)
WEEK = [MONDAY + timedelta(days=i) for i in range(5)]  # Mon..Fri (Wed 11-25 closes at 13:00)
SATURDAY = MONDAY + timedelta(days=5)

MA = """
[[business.staff]]
id = "s-ma"
name = "马丽"
department = "academic"
windows = ["W5"]
"""

CARDS = {"s-li": "0A00C3D2F1", "s-wang": "0B00000001", "s-qian": "0B00000002", "s-sun": "0B00000003",
         "s-ma": "0B00000004", "s-zhao": "0B00000005"}


def hall_toml() -> str:
    text = HALL_TOML
    for staff, card in CARDS.items():
        if staff == "s-li":
            continue
        text = text.replace(f'id = "{staff}"\n', f'id = "{staff}"\ncard = "{card}"\n', 1)
    managers = text.index("[[business.managers]]")
    return text[:managers] + MA.replace('windows = ["W5"]', f'windows = ["W5"]\ncard = "{CARDS["s-ma"]}"') \
        + "\n" + text[managers:]


@pytest.fixture
def week(tmp_path: Path, clock):
    """The hall after the week: (hall, its events as one wire batch)."""
    from edge.config import load
    from edge.hall import Hall

    p = tmp_path / "hall.toml"
    p.write_text(hall_toml(), encoding="utf-8")
    h = Hall(load(p), tmp_path / "data", clock)
    h.start()
    try:
        def punch(staff: str, day: date, hh: int, mm: int) -> None:
            clock.set(datetime(day.year, day.month, day.day, hh, mm, tzinfo=SH))
            h.call(attendance.punch, "hall-reader", CARDS[staff])

        def manager(day: date, hh: int, fn) -> None:
            clock.set(datetime(day.year, day.month, day.day, hh, 0, tzinfo=SH))
            h.call(fn, "W5", "manager")

        for day in WEEK:
            for staff in ("s-li", "s-wang"):
                punch(staff, day, 7, 55)
                punch(staff, day, 16, 35)
        for day in (WEEK[0], WEEK[1], WEEK[3], WEEK[4]):  # s-qian (fixed W3) misses Wednesday: absent
            punch("s-qian", day, 7, 55)
            punch("s-qian", day, 16, 35)
        punch("s-sun", WEEK[1], 7, 55)  # Tuesday only: Thursday he is absent, Mon/Wed/Fri W4 is closed
        punch("s-sun", WEEK[1], 16, 35)
        manager(WEEK[2], 9, windows.open_window)  # W5 opened on Wednesday morning ...
        punch("s-ma", WEEK[2], 9, 5)
        punch("s-ma", WEEK[2], 16, 35)
        manager(WEEK[2], 18, windows.withdraw_window)  # ... withdrawn that evening
        clock.set(datetime(SATURDAY.year, SATURDAY.month, SATURDAY.day, 9, 0, tzinfo=SH))
        reports = {day: h.call(attendance.day_report, day) for day in WEEK}
        batch = batch_of(h)
    finally:
        h.stop()
    return reports, batch, central_directory(tmp_path)


def batch_of(h) -> bytes:
    """The hall's whole log as one wire batch, as the replicator would send it."""
    rows = h.call(lambda ctx: ctx.store.event_rows(ctx.store.epoch, 0, 10_000))
    epoch = h.call(lambda ctx: ctx.store.epoch)
    events = [wire.WireEvent(seq=r[0], id=r[1], kind=r[2], schema=r[3], body=r[4], ts=r[5], boot=r[6], mono=r[7],
                             clock=r[8]) for r in rows]
    return wire.encode(wire.Batch(v=wire.V, hall="test-hall", epoch=epoch, events=events, sent=0))


def central_directory(tmp_path: Path) -> Directory:
    """Central's view of the same hall configuration."""
    cfg = tmp_path / "cfg"
    (cfg / "halls").mkdir(parents=True)
    (cfg / "halls" / "test-hall.toml").write_text(hall_toml(), encoding="utf-8")
    admin_only = USERS_TOML.split("[[users]]")[0] + "[[users]]" + USERS_TOML.split("[[users]]")[1]
    (cfg / "central.toml").write_text(admin_only, encoding="utf-8")  # the other users name other halls
    _c, halls = load_central(cfg / "central.toml")
    return Directory.of(halls)


def hall_figures(reports: dict) -> dict[str, dict[str, int]]:
    """Per staff over the week from the hall's day reports: days expected (present or absent) and absent."""
    out: dict[str, dict[str, int]] = {}
    for rep in reports.values():
        for s in rep["staff"]:
            f = out.setdefault(s["staff"], {"expected": 0, "absent": 0, "present": 0})
            if s["status"] in ("unscheduled", "closed", "leave"):
                continue
            f["expected"] += 1
            f["absent"] += s["status"] == "absent"
            f["present"] += s["punches"] > 0
    return out


def central_figures(store, d: Directory) -> dict[str, dict[str, int]]:
    """The month up to Saturday (the week is the hall's first with records, so only it counts), as
    the attendance report reads it: with the facts for `store`, from the events for `Raw(store)`."""
    rep = rp.attendance(store, d, "2026-11", today=SATURDAY)
    absent = {r["staff"]: r["absent"] for r in rep["rows"] if r["hall"] == "test-hall"}
    rows = source(store, d, date(2026, 11, 1), date(2026, 11, 30), ["test-hall"]).attendance(SATURDAY)
    out = {r.staff: {"expected": r.expected, "absent": r.absent, "present": r.present} for r in rows}
    assert {s: f["absent"] for s, f in out.items()} == absent
    return out


def test_schedule_hall_and_central_count_the_same_expected_and_absent_days(store, week):
    """B 7, B 10, J 9, J 27: the hall and central, from the same events, give each staff member the
    same expected, present and absent days; both through the fact tables and from the events."""
    reports, batch, d = week
    store.ingest("test-hall", wire.events_topic("test-hall"), batch, 1)
    hall = hall_figures(reports)
    for src in (store, Raw(store)):
        got = central_figures(src, d)
        for staff in ("s-li", "s-wang", "s-qian", "s-sun", "s-ma"):
            assert got[staff] == hall[staff], (staff, src)
    assert hall["s-li"] == {"expected": 5, "absent": 0, "present": 5}


def test_schedule_periodic_window_staff_never_absent_on_closed_days(store, week):
    """B 7, B 10: W4 opens on Tuesdays and Thursdays only; s-sun, who came on Tuesday and not on
    Thursday, is absent once (Thursday) — never on Monday, Wednesday or Friday — at both ends."""
    reports, batch, d = week
    store.ingest("test-hall", wire.events_topic("test-hall"), batch, 1)
    statuses = {day: next(s for s in reports[day]["staff"] if s["staff"] == "s-sun")["status"] for day in WEEK}
    assert statuses == {WEEK[0]: "unscheduled", WEEK[1]: "normal", WEEK[2]: "unscheduled", WEEK[3]: "absent",
                        WEEK[4]: "unscheduled"}
    assert central_figures(store, d)["s-sun"] == {"expected": 2, "absent": 1, "present": 1}
    # W4 shows in the coverage only on its days
    assert [day for day in WEEK if any(w["window"] == "W4" for w in reports[day]["windows"])] == [WEEK[1], WEEK[3]]


def test_schedule_flexible_window_staff_expected_only_on_days_it_opened(store, week):
    """J 9, J 10: W5 (机动窗口, outside its peaks) was opened by the manager on Wednesday and withdrawn
    that evening: s-ma is expected on Wednesday only, never absent."""
    reports, batch, d = week
    store.ingest("test-hall", wire.events_topic("test-hall"), batch, 1)
    statuses = [next(s for s in reports[day]["staff"] if s["staff"] == "s-ma")["status"] for day in WEEK]
    assert statuses[2] != "absent" and statuses[2] != "unscheduled"
    assert [s for i, s in enumerate(statuses) if i != 2] == ["unscheduled"] * 4
    assert central_figures(store, d)["s-ma"] == {"expected": 1, "absent": 0, "present": 1}


def test_schedule_fixed_window_absence_still_counted(store, week):
    """J 27, B 28: s-qian (fixed W3) missed Wednesday: absent once at the hall and at central; the
    B-role s-zhao, who never punched, is not expected at all."""
    reports, batch, d = week
    store.ingest("test-hall", wire.events_topic("test-hall"), batch, 1)
    assert next(s for s in reports[WEEK[2]]["staff"] if s["staff"] == "s-qian")["status"] == "absent"
    got = central_figures(store, d)
    assert got["s-qian"] == {"expected": 5, "absent": 1, "present": 4}
    assert hall_figures(reports)["s-zhao"] == {"expected": 0, "absent": 0, "present": 0}
    assert got.get("s-zhao", {"expected": 0, "absent": 0, "present": 0}) == {"expected": 0, "absent": 0,
                                                                             "present": 0}


def test_schedule_sign_off_during_a_pause_is_judged_by_the_step_away_limit(store, tmp_path, clock):
    """C 9(4): s-li pauses W1 and signs off 16 minutes later, before the periodic check ran: the
    step-away ends over the limit and is one violation at the hall; central counts the same one.
    A second pause ended by signing off within the limit is none."""
    from edge import presence
    from edge.config import load
    from edge.hall import Hall
    from central import projections as pj

    p = tmp_path / "hall.toml"
    p.write_text(hall_toml(), encoding="utf-8")
    h = Hall(load(p), tmp_path / "data", clock)
    h.start()
    try:
        h.call(presence.sign_on, "W1", "s-li")
        h.call(presence.pause, "W1", "s-li")
        clock.advance(minutes=16)
        h.call(presence.sign_off, "W1", "s-li")
        clock.advance(minutes=5)
        h.call(presence.sign_on, "W1", "s-li")
        h.call(presence.pause, "W1", "s-li")
        clock.advance(minutes=15)  # exactly the limit: still allowed
        h.call(presence.sign_off, "W1", "s-li")
        aways = h.call(lambda ctx: ctx.store.step_aways(0, 2**62, window="W1"))
        batch = batch_of(h)
    finally:
        h.stop()
    assert [(a.over_limit, a.violation) for a in aways] == [(True, True), (False, False)]
    assert all(a.end is not None for a in aways)
    store.ingest("test-hall", wire.events_topic("test-hall"), batch, 1)
    d = central_directory(tmp_path)
    days = pj.staff_days(store, d, MONDAY, MONDAY, ["test-hall"])
    assert (days[("test-hall", "s-li", MONDAY)].violations, days[("test-hall", "s-li", MONDAY)].step_aways) == (1, 2)
    for src in (store, Raw(store)):
        rows = source(src, d, MONDAY, MONDAY, ["test-hall"]).attendance(MONDAY + timedelta(days=1))
        assert next(r for r in rows if r.staff == "s-li").violations == sum(a.violation for a in aways) == 1
