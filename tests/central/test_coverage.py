"""Window coverage as time and 延时服务: a real hall's day on the injected clock, its event log
ingested at central (SQLite and PostgreSQL through the `store` fixture), and both sides' figures
compared — they share sync.kernel.coverage, and the test checks they agree, and agree with the
figures worked out by hand.

Monday 2026-11-23 at the test hall (open 08:00–11:30, 13:00–16:30, step-away limit 15 minutes):
- W1: s-li (A) signs on 08:00, pauses 09:00–09:40 (25 minutes over the limit), signs off 10:30;
  s-zhao (B) signs on 10:50 and off 11:30; s-li signs on 13:00, pauses 15:00 and signs off
  during the pause at 15:20 (5 minutes over) [C 9(4)]. Open 7 h, staffed 5 h 30 (A 4 h 50,
  B 40 min), paused 1 h, over the limit 30 min, covered 5 h; uncovered 09:15–09:40,
  10:30–10:50 (the mid-day sign-off gap), 15:15–16:30 [U 21, B 28].
- W2: s-wang signs on 08:00 and off 16:45, serving a number taken 16:20 until 16:40: one
  延时服务 of 10 minutes [U 21, B 28, C 11(6)].
- W3 (s-qian) nobody: 7 h uncovered. W4 (periodic, Tue/Thu) and W5 (flexible) are not open.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from central import operations as op
from edge import attendance, cases, presence, queue
from edge.pages.manage_coverage import coverage_page, hours
from sync.contract import wire
from sync.kernel import coverage as cov
from tests.central.test_schedule import batch_of, central_directory, hall_toml
from tests.conftest import SH

MONDAY = date(2026, 11, 23)
TUESDAY = MONDAY + timedelta(days=1)
FIGURES = ("open_seconds", "staffed_seconds", "a_seconds", "b_seconds", "duty_seconds", "paused_seconds",
           "over_limit_seconds", "covered_seconds", "uncovered_seconds", "coverage")


@pytest.fixture
def day(tmp_path, clock):
    """The hall after Monday, read on Tuesday 09:00: (day report, manager page data, batch, directory)."""
    from edge.config import load
    from edge.hall import Hall

    p = tmp_path / "hall.toml"
    p.write_text(hall_toml(), encoding="utf-8")
    h = Hall(load(p), tmp_path / "data", clock)
    h.start()

    def at(hh: int, mm: int, fn, *args):
        clock.set(datetime(2026, 11, 23, hh, mm, tzinfo=SH))
        return h.call(fn, *args)

    try:
        at(8, 0, presence.sign_on, "W1", "s-li")
        at(8, 0, presence.sign_on, "W2", "s-wang")
        at(9, 0, presence.pause, "W1", "s-li")
        at(9, 40, presence.resume, "W1", "s-li")
        at(10, 30, presence.sign_off, "W1", "s-li")
        at(10, 50, presence.sign_on, "W1", "s-zhao")
        at(11, 30, presence.sign_off, "W1", "s-zhao")
        at(13, 0, presence.sign_on, "W1", "s-li")
        at(15, 0, presence.pause, "W1", "s-li")
        at(15, 20, presence.sign_off, "W1", "s-li")  # during the pause: judged by the limit [C 9(4)]
        at(16, 20, queue.issue, "transcript")
        at(16, 25, queue.call_next, "W2", "s-wang")
        at(16, 40, cases.complete, "W2", "s-wang", "instant")
        at(16, 45, presence.sign_off, "W2", "s-wang")
        clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=SH))
        report = h.call(attendance.day_report, MONDAY)
        page = h.call(coverage_page, MONDAY)
        aways = h.call(lambda ctx: ctx.store.step_aways(0, 2 ** 62, window="W1"))
        batch = batch_of(h)
    finally:
        h.stop()
    assert [(a.over_limit, a.violation) for a in aways] == [(True, True), (True, True)]
    return report, page, batch, central_directory(tmp_path)


def hall_rows(report: dict) -> dict[str, dict]:
    return {w["window"]: w for w in report["windows"]}


def test_coverage_mid_day_sign_off_gap_and_step_away_over_limit_equal_at_hall_and_central(store, day):
    """U 21, B 28, C 9(4): the hall's coverage of each window on Monday — open, A, B, paused,
    over the limit, uncovered seconds and the uncovered intervals, the mid-day sign-off gap among
    them — is the hand-worked figure and equals central's after ingest."""
    report, _page, batch, d = day
    hall = hall_rows(report)
    assert set(hall) == {"W1", "W2", "W3"}  # W4 (periodic Tue/Thu) and W5 (flexible) are closed
    w1 = hall["W1"]
    assert {k: w1[k] for k in FIGURES} == {
        "open_seconds": 7 * 3600, "staffed_seconds": 19800, "a_seconds": 17400, "b_seconds": 2400,
        "duty_seconds": 0, "paused_seconds": 3600, "over_limit_seconds": 1800, "covered_seconds": 18000,
        "uncovered_seconds": 7200, "coverage": round(18000 / 25200, 4)}
    assert [(u["start"], u["end"]) for u in w1["uncovered"]] == [
        ("09:15:00", "09:40:00"), ("10:30:00", "10:50:00"), ("15:15:00", "16:30:00")]
    assert w1["by_staff"] == {"s-li": 17400, "s-zhao": 2400}
    assert hall["W3"]["uncovered_seconds"] == 7 * 3600 and hall["W3"]["coverage"] == 0

    store.ingest("test-hall", wire.events_topic("test-hall"), batch, 1)
    rep = op.coverage(store, d, "2026-11-23", "2026-11-23", group="day", today=TUESDAY)
    central = {r["window"]: r for r in rep["rows"]}
    assert set(central) == set(hall)
    for w, h in hall.items():
        c = central[w]
        assert {k: c[k] for k in FIGURES if k != "coverage"} == {k: h[k] for k in FIGURES if k != "coverage"}, w
        assert c["coverage_rate"] == h["coverage"]
        assert c["uncovered_intervals"] == [[u["start"], u["end"]] for u in h["uncovered"]], w
    assert central["W1"]["uncovered_text"] == "09:15:00–09:40:00、10:30:00–10:50:00、15:15:00–16:30:00"
    # not counted before the day has ended at central (`today` = Monday)
    assert op.coverage(store, d, "2026-11-23", "2026-11-23", group="day", today=MONDAY)["rows"] == []


