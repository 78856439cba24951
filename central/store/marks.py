"""Dirty marks of the day facts (docs/central.md, section Storage), kept by the store itself.

- At ingest (`mark`, inside the ingest transaction) every (hall, local day) whose facts the
  new events may change is marked dirty in `fact_dirty` with a fresh random token. Ticket
  events reach the ticket's service day through `fact_tickets` (ticket → service_date, written
  when `ticket.issued` is stored) and `fact_case_tickets` (case → ticket, from
  `ticket.completed`); a clock correction marks the days its events leave and enter.
- Migrations 4 and 7 create the fact tables (central.store.facttables) and mark every day any
  stored event can belong to.

- Off the ack path (`defer`, `mark_deferred`): the ingest worker of central's service does not
  mark inside its transaction. It writes one `fact_unmarked` row per batch (hall, epoch, seq
  range) and keeps the batch's decoded bodies in memory (`Unmarked`); the facts refresher, before
  it reads any mark, marks those batches and deletes their rows in one transaction. After a
  crash the rows are still there and their events are read back from `events`. Marking more
  than was stored (a batch whose savepoint rolled back) only makes a day dirty again.

central.facts recomputes the dirty days before a report reads them.
"""

from __future__ import annotations

import secrets
import threading
from datetime import date, datetime, timedelta, timezone

from .facttables import DDL, DDL_ROLLUPS
from .sql import chunks, insert_rows, placeholders


# ---------------------------------------------------------------- schema (migrations 4 and 7)


def create_tables(store) -> None:
    """Migration 4: the fact tables, the ticket and case maps filled from the events already
    stored, and every day of every hall that holds events marked dirty."""
    for sql in DDL:
        store.db.execute_sql(sql)
    tf, sf, cf = store.json_field("ticket"), store.json_field("service_date"), store.json_field("case")
    store.db.execute_sql(
        f"INSERT INTO fact_tickets (hall, ticket, day) SELECT DISTINCT hall, {tf}, {sf} FROM events"
        f" WHERE kind = 'ticket.issued' AND {tf} IS NOT NULL AND {sf} IS NOT NULL ON CONFLICT DO NOTHING")
    store.db.execute_sql(
        f"INSERT INTO fact_case_tickets (hall, case_id, ticket) SELECT DISTINCT hall, {cf}, {tf} FROM events"
        f" WHERE kind = 'ticket.completed' AND {cf} IS NOT NULL AND {tf} IS NOT NULL ON CONFLICT DO NOTHING")
    _mark_everything(store)


def create_rollups(store) -> None:
    """Migration 7: the hourly facts and the month roll-ups; every day of every hall that holds
    events is marked dirty again, so the first report fills them."""
    for sql in DDL_ROLLUPS:
        store.db.execute_sql(sql)
    _mark_everything(store)


def _mark_everything(store) -> None:
    """Mark dirty every day any stored event can belong to: from the day before a hall's first
    event to the day after its last, and every service day named by an event."""
    sf = store.json_field("service_date")
    marks = set()
    spans = store.db.execute_sql("SELECT hall, MIN(ts_true), MAX(ts_true) FROM events GROUP BY hall").fetchall()
    for hall, lo, hi in spans:
        day, last = _utc_date(lo) - timedelta(days=1), _utc_date(hi) + timedelta(days=1)
        while day <= last:
            marks.add((hall, day.isoformat()))
            day += timedelta(days=1)
    for hall, day in store.db.execute_sql(f"SELECT DISTINCT hall, {sf} FROM events WHERE {sf} IS NOT NULL").fetchall():
        marks.add((hall, day))
    _put_marks(store, marks)


def _utc_date(ts: int) -> date:
    return datetime.fromtimestamp(ts / 1e6, timezone.utc).date()

# ---------------------------------------------------------------- marking (at ingest)


class _Fields:
    """A JSON body (dict) read like a decoded body struct: missing fields are None."""

    __slots__ = ("_d",)

    def __init__(self, d: dict) -> None:
        self._d = d

    def __getattr__(self, name: str):
        return self._d.get(name)


def _local_days(store, hall: str, ts: int) -> list[str]:
    """The hall's local date of `ts`; until central knows the hall's zone (the first report sets
    `store.fact_zones`), every date that any zone could give (UTC date ± 1)."""
    zone = (getattr(store, "fact_zones", None) or {}).get(hall)
    if zone is not None:
        return [datetime.fromtimestamp(ts / 1e6, zone).date().isoformat()]
    u = _utc_date(ts)
    return [(u + timedelta(days=k)).isoformat() for k in (-1, 0, 1)]

