"""Report figures against hand-computed values from the raw events of tests/central/data.py,
on SQLite and PostgreSQL, with h-a's first day and all of h-c ingested late."""

from __future__ import annotations

from datetime import date

import pytest

from central import reports as rp
from central.errors import BadRequest
from central.scope import Scope, parse_period
from sync.contract import wire
from sync.contract import events as ev
from tests.central.data import HallLog, at, ingest_all, ingest_late, three_halls

TODAY = date(2026, 11, 6)  # open days counted: Mon 11-02 .. Thu 11-05


def _by(rows, *keys):
    return {tuple(r[k] for k in keys): r for r in rows}


def test_reports_attendance_month_per_staff(store, directory):
    ingest_all(store, three_halls())
    rows = rp.attendance(store, directory, "2026-11", "h-a", "academic", today=TODAY)["rows"]
    got = {r["staff"]: {k: r[k] for k in ("present", "late", "early", "absent", "missing", "leave_days",
                                          "step_aways", "violations")} for r in rows}
    # s-li: punched 02 (in+out), 03 (late in, no out → 1 missing), 04, 05; one pause over the limit
    # s-wang: 02 late in + early out, 03 on time, 04 approved leave, 05 on time; Saturday punch ignored
    assert got == {
        "s-li": {"present": 4, "late": 1, "early": 0, "absent": 0, "missing": 1, "leave_days": 0,
                 "step_aways": 1, "violations": 1},
        "s-wang": {"present": 3, "late": 1, "early": 1, "absent": 0, "missing": 0, "leave_days": 1,
                   "step_aways": 0, "violations": 0},
    }
    assert rows[0]["hall_name"] == "甲大厅" and rows[0]["staff_name"] == "李明"


def test_reports_attendance_absent_days_for_stationed_staff(store, directory):
    ingest_all(store, three_halls())
    rows = _by(rp.attendance(store, directory, "2026-11", "h-b", today=TODAY)["rows"], "staff")
    # h-b's records start on 11-03 (its first event), so 11-02 is nobody's absence there.
    # s-qian punched in late on 11-03 only: 1 present, 1 missing out-slot, absent 04, 05
    assert (rows[("s-qian",)]["present"], rows[("s-qian",)]["absent"], rows[("s-qian",)]["missing"],
            rows[("s-qian",)]["late"]) == (1, 2, 1, 1)
    # stationed staff without a punch: absent every open day from 11-03; the B-role s-zhao is not listed
    assert rows[("s-li",)]["absent"] == 3 and ("s-zhao",) not in rows


def test_reports_attendance_no_absence_before_a_halls_first_records(store, directory):
    """A hall's days before its first event at central (not yet running onestop) count nobody
    absent; a late batch with an earlier day moves that start back."""
    logs = three_halls()
    ingest_all(store, logs)
    before = _by(rp.attendance(store, directory, "2026-11", "h-c", today=TODAY)["rows"], "staff")
    # h-c's only records are of 11-04 (T9): open days 11-04, 11-05 count
    assert before[("s-li",)]["absent"] == 2
    late = HallLog("h-c")  # another epoch: a punch from 11-02 arriving late
    late.punch("s-qian", "2026-11-02", "08:00", "in", "on_time", 0)
    store.ingest("h-c", wire.events_topic("h-c"), late.payload(1, 1), 7)
    after = _by(rp.attendance(store, directory, "2026-11", "h-c", today=TODAY)["rows"], "staff")
    assert after[("s-li",)]["absent"] == 4  # 11-02 .. 11-05
    assert (after[("s-qian",)]["present"], after[("s-qian",)]["missing"], after[("s-qian",)]["absent"]) == (1, 1, 3)


