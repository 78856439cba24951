"""`LogStore.recent_events`: events of some kinds from a time on, found through the UUIDv7 ids
(the manager's pages read today's closing checks and the last 30 days' complaints with it)."""

from __future__ import annotations

from datetime import timedelta

from edge import complaints
from sync.kernel.clock import to_micros
from tests.conftest import MONDAY_9


def test_store_recent_events_reads_only_the_kinds_from_the_time_on(hall, clock):
    hall.call(complaints.record, "manager", "第一条", "窗口")
    clock.advance(days=2)
    hall.call(complaints.record, "manager", "第二条", "电话")
    hall.call(complaints.record, "manager", "第三条", "信箱")
    since = to_micros(MONDAY_9 + timedelta(days=1))
    got = hall.call(lambda ctx: [e.kind for e in ctx.store.recent_events(["complaint.received"], since)])
    assert got == ["complaint.received", "complaint.received"]
    assert hall.call(lambda ctx: ctx.store.recent_events(["closing.checked"], 0)) == []
    assert [c["content"] for c in hall.call(complaints.recent)] == ["第三条", "第二条", "第一条"]
    clock.advance(days=31)
    assert [c["content"] for c in hall.call(complaints.recent)] == []  # older than 30 days: not listed
