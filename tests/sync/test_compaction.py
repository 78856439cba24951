"""Compaction of a hall's log against a real broker, a real `onestop-central` and a real
`onestop-edge` (edge.store.compaction): after the hall deleted what central acknowledged and is
older than `[storage] retention_days`, replication stays exact, seqs are never reused, the
hall's projections and central's figures are unchanged, and central losing its database
afterwards does not wedge replication (it gets `log.compacted` stand-ins for what is gone)."""

from __future__ import annotations

import pytest

from tests.sync.harness import assert_converged, central_keys, wait_until
from tests.sync.test_replicator import campus  # noqa: F401 - the fixture

pytestmark = pytest.mark.slow
LATER = "2027-03-08T09:00+08:00"  # 105 days after the harness's start: past the 90 days' retention


def test_compaction_keeps_replication_and_reports_exact(campus):  # noqa: F811
    c = campus(halls=["hall-a"])
    edge = c.edges[0]
    tickets = [edge.take()["id"] for _ in range(12)]
    assert_converged(c.db, c.edges)
    wait_until(lambda: edge.health()["sync"]["pending"] == 0, 30, what="hall-a fully acked")
    old_keys = edge.log_keys()
    epoch = edge.health()["epoch"]
    last_before = edge.health()["last_seq"]
    edge.stop()
    edge.clock_start = LATER
    edge.start()
    wait_until(lambda: edge.get(f"/api/tickets/{tickets[0]}")["state"] == "expired", 30, what="the numbers expired")
    # the twelve numbers are 105 days old and acked: they go (their expiries, today's, stay)
    wait_until(lambda: not edge.log_keys() & old_keys, 30, what="housekeeping to compact the log")
    assert edge.health()["last_seq"] == 2 * last_before
    shown = [edge.get(f"/api/tickets/{t}") for t in tickets]
    for _ in range(5):
        edge.take()
    assert edge.health()["epoch"] == epoch  # same epoch, numbering goes on
    stored = assert_converged(c.db, c.edges, extra=old_keys)  # central: everything, each once
    slots = {(h, e, s) for h, e, s, _ in stored}
    assert len(slots) == len(stored)  # no seq of the epoch names two events
    assert sorted(s for _, e, s, _ in stored if e == epoch) == list(range(1, len(stored) + 1))
    assert [edge.get(f"/api/tickets/{t}") for t in tickets] == shown  # the hall's projections
    hall = {h["id"]: h for h in c.central.get("/api/halls")}["hall-a"]
    assert hall["acked"][epoch] == len(stored)
    edge.stop()  # and a restart after compaction keeps the numbering
    edge.start()
    edge.take()
    stored = assert_converged(c.db, c.edges, extra=old_keys)
    assert sorted(s for _, e, s, _ in stored if e == epoch) == list(range(1, len(stored) + 1))


def test_compaction_central_losing_compacted_events_does_not_wedge_replication(campus, tmp_path):  # noqa: F811
    c = campus(halls=["hall-a"])
    edge = c.edges[0]
    tickets = [edge.take()["id"] for _ in range(12)]
    assert_converged(c.db, c.edges)
    wait_until(lambda: edge.health()["sync"]["pending"] == 0, 30, what="hall-a fully acked")
    old_keys = edge.log_keys()
    epoch = edge.health()["epoch"]
    edge.stop()
    edge.clock_start = LATER
    edge.start()
    wait_until(lambda: edge.get(f"/api/tickets/{tickets[0]}")["state"] == "expired", 30, what="the numbers expired")
    wait_until(lambda: not edge.log_keys() & old_keys, 30, what="housekeeping to compact the log")
    c.central.stop()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"central.db{suffix}").unlink(missing_ok=True)
    c.central.start()  # an empty database: it asks hall-a for everything again
    edge.take()
    hall_keys = edge.log_keys()

    def refilled():
        stored = central_keys(c.db)
        if len(stored) != len(set(stored)) or not hall_keys <= set(stored):
            return None
        return stored

    stored = wait_until(refilled, 60, interval=0.5, what="central refilled with what the hall still has")
    seqs = sorted(s for _, e, s, _ in stored if e == epoch)
    assert seqs == list(range(1, seqs[-1] + 1))  # contiguous again: nothing wedged
    gone = set(stored) - hall_keys
    events = [e for e in c.central.get("/api/events", hall="hall-a", epoch=epoch, limit=5000)
              if e["kind"] == "log.compacted"]
    assert {(e["epoch"], e["seq"]) for e in events} == {(e, s) for _, e, s, _ in gone}
    assert all(e["body"]["epoch"] == epoch and e["body"]["first"] <= e["seq"] <= e["body"]["last"] for e in events)
    wait_until(lambda: edge.health()["sync"]["pending"] == 0, 60, what="hall-a fully acked again")
