"""Queue rules through the HTTP API: numbering, calling order, recall/no-show/rejoin,
transfer, opening hours, window schedules."""

from __future__ import annotations

from datetime import datetime

from edge import queue
from tests.conftest import SH, login_manager


def take(client, **body):
    r = client.post("/api/tickets", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def window(client, wid):
    return next(w for w in client.get("/api/windows").json() if w["id"] == wid)


def event_count(client) -> int:
    return len(client.get("/api/events?limit=1000").json())


def test_queue_numbers_per_department_prefix(client):
    assert take(client, item="transcript")["number"] == "A001"
    assert take(client, department="academic")["number"] == "A002"
    assert take(client, item="reimburse")["number"] == "F001"
    t = take(client, item="transcript")
    assert t["number"] == "A003"
    assert t["waiting_ahead"] == 2
    assert t["issued_at"] == "2026-11-23T09:00:00+08:00"


def test_queue_numbers_restart_each_day(client, clock):
    take(client, item="transcript")
    take(client, item="transcript")
    clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=SH))
    assert take(client, item="transcript")["number"] == "A001"


def test_queue_calls_priority_first_then_arrival(client, signed_on, clock):
    """Numbers are called in order, priority help first [J 22, C 11(5)]."""
    take(client, item="transcript")  # A001
    clock.advance(minutes=1)
    take(client, item="transcript")  # A002
    clock.advance(minutes=1)
    p = take(client, item="transcript", priority=True)  # A003, priority
    assert p["waiting_ahead"] == 0
    w = signed_on("W1", "s-li")
    called = []
    for _ in range(3):
        r = w.post("/api/windows/W1/call")
        assert r.status_code == 200, r.text
        called.append(r.json()["ticket"]["number"])
        assert w.post("/api/windows/W1/complete", json={"outcome": "instant"}).status_code == 200
    assert called == ["A003", "A001", "A002"]


def test_queue_window_calls_only_its_department(client, signed_on):
    """A department's windows call its own numbers, in order [J 22]."""
    take(client, item="transcript")
    take(client, item="reimburse")
    fin = signed_on("W3", "s-qian")
    r = fin.post("/api/windows/W3/call")
    assert r.json()["ticket"]["number"] == "F001"
    assert fin.post("/api/windows/W3/complete", json={"outcome": "instant"}).status_code == 200
    r = fin.post("/api/windows/W3/call")
    assert r.status_code == 409 and r.json()["code"] == "queue-empty"


def test_queue_paused_window_calls_nothing(client, signed_on):
    take(client, item="transcript")
    w = signed_on("W1", "s-li")
    assert w.post("/api/windows/W1/pause", json={"reason": "取材料"}).json()["state"] == "paused"
    before = event_count(client)
    r = w.post("/api/windows/W1/call")
    assert r.status_code == 409
    assert r.json()["code"] == "window-paused"
    assert "暂停" in r.json()["detail"]
    assert event_count(client) == before
    assert window(client, "W1")["lamp"] == "on"
    assert w.post("/api/windows/W1/resume").json()["state"] == "idle"
    assert w.post("/api/windows/W1/call").json()["ticket"]["number"] == "A001"


def test_queue_closed_window_and_foreign_staff_refused(client, signed_on):
    take(client, item="transcript")
    r = client.post("/api/windows/W1/call")  # nobody signed on in this session
    assert r.status_code == 401
    fin = signed_on("W3", "s-qian")
    r = fin.post("/api/windows/W1/call")  # fin's session is W3's: another window is refused before anything
    assert r.status_code == 403
    signed_on("W1", "s-li")
    r = fin.post("/api/windows/W1/call")  # W1 is li's window
    assert r.status_code == 403
    assert window(client, "W1")["ticket"] is None


def test_queue_recall_no_show_and_rejoin(client, signed_on, clock):
    take(client, item="transcript")  # A001
    take(client, item="transcript")  # A002
    w = signed_on("W1", "s-li")
    w.post("/api/windows/W1/call")
    r = w.post("/api/windows/W1/no-show")
    assert r.status_code == 409 and r.json()["code"] == "recall-first"
    assert w.post("/api/windows/W1/recall").json()["ticket"]["recalls"] == 1
    assert w.post("/api/windows/W1/recall").json()["ticket"]["recalls"] == 2
    assert w.post("/api/windows/W1/no-show").json()["state"] == "idle"
    clock.advance(minutes=2)
    take(client, item="transcript")  # A003 arrives after the no-show
    clock.advance(minutes=1)
    r = client.post("/api/tickets/rejoin", json={"number": "a001"})
    assert r.status_code == 200 and r.json()["state"] == "waiting"
    # rejoined at the end: after A002 and A003
    order = []
    for _ in range(3):
        order.append(w.post("/api/windows/W1/call").json()["ticket"]["number"])
        w.post("/api/windows/W1/complete", json={"outcome": "instant"})
    assert order == ["A002", "A003", "A001"]
    # a second rejoin is over the limit (rejoin_limit = 1)
    take(client, item="transcript")
    w.post("/api/windows/W1/call")
    w.post("/api/windows/W1/recall")
    w.post("/api/windows/W1/recall")
    w.post("/api/windows/W1/no-show")
    assert client.post("/api/tickets/rejoin", json={"number": "A004"}).status_code == 200
    w.post("/api/windows/W1/call")
    w.post("/api/windows/W1/recall")
    w.post("/api/windows/W1/recall")
    w.post("/api/windows/W1/no-show")
    r = client.post("/api/tickets/rejoin", json={"number": "A004"})
    assert r.status_code == 409 and r.json()["code"] == "rejoin-limit"


