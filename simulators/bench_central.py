"""`onestop-sim bench central`: a year of records of 30 halls through central.

1. Generate (deterministic seed) every hall's event log for DAYS days from the start of a year:
   real sync.contract.events bodies — tickets issued, called, started, completed with their outcomes,
   no-shows, transfers, ratings, cases finished days later, staff punches (late, early,
   forgotten), leave, pauses and step-away violations, closing checks — in real sync.contract.wire
   batches of up to 500 events, hall by hall in time order. One hall's second week of March is
   held back and sent last (a hall back after a week offline).
2. Ingest them through `CentralStore.ingest` the way central.service does: group commit of up
   to 64 batches per transaction, each batch in its own savepoint, acks read after. Figure:
   events stored per second, on SQLite and on PostgreSQL (each a fresh database).
3. Serve the real app (uvicorn on a free port; its day-facts refresher starts with it), log in,
   and time page loads through HTTP: the live view, the yearly service report and the yearly
   rankings. The first request of each comes right after the ingest, every day's facts dirty:
   it answers from the facts as they are (target ≤ 1 s) and says how many days are pending;
   then the bench waits until the refresher has caught up (the dirty-day lag) and times RUNS
   warm requests each: p50 and max.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from sync.contract import events as ev
from sync.contract import wire

from .bench_pages import serve, time_pages
from .bench_storage import database_size, raw_copy_rate, raw_rate
from .bench_sync import fresh_pg_database

ROOT = Path(__file__).resolve().parents[1]
SH = ZoneInfo("Asia/Shanghai")
BATCH = 500  # events per wire batch
GROUP = 64  # batches per ingest transaction (central.service's group commit)
TARGET_MS = 100  # issue 16: a warm page (wave 1 asked ≤ 300 ms)
FIRST_MS = 1000  # issue 16: the first report after a bulk load
ADMIN_PASSWORD = "bench-admin"

OUTCOMES = [("instant", 70), ("promised", 10), ("notice", 8), ("joint", 3), ("gaps", 4), ("refused", 5)]
LEVELS = [(5, 62), (4, 24), (3, 8), (2, 4), (1, 2)]
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"


# ---------------------------------------------------------------- configuration


def write_config(tmp: Path, halls: int) -> Path:
    """central.toml and halls/hall-NN.toml: the bench hall (6 departments, 8 windows) with a
    staff member per window and two B-role backups, Chinese holidays, the closures of J 26."""
    from central.auth import hash_secret

    base = (ROOT / "simulators" / "bench_hall.toml").read_text(encoding="utf-8")
    windows = [("w01", "academic"), ("w02", "academic"), ("w03", "graduate"), ("w04", "student-affairs"),
               ("w05", "student-affairs"), ("w06", "finance"), ("w07", "international"), ("w08", "security")]
    hall_dir = tmp / "halls"
    hall_dir.mkdir(parents=True, exist_ok=True)
    for i in range(1, halls + 1):
        hid = f"hall-{i:02d}"
        text = base.replace('id = "bench-hall"', f'id = "{hid}"', 1)
        text = text.replace('name = "基准测试大厅"', f'name = "第{i}服务大厅"', 1)
        text = text.replace('campus = "bench"', f'campus = "campus-{(i - 1) % 6 + 1}"', 1)
        text = text.replace('campus_name = "基准校区"', f'campus_name = "第{(i - 1) % 6 + 1}校区"', 1)
        text = text.replace(
            'periods = [{ start = "08:00", end = "11:30" }, { start = "13:00", end = "16:30" }]',
            'periods = [{ start = "08:00", end = "11:30" }, { start = "13:00", end = "16:30" }]\n'
            'closures = [{ kind = "last-weekday-of-month", weekday = 3, start = "13:00", name = "政治学习" },'
            ' { kind = "weekly", weekday = 5, start = "16:00", name = "周五下午提前闭厅" }]\n'
            'holidays = [{ start = 2025-01-28, end = 2025-02-04, name = "春节" },'
            ' { start = 2025-10-01, end = 2025-10-08, name = "国庆节" },'
            ' { start = 2026-02-15, end = 2026-02-23, name = "春节" },'
            ' { start = 2026-10-01, end = 2026-10-07, name = "国庆节" }]', 1)
        staff = []
        for k, (w, dept) in enumerate(windows):
            name = SURNAMES[(i * 7 + k) % len(SURNAMES)] + "老师"
            staff.append(f'[[business.staff]]\nid = "s{k + 1:02d}"\nname = "{name}"\ndepartment = "{dept}"\n'
                         f'windows = ["{w}"]\n')
        staff.append('[[business.staff]]\nid = "b01"\nname = "周同学"\ndepartment = "academic"\n'
                     'kind = "student"\nbackup_for = ["w01", "w02"]\n')
        staff.append('[[business.staff]]\nid = "b02"\nname = "吴同学"\ndepartment = "student-affairs"\n'
                     'kind = "student"\nbackup_for = ["w04", "w05"]\n')
        (hall_dir / f"{hid}.toml").write_text(text + "\n" + "\n".join(staff), encoding="utf-8")
    central = tmp / "central.toml"
    central.write_text(f'[central]\nname = "基准测试中心"\nhalls = ["halls/*.toml"]\n\n[[users]]\nname = "admin"\n'
                       f'display = "中心管理员"\nrole = "admin"\n'
                       f'password_hash = "{hash_secret(ADMIN_PASSWORD, iterations=1000)}"\n', encoding="utf-8")
    from .keys import install_downlink_keys

    install_downlink_keys(tmp)  # central signs everything it sends to the halls
    return central


# ---------------------------------------------------------------- the hall logs


def _at(day: date, seconds: float) -> int:
    """µs UTC of `seconds` after local midnight of `day` (Shanghai)."""
    return int(datetime(day.year, day.month, day.day, tzinfo=SH).timestamp() * 1_000_000 + seconds * 1_000_000)


def _pick(rng: random.Random, weighted: list[tuple]) -> object:
    return rng.choices([x for x, _ in weighted], [w for _, w in weighted])[0]


def _season(day: date) -> float:
    """Visitors by time of year: term starts busy, vacations quiet."""
    return {1: 0.8, 2: 0.7, 3: 1.4, 4: 1.0, 5: 1.0, 6: 1.2, 7: 0.4, 8: 0.5, 9: 1.6, 10: 1.0, 11: 1.0,
            12: 1.1}[day.month]


@dataclass
class HallLog:
    hall: str
    epoch: str
    pending: list[tuple[int, ev.Body]] = field(default_factory=list)  # (ts, body), sorted at the end

    def add(self, ts: int, body: ev.Body) -> None:
        self.pending.append((ts, body))


def generate(directory, start: date, days: int, seed: int,
             visits: int) -> dict[str, tuple[str, list[wire.WireEvent]]]:
    """Every hall's (epoch, events) for `days` days from `start`, in seq order (time order)."""
    return {hall: made for hall, made in _each_hall(directory, start, days, seed, visits)}


