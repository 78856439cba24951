"""The hall's store: the event log and its projections in one SQLite file.

Only this module touches peewee. Everything the hall decides is appended here as an event and
applied to the projection tables (tickets, windows, cases, hand-overs) in the same transaction;
`rebuild()` replays the log into fresh projections, which proves they are derived state.
Durability: WAL with ``synchronous=FULL``, so a commit that returned is on disk before the hall
shows or publishes anything.

Callers receive msgspec views (`TicketView`, `WindowView`, `CaseView`), never models.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import msgspec
import peewee as pw

from sync.contract import events as ev
from sync.kernel.clock import Clock, uuid7

# ---------------------------------------------------------------------------- views


class TicketView(msgspec.Struct, kw_only=True):
    id: str
    number: str
    department: str
    item: str | None
    priority: bool
    state: str  # waiting | called | serving | done | no_show | expired
    service_date: str
    issued_at: int  # µs UTC
    queue_key: int  # place in the queue (µs); kept across a transfer
    window: str | None
    staff: str | None
    called_at: int | None
    started_at: int | None
    finished_at: int | None
    recalls: int
    rejoins: int
    transfers: int
    outcome: str | None
    case: str | None


class WindowView(msgspec.Struct, kw_only=True):
    id: str
    department: str
    staff: str | None
    role: str | None
    ticket: str | None
    paused_at: int | None
    pause_reason: str
    signed_on_at: int | None
    manual: str | None  # None | "opened" | "withdrawn" (hall manager's override)

    @property
    def state(self) -> str:
        if self.staff is None:
            return "closed"
        if self.paused_at is not None:
            return "paused"
        if self.ticket is not None:
            return "serving"
        return "idle"


class CaseView(msgspec.Struct, kw_only=True):
    id: str
    ticket: str
    number: str
    item: str
    department: str
    window: str
    staff: str
    outcome: str
    state: str  # open | closed
    opened_at: int
    deadline: str | None
    supply_by: str | None
    missing: list[str]
    supplied: list[str]
    co_departments: list[str]
    reason: str
    note: str
    finished_at: int | None
    result: str | None


class HandoffView(msgspec.Struct, kw_only=True):
    case: str
    seq: int
    at: int
    from_department: str
    to_department: str
    materials: list[str]
    by: str
    note: str


class PunchView(msgspec.Struct, kw_only=True):
    seq: int
    staff: str
    card: str
    reader: str
    at: int
    service_date: str
    kind: str
    classification: str
    slot: int | None


class UnknownCardView(msgspec.Struct, kw_only=True):
    card: str
    reader: str
    at: int


class LeaveView(msgspec.Struct, kw_only=True):
    id: str
    staff: str
    kind: str
    start: str
    end: str
    start_half: str
    end_half: str
    reason: str
    certificate: bool
    state: str  # requested | approved | rejected
    requested_at: int
    requested_by: str
    decided_by: str | None
    decided_at: int | None
    note: str


class SessionView(msgspec.Struct, kw_only=True):
    """A staffing interval: `staff` signed on at `window` from `start` to `end` (µs; None: still on)."""

    window: str
    staff: str
    role: str
    start: int
    end: int | None
    via: str


class StepAwayView(msgspec.Struct, kw_only=True):
    window: str
    staff: str
    start: int
    end: int | None
    seconds: int | None
    over_limit: bool
    violation: bool
    via: str
    reason: str


class RatingView(msgspec.Struct, kw_only=True):
    ticket: str
    window: str
    staff: str | None
    department: str | None
    level: int
    at: int
    service_date: str


class FollowupView(msgspec.Struct, kw_only=True):
    id: str
    ticket: str
    window: str
    staff: str | None
    department: str | None
    level: int
    opened_at: int
    due: str
    state: str  # open | closed
    closed_by: str | None
    closed_at: int | None
    result: str | None
    note: str


class ClosingView(msgspec.Struct, kw_only=True):
    service_date: str
    checks: int
    ok: bool
    failed: list[dict]
    passed_at: int | None
    first_failed_at: int | None
    alarms: int
    last_alarm_at: int | None
    by: str
    closer: str | None


class DeviceView(msgspec.Struct, kw_only=True):
    name: str
    kind: str
    state: str  # ok | fault
    message: str
    since: int
    faults: int


class StoredEvent(msgspec.Struct, kw_only=True):
    """An event as read back from the log (body decoded to plain JSON)."""

    hall: str
    epoch: str
    seq: int
    id: str
    kind: str
    schema: int
    body: msgspec.Raw
    ts: int
    boot: str
    mono: int
    clock: str


# ---------------------------------------------------------------------------- models


@dataclass
class _Models:
    Meta: type
    EventRow: type
    Ticket: type
    Window: type
    Case: type
    Handoff: type
    Counter: type
    Punch: type
    UnknownCard: type
    Leave: type
    StaffSession: type
    StepAway: type
    Rating: type
    Followup: type
    ClosingDay: type
    DeviceState: type

    def all(self) -> list[type]:
        return [self.Meta, self.EventRow, *self.projections()]

    def projections(self) -> list[type]:
        return [self.Ticket, self.Window, self.Case, self.Handoff, self.Counter, self.Punch, self.UnknownCard,
                self.Leave, self.StaffSession, self.StepAway, self.Rating, self.Followup, self.ClosingDay,
                self.DeviceState]


def _bind(db: pw.Database) -> _Models:
    """Model classes bound to one database, so several halls can live in one process."""

    class Base(pw.Model):
        class Meta:
            database = db

    class Meta(Base):
        key = pw.TextField(primary_key=True)
        value = pw.TextField()

        class Meta:
            table_name = "meta"

    class EventRow(Base):
        pos = pw.AutoField()  # local append order across epochs
        epoch = pw.TextField()
        seq = pw.IntegerField()
        id = pw.TextField(unique=True)
        kind = pw.TextField()
        schema = pw.IntegerField()
        body = pw.TextField()
        ts = pw.BigIntegerField()
        boot = pw.TextField()
        mono = pw.BigIntegerField()
        clock = pw.TextField()

        class Meta:
            table_name = "events"
            indexes = ((("epoch", "seq"), True),)

    class Ticket(Base):
        id = pw.TextField(primary_key=True)
        number = pw.TextField()
        department = pw.TextField()
        item = pw.TextField(null=True)
        priority = pw.BooleanField(default=False)
        state = pw.TextField()
        service_date = pw.TextField()
        issued_at = pw.BigIntegerField()
        queue_key = pw.BigIntegerField()
        window = pw.TextField(null=True)
        staff = pw.TextField(null=True)
        called_at = pw.BigIntegerField(null=True)
        started_at = pw.BigIntegerField(null=True)
        finished_at = pw.BigIntegerField(null=True)
        recalls = pw.IntegerField(default=0)
        rejoins = pw.IntegerField(default=0)
        transfers = pw.IntegerField(default=0)
        outcome = pw.TextField(null=True)
        case = pw.TextField(null=True)

        class Meta:
            table_name = "tickets"
            indexes = (
                (("department", "state", "priority", "queue_key"), False),
                (("department", "service_date", "state"), False),  # a day's figures per department
                (("service_date",), False),
            )

    class Window(Base):
        id = pw.TextField(primary_key=True)
        department = pw.TextField()
        staff = pw.TextField(null=True)
        role = pw.TextField(null=True)
        ticket = pw.TextField(null=True)
        paused_at = pw.BigIntegerField(null=True)
        pause_reason = pw.TextField(default="")
        signed_on_at = pw.BigIntegerField(null=True)
        manual = pw.TextField(null=True)

        class Meta:
            table_name = "windows"

    class Case(Base):
        id = pw.TextField(primary_key=True)
        ticket = pw.TextField()
        number = pw.TextField()
        item = pw.TextField()
        department = pw.TextField()
        window = pw.TextField()
        staff = pw.TextField()
        outcome = pw.TextField()
        state = pw.TextField()
        opened_at = pw.BigIntegerField()
        deadline = pw.TextField(null=True)
        supply_by = pw.TextField(null=True)
        missing = pw.TextField(default="[]")
        supplied = pw.TextField(default="[]")
        co_departments = pw.TextField(default="[]")
        reason = pw.TextField(default="")
        note = pw.TextField(default="")
        finished_at = pw.BigIntegerField(null=True)
        result = pw.TextField(null=True)

        class Meta:
            table_name = "cases"
            indexes = ((("state", "deadline"), False),)

    class Handoff(Base):
        id = pw.AutoField()
        seq = pw.IntegerField()  # the event's seq (within its epoch)
        case = pw.TextField(index=True)
        at = pw.BigIntegerField()
        from_department = pw.TextField()
        to_department = pw.TextField()
        materials = pw.TextField()
        by = pw.TextField()
        note = pw.TextField(default="")

        class Meta:
            table_name = "handoffs"

    class Counter(Base):
        department = pw.TextField()
        service_date = pw.TextField()
        last = pw.IntegerField()

        class Meta:
            table_name = "counters"
            primary_key = pw.CompositeKey("department", "service_date")

    # -- staff presence, attendance, ratings, closing, devices (issue 3)

    class Punch(Base):
        seq = pw.AutoField()
        staff = pw.TextField()
        card = pw.TextField()
        reader = pw.TextField()
        at = pw.BigIntegerField()
        service_date = pw.TextField()
        kind = pw.TextField()
        classification = pw.TextField()
        slot = pw.IntegerField(null=True)

        class Meta:
            table_name = "punches"
            indexes = ((("service_date", "staff"), False), (("staff", "at"), False))

    class UnknownCard(Base):
        id = pw.AutoField()
        card = pw.TextField(index=True)
        reader = pw.TextField()
        at = pw.BigIntegerField()

        class Meta:
            table_name = "unknown_cards"

    class Leave(Base):
        id = pw.TextField(primary_key=True)
        staff = pw.TextField(index=True)
        kind = pw.TextField()
        start = pw.TextField()
        end = pw.TextField()
        start_half = pw.TextField()
        end_half = pw.TextField()
        reason = pw.TextField(default="")
        certificate = pw.BooleanField(default=False)
        state = pw.TextField()
        requested_at = pw.BigIntegerField()
        requested_by = pw.TextField()
        decided_by = pw.TextField(null=True)
        decided_at = pw.BigIntegerField(null=True)
        note = pw.TextField(default="")

        class Meta:
            table_name = "leaves"

    class StaffSession(Base):
        id = pw.AutoField()
        window = pw.TextField()
        staff = pw.TextField()
        role = pw.TextField()
        start = pw.BigIntegerField()
        end = pw.BigIntegerField(null=True)
        via = pw.TextField(default="pin")

        class Meta:
            table_name = "staff_sessions"
            indexes = ((("window", "start"), False), (("staff", "end"), False))

    class StepAway(Base):
        id = pw.AutoField()
        window = pw.TextField()
        staff = pw.TextField()
        start = pw.BigIntegerField()
        end = pw.BigIntegerField(null=True)
        seconds = pw.IntegerField(null=True)
        over_limit = pw.BooleanField(default=False)
        violation = pw.BooleanField(default=False)
        via = pw.TextField(default="console")
        reason = pw.TextField(default="")

        class Meta:
            table_name = "step_aways"
            indexes = ((("window", "end"), False), (("start",), False))

    class Rating(Base):
        ticket = pw.TextField(primary_key=True)
        window = pw.TextField()
        staff = pw.TextField(null=True)
        department = pw.TextField(null=True)
        level = pw.IntegerField()
        at = pw.BigIntegerField()
        service_date = pw.TextField(index=True)

        class Meta:
            table_name = "ratings"

    class Followup(Base):
        id = pw.TextField(primary_key=True)
        ticket = pw.TextField()
        window = pw.TextField()
        staff = pw.TextField(null=True)
        department = pw.TextField(null=True)
        level = pw.IntegerField()
        opened_at = pw.BigIntegerField()
        due = pw.TextField()
        state = pw.TextField()
        closed_by = pw.TextField(null=True)
        closed_at = pw.BigIntegerField(null=True)
        result = pw.TextField(null=True)
        note = pw.TextField(default="")

        class Meta:
            table_name = "followups"

    class ClosingDay(Base):
        service_date = pw.TextField(primary_key=True)
        checks = pw.IntegerField(default=0)
        ok = pw.BooleanField(default=False)
        failed = pw.TextField(default="[]")
        passed_at = pw.BigIntegerField(null=True)
        first_failed_at = pw.BigIntegerField(null=True)
        alarms = pw.IntegerField(default=0)
        last_alarm_at = pw.BigIntegerField(null=True)
        by = pw.TextField(default="auto")
        closer = pw.TextField(null=True)

        class Meta:
            table_name = "closing_days"

    class DeviceState(Base):
        name = pw.TextField(primary_key=True)
        kind = pw.TextField()
        state = pw.TextField()
        message = pw.TextField(default="")
        since = pw.BigIntegerField()
        faults = pw.IntegerField(default=0)

        class Meta:
            table_name = "device_states"

    return _Models(Meta, EventRow, Ticket, Window, Case, Handoff, Counter, Punch=Punch, UnknownCard=UnknownCard,
                   Leave=Leave, StaffSession=StaffSession, StepAway=StepAway, Rating=Rating, Followup=Followup,
                   ClosingDay=ClosingDay, DeviceState=DeviceState)


# ---------------------------------------------------------------------------- store


class Store:
    """Event log + projections. Not thread-safe by design: the hall's single writer thread
    owns it (see edge.hall)."""

    def __init__(self, path: Path, hall: str, clock: Clock) -> None:
        self.path = Path(path)
        self.hall = hall
        self.clock = clock
        self.db = pw.SqliteDatabase(
            str(self.path),
            pragmas={
                "journal_mode": "wal",
                "synchronous": 2,  # FULL: a returned commit survives a power cut
                "foreign_keys": 1,
                "busy_timeout": 5000,
            },
            check_same_thread=False,
        )
        self.m = _bind(self.db)
        self.epoch = ""
        self._next_seq = 1
        self._pending: list[StoredEvent] = []
        self._windows: dict[str, str] = {}

    # -- lifecycle

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db.connect(reuse_if_open=True)
        with self.db.atomic():
            self.db.create_tables(self.m.all(), safe=True)
            meta = {r.key: r.value for r in self.m.Meta.select()}
            if "epoch" not in meta:
                self.epoch = os.urandom(8).hex()
                self.m.Meta.create(key="epoch", value=self.epoch)
                self.m.Meta.create(key="hall", value=self.hall)
                self.m.Meta.create(key="created", value=str(self.clock.micros()))
            else:
                self.epoch = meta["epoch"]
                if meta.get("hall") != self.hall:
                    raise StoreError(
                        f"{self.path} belongs to hall {meta.get('hall')!r}, not {self.hall!r}"
                    )
        E = self.m.EventRow
        last = E.select(pw.fn.MAX(E.seq)).where(E.epoch == self.epoch).scalar()
        self._next_seq = (last or 0) + 1

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()

    def atomic(self):
        return self.db.atomic()

    # -- the log

    @property
    def acked_seq(self) -> int:
        """Highest seq central has acknowledged for the current epoch (0 before any sync)."""
        return self.acked(self.epoch)

    def acked(self, epoch: str) -> int:
        row = self.m.Meta.get_or_none(self.m.Meta.key == f"acked:{epoch}")
        return int(row.value) if row else 0

    def save_acked(self, epoch: str, seq: int) -> None:
        M = self.m.Meta
        M.insert(key=f"acked:{epoch}", value=str(seq)).on_conflict_replace().execute()

    def epochs(self) -> list[tuple[str, int]]:
        """Every epoch of this log with its last seq, oldest first."""
        E = self.m.EventRow
        q = E.select(E.epoch, pw.fn.MAX(E.seq), pw.fn.MIN(E.pos)).group_by(E.epoch).order_by(pw.fn.MIN(E.pos))
        out = [(epoch, last) for epoch, last, _ in q.tuples()]
        if self.epoch not in {e for e, _ in out}:
            out.append((self.epoch, 0))
        return out

    def last_seq_of(self, epoch: str) -> int:
        E = self.m.EventRow
        return E.select(pw.fn.MAX(E.seq)).where(E.epoch == epoch).scalar() or 0

    def renumber(self, epoch: str, from_seq: int) -> None:
        """Move events `from_seq`… of `epoch` to the end of the log: into a new epoch if `epoch`
        is the current one, else after the current epoch's last event. Ids, bodies and times
        stay; only their place in the log changes. Call inside a transaction."""
        if epoch == self.epoch:
            self.rotate_epoch(move_from=from_seq)
            return
        E = self.m.EventRow
        for r in list(E.select().where((E.epoch == epoch) & (E.seq >= from_seq)).order_by(E.seq)):
            E.update(epoch=self.epoch, seq=self._next_seq).where(E.pos == r.pos).execute()
            self._next_seq += 1

    def rotate_epoch(self, move_from: int | None = None) -> str:
        """Start a new epoch (this database is an old copy: central already holds later events of
        the current epoch). Events of the old epoch from `move_from` on, which central holds
        different events for, are moved to the new epoch in their order, keeping their ids,
        bodies and times. Call inside a transaction. Returns the new epoch."""
        E, M = self.m.EventRow, self.m.Meta
        old = self.epoch
        new = os.urandom(8).hex()
        seq = 0
        if move_from is not None:
            rows = list(E.select().where((E.epoch == old) & (E.seq >= move_from)).order_by(E.seq))
            for r in rows:
                seq += 1
                E.update(epoch=new, seq=seq).where(E.pos == r.pos).execute()
        M.insert(key="epoch", value=new).on_conflict_replace().execute()
        M.insert(key=f"epoch-from:{new}", value=old).on_conflict_replace().execute()
        self.epoch = new
        self._next_seq = seq + 1
        return new

    @property
    def last_seq(self) -> int:
        return self._next_seq - 1

    def seq_mark(self) -> int:
        """Where the log stands; `rollback_to` restores it if the transaction is abandoned."""
        return self._next_seq

    def rollback_to(self, mark: int) -> None:
        self._next_seq = mark
        self._pending = [e for e in self._pending if e.seq < mark]

    def append(self, body: ev.Body) -> StoredEvent:
        """Append one event and apply it to the projections (inside the caller's transaction)."""
        raw = ev.encode_body(body)
        e = StoredEvent(
            hall=self.hall,
            epoch=self.epoch,
            seq=self._next_seq,
            id=uuid7(self.clock),
            kind=body.KIND,
            schema=ev.SCHEMA,
            body=msgspec.Raw(raw),
            ts=self.clock.micros(),
            boot=self.clock.boot,
            mono=self.clock.monotonic(),
            clock=self.clock.quality,
        )
        self.m.EventRow.insert(
            epoch=e.epoch, seq=e.seq, id=e.id, kind=e.kind, schema=e.schema, body=raw.decode(),
            ts=e.ts, boot=e.boot, mono=e.mono, clock=e.clock,
        ).execute()
        self._next_seq += 1
        self._apply(e.seq, e.ts, body)
        self._pending.append(e)
        return e

    def meta(self, key: str) -> str | None:
        row = self.m.Meta.get_or_none(self.m.Meta.key == key)
        return row.value if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.m.Meta.insert(key=key, value=value).on_conflict_replace().execute()

    def take_committed(self) -> list[StoredEvent]:
        """Events appended since the last call (call after the commit succeeded)."""
        out, self._pending = self._pending, []
        return out

    def events(self, after: int = 0, limit: int = 100, epoch: str | None = None) -> list[StoredEvent]:
        """Committed events of an epoch (default: the current one) after `after`, in seq order.
        Safe from any thread: peewee gives each thread its own connection, and WAL readers only
        ever see committed transactions."""
        E = self.m.EventRow
        ep = epoch or self.epoch
        rows = (
            E.select(E.seq, E.id, E.kind, E.schema, E.body, E.ts, E.boot, E.mono, E.clock)
            .where((E.epoch == ep) & (E.seq > after)).order_by(E.seq).limit(limit).tuples()
        )
        return [
            StoredEvent(
                hall=self.hall, epoch=ep, seq=r[0], id=r[1], kind=r[2], schema=r[3],
                body=msgspec.Raw(r[4].encode()), ts=r[5], boot=r[6], mono=r[7], clock=r[8],
            )
            for r in rows
        ]

    def event_rows(self, epoch: str, after: int, limit: int) -> list[tuple]:
        """Committed events as plain rows (seq, id, kind, schema, body bytes, ts, boot, mono,
        clock) for replication: the raw cursor, since converting every field through the model
        costs more than the read itself. Safe from any thread, like `events`."""
        cur = self.db.execute_sql(
            "SELECT seq, id, kind, schema, CAST(body AS BLOB), ts, boot, mono, clock FROM events"
            " WHERE epoch = ? AND seq > ? ORDER BY seq LIMIT ?", (epoch, after, limit))
        return cur.fetchall()

    # -- projections

    def _apply(self, seq: int, ts: int, body: ev.Body) -> None:
        handler = _APPLY.get(body.KIND)
        if handler is not None:
            handler(self, seq, ts, body)

    def rebuild(self) -> None:
        """Drop the projections and replay the whole log into them."""
        with self.db.atomic():
            self.db.drop_tables(self.m.projections())
            self.db.create_tables(self.m.projections())
            self.ensure_windows(self._windows)
            E = self.m.EventRow
            for seq, kind, raw, ts in E.select(E.seq, E.kind, E.body, E.ts).order_by(E.pos).tuples():
                self._apply(seq, ts, ev.decode_body(kind, raw.encode()))

    def ensure_windows(self, windows: dict[str, str]) -> None:
        """Make sure every configured window (id → department) has a projection row."""
        self._windows = dict(windows)
        W = self.m.Window
        existing = {w.id: w for w in W.select()}
        for wid, dept in windows.items():
            if wid not in existing:
                W.insert(id=wid, department=dept).execute()
            elif existing[wid].department != dept and existing[wid].staff is None:
                W.update(department=dept).where(W.id == wid).execute()

    # -- queries

    def ticket(self, ticket_id: str) -> TicketView | None:
        row = self.m.Ticket.get_or_none(self.m.Ticket.id == ticket_id)
        return _ticket_view(row) if row else None

    def ticket_by_number(self, number: str, service_date: str) -> TicketView | None:
        T = self.m.Ticket
        row = T.get_or_none((T.number == number) & (T.service_date == service_date))
        return _ticket_view(row) if row else None

    def waiting(self, department: str | None, service_date: str, limit: int | None = None) -> list[TicketView]:
        """Waiting tickets in calling order: priority first, then place in time."""
        T = self.m.Ticket
        q = T.select().where((T.state == "waiting") & (T.service_date == service_date))
        if department is not None:
            q = q.where(T.department == department)
        q = q.order_by(T.priority.desc(), T.queue_key, T.issued_at, T.number)
        if limit:
            q = q.limit(limit)
        return [_ticket_view(r) for r in q]

    # The queries on the ticket path run many times a second: plain SQL on the cursor, since
    # peewee rebuilding each statement costs more than SQLite answering it.

    def _one(self, sql: str, args: tuple):
        return self.db.execute_sql(sql, args).fetchone()

    def waiting_count(self, department: str, service_date: str, priority_only: bool = False) -> int:
        sql = ("SELECT COUNT(*) FROM tickets WHERE department = ? AND service_date = ? AND state = 'waiting'"
               + (" AND priority" if priority_only else ""))
        return self._one(sql, (department, service_date))[0]

    def waiting_counts(self, service_date: str) -> dict[str, int]:
        T = self.m.Ticket
        q = (
            T.select(T.department, pw.fn.COUNT(T.id))
            .where((T.state == "waiting") & (T.service_date == service_date))
            .group_by(T.department)
            .tuples()
        )
        return dict(q)

    def stale_tickets(self, before_date: str) -> list[TicketView]:
        T = self.m.Ticket
        q = T.select().where(T.state.in_(["waiting", "called", "serving", "no_show"]) & (T.service_date < before_date))
        return [_ticket_view(r) for r in q]

    def tickets_on(self, service_date: str) -> list[TicketView]:
        T = self.m.Ticket
        return [_ticket_view(r) for r in T.select().where(T.service_date == service_date).order_by(T.issued_at)]

    def recent_calls(self, service_date: str, limit: int = 8) -> list[TicketView]:
        T = self.m.Ticket
        q = (
            T.select()
            .where((T.service_date == service_date) & T.called_at.is_null(False))
            .order_by(T.called_at.desc())
            .limit(limit)
        )
        return [_ticket_view(r) for r in q]

    def mean_service_seconds(self, department: str, service_date: str) -> float | None:
        """Mean of start→finish over today's finished services at this department."""
        (val,) = self._one(
            "SELECT AVG(finished_at - started_at) FROM tickets WHERE department = ? AND service_date = ?"
            " AND state = 'done' AND started_at IS NOT NULL", (department, service_date))
        return None if val is None else float(val) / 1e6

    def last_number(self, department: str, service_date: str) -> int:
        row = self._one("SELECT last FROM counters WHERE department = ? AND service_date = ?",
                        (department, service_date))
        return row[0] if row else 0

    def window(self, window_id: str) -> WindowView | None:
        row = self.m.Window.get_or_none(self.m.Window.id == window_id)
        return _window_view(row) if row else None

    def windows(self) -> list[WindowView]:
        cur = self.db.execute_sql(
            "SELECT id, department, staff, role, ticket, paused_at, pause_reason, signed_on_at, manual"
            " FROM windows ORDER BY id")
        return [
            WindowView(id=r[0], department=r[1], staff=r[2], role=r[3], ticket=r[4], paused_at=r[5],
                       pause_reason=r[6], signed_on_at=r[7], manual=r[8])
            for r in cur.fetchall()
        ]

    def window_of_staff(self, staff: str) -> WindowView | None:
        row = self.m.Window.get_or_none(self.m.Window.staff == staff)
        return _window_view(row) if row else None

    def case(self, case_id: str) -> CaseView | None:
        row = self.m.Case.get_or_none(self.m.Case.id == case_id)
        return _case_view(row) if row else None

    def cases(self, state: str | None = None, department: str | None = None, limit: int = 200) -> list[CaseView]:
        C = self.m.Case
        q = C.select()
        if state:
            q = q.where(C.state == state)
        if department:
            q = q.where((C.department == department) | C.co_departments.contains(f'"{department}"'))
        return [_case_view(r) for r in q.order_by(C.opened_at.desc()).limit(limit)]

    def handoffs(self, case_id: str) -> list[HandoffView]:
        H = self.m.Handoff
        return [
            HandoffView(
                case=r.case, seq=r.seq, at=r.at, from_department=r.from_department,
                to_department=r.to_department, materials=json.loads(r.materials), by=r.by, note=r.note,
            )
            for r in H.select().where(H.case == case_id).order_by(H.id)
        ]


    # -- presence, attendance, ratings, closing, devices

    def last_punch(self, staff: str) -> PunchView | None:
        P = self.m.Punch
        row = P.select().where(P.staff == staff).order_by(P.at.desc(), P.seq.desc()).first()
        return _row_view(PunchView, row) if row else None

    def punches(self, service_date: str | None = None, staff: str | None = None,
                start_date: str | None = None, end_date: str | None = None) -> list[PunchView]:
        P = self.m.Punch
        q = P.select()
        if service_date is not None:
            q = q.where(P.service_date == service_date)
        if start_date is not None:
            q = q.where(P.service_date >= start_date)
        if end_date is not None:
            q = q.where(P.service_date <= end_date)
        if staff is not None:
            q = q.where(P.staff == staff)
        return [_row_view(PunchView, r) for r in q.order_by(P.at, P.seq)]

    def last_unknown_card(self, card: str) -> UnknownCardView | None:
        U = self.m.UnknownCard
        row = U.select().where(U.card == card).order_by(U.id.desc()).first()
        return _row_view(UnknownCardView, row) if row else None

    def unknown_cards(self, since: int = 0, limit: int = 20) -> list[UnknownCardView]:
        U = self.m.UnknownCard
        q = U.select().where(U.at >= since).order_by(U.id.desc()).limit(limit)
        return [_row_view(UnknownCardView, r) for r in q]

    def leave(self, leave_id: str) -> LeaveView | None:
        row = self.m.Leave.get_or_none(self.m.Leave.id == leave_id)
        return _leave_view(row) if row else None

    def leaves(self, state: str | None = None, staff: str | None = None,
               overlapping: tuple[str, str] | None = None) -> list[LeaveView]:
        L = self.m.Leave
        q = L.select()
        if state is not None:
            q = q.where(L.state == state)
        if staff is not None:
            q = q.where(L.staff == staff)
        if overlapping is not None:
            q = q.where((L.start <= overlapping[1]) & (L.end >= overlapping[0]))
        return [_leave_view(r) for r in q.order_by(L.start, L.requested_at)]

    def sessions(self, start: int, end: int, window: str | None = None) -> list[SessionView]:
        """Staffing intervals overlapping [start, end) (µs)."""
        S = self.m.StaffSession
        q = S.select().where((S.start < end) & (S.end.is_null() | (S.end > start)))
        if window is not None:
            q = q.where(S.window == window)
        return [_row_view(SessionView, r) for r in q.order_by(S.start)]

    def step_aways(self, start: int, end: int, window: str | None = None) -> list[StepAwayView]:
        A = self.m.StepAway
        q = A.select().where((A.start < end) & (A.end.is_null() | (A.end > start)))
        if window is not None:
            q = q.where(A.window == window)
        return [_row_view(StepAwayView, r) for r in q.order_by(A.start)]

    def open_step_away(self, window: str) -> StepAwayView | None:
        A = self.m.StepAway
        row = A.select().where((A.window == window) & A.end.is_null()).order_by(A.id.desc()).first()
        return _row_view(StepAwayView, row) if row else None

    def last_done_at(self, window: str, service_date: str) -> TicketView | None:
        """The service that ended last at `window` on `service_date`."""
        T = self.m.Ticket
        row = (T.select().where((T.window == window) & (T.service_date == service_date) & (T.state == "done"))
               .order_by(T.finished_at.desc()).first())
        return _ticket_view(row) if row else None

    def rating(self, ticket: str) -> RatingView | None:
        row = self.m.Rating.get_or_none(self.m.Rating.ticket == ticket)
        return _row_view(RatingView, row) if row else None

    def ratings(self, service_date: str | None = None, start_date: str | None = None,
                end_date: str | None = None) -> list[RatingView]:
        R = self.m.Rating
        q = R.select()
        if service_date is not None:
            q = q.where(R.service_date == service_date)
        if start_date is not None:
            q = q.where(R.service_date >= start_date)
        if end_date is not None:
            q = q.where(R.service_date <= end_date)
        return [_row_view(RatingView, r) for r in q.order_by(R.at)]

    def followup(self, followup_id: str) -> FollowupView | None:
        row = self.m.Followup.get_or_none(self.m.Followup.id == followup_id)
        return _row_view(FollowupView, row) if row else None

    def followups(self, state: str | None = None) -> list[FollowupView]:
        F = self.m.Followup
        q = F.select()
        if state is not None:
            q = q.where(F.state == state)
        return [_row_view(FollowupView, r) for r in q.order_by(F.due, F.opened_at)]

    def closing_day(self, service_date: str) -> ClosingView | None:
        row = self.m.ClosingDay.get_or_none(self.m.ClosingDay.service_date == service_date)
        if row is None:
            return None
        return ClosingView(
            service_date=row.service_date, checks=row.checks, ok=bool(row.ok), failed=json.loads(row.failed),
            passed_at=row.passed_at, first_failed_at=row.first_failed_at, alarms=row.alarms,
            last_alarm_at=row.last_alarm_at, by=row.by, closer=row.closer,
        )

    def last_sign_off(self, start: int, end: int) -> SessionView | None:
        S = self.m.StaffSession
        row = (S.select().where(S.end.is_null(False) & (S.end >= start) & (S.end < end))
               .order_by(S.end.desc()).first())
        return _row_view(SessionView, row) if row else None

    def open_tickets(self, service_date: str) -> int:
        T = self.m.Ticket
        return T.select().where((T.service_date == service_date)
                                & T.state.in_(["waiting", "called", "serving"])).count()

    def device_states(self) -> list[DeviceView]:
        D = self.m.DeviceState
        return [_row_view(DeviceView, r) for r in D.select().order_by(D.name)]


class StoreError(Exception):
    pass


def _row_view(cls, row):
    """A msgspec view of a model row whose columns are the view's fields."""
    return cls(**{f: getattr(row, f) for f in cls.__struct_fields__})


def _leave_view(r) -> LeaveView:
    return LeaveView(
        id=r.id, staff=r.staff, kind=r.kind, start=r.start, end=r.end, start_half=r.start_half,
        end_half=r.end_half, reason=r.reason, certificate=bool(r.certificate), state=r.state,
        requested_at=r.requested_at, requested_by=r.requested_by, decided_by=r.decided_by,
        decided_at=r.decided_at, note=r.note,
    )


def _ticket_view(r) -> TicketView:
    return TicketView(
        id=r.id, number=r.number, department=r.department, item=r.item, priority=bool(r.priority),
        state=r.state, service_date=r.service_date, issued_at=r.issued_at, queue_key=r.queue_key,
        window=r.window, staff=r.staff, called_at=r.called_at, started_at=r.started_at,
        finished_at=r.finished_at, recalls=r.recalls, rejoins=r.rejoins, transfers=r.transfers,
        outcome=r.outcome, case=r.case,
    )


def _window_view(r) -> WindowView:
    return WindowView(
        id=r.id, department=r.department, staff=r.staff, role=r.role, ticket=r.ticket,
        paused_at=r.paused_at, pause_reason=r.pause_reason, signed_on_at=r.signed_on_at, manual=r.manual,
    )


def _case_view(r) -> CaseView:
    return CaseView(
        id=r.id, ticket=r.ticket, number=r.number, item=r.item, department=r.department, window=r.window,
        staff=r.staff, outcome=r.outcome, state=r.state, opened_at=r.opened_at, deadline=r.deadline,
        supply_by=r.supply_by, missing=json.loads(r.missing), supplied=json.loads(r.supplied),
        co_departments=json.loads(r.co_departments), reason=r.reason, note=r.note,
        finished_at=r.finished_at, result=r.result,
    )


# ---------------------------------------------------------------------------- projection rules
# One function per event kind: how the fact changes the local state. Pure table updates.


def _issued(s: Store, seq: int, ts: int, b: ev.TicketIssued) -> None:
    s.m.Ticket.insert(
        id=b.ticket, number=b.number, department=b.department, item=b.item, priority=b.priority,
        state="waiting", service_date=b.service_date, issued_at=ts, queue_key=ts,
    ).execute()
    C = s.m.Counter
    n = int(b.number.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ") or 0)
    C.insert(department=b.department, service_date=b.service_date, last=n).on_conflict(
        conflict_target=[C.department, C.service_date], update={C.last: pw.fn.MAX(C.last, n)}
    ).execute()


def _ticket_update(s: Store, ticket: str, **fields) -> None:
    s.m.Ticket.update(**fields).where(s.m.Ticket.id == ticket).execute()


def _window_update(s: Store, window: str, **fields) -> None:
    s.m.Window.update(**fields).where(s.m.Window.id == window).execute()


def _called(s: Store, seq: int, ts: int, b: ev.TicketCalled) -> None:
    _ticket_update(s, b.ticket, state="called", window=b.window, staff=b.staff, called_at=ts, recalls=0)
    _window_update(s, b.window, ticket=b.ticket)


def _recalled(s: Store, seq: int, ts: int, b: ev.TicketRecalled) -> None:
    _ticket_update(s, b.ticket, recalls=b.recalls, called_at=ts)


def _started(s: Store, seq: int, ts: int, b: ev.TicketStarted) -> None:
    _ticket_update(s, b.ticket, state="serving", started_at=ts)


def _completed(s: Store, seq: int, ts: int, b: ev.TicketCompleted) -> None:
    T = s.m.Ticket
    t = T.get_by_id(b.ticket)
    T.update(
        state="done", finished_at=ts, started_at=t.started_at or ts, item=b.item, outcome=b.outcome, case=b.case,
    ).where(T.id == b.ticket).execute()
    _window_update(s, b.window, ticket=None)
    if b.case:
        s.m.Case.insert(
            id=b.case, ticket=b.ticket, number=t.number, item=b.item, department=t.department,
            window=b.window, staff=b.staff, outcome=b.outcome,
            state="open" if b.outcome in ("promised", "joint", "gaps") else "closed",
            opened_at=ts, deadline=b.deadline, supply_by=b.supply_by, missing=json.dumps(b.missing),
            co_departments=json.dumps(b.co_departments), reason=b.reason, note=b.note,
        ).execute()


def _no_show(s: Store, seq: int, ts: int, b: ev.TicketNoShow) -> None:
    _ticket_update(s, b.ticket, state="no_show", finished_at=ts)
    _window_update(s, b.window, ticket=None)


def _rejoined(s: Store, seq: int, ts: int, b: ev.TicketRejoined) -> None:
    T = s.m.Ticket
    T.update(state="waiting", queue_key=ts, rejoins=T.rejoins + 1, window=None, staff=None,
             called_at=None, finished_at=None, recalls=0).where(T.id == b.ticket).execute()


def _transferred(s: Store, seq: int, ts: int, b: ev.TicketTransferred) -> None:
    T = s.m.Ticket
    T.update(
        state="waiting", department=b.to_department, item=b.item, window=None, staff=None,
        called_at=None, started_at=None, recalls=0, transfers=T.transfers + 1,
    ).where(T.id == b.ticket).execute()
    _window_update(s, b.window, ticket=None)


def _expired(s: Store, seq: int, ts: int, b: ev.TicketExpired) -> None:
    T = s.m.Ticket
    t = T.get_by_id(b.ticket)
    T.update(state="expired", finished_at=ts).where(T.id == b.ticket).execute()
    if t.window:
        W = s.m.Window
        W.update(ticket=None).where((W.id == t.window) & (W.ticket == b.ticket)).execute()


def _signed_on(s: Store, seq: int, ts: int, b: ev.WindowSignedOn) -> None:
    _window_update(s, b.window, staff=b.staff, role=b.role, signed_on_at=ts, paused_at=None, pause_reason="")
    s.m.StaffSession.insert(window=b.window, staff=b.staff, role=b.role, start=ts, via=b.via).execute()


def _signed_off(s: Store, seq: int, ts: int, b: ev.WindowSignedOff) -> None:
    _window_update(s, b.window, staff=None, role=None, signed_on_at=None, paused_at=None, pause_reason="")
    S = s.m.StaffSession
    S.update(end=ts).where((S.window == b.window) & (S.staff == b.staff) & S.end.is_null()).execute()


def _paused(s: Store, seq: int, ts: int, b: ev.WindowPaused) -> None:
    _window_update(s, b.window, paused_at=ts, pause_reason=b.reason)
    s.m.StepAway.insert(window=b.window, staff=b.staff, start=ts, via=b.via, reason=b.reason).execute()


def _resumed(s: Store, seq: int, ts: int, b: ev.WindowResumed) -> None:
    _window_update(s, b.window, paused_at=None, pause_reason="")
    A = s.m.StepAway
    A.update(end=ts, seconds=b.paused_seconds, over_limit=b.over_limit).where(
        (A.window == b.window) & A.end.is_null()).execute()


def _step_away_violation(s: Store, seq: int, ts: int, b: ev.StepAwayViolation) -> None:
    A = s.m.StepAway
    A.update(violation=True).where((A.window == b.window) & A.end.is_null()).execute()


def _punch(s: Store, seq: int, ts: int, b: ev.AttendancePunch) -> None:
    s.m.Punch.insert(staff=b.staff, card=b.card, reader=b.reader, at=ts, service_date=b.service_date,
                     kind=b.kind, classification=b.classification, slot=b.slot).execute()


def _unknown_card(s: Store, seq: int, ts: int, b: ev.UnknownCard) -> None:
    s.m.UnknownCard.insert(card=b.card, reader=b.reader, at=ts).execute()


def _leave_requested(s: Store, seq: int, ts: int, b: ev.LeaveRequested) -> None:
    s.m.Leave.insert(
        id=b.leave, staff=b.staff, kind=b.leave_kind, start=b.start, end=b.end, start_half=b.start_half,
        end_half=b.end_half, reason=b.reason, certificate=b.certificate, state="requested", requested_at=ts,
        requested_by=b.by,
    ).execute()


def _leave_approved(s: Store, seq: int, ts: int, b: ev.LeaveApproved) -> None:
    L = s.m.Leave
    L.update(state="approved", decided_by=b.by, decided_at=ts, note=b.note).where(L.id == b.leave).execute()


def _leave_rejected(s: Store, seq: int, ts: int, b: ev.LeaveRejected) -> None:
    L = s.m.Leave
    L.update(state="rejected", decided_by=b.by, decided_at=ts, note=b.reason).where(L.id == b.leave).execute()


def _rating(s: Store, seq: int, ts: int, b: ev.RatingGiven) -> None:
    t = s.m.Ticket.get_or_none(s.m.Ticket.id == b.ticket)
    s.m.Rating.insert(ticket=b.ticket, window=b.window, staff=b.staff, department=b.department, level=b.level,
                      at=ts, service_date=t.service_date if t else "").on_conflict_ignore().execute()


def _followup_opened(s: Store, seq: int, ts: int, b: ev.FollowupOpened) -> None:
    s.m.Followup.insert(id=b.followup, ticket=b.ticket, window=b.window, staff=b.staff, department=b.department,
                        level=b.level, opened_at=ts, due=b.due, state="open").execute()


def _followup_closed(s: Store, seq: int, ts: int, b: ev.FollowupClosed) -> None:
    F = s.m.Followup
    F.update(state="closed", closed_by=b.by, closed_at=ts, result=b.result, note=b.note).where(
        F.id == b.followup).execute()


def _closing_row(s: Store, service_date: str):
    C = s.m.ClosingDay
    C.insert(service_date=service_date).on_conflict_ignore().execute()
    return C.get_by_id(service_date)


def _closing_checked(s: Store, seq: int, ts: int, b: ev.ClosingChecked) -> None:
    C = s.m.ClosingDay
    row = _closing_row(s, b.service_date)
    failed = json.dumps(msgspec.to_builtins(b.failed), ensure_ascii=False)
    C.update(
        checks=C.checks + 1, ok=b.ok, failed=failed, by=b.by, closer=b.closer,
        passed_at=ts if b.ok and row.passed_at is None else row.passed_at,
        first_failed_at=row.first_failed_at if (b.ok or row.first_failed_at) else ts,
    ).where(C.service_date == b.service_date).execute()


def _closing_alarm(s: Store, seq: int, ts: int, b: ev.ClosingAlarm) -> None:
    C = s.m.ClosingDay
    _closing_row(s, b.service_date)
    failed = json.dumps(msgspec.to_builtins(b.failed), ensure_ascii=False)
    C.update(alarms=C.alarms + 1, last_alarm_at=ts, failed=failed, ok=False).where(
        C.service_date == b.service_date).execute()


def _device_fault(s: Store, seq: int, ts: int, b: ev.DeviceFault) -> None:
    D = s.m.DeviceState
    D.insert(name=b.device, kind=b.device_kind, state="fault", message=b.message, since=ts, faults=1).on_conflict(
        conflict_target=[D.name],
        update={D.state: "fault", D.message: b.message, D.since: ts, D.faults: D.faults + 1, D.kind: b.device_kind},
    ).execute()


def _device_recovered(s: Store, seq: int, ts: int, b: ev.DeviceRecovered) -> None:
    D = s.m.DeviceState
    D.insert(name=b.device, kind=b.device_kind, state="ok", message="", since=ts, faults=0).on_conflict(
        conflict_target=[D.name], update={D.state: "ok", D.message: "", D.since: ts},
    ).execute()


def _opened(s: Store, seq: int, ts: int, b: ev.WindowOpened) -> None:
    _window_update(s, b.window, manual="opened")


def _withdrawn(s: Store, seq: int, ts: int, b: ev.WindowWithdrawn) -> None:
    _window_update(s, b.window, manual="withdrawn")


def _handoff(s: Store, seq: int, ts: int, b: ev.CaseHandoff) -> None:
    s.m.Handoff.insert(
        seq=seq, case=b.case, at=ts, from_department=b.from_department, to_department=b.to_department,
        materials=json.dumps(b.materials, ensure_ascii=False), by=b.by, note=b.note,
    ).execute()


def _supplied(s: Store, seq: int, ts: int, b: ev.CaseSupplied) -> None:
    C = s.m.Case
    c = C.get_by_id(b.case)
    done = json.loads(c.supplied)
    done += [m for m in b.materials if m not in done]
    C.update(supplied=json.dumps(done)).where(C.id == b.case).execute()


def _finished(s: Store, seq: int, ts: int, b: ev.CaseFinished) -> None:
    C = s.m.Case
    C.update(state="closed", finished_at=ts, result=b.result, note=b.note or C.note).where(C.id == b.case).execute()


_APPLY = {
    "ticket.issued": _issued,
    "ticket.called": _called,
    "ticket.recalled": _recalled,
    "ticket.started": _started,
    "ticket.completed": _completed,
    "ticket.no_show": _no_show,
    "ticket.rejoined": _rejoined,
    "ticket.transferred": _transferred,
    "ticket.expired": _expired,
    "window.signed_on": _signed_on,
    "window.signed_off": _signed_off,
    "window.paused": _paused,
    "window.resumed": _resumed,
    "window.opened": _opened,
    "window.withdrawn": _withdrawn,
    "case.handoff": _handoff,
    "case.supplied": _supplied,
    "case.finished": _finished,
    "window.step_away_violation": _step_away_violation,
    "attendance.punch": _punch,
    "attendance.unknown_card": _unknown_card,
    "leave.requested": _leave_requested,
    "leave.approved": _leave_approved,
    "leave.rejected": _leave_rejected,
    "rating.given": _rating,
    "rating.followup_opened": _followup_opened,
    "rating.followup_closed": _followup_closed,
    "closing.checked": _closing_checked,
    "closing.alarm": _closing_alarm,
    "device.fault": _device_fault,
    "device.recovered": _device_recovered,
}
