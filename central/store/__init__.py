"""Central's merged store: every hall's events, quarantine, hall liveness, ack progress.

Only this package touches peewee (tables in `schema`, raw-SQL fact tables in `facttables`,
their dirty marks in `marks`, numbered migrations in `migrations`; the supervision records'
and config revisions' queries in `records` and `revisions`). SQLite (default) or PostgreSQL by URL. Inserts are
idempotent on (hall, epoch, seq); the contiguous prefix per (hall, epoch) is what central acks.
On PostgreSQL a batch's events are COPied in (central.store.pgingest) and the hall's counter and
progress rows are locked for the ingest transaction, always in one order (`holding`), so several
central workers on one shared subscription never ack what another has not committed and never
deadlock.
Schema changes are numbered migrations applied at start (`migrations.MIGRATIONS`).
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass, field

import msgspec
import peewee as pw
from playhouse.db_url import connect

from sync.contract import events as ev
from sync.contract import wire

from . import marks, pgingest
from .migrations import MIGRATIONS, QUARANTINE_KEEP
from .appointments import bind_appointments
from .schema import bind, bind_records, bind_revision


def open_database(url: str) -> pw.Database:
    """`sqlite:///path.db` or `postgresql://user@host:port/db`."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):]
        return pw.SqliteDatabase(path, pragmas={"journal_mode": "wal", "synchronous": 2,
                                                "busy_timeout": 10000, "cache_size": -64000},
                                 check_same_thread=False)
    if url.startswith(("postgresql://", "postgres://")):
        return connect(url.replace("postgres://", "postgresql://", 1))
    raise ValueError(f"database URL must be sqlite:///PATH or postgresql://…, got {url!r}")


@dataclass
class IngestResult:
    """What one batch did. The caller asks `acks`/`conflicts` once per transaction."""

    hall: str
    upto: dict[str, int] = field(default_factory=dict)
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0


@dataclass
class Prepared:
    """A batch payload decoded (`prepare`), ready for `CentralStore.store_prepared`."""

    hall: str
    topic: str
    payload: bytes
    received: int
    refused: str | None = None  # why the whole payload goes to quarantine
    epoch: str = ""
    last_seq: int | None = None
    rows: list[tuple] = field(default_factory=list)  # events table rows, seq order
    bodies: list = field(default_factory=list)  # their decoded bodies
    bad: list[tuple[int, bytes, str]] = field(default_factory=list)  # (seq, event bytes, reason) to quarantine
    copy: str | None = None  # `rows` as PostgreSQL COPY text (prepare(copy=True))


def prepare(topic_hall: str, topic: str, payload: bytes, received: int, copy: bool = False) -> Prepared:
    """Decode a batch payload and every event body in it: no database needed, so it can run
    on another thread than the writer. `copy`: also write the rows as COPY text (PostgreSQL)."""
    prep = Prepared(hall=topic_hall, topic=topic, payload=payload, received=received)
    try:
        batch: wire.Batch = wire.decode(payload, wire.Batch)
    except wire.WireError as e:
        prep.refused = str(e)
        return prep
    if batch.hall != topic_hall:
        prep.refused = f"batch says hall {batch.hall!r} but came on the topic of {topic_hall!r}"
        return prep
    prep.epoch = epoch = batch.epoch
    if batch.events:
        prep.last_seq = batch.events[-1].seq
    rows, bodies, decode_body, newest = prep.rows, prep.bodies, ev.decode_body, ev.SCHEMA
    for e in batch.events:
        try:
            body = decode_body(e.kind, e.body)
            if e.schema > newest:
                raise msgspec.ValidationError(f"schema {e.schema} is newer than {newest}")
        except (msgspec.ValidationError, msgspec.DecodeError) as err:
            prep.bad.append((e.seq, msgspec.msgpack.encode(e), f"event {e.kind}: {err}"))
            continue
        rows.append((topic_hall, epoch, e.seq, e.id, e.kind, e.schema, e.body.decode(),
                     e.ts, e.ts, e.boot, e.mono, e.clock, received))
        bodies.append(body)
    if copy and rows:
        prep.copy = pgingest.copy_text(rows)
    return prep