def _each_hall(directory, start: date, days: int, seed: int, visits: int):
    """(hall, (epoch, events)) of each hall in turn, made when asked for (its own seeded
    random stream; visits per day vary by hall, 0.6–1.4 × `visits`)."""
    for n, hall in enumerate(sorted(directory.halls)):
        rng = random.Random(f"{seed}/{hall}")
        yield hall, _hall_events(directory, hall, start, days, rng, visits * (0.6 + 0.8 * ((n * 37) % 11) / 10))


def _hall_events(directory, hall: str, start: date, days: int, rng: random.Random,
                 per_day: float) -> tuple[str, list[wire.WireEvent]]:
    entry, cal = directory.halls[hall], directory.calendars[hall]
    log = HallLog(hall, uuid.UUID(int=rng.getrandbits(128)).hex)
    windows = {w.id: w.department for w in entry.business.windows}
    a_staff = {s.windows[0]: s.id for s in entry.business.staff if s.windows}
    backups = [s for s in entry.business.staff if s.backup_for]
    by_dept: dict[str, list[str]] = {}
    for w, dept in windows.items():
        by_dept.setdefault(dept, []).append(w)
    dept_weights = [(dept, 3 if dept in ("academic", "student-affairs") else 1) for dept in by_dept]
    items = {}
    for it in entry.business.catalog.items:
        items.setdefault(it.department, []).append(it.id)
    leave_n = 0
    case_n = 0
    for k in range(days):
        day = start + timedelta(days=k)
        sd = day.isoformat()
        if not cal.is_open_day(day):
            continue
        periods = cal.periods_on(day)
        open_s = periods[0][0].hour * 3600 + periods[0][0].minute * 60
        close_s = periods[-1][1].hour * 3600 + periods[-1][1].minute * 60
        present: dict[str, str] = {}  # window → staff serving it today
        for w, sid in a_staff.items():
            r = rng.random()
            if r < 0.02:  # on approved leave: asked the afternoon before
                leave_n += 1
                lid = f"L{leave_n}"
                log.add(_at(day - timedelta(days=1), 15 * 3600), ev.LeaveRequested(
                    leave=lid, staff=sid, leave_kind=rng.choice(["annual", "personal", "sick"]), start=sd, end=sd,
                    by=sid))
                log.add(_at(day - timedelta(days=1), 15.5 * 3600), ev.LeaveApproved(leave=lid, by="manager"))
            elif r < 0.03:
                pass  # absent without leave
            else:
                present[w] = sid
                t_in = open_s + rng.gauss(-600, 420)
                log.add(_at(day, t_in), ev.AttendancePunch(
                    staff=sid, card="C", reader="door", kind="in", classification="late" if t_in > open_s else "on_time",
                    slot=0, service_date=sd))
                if rng.random() > 0.02:  # sometimes the out-punch is forgotten
                    t_out = close_s + rng.gauss(420, 400)
                    log.add(_at(day, t_out), ev.AttendancePunch(
                        staff=sid, card="C", reader="door", kind="out",
                        classification="early" if t_out < close_s else "on_time", slot=1, service_date=sd))
                for _ in range(rng.choice([0, 0, 1, 1, 2])):
                    t = rng.uniform(open_s + 1800, close_s - 3600)
                    log.add(_at(day, t), ev.WindowPaused(window=w, staff=sid))
                    length = rng.expovariate(1 / 420)
                    if length > 900:
                        log.add(_at(day, t + 900), ev.StepAwayViolation(window=w, staff=sid,
                                                                        paused_at=_at(day, t), limit_minutes=15))
                    log.add(_at(day, t + length), ev.WindowResumed(window=w, staff=sid, paused_seconds=int(length),
                                                                  over_limit=length > 900))
        for w in windows:  # the B-role stands in where A is away
            if w not in present:
                b = next((s for s in backups if w in s.backup_for), None)
                if b is not None:
                    present[w] = b.id
        n = max(0, round(rng.gauss(per_day * _season(day), per_day * 0.2)))
        for i in range(n):
            dept = _pick(rng, dept_weights)
            issued = rng.uniform(open_s, close_s - 900)
            tid = f"{hall}-{day:%Y%m%d}-{i:04d}"
            log.add(_at(day, issued), ev.TicketIssued(ticket=tid, number=f"{i + 1:03d}", department=dept,
                                                      item=rng.choice(items.get(dept, [None])), service_date=sd))
            ws = [w for w in by_dept[dept] if w in present]
            if not ws:
                continue  # nobody to call it: expires at the end of the day (not a central fact)
            w = rng.choice(ws)
            staff = present[w]
            called = issued + min(3600.0, rng.expovariate(1 / 420))
            log.add(_at(day, called), ev.TicketCalled(ticket=tid, window=w, staff=staff))
            if rng.random() < 0.05:
                log.add(_at(day, called + 120), ev.TicketNoShow(ticket=tid, window=w, staff=staff, recalls=2))
                continue
            t = called + rng.uniform(20, 90)
            if rng.random() < 0.02 and len(by_dept) > 1:
                to = rng.choice([x for x in by_dept if x != dept])
                log.add(_at(day, t), ev.TicketTransferred(ticket=tid, window=w, staff=staff, from_department=dept,
                                                          to_department=to))
                continue
            log.add(_at(day, t), ev.TicketStarted(ticket=tid, window=w, staff=staff))
            done = t + rng.lognormvariate(math.log(300), 0.6)
            outcome = _pick(rng, OUTCOMES)
            case = deadline = None
            if outcome in ("promised", "joint", "gaps"):
                case_n += 1
                case, deadline = f"C{case_n}", (day + timedelta(days=7)).isoformat()
                r = rng.random()
                if r < 0.93:
                    fin = day + timedelta(days=rng.randint(1, 7) if r < 0.85 else rng.randint(8, 12))
                    log.add(_at(fin, 10 * 3600 + rng.uniform(0, 3600)), ev.CaseFinished(case=case, by=staff))
            log.add(_at(day, done), ev.TicketCompleted(
                ticket=tid, window=w, staff=staff, item=rng.choice(items.get(dept, ["x"])), outcome=outcome,
                case=case, deadline=deadline, reason="材料不符" if outcome == "refused" else ""))
            if rng.random() < 0.6:
                log.add(_at(day, done + rng.uniform(3, 40)), ev.RatingGiven(
                    window=w, ticket=tid, level=_pick(rng, LEVELS), staff=staff, department=dept))
        ok = rng.random() > 0.03
        if not ok:
            log.add(_at(day, close_s + 1800), ev.ClosingAlarm(service_date=sd, failed=[], repeat=1))
        log.add(_at(day, close_s + 1800 + (0 if ok else 600)), ev.ClosingChecked(service_date=sd, ok=True))
    log.pending.sort(key=lambda p: p[0])
    out = []
    for seq, (ts, body) in enumerate(log.pending, 1):
        out.append(wire.WireEvent(seq=seq, id=uuid.UUID(int=rng.getrandbits(128)).hex, kind=body.KIND,
                                  schema=ev.SCHEMA, body=msgspec.json.encode(body), ts=ts, boot="b1",
                                  mono=seq * 1000, clock="synced"))
    return log.epoch, out


