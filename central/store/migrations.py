"""Central's schema changes, numbered and applied at start (`CentralStore.open`)."""

from __future__ import annotations

import hashlib

from . import marks
from .facttables import CASES_MONTH_SELECT, DDL_CASES_MONTH

QUARANTINE_KEEP = 4096  # bytes of a quarantined payload kept; its size and SHA-256 describe the rest


def _m1_initial(store) -> None:
    store.db.create_tables(store.m.all(), safe=True)


def _m2_audit(store) -> None:
    store.db.create_tables([store.m.Audit], safe=True)


def _m3_records(store) -> None:
    store.db.create_tables(store.records.all(), safe=True)  # complaints, follow-ups, patrols


def _m4_facts(store) -> None:
    marks.create_tables(store)  # day facts for the reports; every stored day starts dirty


def _m5_config_revisions(store) -> None:
    store.db.create_tables([store.Revision], safe=True)  # the config editor's revisions


def _m6_hall_counts(store) -> None:
    """Each hall's stored events counted once here, then kept at ingest (the live view)."""
    store.db.execute_sql("CREATE TABLE IF NOT EXISTS hall_event_counts (hall TEXT PRIMARY KEY, events BIGINT NOT NULL)")
    store.db.execute_sql("DELETE FROM hall_event_counts")
    store.db.execute_sql("INSERT INTO hall_event_counts (hall, events) SELECT hall, COUNT(*) FROM events GROUP BY hall")


def _m7_fact_rollups(store) -> None:
    marks.create_rollups(store)  # hourly facts and month roll-ups; every stored day dirty again


def _m8_quarantine_bounded(store) -> None:
    """Quarantine rows keep a bounded prefix plus the whole payload's size and SHA-256: rows
    written before keep their first QUARANTINE_KEEP bytes, described by what they held."""
    have = {c.name for c in store.db.get_columns("quarantine")}
    for name, sql_type in (("size", "BIGINT"), ("sha256", "TEXT")):
        if name not in have:
            store.db.execute_sql(f"ALTER TABLE quarantine ADD COLUMN {name} {sql_type}")
    Q = store.m.Quarantine
    for ident in [r.id for r in Q.select(Q.id).where(Q.size.is_null())]:  # one payload in memory at a time
        payload = bytes(Q.select(Q.payload).where(Q.id == ident).get().payload)
        Q.update(size=len(payload), sha256=hashlib.sha256(payload).hexdigest(),
                 payload=payload[:QUARANTINE_KEEP]).where(Q.id == ident).execute()


def _m9_maps_without_rowid(store) -> None:
    """On SQLite the ticket and case maps and the dirty marks become WITHOUT ROWID tables: the
    primary key is the table, so each ingest insert writes one B-tree instead of two (the ticket
    map is written for every ticket issued; docs/benchmarks.md, bench sync). PostgreSQL: nothing."""
    if store.postgres:
        return
    for table, cols, key in (("fact_tickets", "hall TEXT NOT NULL, ticket TEXT NOT NULL, day TEXT NOT NULL",
                              "hall, ticket, day"),
                             ("fact_case_tickets", "hall TEXT NOT NULL, case_id TEXT NOT NULL, ticket TEXT NOT NULL",
                              "hall, case_id, ticket"),
                             ("fact_dirty", "hall TEXT NOT NULL, day TEXT NOT NULL, token BIGINT NOT NULL",
                              "hall, day")):
        store.db.execute_sql(f"CREATE TABLE {table}_new ({cols}, PRIMARY KEY ({key})) WITHOUT ROWID")
        names = ", ".join(c.split()[0] for c in cols.split(", "))
        store.db.execute_sql(f"INSERT INTO {table}_new ({names}) SELECT {names} FROM {table}")
        store.db.execute_sql(f"DROP TABLE {table}")
        store.db.execute_sql(f"ALTER TABLE {table}_new RENAME TO {table}")


def _m10_appointments(store) -> None:
    store.db.create_tables(store.appointments.all(), safe=True)  # bookings and their per-hall versions


def _m11_hall_complaints(store) -> None:
    """Complaints taken at a hall (`complaint.received` events) are filed with the others; `source`
    is that event's id ("" for one typed at central), unique per hall so each is filed once."""
    if "source" not in {c.name for c in store.db.get_columns("complaints")}:
        store.db.execute_sql("ALTER TABLE complaints ADD COLUMN source TEXT NOT NULL DEFAULT ''")
    store.db.execute_sql("CREATE UNIQUE INDEX IF NOT EXISTS complaints_hall_source ON complaints (hall, source)"
                         " WHERE source <> ''")


def _m12_unmarked_batches(store) -> None:
    """Batches stored by the ingest worker whose dirty marks are not written yet (central.store.marks,
    "off the ack path"): one row per batch, written in the ingest transaction, deleted in the
    transaction that writes the batch's marks."""
    key = "id BIGSERIAL PRIMARY KEY" if store.postgres else "id INTEGER PRIMARY KEY AUTOINCREMENT"
    store.db.execute_sql(f"CREATE TABLE IF NOT EXISTS fact_unmarked ({key}, hall TEXT NOT NULL, epoch TEXT NOT NULL,"
                         " seq_lo BIGINT NOT NULL, seq_hi BIGINT NOT NULL)")


def _m13_cases_month(store) -> None:
    """The month roll-up of finished cases, filled from the day rows already stored (a dirty day
    rebuilds its month as every roll-up's), and the partial index of the open cases."""
    for sql in DDL_CASES_MONTH:
        store.db.execute_sql(sql)
    store.db.execute_sql(
        "INSERT INTO fact_cases_month (hall, month, department, win, staff, finished, on_time, late)"
        f" SELECT hall, substr(day, 1, 7), department, win, staff, {CASES_MONTH_SELECT} FROM fact_cases"
        " WHERE finished IS NOT NULL GROUP BY hall, substr(day, 1, 7), department, win, staff")


def _m14_fact_month_version(store) -> None:
    """A counter per (hall, month) that the refresh transaction raises whenever it rewrites that
    month's facts: the key of the report cache (central.facts.cache)."""
    store.db.execute_sql("CREATE TABLE IF NOT EXISTS fact_month_version (hall TEXT NOT NULL, month TEXT NOT NULL,"
                         " n BIGINT NOT NULL, PRIMARY KEY (hall, month))")
    store.db.execute_sql("CREATE INDEX IF NOT EXISTS fact_month_version_month ON fact_month_version (month)")


# (version, name, function) — append only; never edit an applied migration.
MIGRATIONS = [
    (1, "initial schema", _m1_initial),
    (2, "dashboard audit log", _m2_audit),
    (3, "complaints, follow-ups, patrols", _m3_records),
    (4, "report day facts", _m4_facts),
    (5, "hall configuration revisions", _m5_config_revisions),
    (6, "per-hall event counts", _m6_hall_counts),
    (7, "hourly facts and month roll-ups", _m7_fact_rollups),
    (8, "bounded quarantine payloads with size and hash", _m8_quarantine_bounded),
    (9, "ticket/case maps and dirty marks without rowid (SQLite)", _m9_maps_without_rowid),
    (10, "appointment bookings", _m10_appointments),
    (11, "complaints taken at halls", _m11_hall_complaints),
    (12, "batches whose dirty marks are still to be written", _m12_unmarked_batches),
    (13, "month roll-up of finished cases", _m13_cases_month),
    (14, "a version per hall and month of the facts", _m14_fact_month_version),
]
