"""Leave counts the same at the hall and at central: a week of a real hall (punches and leave on
the injected clock), its log ingested at central, both sides' figures compared per staff member.

The week (Mon 2026-11-23 .. Fri 11-27; Wednesday closes at 13:00):
- s-qian (W3) is absent on Monday, and on Tuesday asks for sick leave for Monday after the fact
  (事后补办 [J 28]), approved with a certificate: Monday is leave, not an absence.
- s-wang (W2) has annual leave Wednesday–Friday (the home department's consent recorded
  [C 9(3)]), comes back on Thursday and records 销假 [C 9]: Wednesday is leave, Thursday and
  Friday count as normal days (she punched).
- s-li (W1) has personal leave on Friday afternoon and clocks in that morning only: a normal day
  (the afternoon slot is on leave), no missing punch.
- s-sun (W4, Tuesdays and Thursdays [B 7]) has Thursday afternoon off and does not come in the
  morning: absent (a half-day leave does not excuse the other half [C 9(2)]).
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from central.facts.sources import Raw, source
from central.projections import leave_days
from edge import attendance
from edge.leave import end_leave, request_leave
from sync.contract import wire
from tests.central.test_schedule import (CARDS, MONDAY, SATURDAY, WEEK, batch_of, central_directory, central_figures,
                                         hall_toml)
from tests.conftest import SH


def _at(clock, day: date, hh: int, mm: int = 0) -> None:
    clock.set(datetime(day.year, day.month, day.day, hh, mm, tzinfo=SH))


@pytest.fixture
def leave_week(tmp_path, clock):
    from edge.config import load
    from edge.hall import Hall

    p = tmp_path / "hall.toml"
    p.write_text(hall_toml(), encoding="utf-8")
    h = Hall(load(p), tmp_path / "data", clock)
    h.start()
    try:
        def punch(staff: str, day: date, hh: int, mm: int) -> None:
            _at(clock, day, hh, mm)
            h.call(attendance.punch, "hall-reader", CARDS[staff])

        mon, tue, wed, thu, fri = WEEK
        _at(clock, mon, 7, 30)  # requested ahead on Monday morning
        annual = h.call(request_leave, "s-wang", "annual", wed, fri, reason="探亲")
        h.call(attendance.approve_leave, annual.id, "manager", True, "教务处刘处长电话同意")
        li = h.call(request_leave, "s-li", "personal", fri, fri, "pm", "pm", "家事")
        h.call(attendance.approve_leave, li.id, "manager", True)
        sun = h.call(request_leave, "s-sun", "personal", thu, thu, "pm", "pm", "办事")
        h.call(attendance.approve_leave, sun.id, "manager", True)
        for day in WEEK:
            punch("s-li", day, 7, 55)
            if day != fri:
                punch("s-li", day, 16, 35)
            if day in (mon, tue):
                punch("s-wang", day, 7, 55)
                punch("s-wang", day, 16, 35)
            if day != mon:
                punch("s-qian", day, 7, 55)
                punch("s-qian", day, 16, 35)
        punch("s-sun", tue, 7, 55)
        punch("s-sun", tue, 16, 35)
        _at(clock, tue, 10)  # s-qian files Monday's sick leave after the fact [J 28]
        sick = h.call(request_leave, "s-qian", "sick", mon, mon, reason="急诊", certificate=True)
        assert sick.after_the_fact
        h.call(attendance.approve_leave, sick.id, "manager", True)
        _at(clock, thu, 7, 50)  # back early: 销假 from Thursday morning [C 9]
        h.call(end_leave, annual.id, thu, "am", "s-wang")
        for day in (thu, fri):
            punch("s-wang", day, 7, 55)
            punch("s-wang", day, 16, 35)
        _at(clock, SATURDAY, 9)
        reports = {day: h.call(attendance.day_report, day) for day in WEEK}
        batch = batch_of(h)
        annual_after = h.call(lambda ctx: ctx.store.leave(annual.id))
    finally:
        h.stop()
    return reports, batch, central_directory(tmp_path), annual_after


def hall_counts(reports: dict) -> dict[str, dict[str, int]]:
    """Per staff over the week from the hall's day reports: expected, absent, present, leave days."""
    out: dict[str, dict[str, int]] = {}
    for rep in reports.values():
        for s in rep["staff"]:
            f = out.setdefault(s["staff"], {"expected": 0, "absent": 0, "present": 0, "leave": 0,
                                            "missing": 0})
            f["present"] += s["punches"] > 0
            if s["status"] == "leave":
                f["leave"] += 1
            if s["status"] in ("unscheduled", "closed", "leave"):
                continue
            f["expected"] += 1
            f["absent"] += s["status"] == "absent"
            if s["status"] != "absent":  # missing punches of a day that was worked (central's `missing`)
                f["missing"] += sum(1 for x in s["slots"] if x["state"] == "missing")
    return out