def batches(logs: dict[str, list[wire.WireEvent]], epochs: dict[str, str],
            late: tuple[str, int, int] | None = None) -> list[tuple[str, bytes, int]]:
    """(hall, payload, first ts) of every batch, in the order central receives them: by time,
    halls interleaved; `late` = (hall, lo ts, hi ts): that hall's events in [lo, hi) arrive last."""
    out, held = [], []
    for hall, events in logs.items():
        on_time, late_ones = _hall_batches(hall, epochs[hall], events, late)
        out += on_time
        held += late_ones
    out.sort(key=lambda b: b[2])
    return out + held


def _hall_batches(hall: str, epoch: str, events: list[wire.WireEvent],
                  late: tuple[str, int, int] | None) -> tuple[list, list]:
    """One hall's batches: (on time, held back to be sent last)."""
    out, held = [], []
    chunk: list[wire.WireEvent] = []
    chunk_late = None

    def flush():
        if chunk:
            payload = wire.encode(wire.Batch(v=wire.V, hall=hall, epoch=epoch, events=list(chunk), sent=0))
            (held if chunk_late else out).append((hall, payload, chunk[0].ts))
            chunk.clear()

    for e in events:
        is_late = late is not None and hall == late[0] and late[1] <= e.ts < late[2]
        if chunk and (len(chunk) >= BATCH or is_late != chunk_late):
            flush()
        chunk_late = is_late
        chunk.append(e)
    flush()
    return out, held