def _put_marks(store, marks: set[tuple[str, str]]) -> None:
    if not marks:
        return
    token = secrets.randbits(62) or 1
    # sorted: rows are locked in (hall, day) order, as the refresher locks them (central.facts.refresh)
    insert_rows(store, "fact_dirty", ("hall", "day", "token"), [(h, d, token) for h, d in sorted(marks)],
                "ON CONFLICT (hall, day) DO UPDATE SET token = excluded.token", types=("text", "text", "bigint"))


def ticket_days(store, hall: str, tickets: set[str]) -> set[str]:
    if store.postgres and tickets:  # one array parameter instead of 500 placeholders
        sql = "SELECT DISTINCT day FROM fact_tickets WHERE hall = %s AND ticket = ANY(%s::text[])"
        return {r[0] for r in store.db.execute_sql(sql, [hall, sorted(tickets)]).fetchall()}
    out: set[str] = set()
    for part in chunks(sorted(tickets)):
        sql = f"SELECT DISTINCT day FROM fact_tickets WHERE hall = {store.db.param} AND ticket IN ({placeholders(store, part)})"
        out.update(r[0] for r in store.db.execute_sql(sql, [hall, *part]).fetchall())
    return out


def case_days(store, hall: str, cases: set[str]) -> set[str]:
    if store.postgres and cases:
        sql = ("SELECT DISTINCT t.day FROM fact_case_tickets c JOIN fact_tickets t ON t.hall = c.hall"
               " AND t.ticket = c.ticket WHERE c.hall = %s AND c.case_id = ANY(%s::text[])")
        return {r[0] for r in store.db.execute_sql(sql, [hall, sorted(cases)]).fetchall()}
    out: set[str] = set()
    p = store.db.param
    for part in chunks(sorted(cases)):
        sql = (f"SELECT DISTINCT t.day FROM fact_case_tickets c JOIN fact_tickets t"
               f" ON t.hall = c.hall AND t.ticket = c.ticket WHERE c.hall = {p} AND c.case_id IN ({placeholders(store, part)})")
        out.update(r[0] for r in store.db.execute_sql(sql, [hall, *part]).fetchall())
    return out


def mark(store, hall: str, events: list[tuple[str, list[int], object]]) -> None:
    """Inside the ingest (or correction) transaction: `events` are (kind, [ts_true…], body) —
    several times when a correction moved the event. Marks the (hall, day) pairs whose facts
    they may change and records ticket → service day and case → ticket."""
    marks: set[tuple[str, str]] = set()
    issued, cased = [], []
    tickets: set[str] = set()
    cases: set[str] = set()
    # (plain attribute reads on the decoded bodies: this loop runs for every event ingested)
    for kind, stamps, body in events:
        if body.__class__ is dict:
            body = _Fields(body)
        if kind == "ticket.issued":
            day = getattr(body, "service_date", None)
            marks.add((hall, day))
            issued.append((hall, getattr(body, "ticket", None), day))
        elif kind.startswith("ticket."):
            tickets.add(getattr(body, "ticket", None))
            if kind == "ticket.completed" and getattr(body, "case", None):
                cased.append((hall, body.case, getattr(body, "ticket", None)))
        elif kind == "rating.given":
            tickets.add(getattr(body, "ticket", None))
            marks.update((hall, day) for ts in stamps for day in _local_days(store, hall, ts))
        elif kind == "case.finished":
            cases.add(getattr(body, "case", None))
        elif kind == "attendance.punch":
            marks.add((hall, getattr(body, "service_date", None)))
        elif kind in ("window.paused", "window.step_away_violation"):
            marks.update((hall, day) for ts in stamps for day in _local_days(store, hall, ts))
    text3 = ("text", "text", "text")
    insert_rows(store, "fact_tickets", ("hall", "ticket", "day"), sorted(set(issued)), "ON CONFLICT DO NOTHING", text3)
    insert_rows(store, "fact_case_tickets", ("hall", "case_id", "ticket"), sorted(set(cased)), "ON CONFLICT DO NOTHING",
                text3)
    # a ticket whose issue is not stored yet needs no mark: storing the issue marks its day
    tickets.discard(None)
    cases.discard(None)
    marks.update((hall, day) for day in ticket_days(store, hall, tickets))
    marks.update((hall, day) for day in case_days(store, hall, cases))
    _put_marks(store, {(h, d) for h, d in marks if d})