def central_counts(store, d) -> dict[str, dict[str, int]]:
    central_figures(store, d)  # the report and the fact source agree
    rows = source(store, d, date(2026, 11, 1), date(2026, 11, 30), ["test-hall"]).attendance(SATURDAY)
    return {r.staff: {"expected": r.expected, "absent": r.absent, "present": r.present, "leave": r.leave_days,
                      "missing": r.missing} for r in rows}


def test_leave_counting_hall_and_central_agree_on_every_staff_member(store, leave_week):
    """J 27, J 28, C 9, C 9(3): after-the-fact leave, 销假, half-day leave with and without the
    other half worked: the hall's day reports and central (fact tables and events) give the same
    expected, absent, present, leave and missing counts."""
    reports, batch, d, _ = leave_week
    store.ingest("test-hall", wire.events_topic("test-hall"), batch, 1)
    hall = hall_counts(reports)
    for src in (store, Raw(store)):
        got = central_counts(src, d)
        for staff in ("s-li", "s-wang", "s-qian", "s-sun"):
            assert got[staff] == hall[staff], (staff, src)
    assert hall["s-qian"] == {"expected": 4, "absent": 0, "present": 4, "leave": 1, "missing": 0}
    assert hall["s-wang"] == {"expected": 4, "absent": 0, "present": 4, "leave": 1, "missing": 0}
    assert hall["s-li"] == {"expected": 5, "absent": 0, "present": 5, "leave": 0, "missing": 0}
    assert hall["s-sun"] == {"expected": 2, "absent": 1, "present": 1, "leave": 0, "missing": 0}


def test_leave_counting_after_the_fact_leave_excuses_the_absence(store, leave_week):
    """J 28: s-qian's Monday, absent until her sick leave was filed and approved on Tuesday, is
    leave at both ends — also in a range that ends before the approval came."""
    reports, batch, d, _ = leave_week
    store.ingest("test-hall", wire.events_topic("test-hall"), batch, 1)
    monday = next(s for s in reports[MONDAY]["staff"] if s["staff"] == "s-qian")
    assert monday["status"] == "leave" and monday["leave"] == ["病假"]
    rows = source(store, d, date(2026, 11, 1), MONDAY, ["test-hall"]).attendance(SATURDAY)
    qian = next(r for r in rows if r.staff == "s-qian")
    assert (qian.absent, qian.leave_days) == (0, 1)


def test_leave_counting_return_early_ends_the_leave_the_half_before(store, leave_week):
    """C 9: 销假 on Thursday morning: the leave now ends Wednesday afternoon (planned Friday);
    Thursday and Friday are normal days at the hall and not leave at central."""
    reports, batch, d, annual = leave_week
    store.ingest("test-hall", wire.events_topic("test-hall"), batch, 1)
    assert (annual.end, annual.end_half, annual.planned_end, annual.returned) == (
        "2026-11-25", "pm", "2026-11-27", "2026-11-26 am")
    statuses = [next(s for s in reports[day]["staff"] if s["staff"] == "s-wang")["status"] for day in WEEK]
    assert statuses == ["normal", "normal", "leave", "normal", "normal"]
    days = leave_days(store, d, MONDAY, WEEK[-1], ["test-hall"])[("test-hall", "s-wang")]
    assert days == {WEEK[2]: {"am", "pm"}}