def test_reports_satisfaction_by_window_levels_good_and_unrated(store, directory):
    ingest_all(store, three_halls())
    rows = _by(rp.satisfaction(store, directory, "2026-11-01", "2026-11-30")["rows"], "hall", "window")
    assert {k: (r["level5"], r["level4"], r["level2"], r["ratings"], r["good_rate"], r["completed"],
                r["unrated_rate"]) for k, r in rows.items()} == {
        ("h-a", "W1"): (1, 0, 0, 1, 1.0, 1, 0.0),
        ("h-a", "W2"): (0, 0, 1, 1, 0.0, 1, 0.0),
        ("h-b", "W3"): (0, 1, 0, 1, 1.0, 1, 0.0),  # T3 was a no-show: not a completed service
        ("h-c", "W1"): (0, 0, 0, 0, None, 1, 1.0),  # T9 never rated
    }


def test_reports_satisfaction_by_department_merges_halls(store, directory):
    ingest_all(store, three_halls())
    rows = _by(rp.satisfaction(store, directory, "2026-11-01", "2026-11-30", by="department")["rows"], "department")
    # academic: ratings 5 (h-a T1) and 2 (h-a T2); completed h-a T1, T2 and h-c T9 (unrated)
    assert (rows[("academic",)]["ratings"], rows[("academic",)]["good_rate"], rows[("academic",)]["completed"],
            rows[("academic",)]["unrated_rate"]) == (2, 0.5, 3, 0.3333)
    assert (rows[("finance",)]["ratings"], rows[("finance",)]["good_rate"]) == (1, 1.0)


def test_reports_service_waits_outcomes_and_cases(store, directory):
    ingest_all(store, three_halls())
    rep = rp.service(store, directory, "2026-11-01", "2026-11-30", today=TODAY)
    t = rep["total"]
    # waits 120, 600, 240, 300, 1800 → nearest rank p50 = 3rd = 300, p90 = 5th = 1800
    # services 300, 600, 120, 600 → p50 = 2nd = 300, p90 = 4th = 600
    assert (t["visits"], t["completed"], t["no_show"]) == (5, 4, 1)
    assert (t["wait_p50"], t["wait_p90"], t["service_p50"], t["service_p90"]) == (300, 1800, 300, 600)
    assert (t["instant"], t["promised"]) == (2, 2)
    # C1 finished 11-04 (deadline 11-05): on time; C9 (deadline 11-05) unfinished on 11-06: overdue
    assert (t["cases"], t["cases_on_time"], t["cases_overdue"], t["on_time_rate"]) == (2, 1, 1, 0.5)
    per_hall = _by(rep["rows"][:-1], "hall")
    assert per_hall[("h-b",)]["wait_p50"] == 240 and per_hall[("h-b",)]["campus"] == "西校区"


def test_reports_service_late_events_update_figures(store, directory):
    logs = three_halls()
    ingest_all(store, logs, late=False)
    before = rp.service(store, directory, "2026-11-01", "2026-11-30", today=TODAY)["total"]
    assert (before["visits"], before["wait_p90"], before["cases"]) == (2, 300, 0)  # only h-b's day
    ingest_late(store, logs)
    after = rp.service(store, directory, "2026-11-01", "2026-11-30", today=TODAY)["total"]
    assert (after["visits"], after["wait_p90"], after["cases"]) == (5, 1800, 2)


def test_reports_rankings_staff_score_formula(store, directory):
    ingest_all(store, three_halls())
    rows = _by(rp.rankings(store, directory, "month:2026-11", "staff", today=TODAY)["rows"], "hall", "staff")
    li, wang = rows[("h-a", "s-li")], rows[("h-a", "s-wang")]
    # s-li: 好评率 1.0; attendance 1 − (1 late + 1 missing + 1 violation)/4 days = 0.25; no case
    assert (li["satisfaction"], li["attendance"], li["on_time"]) == (1.0, 0.25, None)
    assert li["score"] == pytest.approx(100 * (0.5 * 1.0 + 0.3 * 0.25) / 0.8, abs=0.01)
    # s-wang: 好评率 0; attendance 1 − (late + early)/3 days; C1 on time
    assert wang["score"] == pytest.approx(100 * (0.3 * (1 - 2 / 3) + 0.2 * 1.0), abs=0.01)
    assert li["rank"] == 1 and li["rank"] < wang["rank"]