def generate_payloads(directory, start: date, days: int, seed: int, visits: int,
                      late_days: tuple[date, date]) -> tuple[list[tuple[str, bytes, int]], dict[str, int]]:
    """The batches of `batches(generate(…))` (the first hall's `late_days` held back) and the
    count of events by kind, made one hall at a time: only the encoded batches are kept (about
    210 bytes an event) instead of every hall's event objects (about 450 more), so a province
    (100 halls × 365 days, 12 M events) fits in memory."""
    out, held, kinds = [], [], {}
    for n, (hall, (epoch, events)) in enumerate(_each_hall(directory, start, days, seed, visits)):
        for e in events:
            kinds[e.kind] = kinds.get(e.kind, 0) + 1
        on_time, late_ones = _hall_batches(hall, epoch, events, (hall, _at(late_days[0], 0), _at(late_days[1], 0))
                                           if n == 0 else None)
        out += on_time
        held += late_ones
    out.sort(key=lambda b: b[2])
    return out + held, kinds


def live_batch(store, directory, hall: str, day: date, k: int) -> bytes:
    """A batch as a live hall sends it: its next events (a window paused and resumed, at
    10:00 + k minutes of `day`) after the last one central holds of it."""
    epoch, seq = store.db.execute_sql(
        f"SELECT epoch, MAX(seq) FROM events WHERE hall = {store.db.param} GROUP BY epoch ORDER BY MAX(ts) DESC",
        [hall]).fetchone()
    s = next(s for s in directory.halls[hall].business.staff if s.windows)
    t = _at(day, 36000 + 60 * k)
    events = [wire.WireEvent(seq=seq + i + 1, id=uuid.uuid4().hex, kind=body.KIND, schema=ev.SCHEMA,
                             body=msgspec.json.encode(body), ts=t + 30 * i, boot="b1", mono=(seq + i + 1) * 1000,
                             clock="synced")
              for i, body in enumerate((ev.WindowPaused(window=s.windows[0], staff=s.id),
                                        ev.WindowResumed(window=s.windows[0], staff=s.id, paused_seconds=30,
                                                         over_limit=False)))]
    return wire.encode(wire.Batch(v=wire.V, hall=hall, epoch=epoch, events=events, sent=0))


