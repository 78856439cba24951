"""The core of the hall's store: the event log, its epochs and marks, and the dispatch of each
appended event to the projection rules of the capabilities (`edge.store.queue`, …).

Only the `edge.store` package touches peewee. Everything the hall decides is appended here as
an event and applied to the projection tables in the same transaction; `rebuild()` replays the
log into fresh projections, which proves they are derived state. Durability: WAL with
``synchronous=FULL``, so a commit that returned is on disk before the hall shows or publishes
anything.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import sqlite3
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, SimpleNamespace, UnionType
from typing import Any

import msgspec
import peewee as pw

from sync.contract import events as ev
from sync.kernel.clock import Clock, uuid7

from . import compaction, migrations

Rule = Callable[[Any, int, int, Any], None]  # (store, seq, ts, body): how one fact changes a projection


class StoredEvent(ev.Event, kw_only=True):
    """An event as read back from the log: the contract's `Event` (body as raw JSON)."""


class StoreError(Exception):
    """The hall's database cannot be used as it is (wrong hall, not a database, an empty file
    where a log was expected, a schema newer than this code). The message names the file and
    what to do; nothing was changed."""


def new_epoch() -> str:
    """A new random epoch id."""
    return os.urandom(8).hex()


def lock_path(path: Path) -> Path:
    """The file every open store of the database at `path` holds a shared lock on (and writes
    its pid to): `edge.store.backup.restore` refuses while anyone holds it."""
    return path.with_name(path.name + ".lock")


# SQLite's words for a database that cannot take a write right now (SQLITE_FULL, SQLITE_IOERR,
# SQLITE_READONLY, SQLITE_CANTOPEN): the disk, not the command, is at fault.
_STORAGE_FAILURES = ("full", "disk i/o error", "readonly", "read-only", "unable to open")


def storage_failure(e: BaseException | None) -> BaseException | None:
    """The database failing to write (a full disk…) behind `e`, if that is what `e` is: the
    error itself or one it was raised from (SQLite's own error often hides behind peewee's
    failed rollback of a transaction SQLite had already dropped). None for a bug or a refusal."""
    for _ in range(10):
        if e is None:
            return None
        if isinstance(e, (pw.OperationalError, sqlite3.OperationalError)) and any(
                w in str(e).lower() for w in _STORAGE_FAILURES):
            return e
        e = e.__cause__ or e.__context__
    return None


# ---------------------------------------------------------------------------- helpers for the parts


def row_view(cls, row, json_fields: Iterable[str] = ()):
    """A msgspec view of a model row whose columns are the view's fields; `json_fields` are
    stored as JSON text."""
    values = {f: getattr(row, f) for f in cls.__struct_fields__}
    for f in json_fields:
        values[f] = json.loads(values[f])
    return cls(**values)


def view_or_none(cls, row, json_fields: Iterable[str] = ()):
    """`row_view` of a row that may be missing (None stays None)."""
    return None if row is None else row_view(cls, row, json_fields)


def get_view(cls, model, where, json_fields: Iterable[str] = ()):
    """The view of the one row of `model` matching `where`, or None."""
    return view_or_none(cls, model.get_or_none(where), json_fields)


def between(q, column, start: Any | None, end: Any | None):
    """`q` narrowed to `start <= column <= end`; a missing bound is open."""
    if start is not None:
        q = q.where(column >= start)
    if end is not None:
        q = q.where(column <= end)
    return q


def dumps(value: Any) -> str:
    """A JSON column's text (Chinese kept readable)."""
    return json.dumps(msgspec.to_builtins(value), ensure_ascii=False)


def update(model, key: Any, **fields: Any) -> None:
    """Update the row of `model` whose primary key is `key`."""
    model.update(**fields).where(model._meta.primary_key == key).execute()


