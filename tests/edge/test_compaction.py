"""Compaction of the hall's log (edge.store.compaction, edge.housekeeping.compact_log): only
events central acknowledged and older than `[storage] retention_days` go; each epoch's last
event and the window overrides stay; projections, seq numbering and replication are kept."""

from __future__ import annotations

import pytest

from edge import housekeeping
from edge.doctor import check_database
from edge.store import Store, compaction
from edge.store.log import StoreError
from edge.syncing import HallSource
from sync.contract import events as ev
from sync.kernel.clock import ManualClock
from tests.conftest import MONDAY_9

DAY = "2026-11-23"
DAY_US = 86_400_000_000


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "hall.db", "test-hall", ManualClock(MONDAY_9))
    s.open()
    s.ensure_windows({"W1": "academic", "W2": "finance"})
    yield s
    s.close()


def issue(s: Store, n: int, start: int = 1) -> None:
    with s.atomic():
        for i in range(start, start + n):
            s.append(ev.TicketIssued(ticket=f"t{i}", number=f"A{i:03d}", department="academic", item="transcript",
                                     service_date=DAY))


def seqs(s: Store, epoch: str | None = None) -> list[int]:
    return [e.seq for e in s.events(0, 10_000, epoch)]


def compact(s: Store, days: int = 90, limit: int = compaction.CHUNK) -> int:
    with s.atomic():
        return compaction.compact(s, s.clock.micros() - days * DAY_US, limit)


def test_compaction_never_deletes_what_central_has_not_acknowledged(store):
    issue(store, 10)
    store.save_acked(store.epoch, 4)
    store.clock.advance(days=100)
    assert compact(store) == 4
    assert seqs(store) == [5, 6, 7, 8, 9, 10]
    assert compaction.floor(store, store.epoch) == 4
    assert compact(store) == 0  # nothing more is acked


def test_compaction_keeps_young_events_and_retention_counts_from_each_event(store):
    issue(store, 5)
    store.clock.advance(days=60)
    issue(store, 5, start=6)
    store.save_acked(store.epoch, 10)
    store.clock.advance(days=40)  # the first five are 100 days old, the next 40
    assert compact(store) == 5
    assert seqs(store) == [6, 7, 8, 9, 10]


def test_compaction_keeps_each_epochs_last_event_and_a_restart_keeps_seq_numbering(store, tmp_path):
    issue(store, 6)
    old = store.epoch
    with store.atomic():
        store.rotate_epoch()
    issue(store, 3, start=7)
    store.save_acked(old, 6)
    store.save_acked(store.epoch, 3)
    epochs = store.epochs()
    store.clock.advance(days=100)
    assert compact(store) == 5 + 2
    assert seqs(store, old) == [6] and seqs(store) == [3]
    assert store.epochs() == epochs
    current = store.epoch
    store.close()
    again = Store(tmp_path / "hall.db", "test-hall", ManualClock(MONDAY_9))
    again.open()
    try:
        assert again.epoch == current and again.last_seq == 3 and again.epochs() == epochs
        issue(again, 1, start=10)
        assert seqs(again) == [3, 4]  # never a seq used before
        assert again.ticket("t1").number == "A001"  # projections untouched
    finally:
        again.close()


def test_compaction_keeps_the_window_overrides_the_schedule_reads_from_the_log(store):
    issue(store, 2)
    with store.atomic():
        store.append(ev.WindowWithdrawn(window="W2", by="manager"))
    issue(store, 2, start=3)
    overrides = store.window_overrides()
    store.save_acked(store.epoch, 5)
    store.clock.advance(days=100)
    assert compact(store) == 3
    assert [(e.seq, e.kind) for e in store.events(0, 10)] == [(3, "window.withdrawn"), (5, "ticket.issued")]
    store._override_cache = (0, [])  # as after a restart: read from the log again
    assert store.window_overrides() == overrides


