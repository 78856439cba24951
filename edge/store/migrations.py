"""The hall database's schema changes, numbered and applied at open (`LogStore.open`).

Each migration runs once, in the one transaction that opens the database, and is recorded in
`schema_migrations` (version, name, applied µs). A database written before migrations existed
(today's tables, no `schema_migrations`) is version 1 and is stamped so, unchanged. A database
whose version is higher than the last migration here was written by newer code: the hall
refuses it rather than guess (`NewerSchema`).

Append only; never edit an applied migration. A migration that changes a table must also
change the model (the view struct in the capability's module), so that a new database (which
runs migration 1 from today's models, then the later ones, which must therefore be no-ops on
a new database — see central's `_m8_quarantine_bounded`) and an upgraded one end equal:
tests/edge/test_migrations.py checks that against every fixture in tests/edge/fixtures/.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

VERSION_TABLE = "schema_migrations"


def _m1_initial(store: Any) -> None:
    store.db.create_tables(store._log_tables + store._projection_tables, safe=True)


def _m2_outbox(store: Any) -> None:
    """The result notices' hall-local tables (edge.store.outbox): not part of migration 1's
    tables (they are neither log nor projection), so new and upgraded databases get them here."""
    store.db.create_tables(store.local.tables, safe=True)


def _m3_appointments(store: Any) -> None:
    """Appointments: the bookings central sends (kept across a rebuild) and the check-in
    projection (a new database has it from migration 1 already)."""
    store.db.create_tables([store.m.Booking, store.m.AppointmentCheckin], safe=True)


def _m4_leave(store: Any) -> None:
    """Leave as the seeds run it: 事后补办 [J 28], approver kind [C 9(3)], the A→B hand-over
    [C 7, H AB-2] and 销假 [C 9] in `leave_extras` (a new database has it from migration 1;
    no earlier log has an event that fills it)."""
    store.db.create_tables([store.m.LeaveExtra], safe=True)


# (version, name, function of the store) — append only.
MIGRATIONS: list[tuple[int, str, Callable[[Any], None]]] = [
    (1, "initial schema: the event log, meta and every capability's projections", _m1_initial),
    (2, "result notices: case_contacts (phone numbers, hall only) and outbox", _m2_outbox),
    (3, "appointments: bookings from central and their check-ins", _m3_appointments),
    (4, "leave: leave_extras (after-the-fact, approver kind, A/B hand-over, 销假)", _m4_leave),
]


class NewerSchema(Exception):
    """The database was written by newer code than this (its schema version is higher)."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(f"schema version {found} is newer than this code's {known}")
        self.found, self.known = found, known


def _tables(execute: Callable[..., Any]) -> set[str]:
    return {r[0] for r in execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}


def read_version(execute: Callable[..., Any]) -> int:
    """The schema version of a database (`execute` is a connection's or peewee's SQL call):
    0 for a new, empty one; 1 for one written before migrations existed."""
    tables = _tables(execute)
    if VERSION_TABLE in tables:
        v = execute(f"SELECT MAX(version) FROM {VERSION_TABLE}").fetchone()[0]
        if v:
            return int(v)
    return 1 if "events" in tables else 0


def latest() -> int:
    return MIGRATIONS[-1][0]


def migrate(store: Any, now_us: int, migrations: list | None = None) -> tuple[int, int]:
    """Bring the store's database up to the last migration; call inside its open transaction.
    Returns (version found, version now). Raises NewerSchema, changing nothing."""
    steps = MIGRATIONS if migrations is None else migrations
    execute = store.db.execute_sql
    found = read_version(execute)
    known = steps[-1][0]
    if found > known:
        raise NewerSchema(found, known)
    execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL PRIMARY KEY, "
            "name TEXT NOT NULL, applied BIGINT NOT NULL)")
    done = {r[0] for r in execute(f"SELECT version FROM {VERSION_TABLE}").fetchall()}
    if found == 1 and not done:  # today's tables from before migrations existed: stamp, unchanged
        execute(f"INSERT INTO {VERSION_TABLE} (version, name, applied) VALUES (?, ?, ?)",
                (1, steps[0][1], now_us))
        done = {1}
    for version, name, fn in steps:
        if version in done:
            continue
        fn(store)
        execute(f"INSERT INTO {VERSION_TABLE} (version, name, applied) VALUES (?, ?, ?)", (version, name, now_us))
    return found, known
