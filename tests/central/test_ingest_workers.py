"""Two central ingest workers on one PostgreSQL database (docs/sync.md, "Several central
workers"; docs/benchmarks.md, "PostgreSQL ingest"): each has its own connection and commits
groups of batches, the halls interleaved and in opposite orders in the two workers' groups, some
batches delivered to both (a hall's resend). No deadlock, every event stored exactly once, and
every ack a worker reads after its commit covers only committed events."""

from __future__ import annotations

import threading
import time

import pytest

from central.store import CentralStore, prepare
from sync.contract import wire
from tests.central.data import HallLog

HALLS = [f"h-{k}" for k in range(6)]
PER_BATCH = 40
BOUND_S = 20.0  # the whole exchange must finish well within this


@pytest.fixture
def pg_url():
    from tests.pg import fresh_database

    yield from fresh_database()


def _logs() -> dict[str, HallLog]:
    logs = {}
    for k, hall in enumerate(HALLS):
        log = HallLog(hall)
        for i in range(60 + 7 * k):  # halls of different sizes: their batches run out at different times
            t = f"T{k}-{i:04d}"
            minute = 9 * 60 + i
            hm = f"{minute // 60:02d}:{minute % 60:02d}"
            log.visit(t, "2026-11-23", "registrar", hm, called=hm, started=hm, completed=hm, window="W1",
                      staff="s1", case=f"C{k}-{i}" if i % 5 == 0 else None)
        logs[hall] = log
    return logs


def _batches(logs: dict[str, HallLog]) -> list[tuple[str, bytes]]:
    """Every hall's batches, interleaved: first batch of every hall, then the second, …"""
    per_hall = {h: [(h, log.payload(lo, lo + PER_BATCH - 1)) for lo in range(1, len(log.events) + 1, PER_BATCH)]
                for h, log in logs.items()}
    out = []
    for i in range(max(len(b) for b in per_hall.values())):
        out += [b[i] for b in per_hall.values() if i < len(b)]
    return out


def test_ingest_two_workers_interleaved_halls_no_deadlock_no_loss_no_duplicate(pg_url):
    logs = _logs()
    batches = _batches(logs)
    first = CentralStore(pg_url)
    first.open()  # migrated once, as the first central process does
    # as a shared subscription deals them: alternately to A and B; every fourth is also resent to the other
    mine = {"A": [], "B": []}
    for i, b in enumerate(batches):
        mine["AB"[i % 2]].append(b)
        if i % 4 == 0:
            mine["BA"[i % 2]].append(b)
    group = len(HALLS)
    rounds = max(len(v) for v in mine.values()) // group + 1
    barrier = threading.Barrier(2, timeout=BOUND_S)
    errors: list[str] = []
    results = {"A": [], "B": []}

    def worker(name: str) -> None:
        store = CentralStore(pg_url)
        store.db.connect()
        try:
            for r in range(rounds):
                part = mine[name][r * group:(r + 1) * group]
                # A's groups hold the halls in ascending order, B's in descending: the order
                # their batches arrive in is the worst case for locks taken as they come
                part.sort(key=lambda b: b[0], reverse=(name == "B"))
                barrier.wait()  # both workers' groups run at once
                preps = [prepare(h, wire.events_topic(h), p, r, copy=True) for h, p in part]
                try:
                    results[name] += [x for x in store.ingest_group(preps) if x is not None]
                except Exception as e:  # noqa: BLE001 - a deadlock would show here
                    errors.append(f"{name} round {r}: {type(e).__name__}: {e}")
                    continue
                # after the commit: what the ack would carry covers committed events only
                for hall in {h for h, _p in part}:
                    for epoch, upto in store.acks(hall).items():
                        held = store.db.execute_sql(
                            "SELECT COUNT(*) FROM events WHERE hall = %s AND epoch = %s AND seq <= %s",
                            [hall, epoch, upto]).fetchone()[0]
                        if held != upto:
                            errors.append(f"{name}: ack {hall} {upto} but {held} events committed")
        except threading.BrokenBarrierError:
            errors.append(f"{name}: the other worker did not come back within {BOUND_S} s")
        finally:
            store.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,), name=f"ingest-{n}") for n in "AB"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(BOUND_S + 5)
    assert not any(t.is_alive() for t in threads), "a worker is stuck"
    assert time.monotonic() - t0 < BOUND_S
    assert errors == []
    try:
        expected = sorted((h, log.epoch, e.seq, e.id) for h, log in logs.items() for e in log.events)
        assert first.event_keys() == expected  # every event exactly once
        for hall, log in logs.items():
            assert first.acks(hall) == {log.epoch: len(log.events)}
            assert first.conflicts(hall) == {}
        assert first.event_counts() == {h: len(log.events) for h, log in logs.items()}
        stored = sum(r.stored for rs in results.values() for r in rs)
        assert stored == len(expected)
        # the events of every batch sent twice came back once as duplicates
        assert sum(r.duplicates for rs in results.values() for r in rs) == sum(
            len(wire.decode(p, wire.Batch).events) for i, (_h, p) in enumerate(batches) if i % 4 == 0)
    finally:
        first.close()