def test_coverage_month_roll_up_per_window_department_and_hall_equal_at_hall_and_central(store, day):
    """U 21, B 28: the month's sums per window (the hall manager's page) equal central's per
    window; per department and per hall they are the windows' sums, rate = covered / open."""
    _report, page, batch, d = day
    store.ingest("test-hall", wire.events_topic("test-hall"), batch, 1)
    central = {r["window"]: r for r in op.coverage(store, d, None, None, month="2026-11", today=TUESDAY)["rows"]}
    keys = ("open_seconds", "staffed_seconds", "paused_seconds", "over_limit_seconds", "covered_seconds",
            "uncovered_seconds", "coverage_rate", "days")
    assert {r["window"]: {k: r[k] for k in keys} for r in page["month_rows"]} == \
        {w: {k: r[k] for k in keys} for w, r in central.items()}
    dept = {r["department"]: r for r in op.coverage(store, d, None, None, month="2026-11", today=TUESDAY,
                                                    group="department")["rows"]}
    assert dept["academic"]["open_seconds"] == 2 * 7 * 3600
    assert dept["academic"]["covered_seconds"] == central["W1"]["covered_seconds"] + central["W2"]["covered_seconds"]
    (hall_row,) = op.coverage(store, d, None, None, month="2026-11", today=TUESDAY, group="hall")["rows"]
    assert hall_row["open_seconds"] == page["month_total"]["open_seconds"] == 3 * 7 * 3600
    assert hall_row["coverage_rate"] == page["month_total"]["coverage_rate"] == round(
        hall_row["covered_seconds"] / hall_row["open_seconds"], 4)
    assert hall_row["open_hours"] == 21.0