# ---------------------------------------------------------------- ingest


def _ingest_groups(store, payloads: list[tuple[str, bytes, int]]) -> tuple[int, int]:
    """(stored, duplicates) of `payloads` stored in groups of GROUP batches, one transaction
    each, as central.service's worker does: on PostgreSQL the group is decoded first (with the
    COPY text) and its halls locked in one order; on SQLite each batch is decoded just before it
    is stored (the service's writer takes one decoded batch at a time there); each batch in a
    savepoint, acks read before the commit."""
    from central.store import prepare

    def decoded(group):
        return (prepare(hall, wire.events_topic(hall), payload, int(time.time() * 1e6), copy=store.postgres)
                for hall, payload, _ts in group)

    stored = dups = 0
    store.defer_marks = True  # as in the service: the refresher writes the dirty marks (central.store.marks)
    for i in range(0, len(payloads), GROUP):
        preps = decoded(payloads[i:i + GROUP])
        if store.postgres:
            preps = list(preps)
        with store.db.atomic(), store.holding(preps if store.postgres else []):
            halls = set()
            for prep in preps:
                with store.db.atomic():
                    r = store.store_prepared(prep)
                if r is not None:
                    stored += r.stored
                    dups += r.duplicates
                    halls.add(r.hall)
            for hall in halls:  # what the acks would carry
                store.acks(hall)
                store.conflicts(hall)
    return stored, dups


def ingest(store, payloads: list[tuple[str, bytes, int]]) -> dict:
    """Group commit as central.service does; returns the counts and events/s."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    stored, dups = _ingest_groups(store, payloads)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"events": stored, "duplicates": dups, "batches": len(payloads), "seconds": round(seconds, 2),
            "events_per_s": round(stored / seconds) if seconds else 0,
            "client_cpu_us_per_event": round(cpu * 1e6 / stored, 2) if stored else None}


def _worker_main(url: str, payloads, start, out) -> None:
    from central.store import CentralStore

    store = CentralStore(url)
    store.db.connect()
    try:
        start.wait()
        t0 = time.time()
        stored, dups = _ingest_groups(store, payloads)
        out.put((stored, dups, t0, time.time(), None))
    except BaseException as e:  # noqa: BLE001 - reported to the parent
        out.put((0, 0, 0.0, 0.0, repr(e)))
    finally:
        store.close()


def ingest_workers(url: str, payloads: list[tuple[str, bytes, int]], workers: int) -> dict:
    """`workers` central processes (forked, each with its own connection) on one database, the
    batches dealt round-robin as a shared subscription deals them; events/s from the start of
    the first to the end of the last. The database must be migrated already (CentralStore.open)."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker_main, args=(url, payloads[k::workers], start, out)) for k in range(workers)]
    for p in procs:
        p.start()
    time.sleep(0.5)  # let every worker connect before the clock starts
    start.set()
    done = [out.get(timeout=3600) for _ in procs]
    for p in procs:
        p.join(60)
    errors = [d[4] for d in done if d[4]]
    if errors:
        raise RuntimeError(f"an ingest worker failed: {errors[0]}")
    stored, dups = sum(d[0] for d in done), sum(d[1] for d in done)
    seconds = max(d[3] for d in done) - min(d[2] for d in done)
    return {"workers": workers, "events": stored, "duplicates": dups, "batches": len(payloads),
            "seconds": round(seconds, 2), "events_per_s": round(stored / seconds) if seconds else 0}


