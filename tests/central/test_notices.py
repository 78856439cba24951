"""Result notices (edge.outbox) as central sees them: per-hall counts of the notice events in
GET /api/halls' `notices` [B 25(2), C 11(7)]."""

from __future__ import annotations

from sync.contract import events as ev
from tests.central.data import HallLog, at


def test_notices_counted_per_hall_from_their_events(store):
    a, b = HallLog("h-a"), HallLog("h-b")
    a.add(ev.CasePhoneRecorded(case="c1", by="s-li"), at("2026-11-02", "09:00"))
    for n in ("n1", "n2", "n3"):
        a.add(ev.NoticeQueued(notice=n, case="c1", reason="done"), at("2026-11-02", "10:00"))
    a.add(ev.NoticeSent(notice="n1", case="c1", gateway="http", attempts=2), at("2026-11-02", "10:01"))
    a.add(ev.NoticeFailed(notice="n2", case="c1", attempts=1, reason="HTTP 400"), at("2026-11-02", "10:01"))
    b.add(ev.TicketIssued(ticket="T1", number="A001", department="academic", service_date="2026-11-02"),
          at("2026-11-02", "09:00"))
    for log in (a, b):
        store.ingest(log.hall, f"onestop/v1/halls/{log.hall}/events", log.payload(1, 100), 1)
    store.ensure_hall("h-a", "east")
    store.ensure_hall("h-b", "east")
    assert {h["id"]: h["notices"] for h in store.halls()} == {
        "h-a": {"queued": 3, "sent": 1, "failed": 1}, "h-b": {"queued": 0, "sent": 0, "failed": 0}}
    assert not store.m.Quarantine.select().count()  # central knows the new kinds