def _column(hint: Any, big: bool) -> tuple[type[pw.Field], bool]:
    """The peewee field class of a view field's type, and whether it may be NULL. Lists and dicts
    are JSON text."""
    null = False
    if isinstance(hint, UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        null = len(args) < len(typing.get_args(hint))
        (hint,) = args
    base = typing.get_origin(hint) or hint
    if base is bool:
        return pw.BooleanField, null
    if base is int:
        return (pw.BigIntegerField if big else pw.IntegerField), null
    if base in (str, list, dict):
        return pw.TextField, null
    raise TypeError(f"no column type for {hint!r}")


def table(Base: type, name: str, view: type, table_name: str, *, key: str | None = None,
          auto: str | None = None, big: Iterable[str] = (), index: Iterable[str] = (),
          unique: Iterable[str] = (), defaults: dict[str, Any] | None = None,
          types: dict[str, type[pw.Field]] | None = None, skip: Iterable[str] = (),
          order: Sequence[str] | None = None, indexes: tuple = ()) -> type:
    """A model class `name` on `Base` whose columns are the fields of the msgspec struct `view`,
    in its order (or `order`): `str` (and JSON `list`/`dict`) → TEXT, `int` → INTEGER (a
    `BigIntegerField` for the µs times in `big`), `bool` → BOOLEAN defaulting to False,
    `X | None` → NULL allowed. `key` is the primary key (an `AutoField` if it is an int),
    `auto` an extra `AutoField` key first, `index` and `unique` the columns indexed alone,
    `defaults` Python-side defaults, `types` field classes for view types with no column type
    of their own, `skip` view fields not stored, `indexes` the composite indexes."""
    big, index, unique, skip = set(big), set(index), set(unique), set(skip)
    defaults, types = defaults or {}, types or {}
    hints = typing.get_type_hints(view)
    attrs: dict[str, Any] = {}
    if auto is not None:
        attrs[auto] = pw.AutoField()
    for col in order or [f for f in view.__struct_fields__ if f not in skip]:
        cls, null = (types[col], False) if col in types else _column(hints[col], col in big)
        if col == key:
            attrs[col] = pw.AutoField() if cls is pw.IntegerField else cls(primary_key=True)
            continue
        kw: dict[str, Any] = {"null": null} if null else {}
        if cls is pw.BooleanField:
            kw["default"] = False
        if col in defaults:
            kw["default"] = defaults[col]
        if col in index:
            kw["index"] = True
        if col in unique:
            kw["unique"] = True
        attrs[col] = cls(**kw)
    attrs["Meta"] = type("Meta", (), {"table_name": table_name, "indexes": indexes})
    attrs["__module__"] = view.__module__
    return type(name, (Base,), attrs)


@dataclass
class Part:
    """What one capability adds to the store: its tables (`tables(Base)` returns the model
    classes bound to one database) and its projection rules per event kind."""

    tables: Callable[[type], list[type]]
    rules: dict[str, Rule] = field(default_factory=dict)


def part_of(module: ModuleType) -> Part:
    return Part(module.tables, getattr(module, "RULES", {}))


# ---------------------------------------------------------------------------- the log's own tables

# every command appends: plain SQL, since peewee building the statement cost more than SQLite
# running it (py-spy of `bench edge`: Insert.__sql__ about a sixth of the writer thread)
INSERT_EVENT = ("INSERT INTO events (epoch, seq, id, kind, schema, body, ts, boot, mono, clock)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def log_tables(Base: type) -> list[type]:
    class Meta(Base):
        key = pw.TextField(primary_key=True)
        value = pw.TextField()

        class Meta:
            table_name = "meta"

    EventRow = table(  # pos: local append order across epochs; the hall is the store's
        Base, "EventRow", StoredEvent, "events", auto="pos", skip={"hall"}, big={"ts", "mono"},
        unique={"id"}, types={"body": pw.TextField}, indexes=((("epoch", "seq"), True),),
    )
    return [Meta, EventRow]


def _bind(db: pw.Database, parts: list[Part]) -> tuple[SimpleNamespace, list[type], list[type]]:
    """Model classes bound to one database, so several halls can live in one process: a
    namespace by class name, the log's tables and the projection tables."""

    class Base(pw.Model):
        class Meta:
            database = db

    log = log_tables(Base)
    projections = [t for p in parts for t in p.tables(Base)]
    return SimpleNamespace(**{t.__name__: t for t in log + projections}), log, projections


# ---------------------------------------------------------------------------- the store core


class LogStore:
    """Event log + projections. Not thread-safe by design: the hall's single writer thread
    owns it (see edge.hall). The capabilities' query mixins and `PARTS` complete it
    (`edge.store.Store`)."""

    PARTS: list[Part] = []

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
        self.m, self._log_tables, self._projection_tables = _bind(self.db, self.PARTS)
        self._rules: dict[str, list[Rule]] = {}
        for p in self.PARTS:
            for kind, rule in p.rules.items():
                self._rules.setdefault(kind, []).append(rule)
        self.epoch = ""
        self._next_seq = 1
        self._pending: list[StoredEvent] = []
        self._lock: int | None = None
        self.schema = (0, 0)  # (version found at open, version now)

    # -- lifecycle

    def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        wal = self.path.with_name(self.path.name + "-wal")
        if self.path.exists() and self.path.stat().st_size == 0 and not (wal.exists() and wal.stat().st_size):
            raise StoreError(
                f"{self.path} is empty (0 bytes) where the hall's log was expected: restore it from a "
                "backup, or delete the file to start a new log on purpose")
        self._take_lock()
        try:
            self._open()
        except migrations.NewerSchema as e:
            self.close()
            raise StoreError(
                f"{self.path} has schema version {e.found}, newer than this hall's code (schema {e.known}): "
                "run the onestop release that wrote it, or restore a backup made by this one; nothing "
                "was changed") from None
        except BaseException as e:
            self.close()
            if not isinstance(e, pw.DatabaseError):
                raise
            if storage_failure(e):
                raise StoreError(f"{self.path} cannot be written ({e}): free space on its disk or fix its "
                                 "permissions; nothing was changed") from None
            raise StoreError(
                f"{self.path} is not a readable hall database ({e}): restore it from a backup, or move "
                "it away to start a new log; nothing was changed") from None

    def _take_lock(self) -> None:
        """A shared lock for as long as this store is open: several readers and the node may
        hold it together; a restore needs it alone."""
        if self._lock is not None:
            return
        try:
            fd = os.open(lock_path(self.path), os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise StoreError(f"{lock_path(self.path)} cannot be opened ({e.strerror}): the node needs to write "
                             f"in {self.path.parent}; fix its permissions or free space; nothing was changed") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(f"{self.path} is being restored (`onestop-edge restore` holds "
                             f"{lock_path(self.path)}): start the node when it has finished") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock = fd

    def _open(self) -> None:
        self.db.connect(reuse_if_open=True)
        with self.db.atomic():
            self.schema = migrations.migrate(self, self.clock.micros())
            meta = {r.key: r.value for r in self.m.Meta.select()}
            if "epoch" not in meta:
                self.epoch = new_epoch()
                self.m.Meta.create(key="epoch", value=self.epoch)
                self.m.Meta.create(key="hall", value=self.hall)
                self.m.Meta.create(key="created", value=str(self.clock.micros()))
                meta = {"epoch": self.epoch}
            else:
                self.epoch = meta["epoch"]
                if meta.get("hall") != self.hall:
                    raise StoreError(
                        f"{self.path} belongs to hall {meta.get('hall')!r}, not {self.hall!r}"
                    )
            if "link-key" not in meta:  # signs the links printed on slips (edge.phone); never leaves the hall
                self.m.Meta.create(key="link-key", value=secrets.token_hex(32))
        self._next_seq = self.last_seq_of(self.epoch) + 1

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()
        if self._lock is not None:
            os.close(self._lock)  # releases the shared lock
            self._lock = None

    def schema_version(self) -> int:
        return migrations.read_version(self.db.execute_sql)

    def atomic(self):
        return self.db.atomic()

    def in_transaction(self) -> bool:
        """Whether SQLite still holds the transaction open (it drops it itself on SQLITE_FULL
        and I/O errors, whatever peewee believes)."""
        return self.db.connection().in_transaction

    def abandon_transaction(self) -> None:
        """After a failed batch: make sure no transaction is left open, whatever state SQLite
        and peewee disagree on."""
        conn = self.db.connection()
        if conn.in_transaction:
            conn.rollback()

    def one(self, sql: str, args: tuple):
        """One row of a plain SQL query. The queries on the ticket path run many times a second:
        plain SQL on the cursor, since peewee rebuilding each statement costs more than SQLite
        answering it."""
        return self.db.execute_sql(sql, args).fetchone()

    # -- marks and meta

    @property
    def acked_seq(self) -> int:
        """Highest seq central has acknowledged for the current epoch (0 before any sync)."""
        return self.acked(self.epoch)

    def acked(self, epoch: str) -> int:
        value = self.meta(f"acked:{epoch}")
        return int(value) if value else 0

    def save_acked(self, epoch: str, seq: int) -> None:
        self.set_meta(f"acked:{epoch}", str(seq))

    def meta(self, key: str) -> str | None:
        row = self.m.Meta.get_or_none(self.m.Meta.key == key)
        return row.value if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.m.Meta.insert(key=key, value=value).on_conflict_replace().execute()

    # -- epochs

    def epochs(self) -> list[tuple[str, int]]:
        """Every epoch of this log with its last seq, oldest first."""
        E = self.m.EventRow
        q = E.select(E.epoch, pw.fn.MAX(E.seq), pw.fn.MIN(E.pos)).group_by(E.epoch).order_by(pw.fn.MIN(E.pos))
        out = [(epoch, last) for epoch, last, _ in q.tuples()]
        if self.epoch not in {e for e, _ in out}:
            out.append((self.epoch, 0))
        return out

    def first_event_ts(self) -> int | None:
        """ts of the oldest event the log still holds (the first appended; None: none). Central
        counts a hall's days from its first event's day; the hall's month figures do the same."""
        E = self.m.EventRow
        return E.select(E.ts).order_by(E.pos).limit(1).scalar()

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
        E = self.m.EventRow
        old = self.epoch
        new = new_epoch()
        seq = 0
        if move_from is not None:
            rows = list(E.select().where((E.epoch == old) & (E.seq >= move_from)).order_by(E.seq))
            for r in rows:
                seq += 1
                E.update(epoch=new, seq=seq).where(E.pos == r.pos).execute()
        self.set_meta("epoch", new)
        self.set_meta(f"epoch-from:{new}", old)
        self.epoch = new
        self._next_seq = seq + 1
        return new

    # -- appending

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
        self.db.execute_sql(INSERT_EVENT, (e.epoch, e.seq, e.id, e.kind, e.schema, raw.decode(), e.ts, e.boot, e.mono,
                                           e.clock))
        self._next_seq += 1
        self._apply(e.seq, e.ts, body)
        self._pending.append(e)
        return e

    def take_committed(self) -> list[StoredEvent]:
        """Events appended since the last call (call after the commit succeeded)."""
        out, self._pending = self._pending, []
        return out

    # -- reading the log

    def events(self, after: int = 0, limit: int = 100, epoch: str | None = None) -> list[StoredEvent]:
        """Committed events of an epoch (default: the current one) after `after`, in seq order.
        Safe from any thread: peewee gives each thread its own connection, and WAL readers only
        ever see committed transactions."""
        ep = epoch or self.epoch
        return [
            StoredEvent(hall=self.hall, epoch=ep, seq=r[0], id=r[1], kind=r[2], schema=r[3],
                        body=msgspec.Raw(r[4]), ts=r[5], boot=r[6], mono=r[7], clock=r[8])
            for r in self.event_rows(ep, after, limit)
        ]

    def event_rows(self, epoch: str, after: int, limit: int) -> list[tuple]:
        """Committed events as plain rows (seq, id, kind, schema, body bytes, ts, boot, mono,
        clock) for replication: the raw cursor, since converting every field through the model
        costs more than the read itself. Safe from any thread, like `events`."""
        cur = self.db.execute_sql(
            "SELECT seq, id, kind, schema, CAST(body AS BLOB), ts, boot, mono, clock FROM events"
            " WHERE epoch = ? AND seq > ? ORDER BY seq LIMIT ?", (epoch, after, limit))
        return cur.fetchall()

    def recent_events(self, kinds: Sequence[str], since_us: int) -> list[StoredEvent]:
        """Committed events of `kinds` appended at or after `since_us` on the hall's clock, in
        append order (today's manual closing checks, the complaints taken lately). Ids are
        UUIDv7, whose first 48 bits are the milliseconds: the unique index on `id` finds the
        range without reading older events."""
        ms = f"{max(0, since_us // 1000) & ((1 << 48) - 1):012x}"
        marks = ", ".join("?" * len(kinds))
        cur = self.db.execute_sql(
            "SELECT epoch, seq, id, kind, schema, CAST(body AS BLOB), ts, boot, mono, clock FROM events"
            f" WHERE id >= ? AND kind IN ({marks}) ORDER BY pos", (f"{ms[:8]}-{ms[8:]}", *kinds))
        return [StoredEvent(hall=self.hall, epoch=r[0], seq=r[1], id=r[2], kind=r[3], schema=r[4],
                            body=msgspec.Raw(r[5]), ts=r[6], boot=r[7], mono=r[8], clock=r[9])
                for r in cur.fetchall()]

    # -- projections

    def _apply(self, seq: int, ts: int, body: ev.Body) -> None:
        for rule in self._rules.get(body.KIND, ()):
            rule(self, seq, ts, body)

    def reseed(self) -> None:
        """Put back the rows projections start from (after a rebuild emptied them). The parts'
        mixins extend it."""

    def rebuild(self) -> None:
        """Drop the projections and replay the whole log into them. Refused (StoreError, nothing
        changed) once the log is compacted: the deleted events are only at central."""
        floors = compaction.floors(self)
        if floors:
            where = ", ".join(f"epoch {e} up to seq {s}" for e, s in floors.items())
            raise StoreError(f"{self.path}: the log is compacted ({where}; [storage] retention_days), so the "
                             "projections cannot be rebuilt from it; restore a backup from before, or keep them")
        with self.db.atomic():
            self.db.drop_tables(self._projection_tables)
            self.db.create_tables(self._projection_tables)
            self.reseed()
            E = self.m.EventRow
            for seq, kind, raw, ts in E.select(E.seq, E.kind, E.body, E.ts).order_by(E.pos).tuples():
                self._apply(seq, ts, ev.decode_body(kind, raw.encode()))