# ---------------------------------------------------------------- the run


def run_one(label: str, url: str, payloads, config: Path, year: int, runs: int, pages: bool, *,
            directory, days: int) -> dict:
    from central.store import marks
    from central.store import CentralStore

    store = CentralStore(url)
    store.open()
    try:
        res = {"db": label}
        if store.postgres:  # the storage limit, measured in the same database just before
            res["raw_copy_per_s"] = round(raw_copy_rate(url, payloads))
            print(f"  {label:<10} raw COPY of the same rows (best of 3): {res['raw_copy_per_s']:>7,} events/s", flush=True)
        res["ingest"] = ingest(store, payloads)
        res["unmarked_batches"], res["dirty_days"] = marks.unmarked_count(store), len(marks.dirty(store))
        print(f"  {label:<10} ingest {res['ingest']['events']:>9,} events in {res['ingest']['seconds']:>7.1f} s: "
              f"{res['ingest']['events_per_s']:>7,} events/s, {res['ingest']['client_cpu_us_per_event']} µs CPU an event "
              f"in this process ({res['ingest']['batches']} batches, "
              f"{res['unmarked_batches']} batches to mark, {res['dirty_days']} hall-days dirty)", flush=True)
        if store.postgres:
            res["ingest"]["ratio_to_raw_copy"] = round(res["ingest"]["events_per_s"] / res["raw_copy_per_s"], 3)
        res["db_bytes_after_ingest"] = database_size(store)
        if not pages:
            return res
        lag = {}

        def refreshing() -> bool:  # batches still to mark or days still dirty
            return bool(marks.unmarked_count(store) or store.db.execute_sql("SELECT COUNT(*) FROM fact_dirty").fetchone()[0])

        def watch() -> None:  # the dirty-day lag: from the refresher's start until it has caught up
            while refreshing():
                time.sleep(0.05)
            lag["s"] = time.monotonic() - store.facts_refresher.started
            store.db.close()  # this thread's connection
        base, stop = serve(store, config)  # its refresher starts with the app
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()

        def caught_up() -> None:
            watcher.join()
            res["catch_up_s"] = round(lag["s"], 1)

        last_day, live_n = date(year, 1, 1) + timedelta(days=days - 1), [0]

        def live() -> None:  # a hall's live batch of the range's last day, stored and refreshed
            live_n[0] += 1
            hall = sorted(directory.halls)[live_n[0] % len(directory.halls)]
            store.ingest(hall, wire.events_topic(hall), live_batch(store, directory, hall, last_day, live_n[0]),
                         int(time.time() * 1e6))
            store.facts_refresher.wake()
            while refreshing():
                time.sleep(0.01)
        try:
            pages = {"live": "/live",
                     "service_year_api": f"/api/reports/service?start={year}-01-01&end={year}-12-31",
                     "service_year": f"/reports/service?start={year}-01-01&end={year}-12-31",
                     "rankings_year_api": f"/api/reports/rankings?period=year:{year}&level=window",
                     "rankings_year": f"/reports/rankings?period=year:{year}&level=window"}
            res["pages"] = time_pages(base, pages, runs, ADMIN_PASSWORD, caught_up, live)
        finally:
            stop()
        res["db_bytes"] = database_size(store)  # with every day's facts
        print(f"  {label:<10} the refresher caught up {res['catch_up_s']:.1f} s after it started; database "
              f"{res['db_bytes_after_ingest'] / 2**20:,.0f} MiB after the ingest, {res['db_bytes'] / 2**20:,.0f} MiB "
              f"with the facts", flush=True)
        for name, p in res["pages"].items():
            verdict = "PASS" if p["p50_ms"] <= TARGET_MS else "FAIL"
            first = "PASS" if p["cold_ms"] <= FIRST_MS else "FAIL"
            print(f"  {label:<10} {name:<17} first {p['cold_ms']:>7.1f} ms (≤ {FIRST_MS}: {first})  warm p50 "
                  f"{p['p50_ms']:>7.1f} ms  max {p['max_ms']:>7.1f} ms  ({p['runs']} runs)  ≤ {TARGET_MS} ms: {verdict}"
                  f"  after a live batch p50 {p['live_p50_ms']:>7.1f} max {p['live_max_ms']:>7.1f} ms"
                  + (f"  facts {p['cold_facts']}" if p.get("cold_facts") else ""), flush=True)
        return res
    finally:
        store.close()