def dirty(store, halls: list[str] | None = None) -> list[tuple[str, str]]:
    """(hall, day) of every dirty mark, sorted (for tests and the bench)."""
    rows = store.db.execute_sql("SELECT hall, day FROM fact_dirty ORDER BY hall, day").fetchall()
    return [tuple(r) for r in rows if halls is None or r[0] in halls]


# ---------------------------------------------------------------- marking after the ack


class Unmarked:
    """The decoded bodies of deferred batches, by their `fact_unmarked` id (a cache: without
    it the batch is read back from `events`). Shared by the ingest and refresher threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[int, list] = {}

    KEEP = 256  # batches: another worker's refresher may write them, reading them back

    def put(self, row_id: int, events: list) -> None:
        with self._lock:
            self._by_id[row_id] = events
            while len(self._by_id) > self.KEEP:  # the oldest first (insertion order)
                del self._by_id[next(iter(self._by_id))]

    def get(self, row_id: int) -> list | None:
        with self._lock:
            return self._by_id.get(row_id)

    def drop(self, row_ids: list[int]) -> None:
        with self._lock:
            for i in row_ids:
                self._by_id.pop(i, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_id)


def defer(store, hall: str, epoch: str, rows: list[tuple], events: list) -> None:
    """Inside the ingest transaction: remember that this batch's marks are still to be written."""
    seqs = [r[2] for r in rows]
    p = store.db.param
    sql = f"INSERT INTO fact_unmarked (hall, epoch, seq_lo, seq_hi) VALUES ({p}, {p}, {p}, {p})"
    if store.postgres:
        row_id = store.db.execute_sql(sql + " RETURNING id", [hall, epoch, min(seqs), max(seqs)]).fetchone()[0]
    else:
        row_id = store.db.execute_sql(sql, [hall, epoch, min(seqs), max(seqs)]).lastrowid
    store.unmarked.put(row_id, events)


MARK_FIELDS = ("ticket", "service_date", "case")  # the only body fields `mark` reads
DEFER_STEP = 16  # batches marked per transaction: a short hold of SQLite's write lock (< 1 s)


def mark_deferred(store, limit: int = DEFER_STEP) -> int:
    """Write the marks of (at most `limit`) deferred batches, oldest first, and forget them, in
    one transaction; returns how many batches. Run (in a loop) by the facts refresher before it
    reads marks. Small steps: the write lock goes back to ingest and the pages between them (a
    step of thousands of batches held it past the other writers' 10 s busy timeout)."""
    p = store.db.param
    fields = ", ".join(store.json_field(f) for f in MARK_FIELDS)
    # SQLite: take the write lock first (a read transaction that then writes while the ingest
    # writes would fail at once with "database is locked")
    with store.db.atomic(**({} if store.postgres else {"lock_type": "IMMEDIATE"})):
        pending = store.db.execute_sql(
            f"SELECT id, hall, epoch, seq_lo, seq_hi FROM fact_unmarked ORDER BY id LIMIT {int(limit)}").fetchall()
        if not pending:
            return 0
        by_hall: dict[str, list] = {}
        for row_id, hall, epoch, lo, hi in pending:
            events = store.unmarked.get(row_id)
            if events is None:  # written before a restart (or by another worker): read back
                # the three body fields marking reads, extracted by the database
                events = [(kind, [ts], {"ticket": t, "service_date": sd, "case": c})
                          for kind, ts, t, sd, c in store.db.execute_sql(
                              f"SELECT kind, ts_true, {fields} FROM events WHERE hall = {p} AND epoch = {p}"
                              f" AND seq >= {p} AND seq <= {p} ORDER BY seq", [hall, epoch, lo, hi]).fetchall()]
            by_hall.setdefault(hall, []).extend(events)
        for hall in sorted(by_hall):
            mark(store, hall, by_hall[hall])
        ids = [r[0] for r in pending]
        for part in chunks(ids):
            store.db.execute_sql(f"DELETE FROM fact_unmarked WHERE id IN ({placeholders(store, part)})", part)
    store.unmarked.drop(ids)  # committed: a failed try keeps them for the next
    return len(pending)


def unmarked_count(store) -> int:
    return int(store.db.execute_sql("SELECT COUNT(*) FROM fact_unmarked").fetchone()[0])
