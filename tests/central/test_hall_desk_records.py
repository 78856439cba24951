"""What the hall manager records at the hall reaches central (issue 13), on SQLite and PostgreSQL
(the `store` fixture): complaints taken at the hall's 办不成事反映窗口 (`complaint.received`) are
filed with central's complaints, with their hall, routed and given their reply deadline like one
typed at central [J 35, U 33, B 41, C 19, H 限时办结-3]; a manual closing check shows as 人工确认
with the note [J 42]."""

from __future__ import annotations

from datetime import date

from central import operations as ops
from central import scope as sc
from central.config import User
from central.supervision import complaints as cp
from sync.contract import events as ev
from sync.contract import wire
from tests.central.data import HallLog, at, build_directory

ADMIN_USER = User(name="admin", role="admin", password_hash="x")
HB_USER = User(name="hb-manager", role="hall", hall="h-b", password_hash="x")
REPLY_DAYS = {"一般": 0, "需调查": 15, "复杂": 30}


def hall_log() -> HallLog:
    log = HallLog("h-a")
    log.add(ev.ComplaintReceived(complaint="c-1", received="2026-11-02T10:15", channel="窗口", staff="s-qian",
                                 content="报销材料被要求反复补交", complexity="需调查", complainant="王老师",
                                 by="manager"), at("2026-11-02", "10:16"))
    log.add(ev.ComplaintReceived(complaint="c-2", received="2026-11-03T15:00", channel="电话", window="W1",
                                 content="窗口午休提前关闭", by="manager"), at("2026-11-03", "15:01"))
    log.add(ev.ClosingChecked(service_date="2026-11-03", ok=True, by="manager", manual=True, note="后门门磁松动，已人工锁门",
                              readings=[ev.FailedInput(name="door-back", role="door", label="后门", state="open")]),
            at("2026-11-03", "17:10"))
    log.add(ev.ClosingChecked(service_date="2026-11-04", ok=True), at("2026-11-04", "17:00"))
    return log


def ingest(store, log: HallLog, twice: bool = False) -> None:
    n = len(log.events)
    for _ in range(2 if twice else 1):
        store.ingest(log.hall, wire.events_topic(log.hall), log.payload(1, n), 1)


def test_hall_complaints_are_filed_at_central_with_their_hall_once(store, tmp_path):
    """Routed to the staff member's department, else the window's; due after the complexity's
    reply days (none given: the first, 一般, same day) [H 限时办结-3]; listed once however often
    the list is read or the batch is resent."""
    d = build_directory(tmp_path)
    ingest(store, hall_log(), twice=True)
    rows = cp.list_complaints(store, d, sc.ADMIN, date(2026, 11, 10), reply_days=REPLY_DAYS)
    rows = cp.list_complaints(store, d, sc.ADMIN, date(2026, 11, 10), reply_days=REPLY_DAYS)
    assert [(r["hall"], r["received_day"], r["received_time"], r["channel"], r["department"], r["complexity"],
             r["due"], r["taken_at_hall"]) for r in rows] == [
        ("h-a", "2026-11-03", "15:00", "电话", "academic", "一般", "2026-11-03", True),
        ("h-a", "2026-11-02", "10:15", "窗口", "finance", "需调查", "2026-11-17", True),
    ]
    assert rows[1]["hall_name"] == d.hall_name("h-a") and rows[1]["staff_name"] == "钱红"
    assert rows[1]["complainant"] == "王老师" and "登记" in rows[1]["created_by"]
    assert rows[0]["overdue"] and rows[0]["state"] == "逾期未答复"  # a same-day reply was due on 11-03
    finance = sc.Scope(role="department", department="finance")
    assert [r["content"] for r in cp.list_complaints(store, d, finance, date(2026, 11, 10))] == ["报销材料被要求反复补交"]
    assert cp.list_complaints(store, d, sc.Scope(role="hall", hall="h-b"), date(2026, 11, 10)) == []


