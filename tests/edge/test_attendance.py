"""Attendance: punches classified against the calendar, duplicates, unknown cards, leave with
approval, B covering A's window, and per-window coverage — on the injected clock."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import msgspec
import pytest

from edge import attendance, presence
from edge.workflow import Forbidden, Invalid, Refused
from tests.conftest import HALL_TOML, PIN, SH, edge_client, wait_until

LI, WANG = "0A00C3D2F1", "0B00000001"
MONDAY = date(2026, 11, 23)
TUESDAY = date(2026, 11, 24)


def at(h: int, m: int = 0, s: int = 0, day: date = MONDAY) -> datetime:
    return datetime(day.year, day.month, day.day, h, m, s, tzinfo=SH)


def hall_toml(rules: str = "") -> str:
    """The test hall with 王芳 as the academic window head, a card for her, and extra rules."""
    text = HALL_TOML.replace('name = "王芳"\ndepartment = "academic"\n',
                             f'name = "王芳"\ndepartment = "academic"\nhead = true\ncard = "{WANG}"\n', 1)
    return text + rules


@pytest.fixture
def make_hall(tmp_path: Path, clock):
    from edge.config import load
    from edge.hall import Hall

    halls = []

    def make(rules: str = ""):
        p = tmp_path / f"hall{len(halls)}.toml"
        p.write_text(hall_toml(rules), encoding="utf-8")
        h = Hall(load(p), tmp_path / f"data{len(halls)}", clock)
        h.start()
        halls.append(h)
        return h

    yield make
    for h in halls:
        h.stop()


@pytest.fixture
def hall(make_hall):
    return make_hall()


def punch(hall, clock, when: datetime, card: str = LI) -> dict:
    clock.set(when)
    return hall.call(attendance.punch, "hall-reader", card)


def punch_events(hall) -> list[dict]:
    return [msgspec.json.decode(e.body) for e in hall.store.events(0, 1000) if e.kind == "attendance.punch"]


def person(report: dict, staff: str) -> dict:
    return next(p for p in report["staff"] if p["staff"] == staff)


def punch_in_out(hall, clock, first, last, report_at) -> tuple[dict, dict, dict]:
    """s-li punches at `first` and `last`; (in punch, out punch, s-li's day report at `report_at`)."""
    came = punch(hall, clock, first)
    out = punch(hall, clock, last)
    clock.set(report_at)
    return came, out, person(hall.call(attendance.day_report, MONDAY), "s-li")


def test_attendance_on_time_in_and_out_is_normal(hall, clock):
    came, out, me = punch_in_out(hall, clock, at(7, 52), at(16, 31), at(20, 0))
    assert came["classification"] == "on_time"
    assert (out["kind"], out["classification"]) == ("out", "on_time")
    assert me["status"] == "normal" and [s["state"] for s in me["slots"]] == ["ok", "ok"]


def test_attendance_late_clock_in_and_early_clock_out(hall, clock):
    came, out, me = punch_in_out(hall, clock, at(8, 7), at(16, 0), at(23, 0))
    assert came["classification"] == "late"
    assert (out["kind"], out["classification"]) == ("out", "early")
    assert me["flags"] == ["late", "early_leave"] and me["status"] == "late"


def test_attendance_grace_minutes_are_configurable(make_hall, clock):
    h = make_hall("\n[business.rules.attendance]\nlate_grace_minutes = 10\nearly_grace_minutes = 5\n")
    assert punch(h, clock, at(8, 9))["classification"] == "on_time"
    assert punch(h, clock, at(16, 26))["classification"] == "on_time"


def test_attendance_repeated_punches_within_a_minute_count_once(hall, clock):
    assert punch(hall, clock, at(7, 55))["result"] == "punch"
    assert punch(hall, clock, at(7, 55, 40))["result"] == "duplicate"
    assert len(punch_events(hall)) == 1
    again = punch(hall, clock, at(7, 57))  # a minute later: another punch, extra for the filled in-slot
    assert (again["kind"], again["classification"]) == ("extra", "repeat")
    assert len(punch_events(hall)) == 2


def test_attendance_absent_and_missing_punch(hall, clock):
    punch(hall, clock, at(7, 58), WANG)  # 王芳 came in but never clocked out
    clock.set(at(7, 0, day=TUESDAY))  # the out-slot stays open until the day ends
    report = hall.call(attendance.day_report, MONDAY)
    assert person(report, "s-li")["status"] == "absent"
    wang = person(report, "s-wang")
    assert wang["status"] == "missing_punch" and wang["slots"][1]["state"] == "missing"


def test_attendance_pending_before_the_slots_pass(hall, clock):
    clock.set(at(7, 0))
    me = person(hall.call(attendance.day_report, MONDAY), "s-li")
    assert me["status"] == "pending" and {s["state"] for s in me["slots"]} == {"pending"}


def test_attendance_four_punches_a_day(make_hall, clock):
    h = make_hall("\n[business.rules.attendance]\npunches_per_day = 4\n")
    got = [punch(h, clock, t) for t in (at(7, 58), at(11, 31), at(12, 55), at(16, 20))]
    assert [(g["kind"], g["classification"]) for g in got] == [
        ("in", "on_time"), ("out", "on_time"), ("in", "on_time"), ("out", "early")]
    clock.set(at(22, 0))
    me = person(h.call(attendance.day_report, MONDAY), "s-li")
    assert [s["time"] for s in me["slots"]] == ["08:00", "11:30", "13:00", "16:30"]
    assert me["flags"] == ["early_leave"]


def test_attendance_friday_closure_moves_the_clock_out(hall, clock):
    friday = date(2026, 11, 27)  # the hall closes at 16:00 on Fridays
    r = punch(hall, clock, at(16, 2, day=friday))
    assert (r["kind"], r["classification"]) == ("out", "on_time")


def test_attendance_punch_on_a_closed_day_is_extra(hall, clock):
    r = punch(hall, clock, at(10, 0, day=date(2026, 11, 28)))  # Saturday
    assert (r["kind"], r["classification"]) == ("extra", "closed_day")


def test_attendance_unknown_card_is_recorded_once_never_an_error(hall, clock):
    r = punch(hall, clock, at(8, 0), "9999999999")
    assert r["result"] == "unknown" and "未登记" in r["message"]
    punch(hall, clock, at(8, 0, 20), "9999999999")
    kinds = [e.kind for e in hall.store.events(0, 100)]
    assert kinds == ["attendance.unknown_card"]
    report = hall.call(attendance.day_report, MONDAY)
    assert report["unknown_cards"][0]["card"] == "9999999999"


def test_attendance_line_reader_decimal_ids_match_hex_cards(hall, clock):
    tag = str(int(LI[2:], 16)).zfill(10)  # what a "10-digit decimal" USB reader prints
    assert punch(hall, clock, at(7, 59), tag)["staff"] == "s-li"
    assert punch(hall, clock, at(16, 40), str(int(LI, 16)))["staff"] == "s-li"


def test_attendance_through_the_hall_reader_pty(hardware, device_hall, clock):
    clock.set(at(8, 20))
    hardware.sim_badge("hall-reader", LI)
    wait_until(lambda: hardware.readers["hall-reader"].cards == 1)
    hardware.drain()
    assert punch_events(device_hall)[0]["classification"] == "late"
    assert hardware.last_read["hall-reader"]["message"] == "李明 08:20 上班打卡：迟到"


# ---------------------------------------------------------------- leave


def request(hall, clock, staff="s-li", kind="personal", start=TUESDAY, end=TUESDAY, **kw):
    clock.set(at(10, 0))
    return hall.call(attendance.request_leave, staff, kind, start, end, **kw)


def test_attendance_leave_approved_by_the_window_head_excuses_the_day_and_b_is_expected(hall, clock):
    lv = request(hall, clock)
    assert lv.state == "requested"
    assert hall.call(attendance.approve_leave, lv.id, "s-wang").state == "approved"
    clock.set(at(23, 0, day=TUESDAY))
    report = hall.call(attendance.day_report, TUESDAY)
    me = person(report, "s-li")
    assert me["status"] == "leave" and me["leave"] == ["事假"]
    w1 = next(w for w in report["windows"] if w["window"] == "W1")
    assert w1["b_expected"] is True and [b["id"] for b in w1["b"]] == ["s-zhao"]
    assert person(report, "s-wang")["status"] == "absent"


def test_attendance_leave_half_day_excuses_only_that_half(hall, clock):
    lv = request(hall, clock, start_half="am", end_half="am")
    hall.call(attendance.approve_leave, lv.id, "s-wang")
    punch(hall, clock, at(16, 35, day=TUESDAY))
    clock.set(at(23, 0, day=TUESDAY))
    me = person(hall.call(attendance.day_report, TUESDAY), "s-li")
    assert [s["state"] for s in me["slots"]] == ["leave", "ok"] and me["status"] == "normal"


def test_attendance_leave_refusals(hall, clock):
    with pytest.raises(Refused, match="提前"):
        request(hall, clock, start=MONDAY, end=MONDAY)  # personal leave needs a working day's notice
    with pytest.raises(Invalid):
        request(hall, clock, kind="holiday")
    with pytest.raises(Invalid):
        request(hall, clock, start=date(2026, 11, 26), end=TUESDAY)
    lv = request(hall, clock)
    with pytest.raises(Refused, match="重叠"):
        request(hall, clock, kind="annual")
    with pytest.raises(Forbidden):
        hall.call(attendance.approve_leave, lv.id, "s-zhao")  # not a head
    with pytest.raises(Forbidden):
        hall.call(attendance.approve_leave, lv.id, "s-qian")  # not a head of this department either
    own = request(hall, clock, staff="s-wang", start=date(2026, 11, 25), end=date(2026, 11, 25))
    with pytest.raises(Forbidden):
        hall.call(attendance.approve_leave, own.id, "s-wang")
    assert hall.call(attendance.approve_leave, own.id, "manager", True).state == "approved"
    hall.call(attendance.reject_leave, lv.id, "s-wang", False, "窗口人手不足")
    with pytest.raises(Refused):
        hall.call(attendance.approve_leave, lv.id, "s-wang")
    assert hall.store.leave(lv.id).state == "rejected"


def test_attendance_leave_sick_same_day_needs_a_certificate_to_be_approved(hall, clock):
    lv = request(hall, clock, kind="sick", start=MONDAY, end=MONDAY)
    with pytest.raises(Refused, match="证明"):
        hall.call(attendance.approve_leave, lv.id, "s-wang")
    ok = request(hall, clock, staff="s-zhao", kind="sick", start=MONDAY, end=MONDAY, certificate=True)
    assert hall.call(attendance.approve_leave, ok.id, "s-wang").state == "approved"


def test_attendance_leave_over_http_staff_requests_and_manager_approves(hall, clock):
    from edge.app import create_app

    clock.set(at(10, 0))
    with edge_client(create_app(hall, tick_seconds=3600)) as staff, edge_client(create_app(hall, tick_seconds=3600)) as mgr:
        assert staff.post("/api/leave", json={"kind": "annual", "start": "2026-11-24", "end": "2026-11-25"}).status_code == 401
        assert staff.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": PIN}).status_code == 200
        r = staff.post("/api/leave", json={"kind": "annual", "start": "2026-11-24", "end": "2026-11-25", "reason": "探亲"})
        assert r.status_code == 201, r.text
        leave_id = r.json()["id"]
        assert staff.post("/api/leave", json={"kind": "annual", "start": "2026-11-24", "end": "x"}).status_code == 400
        assert staff.post(f"/api/leave/{leave_id}/approve").status_code == 403
        mgr.post("/manage/login", data={"manager": "manager", "password": "admin123"})
        r = mgr.post(f"/api/leave/{leave_id}/approve", json={"note": "同意"})
        assert r.status_code == 200 and r.json()["state"] == "approved"
        assert [x["id"] for x in mgr.get("/api/leave?state=approved").json()] == [leave_id]


# ---------------------------------------------------------------- coverage


def test_attendance_coverage_is_the_share_of_open_time_the_window_was_staffed(hall, clock):
    clock.set(at(8, 0))
    hall.call(presence.sign_on, "W1", "s-li")
    clock.set(at(10, 0))
    hall.call(presence.sign_off, "W1", "s-li")
    clock.set(at(10, 30))
    hall.call(presence.sign_on, "W1", "s-zhao")  # B stands in
    clock.set(at(11, 30))
    report = hall.call(attendance.day_report, MONDAY)
    w1 = next(w for w in report["windows"] if w["window"] == "W1")
    assert w1["open_seconds"] == 3.5 * 3600
    assert w1["staffed_seconds"] == 3 * 3600
    assert w1["coverage"] == pytest.approx(3 / 3.5, abs=1e-4)
    assert w1["by_staff"] == {"s-li": 7200, "s-zhao": 3600}
    w2 = next(w for w in report["windows"] if w["window"] == "W2")
    assert w2["coverage"] == 0


def test_attendance_coverage_does_not_count_time_beyond_the_step_away_limit(hall, clock):
    clock.set(at(8, 0))
    hall.call(presence.sign_on, "W1", "s-li")
    clock.set(at(9, 0))
    hall.call(presence.pause, "W1", "s-li")
    clock.set(at(9, 45))  # 45 minutes away: 30 beyond the 15-minute limit
    hall.call(presence.resume, "W1", "s-li")
    clock.set(at(10, 0))
    w1 = next(w for w in hall.call(attendance.day_report, MONDAY)["windows"] if w["window"] == "W1")
    assert w1["over_limit_seconds"] == 30 * 60
    assert w1["coverage"] == pytest.approx(1.5 / 2, abs=1e-4)


def test_attendance_leave_handover_shown_on_the_stand_ins_console(hall, clock):
    """C 7, H AB-2, H AB-5: approving s-li's leave names the B-role of W1 (s-zhao); on the leave
    day s-zhao's console says 「李明 请假（…），由您顶岗」, the day before it does not."""
    from datetime import datetime

    from edge.leave import standing_in
    from edge.pages.console import console_data
    from tests.conftest import SH

    lv = hall.call(attendance.request_leave, "s-li", "personal", TUESDAY, TUESDAY, reason="家事")
    approved = hall.call(attendance.approve_leave, lv.id, "manager", True)
    assert approved.handover == [{"window": "W1", "stand_in": "s-zhao"}]
    assert hall.call(standing_in, "s-zhao", MONDAY) == []
    clock.set(datetime(TUESDAY.year, TUESDAY.month, TUESDAY.day, 8, 30, tzinfo=SH))
    hall.call(lambda ctx: presence.sign_on(ctx, "W1", "s-zhao"))
    shown = hall.call(console_data, "W1", "s-zhao")["standing_in"]
    assert [h["text"] for h in shown] == ["李明 请假（2026-11-24 上午 至 2026-11-24 下午），由您顶岗（1号窗口）"]