def test_reports_rankings_window_with_configured_weights(store, directory):
    ingest_all(store, three_halls())
    rows = rp.rankings(store, directory, "month:2026-11", "window", rp.Weights(0.5, 0.0, 0.5), today=TODAY)["rows"]
    top = [((r["hall"], r["window"]), r["score"]) for r in rows[:4]]
    assert top == [(("h-a", "W1"), 100.0), (("h-b", "W3"), 100.0), (("h-a", "W2"), 50.0), (("h-c", "W1"), 0.0)]


def test_reports_scope_department_head_sees_own_department(store, directory):
    ingest_all(store, three_halls())
    scope = Scope(role="department", department="finance")
    sat = rp.satisfaction(store, directory, "2026-11-01", "2026-11-30", scope=scope)["rows"]
    assert [(r["hall"], r["window"]) for r in sat] == [("h-b", "W3")]
    att = rp.attendance(store, directory, "2026-11", scope=scope, today=TODAY)["rows"]
    assert att and {r["department"] for r in att} == {"finance"}


def test_reports_scope_hall_manager_sees_own_hall(store, directory):
    ingest_all(store, three_halls())
    scope = Scope(role="hall", hall="h-b")
    rep = rp.service(store, directory, "2026-11-01", "2026-11-30", scope=scope, today=TODAY)
    assert [r["hall"] for r in rep["rows"][:-1]] == ["h-b"] and rep["total"]["visits"] == 2
    assert rp.service(store, directory, "2026-11-01", "2026-11-30", "h-a", scope=scope)["rows"] == []


@pytest.mark.parametrize("call", [
    lambda s, d: rp.attendance(s, d, "2026-13"),
    lambda s, d: rp.attendance(s, d, "2026-11", hall="nowhere"),
    lambda s, d: rp.satisfaction(s, d, "2026-11-30", "2026-11-01"),
    lambda s, d: rp.satisfaction(s, d, "2026-11-01", "2026-11-30", by="campus"),
    lambda s, d: rp.rankings(s, d, "week:3"),
    lambda s, d: rp.rankings(s, d, "year:2026", "galaxy"),
])
def test_reports_bad_parameters_raise(call, store, directory):
    with pytest.raises(BadRequest):
        call(store, directory)


def test_reports_parse_period_semesters():
    assert parse_period("semester:2026-1") == (date(2026, 9, 1), date(2027, 1, 31))
    assert parse_period("semester:2026-2") == (date(2027, 2, 1), date(2027, 8, 31))
    assert parse_period("year:2026") == (date(2026, 1, 1), date(2026, 12, 31))


def test_reports_csv_has_bom_and_chinese_headers(store, directory):
    ingest_all(store, three_halls())
    data = rp.to_csv(rp.satisfaction(store, directory, "2026-11-01", "2026-11-30", by="hall"))
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("大厅,非常满意,满意") and lines[1].startswith("甲大厅,1,0,0,1,0,2,0.5")


def test_reports_satisfaction_counts_a_phone_rating_like_a_button_rating(store, directory):
    """A rating given on the visitor's phone page (`rating.given` with `source = "phone"`) is
    one rating of its service like a button's (一次一评 [J 23, U 19, B 23, C 11(7)]): h-c's T9,
    unrated in the hand-computed figures, rated 4 from the phone."""
    logs = three_halls()
    logs["h-c"].add(ev.RatingGiven(window="W1", ticket="T9", level=4, staff="s-li", department="academic",
                                   source="phone"), at("2026-11-04", "14:42"))
    ingest_all(store, logs)
    assert store.quarantined() == []  # central validated the body with its new field
    rows = _by(rp.satisfaction(store, directory, "2026-11-01", "2026-11-30")["rows"], "hall", "window")
    r = rows[("h-c", "W1")]
    assert (r["level4"], r["ratings"], r["good_rate"], r["completed"], r["unrated"], r["unrated_rate"]) == \
        (1, 1, 1.0, 1, 0, 0.0)
    dept = _by(rp.satisfaction(store, directory, "2026-11-01", "2026-11-30", by="department")["rows"], "department")
    assert (dept[("academic",)]["ratings"], dept[("academic",)]["good_rate"], dept[("academic",)]["unrated"]) == \
        (3, 0.6667, 0)
