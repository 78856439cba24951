"""central.store: quarantine keeps a bounded prefix of a bad payload with its size and SHA-256
(a 20 MiB payload is never stored whole), shown by the API; the migration bounds older rows."""

from __future__ import annotations

import hashlib
import sqlite3

from litestar.testing import TestClient

from central.app import create_app
from central.auth import Auth
from central.config import load
from central.projections import Directory
from central.store import CentralStore
from central.store.migrations import MIGRATIONS, QUARANTINE_KEEP
from sync.contract import wire
from tests.central.data import write_config

BIG = b"\x93garbage" * (20 * 1024 * 1024 // 8)  # 20 MiB that is no Batch


def test_store_quarantine_keeps_a_bounded_prefix_size_and_hash(store):
    assert store.ingest("hall-a", wire.events_topic("hall-a"), BIG, received=1) is None
    store.quarantine("hall-a", wire.status_topic("hall-a"), b"short", "status: bad", received=2)
    rows = store.quarantined()
    assert [r["reason"].split(":")[0] for r in rows] == ["status", rows[1]["reason"].split(":")[0]]
    big, short = rows[1], rows[0]
    assert big["size"] == len(BIG) and big["kept"] == QUARANTINE_KEEP == 4096
    assert big["sha256"] == hashlib.sha256(BIG).hexdigest()
    assert big["preview"] == BIG[:200].hex()
    assert short["size"] == short["kept"] == 5 and short["sha256"] == hashlib.sha256(b"short").hexdigest()
    stored = store.m.Quarantine.get_by_id(big["id"])
    assert len(bytes(stored.payload)) == QUARANTINE_KEEP  # the row itself is bounded


def test_store_quarantine_api_shows_size_and_hash(store, tmp_path):
    cfg, halls = load(write_config(tmp_path))
    store.ingest("h-a", wire.events_topic("h-a"), BIG, received=1)
    with TestClient(create_app(store, None, Directory.of(halls), Auth(cfg.users, 30))) as c:
        r = c.get("/api/quarantine", auth=("admin", "admin123"))
    assert r.status_code == 200, r.text
    [row] = r.json()
    assert row["size"] == len(BIG) and row["sha256"] == hashlib.sha256(BIG).hexdigest()
    assert row["kept"] == 4096 and row["hall"] == "h-a"


def test_store_migration_bounds_quarantine_rows_written_before(tmp_path):
    path = tmp_path / "old.db"
    s = CentralStore(f"sqlite:///{path}")
    s.open()
    s.close()
    # a database from before migration 8: no size/hash columns, a whole payload in the row
    con = sqlite3.connect(path)
    con.execute("DELETE FROM schema_migrations WHERE version = 8")
    con.execute("DROP TABLE quarantine")
    con.execute("CREATE TABLE quarantine (id INTEGER PRIMARY KEY, hall TEXT NOT NULL, topic TEXT NOT NULL, "
                "epoch TEXT, seq INTEGER, reason TEXT NOT NULL, payload BLOB NOT NULL, received INTEGER NOT NULL)")
    con.execute("INSERT INTO quarantine (hall, topic, reason, payload, received) VALUES (?, ?, ?, ?, ?)",
                ("hall-a", "t", "old", BIG[:100_000], 1))
    con.commit()
    con.close()
    s = CentralStore(f"sqlite:///{path}")
    s.open()
    try:
        [row] = s.quarantined()
        assert row["size"] == 100_000 and row["kept"] == 4096
        assert row["sha256"] == hashlib.sha256(BIG[:100_000]).hexdigest()
        assert s.schema_version() == MIGRATIONS[-1][0]
    finally:
        s.close()