def test_coverage_extended_service_after_closing_counted_equally_at_hall_and_central(store, day):
    """U 21, B 28, C 11(6) (延时服务): the number taken 16:20 and finished 16:40 at W2 by s-wang is
    one service 10 minutes past closing, at the hall (day report, manager page month) and at
    central (per staff member, and each service)."""
    report, page, batch, d = day
    assert [(x["window"], x["staff"], x["completed"], x["minutes"]) for x in report["extended"]] == [
        ("W2", "s-wang", "16:40:00", 10)]
    assert [(r["staff"], r["services"], r["minutes"], r["windows"]) for r in page["month_extended"]] == [
        ("s-wang", 1, 10, "W2")]
    store.ingest("test-hall", wire.events_topic("test-hall"), batch, 1)
    rep = op.extended(store, d, None, None, month="2026-11")
    assert [(r["staff"], r["staff_name"], r["services"], r["minutes"], r["days"]) for r in rep["rows"]] == [
        ("s-wang", "王芳", 1, 10, 1)]
    assert [(s["ticket"], s["window"], s["completed"], s["minutes"]) for s in rep["services"]] == [
        (x["ticket"], x["window"], x["completed"], x["minutes"]) for x in report["extended"]]
    assert rep["totals"] == {"services": 1, "minutes": 10}
    assert op.extended(store, d, "2026-11-24", "2026-11-30")["rows"] == []


def test_coverage_bad_parameters_are_refused():
    from central.errors import BadRequest
    from central.projections import Directory

    d = Directory({})
    with pytest.raises(BadRequest, match="group"):
        op.coverage(None, d, "2026-11-01", "2026-11-02", group="staff")
    with pytest.raises(BadRequest, match="month"):
        op.extended(None, d, None, None, month="2026-13")


# ---------------------------------------------------------------- the shared arithmetic


def test_coverage_kernel_arithmetic_edges():
    """U 21, C 9(4): a stint still open runs to `now`; a step-away exactly at the limit costs
    nothing, one beyond it costs the excess; time outside the open periods never counts; an
    unstaffed window is uncovered throughout."""
    h = 3600 * cov.US
    open_iv = [(8 * h, 12 * h), (13 * h, 17 * h)]
    fig = cov.window_day(open_iv, [cov.Stint("x", "A", 7 * h, None)],
                         [cov.Pause(9 * h, 9 * h + 15 * 60 * cov.US), cov.Pause(10 * h, 11 * h)], 15 * 60, 14 * h)
    assert (fig.open_seconds, fig.staffed_seconds) == (5 * 3600, 5 * 3600)
    assert (fig.paused_seconds, fig.over_limit_seconds) == (75 * 60, 45 * 60)
    assert fig.uncovered == [(10 * h + 15 * 60 * cov.US, 11 * h)]
    empty = cov.window_day(open_iv, [], [], 900, 20 * h)
    assert (empty.open_seconds, empty.covered_seconds, empty.rate, empty.uncovered) == (8 * 3600, 0, 0.0, open_iv)
    assert cov.fold([("window.signed_on", 1, "W", "a", "B"), ("window.paused", 2, "W", None, None),
                     ("window.resumed", 3, "W", None, None), ("window.signed_off", 4, "W", "a", None)])["W"] == \
        cov.Presence([cov.Stint("a", "B", 1, 4)], [cov.Pause(2, 3)])
    assert [a.minutes for a in cov.after_closing(100 * cov.US, [("t1", "W", "s", 100 * cov.US),
                                                                 ("t2", "W", "s", 110 * cov.US)])] == [1]
    assert cov.after_closing(None, [("t", "W", "s", 1)]) == []
    assert hours(5 * 3600 + 7 * 60) == "5:07"