def test_compaction_runs_in_bounded_chunks(store):
    issue(store, 50)
    store.save_acked(store.epoch, 50)
    store.clock.advance(days=100)
    assert [compact(store, limit=20) for _ in range(4)] == [20, 20, 9, 0]
    assert seqs(store) == [50]


def test_compaction_rebuild_refuses_a_compacted_log_in_one_line(store):
    issue(store, 3)
    store.save_acked(store.epoch, 3)
    store.clock.advance(days=100)
    compact(store)
    with pytest.raises(StoreError, match=r"the log is compacted \(epoch \w+ up to seq 2; .*restore a backup") as e:
        store.rebuild()
    assert "\n" not in str(e.value)
    assert store.ticket("t1").number == "A001"  # nothing changed


def test_compaction_doctor_says_how_far_the_log_is_compacted(store):
    issue(store, 3)
    store.save_acked(store.epoch, 3)
    store.clock.advance(days=100)
    compact(store)
    checks, _ = check_database(store.path, "test-hall")
    assert f"log compacted up to {store.epoch} ≤ seq 2" in checks[0].detail


def test_compaction_housekeeping_honours_retention_days_and_keeps_projections(hall, client):
    numbers = [client.post("/api/tickets", json={"item": "transcript"}).json() for _ in range(5)]
    hall.clock.advance(days=89)
    assert hall.call(housekeeping.tick)["compacted"] == 0  # (it expires the five numbers)
    before = [client.get(f"/api/tickets/{t['id']}").json() for t in numbers]
    epoch = hall.store.epoch
    hall.call(lambda ctx: ctx.store.save_acked(epoch, ctx.store.last_seq))
    hall.clock.advance(days=2)
    hall.ctx.retention_days = 0  # keep forever
    assert hall.call(housekeeping.compact_log) == 0
    hall.ctx.retention_days = hall.config.storage.retention_days
    assert hall.config.storage.retention_days == 90
    assert hall.call(housekeeping.tick)["compacted"] == 5  # the five issued; their expiries are young
    assert [client.get(f"/api/tickets/{t['id']}").json() for t in numbers] == before
    assert hall.call(lambda ctx: ctx.store.last_seq) == hall.call(lambda ctx: ctx.store.epochs())[-1][1]


def test_compaction_stand_ins_fill_what_central_asks_for_again(hall):
    def fill(ctx):
        for i in range(6):
            ctx.store.append(ev.TicketIssued(ticket=f"t{i}", number=f"A{i:03d}", department="academic",
                                             item="transcript", service_date=DAY))
            if i == 2:
                ctx.store.append(ev.WindowOpened(window="W2", by="manager"))

    hall.call(fill)
    epoch = hall.store.epoch
    last = hall.store.last_seq
    hall.call(lambda ctx: ctx.store.save_acked(epoch, last))
    hall.clock.advance(days=100)
    hall.ctx.retention_days = 90
    assert hall.call(housekeeping.compact_log) == last - 2  # all but the override and the last
    source = HallSource(hall)
    got = source.read(epoch, 0, 100)
    assert [e.seq for e in got] == list(range(1, last + 1))  # whole again: central's mark can move on
    kinds = {e.seq: e.kind for e in got}
    assert kinds[4] == "window.opened" and kinds[last] == "ticket.issued"
    assert {kinds[s] for s in range(1, last) if s != 4} == {"log.compacted"}
    stand_in = ev.decode_body("log.compacted", got[0].body)
    assert (stand_in.epoch, stand_in.first, stand_in.last) == (epoch, 1, 3)
    assert [e.id for e in source.read(epoch, 0, 100)] == [e.id for e in got]  # resent: same ids, no conflict
    # a read cut by its limit never puts a stand-in where a kept event follows
    assert [(e.seq, e.kind) for e in source.read(epoch, 2, 2)] == [(3, "log.compacted"), (4, "window.opened")]
    assert [e.seq for e in source.read(epoch, 4, 100)] == list(range(5, last + 1))