def test_hall_complaints_are_answered_like_central_ones(store, tmp_path):
    """A hall-taken complaint gets its reply and outcome at central, and the upheld count (for
    the awards) includes it; one typed at central stays as it was."""
    d = build_directory(tmp_path)
    ingest(store, hall_log())
    typed = cp.create_complaint(store, d, ADMIN_USER, {"hall": "h-b", "staff": "s-li", "received": "2026-11-05 09:00",
                                                       "channel": "网上", "complexity": "一般", "content": "态度"},
                                at("2026-11-05", "09:30"), REPLY_DAYS)
    rows = cp.list_complaints(store, d, sc.ADMIN, date(2026, 11, 10), reply_days=REPLY_DAYS)
    assert [(r["hall"], r["taken_at_hall"]) for r in rows] == [("h-b", False), ("h-a", True), ("h-a", True)]
    hall_one = next(r for r in rows if r["staff"] == "s-qian")
    out = cp.update_complaint(store, d, ADMIN_USER, sc.ADMIN, hall_one["id"],
                              {"action": "reply", "reply": "已核实并致歉", "outcome": "属实"}, at("2026-11-06", "10:00"))
    assert out["state"] == "已答复" and out["taken_at_hall"]
    assert cp.upheld_complaints(store, date(2026, 11, 1), date(2026, 11, 30)) == {("h-a", "s-qian"): 1}
    assert cp.get_complaint(store, d, sc.ADMIN, typed["id"], date(2026, 11, 10))["taken_at_hall"] is False


def test_manual_closing_check_shows_as_manual_at_central(store, tmp_path):
    """The manager's manual check [J 42] is told apart from the automatic one, with who, the
    note and what the inputs read."""
    d = build_directory(tmp_path)
    ingest(store, hall_log())
    rows = ops.operations(store, d, "2026-11-01", "2026-11-30")["rows"]
    assert [(r["day"], r["closing_name"], r["closing_note"]) for r in rows] == [
        ("2026-11-03", "人工确认通过", "周主任：后门门磁松动，已人工锁门（检测显示：后门未关闭）"),
        ("2026-11-04", "通过", ""),
    ]


def test_hall_complaint_taken_offline_at_a_real_hall_reaches_central(store, tmp_path):
    """End to end without the broker: the hall node h-a records a complaint on its manager page's
    command (edge.complaints) and a manual closing check while offline; its log, read and batched
    as the replicator sends it, is ingested at central, which files the complaint and shows the
    check as manual."""
    from edge import closing, complaints
    from edge.config import load as load_hall
    from edge.hall import Hall
    from edge.syncing import HallSource
    from sync.kernel.clock import ManualClock
    from tests.conftest import MONDAY_9

    d = build_directory(tmp_path)
    clock = ManualClock(MONDAY_9)
    hall = Hall(load_hall(tmp_path / "cfg" / "halls" / "h-a.toml"), tmp_path / "edge-data", clock)
    hall.start()
    try:
        hall.call(complaints.record, "manager", "窗口人员离岗无人办理", "窗口", "", "W3")
        clock.set(MONDAY_9.replace(hour=17))
        hall.call(closing.manual_check, [], "manager", True, True, "")
        events = HallSource(hall).read(hall.store.epoch, 0, 100)
        batch = wire.Batch(v=wire.V, hall="h-a", epoch=hall.store.epoch, events=events, sent=0)
    finally:
        hall.stop()
    store.ingest("h-a", wire.events_topic("h-a"), wire.encode(batch), 1)
    (row,) = cp.list_complaints(store, d, sc.ADMIN, date(2026, 11, 23))
    assert (row["hall"], row["window"], row["department"], row["received_day"], row["received_time"], row["due"],
            row["taken_at_hall"]) == ("h-a", "W3", "finance", "2026-11-23", "09:00", "2026-11-23", True)
    (op,) = ops.operations(store, d, "2026-11-23", "2026-11-23")["rows"]
    assert op["closing_name"] == "人工确认通过" and op["closing_note"].startswith("周主任")