class CentralStore:
    def __init__(self, url: str) -> None:
        self.url = url
        self.db = open_database(url)
        self.m = bind(self.db)
        self.records = bind_records(self.db)  # complaints, follow-ups, patrols (central.supervision)
        self.Revision = bind_revision(self.db)  # hall configuration revisions (central.configedit)
        self.appointments = bind_appointments(self.db)  # bookings (central.appointments)
        self.postgres = isinstance(self.db, pw.PostgresqlDatabase)
        self._held: set[tuple[str, str]] | None = None  # (hall, epoch) locked by `holding`
        # the ingest worker sets this: a batch's dirty marks are written after its ack, by
        # marks.mark_deferred (the facts refresher), not in the ingest transaction
        self.defer_marks = False
        self.unmarked = marks.Unmarked()  # their decoded bodies, kept until then

    def open(self) -> None:
        self.db.connect(reuse_if_open=True)
        with self.db.atomic():
            self.db.create_tables([self.m.Migration], safe=True)
            done = {r.version for r in self.m.Migration.select()}
            for version, name, fn in MIGRATIONS:
                if version not in done:
                    fn(self)
                    self.m.Migration.create(version=version, name=name, applied=0)

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()

    def schema_version(self) -> int:
        return self.m.Migration.select(pw.fn.MAX(self.m.Migration.version)).scalar() or 0

    # ------------------------------------------------------------------ ingest

    def quarantine(self, hall: str, topic: str, payload: bytes, reason: str, received: int,
                   epoch: str | None = None, seq: int | None = None) -> None:
        """Keep a bad payload for people to look at: its first QUARANTINE_KEEP bytes, its size and
        SHA-256 (a payload may be megabytes: one row never holds it whole)."""
        self.m.Quarantine.insert(hall=hall, topic=topic, epoch=epoch, seq=seq, reason=reason[:1000],
                                 payload=payload[:QUARANTINE_KEEP], size=len(payload),
                                 sha256=hashlib.sha256(payload).hexdigest(), received=received).execute()

    def ingest(self, topic_hall: str, topic: str, payload: bytes, received: int) -> IngestResult | None:
        """Store one batch payload. Returns what to ack, or None when nothing could be identified
        (the payload went to quarantine whole). Inside a caller's transaction this is a
        savepoint; on its own it commits before returning."""
        return self.store_prepared(prepare(topic_hall, topic, payload, received))

    @contextmanager
    def holding(self, preps: list["Prepared"]):
        """Inside a transaction (central.service's group commit): lock the counter and progress
        rows of every batch's hall and epoch up front, in one order (central.store.pgingest),
        before any batch is stored. A no-op on SQLite (one writer at a time)."""
        pairs = {(p.hall, p.epoch) for p in preps if p.refused is None}
        if self.postgres:
            pgingest.lock_halls(self, pairs)
        self._held = pairs
        try:
            yield
        finally:
            self._held = None

    def ingest_group(self, preps: list["Prepared"]) -> list[IngestResult | None]:
        """Store decoded batches in one transaction, each in a savepoint, locks taken first
        (`holding`); the group commit of central.service without the MQTT side."""
        with self.db.atomic(), self.holding(preps):
            out = []
            for prep in preps:
                with self.db.atomic():
                    out.append(self.store_prepared(prep))
            return out

    def store_prepared(self, prep: "Prepared") -> IngestResult | None:
        """The database half of `ingest` for a batch `prepare` decoded (central.service
        decodes the next batches on another thread while this one is written)."""
        topic_hall, topic, received = prep.hall, prep.topic, prep.received
        with self.db.atomic():
            if prep.refused is not None:
                self.quarantine(topic_hall, topic, prep.payload, prep.refused, received)
                return None
            result = IngestResult(hall=topic_hall)
            if prep.last_seq is not None:
                result.upto[prep.epoch] = prep.last_seq
            progress, conflict_at = self._lock_progress(topic_hall, prep.epoch)
            for seq, payload, reason in prep.bad:
                if conflict_at is not None and seq >= conflict_at:
                    continue
                self.quarantine(topic_hall, topic, payload, reason, received, prep.epoch, seq)
                result.quarantined += 1
            rows, bodies = prep.rows, prep.bodies
            if conflict_at is not None:  # the hall re-numbers these into a new epoch; never store them here
                keep = [i for i, r in enumerate(rows) if r[2] < conflict_at]
                rows, bodies = [rows[i] for i in keep], [bodies[i] for i in keep]
            if rows:
                text = prep.copy if len(rows) == len(prep.rows) else None
                if self._rebase(topic_hall, rows):
                    text = None
                inserted = self._insert_events(rows, text, rows[0][2] <= progress)
                result.stored = inserted
                result.duplicates = len(rows) - inserted
                removed = 0
                if inserted < len(rows):
                    conflict = self._first_conflict(topic_hall, prep.epoch, rows)
                    if conflict is not None:
                        # keep nothing of this batch from the conflict on (the hall moves those
                        # events to a new epoch), and refuse that range of the epoch from now on
                        E, P = self.m.Event, self.m.Progress
                        ours = [r[3] for r in rows if r[2] >= conflict]
                        removed = E.delete().where((E.hall == topic_hall) & (E.epoch == prep.epoch)
                                                   & (E.seq >= conflict) & E.event_id.in_(ours)).execute()
                        P.update(conflict=conflict).where((P.hall == topic_hall) & (P.epoch == prep.epoch)).execute()
                        result.stored -= sum(1 for r in rows if r[2] >= conflict)
                self._count(topic_hall, inserted - removed)
                # the (hall, day) facts these events change are dirty (central.store.marks);
                # the ingest worker leaves that to the facts refresher (marks.mark_deferred)
                changed = [(r[4], [r[8]], b) for r, b in zip(rows, bodies)]
                if self.defer_marks:
                    marks.defer(self, topic_hall, prep.epoch, rows, changed)
                else:
                    marks.mark(self, topic_hall, changed)
                for r in rows:
                    if r[4] == "clock.corrected":
                        self._apply_correction(topic_hall, r[6])
            self._advance(topic_hall, prep.epoch, progress)
        return result

    def _lock_progress(self, hall: str, epoch: str) -> tuple[int, int | None]:
        # plain SQL: this runs once per batch, and building the query through peewee cost more
        # than running it (cProfile of the drain, docs/benchmarks.md)
        p, table = self.db.param, self.m.Progress._meta.table_name
        if self.postgres:
            if self._held is None or (hall, epoch) not in self._held:
                pgingest.lock_halls(self, [(hall, epoch)])  # counter, then progress: the one order
        else:
            self.db.execute_sql(f"INSERT INTO {table} (hall, epoch, contiguous) VALUES ({p}, {p}, 0)"
                                " ON CONFLICT DO NOTHING", [hall, epoch])
        sql = f"SELECT contiguous, conflict FROM {table} WHERE hall = {p} AND epoch = {p}"
        contiguous, conflict = self.db.execute_sql(sql, [hall, epoch]).fetchone()
        return contiguous or 0, conflict

    def _count(self, hall: str, delta: int) -> None:
        """Keep `hall_event_counts` equal to the hall's rows in `events` (same transaction)."""
        if not delta:
            return
        p = self.db.param
        self.db.execute_sql(f"INSERT INTO hall_event_counts (hall, events) VALUES ({p}, {p}) ON CONFLICT (hall)"
                            " DO UPDATE SET events = hall_event_counts.events + excluded.events", [hall, delta])

    def conflicts(self, hall: str) -> dict[str, int]:
        p, table = self.db.param, self.m.Progress._meta.table_name
        return dict(self.db.execute_sql(
            f"SELECT epoch, conflict FROM {table} WHERE hall = {p} AND conflict IS NOT NULL", [hall]).fetchall())

    def _insert_events(self, rows: list[tuple], text: str | None = None, maybe_duplicates: bool = True) -> int:
        """Insert what is new; returns how many rows were new (the rest were duplicates).
        PostgreSQL: COPY (`text`, when given, is `rows` as COPY text) unless `maybe_duplicates`."""
        cols = "hall, epoch, seq, event_id, kind, schema, body, ts, ts_true, boot, mono, clock, received"
        if self.postgres:
            return pgingest.insert_events(self, rows, text, maybe_duplicates)
        marks = ", ".join("?" * 13)
        cur = self.db.cursor()
        cur.executemany(f"INSERT INTO events ({cols}) VALUES ({marks}) ON CONFLICT (hall, epoch, seq) DO NOTHING",
                        rows)
        return cur.rowcount

    def _first_conflict(self, hall: str, epoch: str, rows: list[tuple]) -> int | None:
        """The first seq where central holds a different event than the one sent (the hall's
        database was restored from an old copy and reused sequence numbers)."""
        E = self.m.Event
        sent = {r[2]: r[3] for r in rows}
        stored = E.select(E.seq, E.event_id).where((E.hall == hall) & (E.epoch == epoch) & E.seq.in_(list(sent)))
        bad = [seq for seq, eid in stored.tuples() if sent[seq] != eid]
        return min(bad) if bad else None

    def _advance(self, hall: str, epoch: str, contiguous: int) -> int:
        """Move the contiguous mark over every stored (or quarantined) seq that follows it.
        Seqs are unique per (hall, epoch), so when the k seqs above the mark end at mark + k the
        run is unbroken and the mark jumps there; only at a gap are the seqs walked one by one."""
        P = self.m.Progress
        start = contiguous
        p = self.db.param
        span = f"""SELECT seq FROM events WHERE hall = {p} AND epoch = {p} AND seq > {p} AND seq <= {p}
                   UNION SELECT seq FROM quarantine WHERE hall = {p} AND epoch = {p} AND seq > {p} AND seq <= {p}"""
        window = 4096
        while True:
            hi = contiguous + window
            args = (hall, epoch, contiguous, hi) * 2
            top, count = self.db.execute_sql(f"SELECT MAX(seq), COUNT(*) FROM ({span}) AS s", args).fetchone()
            if not count:
                break
            if top - contiguous == count:  # contiguous + 1 … top are all there
                contiguous = top
                if top < hi:
                    break
                window *= 2
                continue
            for (seq,) in self.db.execute_sql(f"{span} ORDER BY seq", args).fetchall():
                if seq != contiguous + 1:
                    break
                contiguous = seq
            break
        if contiguous != start:
            self.db.execute_sql(f"UPDATE {P._meta.table_name} SET contiguous = {p} WHERE hall = {p} AND epoch = {p}",
                                [contiguous, hall, epoch])
        return contiguous

    def acks(self, hall: str) -> dict[str, int]:
        p, table = self.db.param, self.m.Progress._meta.table_name
        return dict(self.db.execute_sql(f"SELECT epoch, contiguous FROM {table} WHERE hall = {p}", [hall]).fetchall())

    # ------------------------------------------------------------------ clock corrections

    def _rebase(self, hall: str, rows: list[tuple]) -> bool:
        """Unverified-clock events of a boot with a known correction get their true time
        (True: some did)."""
        boots = {r[9] for r in rows if r[11] == "unverified"}
        if not boots:
            return False
        C = self.m.Correction
        offsets = dict(C.select(C.boot, C.offset).where((C.hall == hall) & C.boot.in_(list(boots))).tuples())
        if not offsets:
            return False
        for i, r in enumerate(rows):
            if r[11] == "unverified" and r[9] in offsets:
                rows[i] = r[:8] + (r[7] + offsets[r[9]],) + r[9:]
        return True

    def _apply_correction(self, hall: str, body: str) -> None:
        b = msgspec.json.decode(body.encode(), type=ev.ClockCorrected)
        C, E = self.m.Correction, self.m.Event
        moved = E.select(E.kind, E.ts_true, E.ts, E.body).where(
            (E.hall == hall) & (E.boot == b.boot) & (E.clock == "unverified") & (E.ts_true != E.ts + b.offset_us))
        marks.mark(self, hall, [(k, [old, ts + b.offset_us], json.loads(body)) for k, old, ts, body in moved.tuples()])
        C.insert(hall=hall, boot=b.boot, offset=b.offset_us).on_conflict(
            conflict_target=[C.hall, C.boot], update={C.offset: b.offset_us}).execute()
        E.update(ts_true=E.ts + b.offset_us).where(
            (E.hall == hall) & (E.boot == b.boot) & (E.clock == "unverified")).execute()

    # ------------------------------------------------------------------ halls

    def hall_status(self, hall: str, payload: bytes, received: int) -> None:
        H = self.m.Hall
        if payload == wire.OFFLINE or not payload:
            H.insert(id=hall, online=False, last_seen=received).on_conflict(
                conflict_target=[H.id], update={H.online: False}).execute()
            return
        try:
            st: wire.Status = wire.decode(payload, wire.Status)
        except wire.WireError as e:
            self.quarantine(hall, wire.status_topic(hall), payload, f"status: {e}", received)
            return
        if st.hall != hall:
            self.quarantine(hall, wire.status_topic(hall), payload, "status of another hall", received)
            return
        data = json.dumps(msgspec.to_builtins(st), ensure_ascii=False)
        H.insert(id=hall, campus=st.campus, online=True, last_seen=received, status=data).on_conflict(
            conflict_target=[H.id],
            update={H.online: True, H.last_seen: received, H.status: data, H.campus: st.campus}).execute()

    def ensure_hall(self, hall: str, campus: str) -> None:
        H = self.m.Hall
        H.insert(id=hall, campus=campus).on_conflict(conflict_target=[H.id], update={H.campus: campus}).execute()

    def halls(self) -> list[dict]:
        H, P = self.m.Hall, self.m.Progress
        counts = dict(self.db.execute_sql("SELECT hall, events FROM hall_event_counts").fetchall())  # kept at ingest
        acked: dict[str, dict[str, int]] = {}
        for hall, epoch, c in P.select(P.hall, P.epoch, P.contiguous).tuples():
            acked.setdefault(hall, {})[epoch] = c
        notices = self.notice_counts()
        out = []
        for h in H.select().order_by(H.id):
            out.append({"id": h.id, "campus": h.campus, "online": bool(h.online), "last_seen": h.last_seen,
                        "acked": acked.get(h.id, {}), "events": int(counts.get(h.id, 0)),
                        "status": json.loads(h.status or "{}"),
                        "notices": notices.get(h.id, {"queued": 0, "sent": 0, "failed": 0})})
        return out

    def notice_counts(self) -> dict[str, dict[str, int]]:
        """hall → result notices (edge.outbox) by the events that reached central: `queued`,
        `sent`, `failed` (each failure, also of a notice resent later). Few rows: the
        (kind, ts_true) index finds them."""
        E = self.m.Event
        out: dict[str, dict[str, int]] = {}
        q = (E.select(E.hall, E.kind, pw.fn.COUNT(E.id))
             .where(E.kind.in_(["notice.queued", "notice.sent", "notice.failed"])).group_by(E.hall, E.kind))
        for hall, kind, n in q.tuples():
            out.setdefault(hall, {"queued": 0, "sent": 0, "failed": 0})[kind.split(".", 1)[1]] = int(n)
        return out

    def event_counts(self) -> dict[str, int]:
        """hall → events stored (the counter kept at ingest)."""
        return {h: int(n) for h, n in self.db.execute_sql("SELECT hall, events FROM hall_event_counts").fetchall()}

    def count_quarantined(self) -> int:
        return self.m.Quarantine.select().count()

    # ------------------------------------------------------------------ reading

    def events(self, hall: str | None = None, after: int = 0, limit: int = 100,
               epoch: str | None = None) -> list[dict]:
        E = self.m.Event
        q = E.select()
        if hall:
            q = q.where(E.hall == hall)
        if epoch:
            q = q.where(E.epoch == epoch)
        if hall and epoch:
            q = q.where(E.seq > after).order_by(E.seq)
        else:
            q = q.where(E.id > after).order_by(E.id)
        return [_event_dict(r) for r in q.limit(limit)]

    def event_keys(self, hall: str | None = None) -> list[tuple[str, str, int, str]]:
        """(hall, epoch, seq, event id) of every stored event: for exact comparisons in tests."""
        E = self.m.Event
        q = E.select(E.hall, E.epoch, E.seq, E.event_id)
        if hall:
            q = q.where(E.hall == hall)
        return list(q.order_by(E.hall, E.epoch, E.seq).tuples())

    def quarantined(self, limit: int = 100, hall: str | None = None) -> list[dict]:
        """The newest quarantined payloads (of `hall` only, when given)."""
        Q = self.m.Quarantine
        q = Q.select() if hall is None else Q.select().where(Q.hall == hall)
        return [
            {"id": r.id, "hall": r.hall, "topic": r.topic, "epoch": r.epoch, "seq": r.seq, "reason": r.reason,
             "size": r.size, "sha256": r.sha256, "kept": len(bytes(r.payload)), "received": r.received,
             "preview": bytes(r.payload)[:200].hex()}
            for r in q.order_by(Q.id.desc()).limit(limit)
        ]

    def count_events(self) -> int:
        return self.m.Event.select().count()

    def first_event_ts(self, hall: str) -> int | None:
        """ts_true of the hall's first stored event (None: none yet)."""
        E = self.m.Event
        return E.select(pw.fn.MIN(E.ts_true)).where(E.hall == hall).scalar()  # index (hall, ts_true)


    # ------------------------------------------------------------------ reports (central.projections)

    def json_field(self, name: str) -> str:
        """SQL text of a body field as text (SQLite json_extract / PostgreSQL ->>)."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"bad body field {name!r}")
        if self.postgres:
            return f"(body::json->>'{name}')"
        return f"json_extract(body, '$.{name}')"

    def select_bodies(self, kinds: list[str], start: int, end: int, fields: list[str],
                      halls: list[str] | None = None) -> list[tuple]:
        """(hall, kind, ts_true, field…) of every event of `kinds` with start <= ts_true < end,
        optionally of some halls only; body fields come back as text (None when absent)."""
        if halls is not None and not halls:
            return []
        p = self.db.param
        cols = ", ".join(["hall", "kind", "ts_true"] + [self.json_field(f) for f in fields])
        sql = (f"SELECT {cols} FROM events WHERE kind IN ({', '.join([p] * len(kinds))})"
               f" AND ts_true >= {p} AND ts_true < {p}")
        args: list = [*kinds, start, end]
        if halls is not None:
            sql += f" AND hall IN ({', '.join([p] * len(halls))})"
            args += list(halls)
        rows = self.db.execute_sql(sql + " ORDER BY ts_true, hall, seq", args).fetchall()
        return [tuple(r) for r in rows]

    # ------------------------------------------------------------------ audit (dashboard)

    def audit(self, who: str, action: str, detail: str, at: int) -> None:
        with self.db.atomic():
            self.m.Audit.insert(at=at, who=who, action=action, detail=detail[:2000]).execute()

    def audit_log(self, limit: int = 200) -> list[dict]:
        A = self.m.Audit
        return [{"id": r.id, "at": r.at, "who": r.who, "action": r.action, "detail": r.detail}
                for r in A.select().order_by(A.id.desc()).limit(limit)]


def _event_dict(r) -> dict:
    return {"id": r.id, "hall": r.hall, "epoch": r.epoch, "seq": r.seq, "event_id": r.event_id, "kind": r.kind,
            "schema": r.schema, "body": json.loads(r.body), "ts": r.ts, "ts_true": r.ts_true, "boot": r.boot,
            "mono": r.mono, "clock": r.clock, "received": r.received}