def test_queue_transfer_keeps_place_in_time(client, signed_on, clock):
    """First-asked responsibility: a transfer keeps the visitor's place [J 19, U 18, B 22, C 11(1), H 6]."""
    take(client, item="transcript")  # A001 at 09:00, really a finance matter
    clock.advance(minutes=10)
    take(client, item="reimburse")  # F001 at 09:10
    acad = signed_on("W1", "s-li")
    acad.post("/api/windows/W1/call")
    clock.advance(minutes=5)
    r = acad.post("/api/windows/W1/transfer", json={"item": "reimburse", "note": "报销请到财务处"})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "idle"
    fin = signed_on("W3", "s-qian")
    first = fin.post("/api/windows/W3/call").json()["ticket"]
    assert first["number"] == "A001"  # issued before F001, so called first
    assert first["item"] == "reimburse"
    events = client.get("/api/events?limit=1000").json()
    tr = [e for e in events if e["kind"] == "ticket.transferred"]
    assert tr[0]["body"]["from_department"] == "academic" and tr[0]["body"]["to_department"] == "finance"


def test_queue_transfer_to_own_or_absent_department_refused(client, signed_on):
    """A transfer goes to a department that can serve the item [J 19, B 22]."""
    take(client, item="transcript")
    w = signed_on("W1", "s-li")
    w.post("/api/windows/W1/call")
    assert w.post("/api/windows/W1/transfer", json={"department": "academic"}).status_code == 400
    r = w.post("/api/windows/W1/transfer", json={"department": "elsewhere"})
    assert r.status_code == 409 and r.json()["code"] == "department-not-here"
    assert window(client, "W1")["state"] == "serving"


def test_queue_estimated_wait_uses_open_windows(client, signed_on):
    for _ in range(4):
        take(client, item="transcript")  # transcript 4 min, suspension 10, graduation 8 → mean ≈ 7.33
    t = take(client, item="transcript")
    assert t["waiting_ahead"] == 4
    assert t["estimated_wait_minutes"] is None  # no window working: no estimate rather than a made-up one
    signed_on("W1", "s-li")
    r = client.get(f"/api/tickets/{t['id']}").json()
    assert r["estimated_wait_minutes"] == 30  # 4 × 7.33 min at one window
    assert next(q for q in client.get("/api/queue").json() if q["department"] == "academic")["estimated_wait_minutes"] == 37
    signed_on("W2", "s-wang")
    r = client.get(f"/api/tickets/{t['id']}").json()
    assert r["waiting_ahead"] == 4 and r["estimated_wait_minutes"] == 15  # shared by two windows


def test_queue_issuing_follows_opening_hours(client, clock):
    """Numbers are issued in opening hours only [J 26]."""
    clock.set(datetime(2026, 11, 23, 20, 0, tzinfo=SH))
    r = client.post("/api/tickets", json={"item": "transcript"})
    assert r.status_code == 409 and r.json()["code"] == "hall-closed"
    assert "11月24日 08:00" in r.json()["detail"]
    clock.set(datetime(2026, 11, 24, 7, 35, tzinfo=SH))  # 25 min before opening: allowed
    assert take(client, item="transcript")["number"] == "A001"
    clock.set(datetime(2026, 11, 25, 14, 0, tzinfo=SH))  # last Wednesday afternoon: closed
    assert client.post("/api/tickets", json={"item": "transcript"}).status_code == 409
    clock.set(datetime(2026, 10, 3, 9, 0, tzinfo=SH))  # National Day
    assert client.post("/api/tickets", json={"item": "transcript"}).status_code == 409
    clock.set(datetime(2026, 10, 10, 9, 0, tzinfo=SH))  # make-up Saturday
    assert client.post("/api/tickets", json={"item": "transcript"}).status_code == 201


def test_queue_numbers_taken_before_closing_are_served_after(client, signed_on, clock):
    """Extended service: numbers taken before closing are served after it [U 21, B 28, C 11(6)]."""
    w = signed_on("W1", "s-li")
    clock.set(datetime(2026, 11, 23, 16, 29, tzinfo=SH))
    take(client, item="transcript")
    clock.set(datetime(2026, 11, 23, 16, 50, tzinfo=SH))
    assert client.post("/api/tickets", json={"item": "transcript"}).status_code == 409
    r = w.post("/api/windows/W1/call")
    assert r.status_code == 200 and r.json()["ticket"]["number"] == "A001"