def run_workers(payloads, workers: int) -> dict | None:
    """PostgreSQL ingest with `workers` processes on a fresh database, and a raw COPY of the
    same rows in that database just before; None when no server is reachable."""
    from central.store import CentralStore

    pg = fresh_pg_database()
    if not pg:
        return None
    url, drop = pg
    try:
        store = CentralStore(url)
        store.open()  # migrated before the workers start
        store.close()
        raw = raw_copy_rate(url, payloads)
        res = ingest_workers(url, payloads, workers)
        res["raw_copy_per_s"] = round(raw)
        res["ratio_to_raw_copy"] = round(res["events_per_s"] / raw, 3)
        print(f"  postgresql ingest with {workers} worker processes: {res['events']:,} events in {res['seconds']:.1f} s: "
              f"{res['events_per_s']:,} events/s; raw COPY {raw:,.0f}/s; ratio {res['ratio_to_raw_copy']}", flush=True)
        return res
    finally:
        drop()


def run(halls: int = 30, days: int = 365, visits: int = 100, seed: int = 1, runs: int = 10,
        sqlite: bool = True, postgres: bool | None = None, db: str | None = None, as_json: bool = False,
        pages: bool = True, workers: int = 2) -> dict:
    """postgres None = when reachable. `db`: run on this database URL only. `pages`: False =
    ingest only. `workers` > 1: PostgreSQL ingest is also measured with that many processes."""
    from central.config import load
    from central.projections import Directory

    tmp = Path(tempfile.mkdtemp(prefix="onestop-bench-central-"))
    try:
        config = write_config(tmp / "cfg", halls)
        _cfg, entries = load(config)
        d = Directory.of(entries)
        year = 2025
        print(f"bench central: {halls} halls × {days} days from {year}-01-01, ~{visits} visits per hall-day "
              f"(seed {seed}) …", flush=True)
        t0 = time.perf_counter()
        payloads, kinds = generate_payloads(d, date(year, 1, 1), days, seed, visits,
                                            (date(year, 3, 10), date(year, 3, 17)))
        n = sum(kinds.values())
        gen_s = time.perf_counter() - t0
        print(f"  generated {n:,} events in {gen_s:.1f} s ({len(payloads)} batches, "
              f"{sum(len(p) for _h, p, _ts in payloads) / 2**20:,.0f} MiB; "
              f"{kinds.get('ticket.issued', 0):,} tickets, {kinds.get('rating.given', 0):,} ratings, "
              f"{kinds.get('attendance.punch', 0):,} punches)", flush=True)
        raw = None  # SQLite's storage limit, only for a run on SQLite (its rows are held in memory)
        if (db or "sqlite").startswith("sqlite") and (sqlite or db):
            raw = raw_rate(payloads, tmp)
            print(f"  raw sqlite3.executemany of the same rows: {raw:,.0f} events/s", flush=True)
        result = {"halls": halls, "days": days, "visits_per_day": visits, "seed": seed, "events": n,
                  "kinds": kinds, "target_ms": TARGET_MS, "runs": [],
                  "raw_sqlite_executemany_per_s": round(raw) if raw else None}
        targets = []
        if db:
            targets.append(("postgresql" if db.startswith("postgres") else "sqlite", db, None))
        else:
            if sqlite:
                targets.append(("sqlite", f"sqlite:///{tmp}/central.db", None))
            if postgres is not False:
                pg = fresh_pg_database()
                if pg:
                    targets.append(("postgresql", pg[0], pg[1]))
        for label, url, drop in targets:
            try:
                one = run_one(label, url, payloads, config, year, runs, pages, directory=d, days=days)
                if label == "sqlite":
                    one["ingest"]["ratio_to_raw"] = round(one["ingest"]["events_per_s"] / raw, 3)
                result["runs"].append(one)
            finally:
                if drop:
                    drop()
            if label == "postgresql" and not db and workers > 1:
                one["ingest_workers"] = run_workers(payloads, workers)
        if as_json:
            print(json.dumps(result, ensure_ascii=False))
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
