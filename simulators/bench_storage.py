"""The storage limits the benches compare ingest with, measured on the same rows in the same
run: raw `sqlite3.executemany` and a raw PostgreSQL `COPY`; and a database's size on disk."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def raw_rate(payloads, tmp: Path) -> float:
    """events/s of sqlite3.executemany of the same rows into the events table shape, one
    transaction (bench_sync.raw_sqlite_rate): the storage limit ingest is compared with."""
    from sync.contract import wire

    from .bench_sync import raw_sqlite_rate

    rows = []
    for hall, payload, _ts in payloads:
        b = wire.decode(payload, wire.Batch)
        rows += [(hall, b.epoch, e.seq, e.id, e.kind, e.schema, e.body.decode(), e.ts, e.ts, e.boot, e.mono,
                  e.clock, 0) for e in b.events]
    return raw_sqlite_rate(rows, tmp)


def raw_copy_rate(url: str, payloads, tries: int = 3) -> float:
    """events/s of one COPY of the same rows into a copy of the `events` table (same columns,
    indexes and id sequence), one transaction, best of `tries`: PostgreSQL's storage limit. The
    COPY text is written to a temporary file first (a province's is gigabytes) and streamed from
    it; only the COPY is timed."""
    from central.store import CentralStore, prepare
    from central.store.pgingest import _COLS, copy_text

    n = 0
    with tempfile.TemporaryFile("w+", encoding="utf-8") as text:
        for h, p, _ts in payloads:
            rows = prepare(h, "", p, 0).rows
            n += len(rows)
            text.write(copy_text(rows))
        store = CentralStore(url)
        store.db.connect()
        best = 0.0
        try:
            cur = store.db.cursor()
            cur.execute("CREATE TABLE bench_raw_events (LIKE events INCLUDING ALL)")
            store.db.commit()
            for _ in range(tries):
                text.seek(0)
                t0 = time.perf_counter()
                cur.copy_expert(f"COPY bench_raw_events ({_COLS}) FROM STDIN", text, size=1 << 20)
                store.db.commit()
                best = max(best, n / (time.perf_counter() - t0))
                cur.execute("TRUNCATE bench_raw_events")
                store.db.commit()
            cur.execute("DROP TABLE bench_raw_events")
            store.db.commit()
        finally:
            store.close()
    return best


def database_size(store) -> int:
    """Bytes the database takes on disk (PostgreSQL: pg_database_size; SQLite: pages × page size)."""
    if store.postgres:
        return store.db.execute_sql("SELECT pg_database_size(current_database())").fetchone()[0]
    pages = store.db.execute_sql("PRAGMA page_count").fetchone()[0]
    return pages * store.db.execute_sql("PRAGMA page_size").fetchone()[0]