def test_queue_stale_tickets_expire_next_day(client, hall, signed_on, clock):
    take(client, item="transcript")
    take(client, item="transcript")
    w = signed_on("W1", "s-li")
    w.post("/api/windows/W1/call")
    clock.set(datetime(2026, 11, 24, 8, 0, tzinfo=SH))
    assert hall.call(queue.expire_stale) == 2
    assert hall.call(queue.expire_stale) == 0
    assert window(client, "W1")["ticket"] is None
    kinds = [e["kind"] for e in client.get("/api/events?limit=1000").json()]
    assert kinds.count("ticket.expired") == 2


def test_queue_sign_on_rules(client, signed_on):
    r = client.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": "0000"})
    assert r.status_code == 403 and r.json()["code"] == "bad-credentials"
    r = client.post("/api/windows/W1/sign-on", json={"staff": "s-qian", "pin": "1234"})
    assert r.status_code == 403 and r.json()["code"] == "not-assigned"
    b = signed_on("W1", "s-zhao")  # B-role stands in for A
    assert window(client, "W1")["role"] == "B"
    assert window(client, "W1")["staff"]["name"] == "赵强"
    r = client.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": "1234"})
    assert r.status_code == 409 and r.json()["code"] == "window-taken"
    take(client, item="transcript")
    b.post("/api/windows/W1/call")
    r = b.post("/api/windows/W1/sign-off")
    assert r.status_code == 409 and r.json()["code"] == "service-open"
    b.post("/api/windows/W1/complete", json={"outcome": "instant"})
    assert b.post("/api/windows/W1/sign-off").json()["state"] == "closed"


def test_queue_issue_answers_what_the_projection_stored(hall):
    """issue() answers without reading the ticket back; the answer must equal the projection."""
    res = hall.call(queue.issue, item="transcript", priority=True)
    assert hall.call(lambda ctx: ctx.store.ticket(res["ticket"].id)) == res["ticket"]


def test_queue_department_without_open_window_refused(strict_client):
    """A number only for a department whose window is open now, so that someone serves it: its
    windows call the numbers [J 22]. A paused window (stepping away) is still open [C 9(4)]."""
    c = strict_client
    r = c.post("/api/tickets", json={"item": "transcript"})
    assert r.status_code == 409 and r.json()["code"] == "department-closed"
    assert r.json()["detail"] == "教务处窗口暂未开放，暂不能取号"
    assert "ticket.issued" not in [e["kind"] for e in c.get("/api/events?limit=1000").json()]  # nothing changed
    assert c.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": "1234"}).status_code == 200
    assert take(c, item="transcript")["number"] == "A001"
    assert take(c, department="academic")["number"] == "A002"
    r = c.post("/api/tickets", json={"department": "finance"})  # W3: nobody there
    assert r.status_code == 409 and r.json()["code"] == "department-closed"
    assert c.post("/api/windows/W1/pause", json={"reason": "取材料"}).json()["state"] == "paused"
    assert take(c, item="transcript")["number"] == "A003"
    c.post("/api/windows/W1/resume")
    # three still wait: only the hall manager may let W1 go [U 21, B 28, C 11(6)]
    assert c.post("/api/windows/W1/sign-off").json()["code"] == "department-still-waiting"
    login_manager(c).post("/manage/windows/W1/sign-off")
    r = c.post("/api/tickets", json={"item": "suspension"})
    assert r.status_code == 409 and r.json()["code"] == "department-closed"
    # a department with no window in service today keeps its own reason (W4: Tue/Thu)
    r = c.post("/api/tickets", json={"item": "hukou"})
    assert r.status_code == 409 and r.json()["code"] == "no-window-today"


def test_queue_early_numbers_before_opening_then_department_closed_while_nobody_came(strict_client, clock):
    """Before a work period numbers may be taken early [J 26] even though staff sign on at the
    opening time: the answer has no estimate (no window serves yet). Once the hall is open, a
    department whose windows nobody has signed on to is refused, naming when service starts
    if that is still ahead today (the 08:03 case of issue 12)."""
    c = strict_client
    clock.set(datetime(2026, 11, 23, 7, 45, tzinfo=SH))
    early = take(c, item="reimburse")
    assert early["number"] == "F001" and early["estimated_wait_minutes"] is None
    clock.set(datetime(2026, 11, 23, 8, 3, tzinfo=SH))
    r = c.post("/api/tickets", json={"item": "reimburse"})
    assert r.status_code == 409 and r.json()["code"] == "department-closed"
    assert c.post("/api/windows/W3/sign-on", json={"staff": "s-qian", "pin": "1234"}).status_code == 200
    second = take(c, item="reimburse")
    assert second["number"] == "F002" and second["waiting_ahead"] == 1 and second["estimated_wait_minutes"] is not None
    clock.set(datetime(2026, 11, 24, 7, 0, tzinfo=SH))  # before the early numbers: the hall's reason
    r = c.post("/api/tickets", json={"item": "reimburse"})
    assert r.status_code == 409 and r.json()["code"] == "hall-closed"
