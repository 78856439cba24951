"""Day facts: the reports' figures per hall and local day, stored, kept exact when events
arrive late or are re-based (docs/central.md, section Storage).

- At ingest (`mark`, inside the ingest transaction) every (hall, local day) whose facts the
  new events may change is marked dirty in `fact_dirty` with a fresh random token. Ticket
  events reach the ticket's service day through `fact_tickets` (ticket → service_date, written
  when `ticket.issued` is stored) and `fact_case_tickets` (case → ticket, from
  `ticket.completed`); a clock correction marks the days its events leave and enter.
- Before a report reads facts (`refresh`), the dirty days of its range are recomputed from the
  events by the projection code (central.projections) — a run of consecutive dirty days of a
  hall at a time — and their rows replaced. A day's rows are written only when its token is
  still the one read before the events were read; a day marked again meanwhile stays dirty.
- Reports then aggregate the rows with SQL (`FactSource`). `EventSource` computes the same
  figures straight from the events (the on-request path), so tests compare the two.

Percentiles: wait and service times go into histograms (`bucket`): whole seconds below one
minute, 5 s below 10 minutes, 30 s below an hour, 5 minutes below 8 hours, one hour beyond; a
percentile is the lower bound of the bucket holding the nearest-rank value. Day histograms are
merged into month histograms (`fact_hist_month`) whenever a day of the month is refreshed, so a
year reads twelve rows per hall and department.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone

import msgspec

from . import projections as pj
from .projections import CASE_OUTCOMES, Directory

OUTCOMES = ("instant", "promised", "joint", "notice", "gaps", "refused")
VISIT_COUNTS = ("visits", "completed", "no_show", "transferred", "unrated") + OUTCOMES
RATED_DAYS = 2  # a completed visit counts as rated when its ticket is rated on its day or the 2 after
MAX_RUN = 31  # consecutive dirty days recomputed together

DDL = [
    "CREATE TABLE IF NOT EXISTS fact_dirty (hall TEXT NOT NULL, day TEXT NOT NULL, token BIGINT NOT NULL,"
    " PRIMARY KEY (hall, day))",
    "CREATE TABLE IF NOT EXISTS fact_tickets (hall TEXT NOT NULL, ticket TEXT NOT NULL, day TEXT NOT NULL,"
    " PRIMARY KEY (hall, ticket, day))",
    "CREATE TABLE IF NOT EXISTS fact_case_tickets (hall TEXT NOT NULL, case_id TEXT NOT NULL, ticket TEXT NOT NULL,"
    " PRIMARY KEY (hall, case_id, ticket))",
    "CREATE TABLE IF NOT EXISTS fact_visits (hall TEXT NOT NULL, day TEXT NOT NULL, department TEXT NOT NULL,"
    " win TEXT NOT NULL, staff TEXT NOT NULL, "
    + ", ".join(f"{c} INTEGER NOT NULL" for c in VISIT_COUNTS) + ")",
    "CREATE INDEX IF NOT EXISTS fact_visits_hall_day ON fact_visits (hall, day)",
    "CREATE INDEX IF NOT EXISTS fact_visits_day ON fact_visits (day)",
    "CREATE TABLE IF NOT EXISTS fact_hist (hall TEXT NOT NULL, day TEXT NOT NULL, department TEXT NOT NULL,"
    " wait TEXT NOT NULL, service TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS fact_hist_hall_day ON fact_hist (hall, day)",
    "CREATE TABLE IF NOT EXISTS fact_hist_month (hall TEXT NOT NULL, month TEXT NOT NULL, department TEXT NOT NULL,"
    " wait TEXT NOT NULL, service TEXT NOT NULL, PRIMARY KEY (hall, month, department))",
    "CREATE TABLE IF NOT EXISTS fact_ratings (hall TEXT NOT NULL, day TEXT NOT NULL, department TEXT NOT NULL,"
    " win TEXT NOT NULL, staff TEXT NOT NULL, level INTEGER NOT NULL, n INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS fact_ratings_hall_day ON fact_ratings (hall, day)",
    "CREATE INDEX IF NOT EXISTS fact_ratings_day ON fact_ratings (day)",
    "CREATE TABLE IF NOT EXISTS fact_cases (hall TEXT NOT NULL, day TEXT NOT NULL, case_id TEXT NOT NULL,"
    " department TEXT NOT NULL, win TEXT NOT NULL, staff TEXT NOT NULL, deadline TEXT NOT NULL, finished TEXT)",
    "CREATE INDEX IF NOT EXISTS fact_cases_hall_day ON fact_cases (hall, day)",
    "CREATE TABLE IF NOT EXISTS fact_staff_days (hall TEXT NOT NULL, day TEXT NOT NULL, staff TEXT NOT NULL,"
    " punched INTEGER NOT NULL, slots INTEGER NOT NULL, late INTEGER NOT NULL, early INTEGER NOT NULL,"
    " step_aways INTEGER NOT NULL, violations INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS fact_staff_days_hall_day ON fact_staff_days (hall, day)",
    "CREATE INDEX IF NOT EXISTS fact_staff_days_day ON fact_staff_days (day)",
]
ALL = "*"  # the department of a month row summed over every department
# migration 7: hourly facts and the month roll-ups of the counts (docs/central.md, Storage)
DDL_ROLLUPS = [
    "CREATE TABLE IF NOT EXISTS fact_hours (hall TEXT NOT NULL, day TEXT NOT NULL, department TEXT NOT NULL,"
    " hour INTEGER NOT NULL, visits INTEGER NOT NULL, called INTEGER NOT NULL, wait TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS fact_hours_hall_day ON fact_hours (hall, day)",
    "CREATE INDEX IF NOT EXISTS fact_hours_day ON fact_hours (day)",
    "CREATE TABLE IF NOT EXISTS fact_hours_month (hall TEXT NOT NULL, month TEXT NOT NULL, department TEXT NOT NULL,"
    " hour INTEGER NOT NULL, visits INTEGER NOT NULL, called INTEGER NOT NULL, wait TEXT NOT NULL,"
    " PRIMARY KEY (hall, month, department, hour))",
    "CREATE INDEX IF NOT EXISTS fact_hours_month_month ON fact_hours_month (month, department)",
    "CREATE TABLE IF NOT EXISTS fact_visits_month (hall TEXT NOT NULL, month TEXT NOT NULL, department TEXT NOT NULL,"
    " win TEXT NOT NULL, staff TEXT NOT NULL, "
    + ", ".join(f"{c} INTEGER NOT NULL" for c in VISIT_COUNTS) + ")",
    "CREATE INDEX IF NOT EXISTS fact_visits_month_hall ON fact_visits_month (hall, month)",
    "CREATE INDEX IF NOT EXISTS fact_visits_month_month ON fact_visits_month (month)",
    "CREATE TABLE IF NOT EXISTS fact_ratings_month (hall TEXT NOT NULL, month TEXT NOT NULL, department TEXT NOT NULL,"
    " win TEXT NOT NULL, staff TEXT NOT NULL, level INTEGER NOT NULL, n INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS fact_ratings_month_hall ON fact_ratings_month (hall, month)",
    "CREATE INDEX IF NOT EXISTS fact_ratings_month_month ON fact_ratings_month (month)",
    "CREATE TABLE IF NOT EXISTS fact_staff_month (hall TEXT NOT NULL, month TEXT NOT NULL, staff TEXT NOT NULL,"
    " days TEXT NOT NULL, late INTEGER NOT NULL, early INTEGER NOT NULL, step_aways INTEGER NOT NULL,"
    " violations INTEGER NOT NULL, PRIMARY KEY (hall, month, staff))",
    "CREATE INDEX IF NOT EXISTS fact_staff_month_month ON fact_staff_month (month)",
    "CREATE INDEX IF NOT EXISTS fact_hist_month_month ON fact_hist_month (month, department)",
]
DAY_TABLES = ("fact_visits", "fact_hist", "fact_ratings", "fact_cases", "fact_staff_days", "fact_hours")
MONTH_TABLES = ("fact_hist_month", "fact_hours_month", "fact_visits_month", "fact_ratings_month", "fact_staff_month")


# ---------------------------------------------------------------- schema (migration 4)


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


def _get(body, name: str):
    return body.get(name) if isinstance(body, dict) else getattr(body, name, None)


def _local_days(store, hall: str, ts: int) -> list[str]:
    """The hall's local date of `ts`; until central knows the hall's zone (the first report sets
    `store.fact_zones`), every date that any zone could give (UTC date ± 1)."""
    zone = (getattr(store, "fact_zones", None) or {}).get(hall)
    if zone is not None:
        return [datetime.fromtimestamp(ts / 1e6, zone).date().isoformat()]
    u = _utc_date(ts)
    return [(u + timedelta(days=k)).isoformat() for k in (-1, 0, 1)]


def _in(store, values: list) -> str:
    return ", ".join([store.db.param] * len(values))


def _chunks(values: list, n: int = 500):
    for i in range(0, len(values), n):
        yield values[i:i + n]


def _insert(store, table: str, cols: tuple[str, ...], rows: list[tuple], conflict: str = "") -> None:
    if not rows:
        return
    names = ", ".join(cols)
    if store.postgres:
        from psycopg2.extras import execute_values

        execute_values(store.db.cursor(), f"INSERT INTO {table} ({names}) VALUES %s {conflict}", rows, page_size=1000)
        return
    store.db.cursor().executemany(f"INSERT INTO {table} ({names}) VALUES ({_in(store, list(cols))}) {conflict}", rows)


def _put_marks(store, marks: set[tuple[str, str]]) -> None:
    if not marks:
        return
    token = secrets.randbits(62) or 1
    _insert(store, "fact_dirty", ("hall", "day", "token"), [(h, d, token) for h, d in sorted(marks)],
            "ON CONFLICT (hall, day) DO UPDATE SET token = excluded.token")


def ticket_days(store, hall: str, tickets: set[str]) -> set[str]:
    out: set[str] = set()
    for part in _chunks(sorted(tickets)):
        sql = f"SELECT DISTINCT day FROM fact_tickets WHERE hall = {store.db.param} AND ticket IN ({_in(store, part)})"
        out.update(r[0] for r in store.db.execute_sql(sql, [hall, *part]).fetchall())
    return out


def case_days(store, hall: str, cases: set[str]) -> set[str]:
    out: set[str] = set()
    p = store.db.param
    for part in _chunks(sorted(cases)):
        sql = (f"SELECT DISTINCT t.day FROM fact_case_tickets c JOIN fact_tickets t"
               f" ON t.hall = c.hall AND t.ticket = c.ticket WHERE c.hall = {p} AND c.case_id IN ({_in(store, part)})")
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
    for kind, stamps, body in events:
        if kind == "ticket.issued":
            day = _get(body, "service_date")
            marks.add((hall, day))
            issued.append((hall, _get(body, "ticket"), day))
        elif kind.startswith("ticket."):
            tickets.add(_get(body, "ticket"))
            if kind == "ticket.completed" and _get(body, "case"):
                cased.append((hall, _get(body, "case"), _get(body, "ticket")))
        elif kind == "rating.given":
            tickets.add(_get(body, "ticket"))
            marks.update((hall, day) for ts in stamps for day in _local_days(store, hall, ts))
        elif kind == "case.finished":
            cases.add(_get(body, "case"))
        elif kind == "attendance.punch":
            marks.add((hall, _get(body, "service_date")))
        elif kind in ("window.paused", "window.step_away_violation"):
            marks.update((hall, day) for ts in stamps for day in _local_days(store, hall, ts))
    _insert(store, "fact_tickets", ("hall", "ticket", "day"), sorted(set(issued)), "ON CONFLICT DO NOTHING")
    _insert(store, "fact_case_tickets", ("hall", "case_id", "ticket"), sorted(set(cased)), "ON CONFLICT DO NOTHING")
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


# ---------------------------------------------------------------- histograms


def bucket(seconds: float) -> int:
    """The lower bound (whole seconds) of the histogram bucket holding `seconds`."""
    s = max(0, int(seconds))
    for limit, width in ((60, 1), (600, 5), (3600, 30), (28_800, 300)):
        if s < limit:
            return s - s % width
    return s - s % 3600


def hist_percentile(h: Counter, p: float) -> float | None:
    """Nearest rank over a histogram: the bucket holding the smallest value with at least p % of
    the values at or below it."""
    n = sum(h.values())
    if not n:
        return None
    rank = max(1, -(-p * n // 100))  # ceil(p / 100 * n), at least 1
    seen = 0
    for b in sorted(h):
        seen += h[b]
        if seen >= rank:
            return float(b)
    return None


def _hist_of(values) -> Counter:
    return Counter(bucket(v) for v in values if v is not None)


_HIST = msgspec.json.Decoder(dict[int, int])  # JSON object keys decode straight to int buckets


def _merge_json(into: Counter, text: str) -> None:
    get = into.get
    for k, v in _HIST.decode(text).items():
        into[k] = get(k, 0) + v


def _hist_json(h: Counter) -> str:
    return json.dumps({str(k): v for k, v in sorted(h.items()) if v})


# ---------------------------------------------------------------- recomputing a run of days


def _rated_days(store, d: Directory, halls: list[str] | None, start: date, end: date) -> dict[tuple, set[date]]:
    """(hall, ticket) → local days it was rated on, start .. end + RATED_DAYS."""
    lo, hi = pj.day_range_us(d, start, end + timedelta(days=RATED_DAYS))
    out: dict[tuple, set[date]] = defaultdict(set)
    for h, _k, ts, ticket in store.select_bodies(["rating.given"], lo, hi, ["ticket"], halls):
        out[(h, ticket)].add(d.local_date(h, ts))
    return out


def _unrated(v: pj.Visit, rated: dict[tuple, set[date]]) -> bool:
    return v.completed is not None and not any(v.day <= r <= v.day + timedelta(days=RATED_DAYS)
                                               for r in rated.get((v.hall, v.ticket), ()))


def _visit_key(v: pj.Visit) -> tuple:
    return (v.department or "", v.window or "", v.staff or "")


def compute(store, d: Directory, halls: list[str], start: date,
            end: date) -> dict[str, dict[str, dict[str, list[tuple]]]]:
    """The fact rows of each day start..end of these halls, from their events:
    {hall: {day: {table: rows}}}."""
    out: dict[str, dict[str, dict[str, list[tuple]]]] = {}
    for hall in halls:
        out[hall] = {}
        day = start
        while day <= end:
            out[hall][day.isoformat()] = {t: [] for t in DAY_TABLES}
            day += timedelta(days=1)
    vs = pj.visits(store, d, start, end, halls)
    rated = _rated_days(store, d, halls, start, end)
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(VISIT_COUNTS))
    hists: dict[tuple, tuple[Counter, Counter]] = defaultdict(lambda: (Counter(), Counter()))
    hours: dict[tuple, list] = defaultdict(lambda: [0, 0, Counter()])
    for v in vs:
        hr = hours[(v.hall, v.day.isoformat(), v.department or "", issue_hour(d, v))]
        hr[0] += 1
        if (x := v.wait_seconds) is not None:
            hr[1] += 1
            hr[2][bucket(x)] += 1
        c = counts[(v.hall, v.day.isoformat(), *_visit_key(v))]
        c[0] += 1
        c[1] += v.completed is not None
        c[2] += v.no_show
        c[3] += v.transferred > 0
        c[4] += _unrated(v, rated)
        if v.outcome in OUTCOMES:
            c[5 + OUTCOMES.index(v.outcome)] += 1
        w, s = hists[(v.hall, v.day.isoformat(), v.department or "")]
        if (x := v.wait_seconds) is not None:
            w[bucket(x)] += 1
        if (x := v.service_seconds) is not None:
            s[bucket(x)] += 1
    for (hall, day, *key), c in counts.items():
        out[hall][day]["fact_visits"].append((hall, day, *key, *c))
    for (hall, day, dept), (w, s) in hists.items():
        out[hall][day]["fact_hist"].append((hall, day, dept, _hist_json(w), _hist_json(s)))
    for (hall, day, dept, hour), (n, called, w) in hours.items():
        out[hall][day]["fact_hours"].append((hall, day, dept, hour, n, called, _hist_json(w)))
    levels: Counter = Counter()
    for r in pj.ratings(store, d, start, end, halls):
        levels[(r.hall, r.day.isoformat(), r.department or "", r.window or "", r.staff or "", r.level)] += 1
    for (hall, day, *key), n in levels.items():
        out[hall][day]["fact_ratings"].append((hall, day, *key, n))
    opened = {(v.hall, v.case): v for v in vs if v.outcome in CASE_OUTCOMES and v.case and v.deadline}
    for c in pj.cases(store, d, vs):
        v = opened[(c.hall, c.case)]
        day = v.day.isoformat()
        out[c.hall][day]["fact_cases"].append((c.hall, day, c.case, c.department or "", c.window or "", c.staff or "",
                                               c.deadline.isoformat(), c.finished.isoformat() if c.finished else None))
    for (hall, staff, day), f in pj.staff_days(store, d, start, end, halls).items():
        out[hall][day.isoformat()]["fact_staff_days"].append(
            (hall, day.isoformat(), staff, int(f.punched), len(f.slots), f.late, f.early, f.step_aways, f.violations))
    return out


COLUMNS = {
    "fact_visits": ("hall", "day", "department", "win", "staff") + VISIT_COUNTS,
    "fact_hist": ("hall", "day", "department", "wait", "service"),
    "fact_ratings": ("hall", "day", "department", "win", "staff", "level", "n"),
    "fact_cases": ("hall", "day", "case_id", "department", "win", "staff", "deadline", "finished"),
    "fact_staff_days": ("hall", "day", "staff", "punched", "slots", "late", "early", "step_aways", "violations"),
    "fact_hours": ("hall", "day", "department", "hour", "visits", "called", "wait"),
}


def issue_hour(d: Directory, v: pj.Visit) -> int:
    """The hour of the hall's local day the visit's ticket was issued in."""
    return datetime.fromtimestamp(v.issued / 1e6, d.tz(v.hall)).hour


# ---------------------------------------------------------------- refresh


_lock = threading.Lock()


def _runs(days: list[date]) -> list[tuple[date, date]]:
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and day == runs[-1][1] + timedelta(days=1) and (day - runs[-1][0]).days < MAX_RUN:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def set_zones(store, d: Directory) -> None:
    """Tell the store each hall's time zone, so ingest marks exactly one local day per event."""
    zones = {h: d.tz(h) for h in d.halls}
    if getattr(store, "fact_zones", None) != zones:
        store.fact_zones = zones


def refresh(store, d: Directory, start: date, end: date, halls: list[str] | None = None) -> int:
    """Recompute the dirty days start..end (of `halls`, None = all). Returns how many hall-days
    were rewritten."""
    set_zones(store, d)
    if halls is not None and not halls:
        return 0
    p = store.db.param
    done = 0
    with _lock:
        for _attempt in range(3):
            sql = f"SELECT hall, day, token FROM fact_dirty WHERE day >= {p} AND day <= {p}"
            args: list = [start.isoformat(), end.isoformat()]
            if halls is not None:
                sql += f" AND hall IN ({_in(store, halls)})"
                args += list(halls)
            marks = store.db.execute_sql(sql, args).fetchall()
            per_hall: dict[str, dict[date, int]] = defaultdict(dict)
            for hall, day, token in marks:
                try:
                    per_hall[hall][date.fromisoformat(day)] = token
                except ValueError:
                    continue  # not a date (a service_date no report can ask for)
            if not per_hall:
                break
            # runs of consecutive dirty days over all halls: the halls dirty in a run are
            # recomputed together (one pass over the run's events), each written on its own
            for a, b in _runs(sorted({day for tokens in per_hall.values() for day in tokens})):
                those = sorted(h for h, tokens in per_hall.items() if any(a <= day <= b for day in tokens))
                rows = compute(store, d, those, a, b)
                for hall in those:
                    tokens = {k.isoformat(): v for k, v in per_hall[hall].items() if a <= k <= b}
                    done += _write(store, hall, a, b, rows[hall], tokens)
    return done


def _write(store, hall: str, a: date, b: date, rows: dict[str, dict[str, list[tuple]]],
           tokens: dict[str, int]) -> int:
    p = store.db.param
    kwargs = {} if store.postgres else {"lock_type": "IMMEDIATE"}
    with store.db.atomic(**kwargs):
        q = f"SELECT day, token FROM fact_dirty WHERE hall = {p} AND day >= {p} AND day <= {p}"
        if store.postgres:
            q += " FOR UPDATE"
        now = dict(store.db.execute_sql(q, [hall, a.isoformat(), b.isoformat()]).fetchall())
        ok = sorted(day for day in rows if day in now and now[day] == tokens.get(day))
        if not ok:
            return 0
        for part in _chunks(ok):
            for table in DAY_TABLES:
                store.db.execute_sql(f"DELETE FROM {table} WHERE hall = {p} AND day IN ({_in(store, part)})",
                                     [hall, *part])
        for table in DAY_TABLES:
            _insert(store, table, COLUMNS[table], [r for day in ok for r in rows[day][table]])
        store.db.cursor().executemany(
            f"DELETE FROM fact_dirty WHERE hall = {p} AND day = {p} AND token = {p}",
            [(hall, day, now[day]) for day in ok])
        for month in sorted({day[:7] for day in ok}):
            _rebuild_month(store, hall, month)
    return len(ok)


def _month_span(month: str) -> tuple[str, str]:
    return f"{month}-01", f"{month}-31"


def _rebuild_month(store, hall: str, month: str) -> None:
    """The month rows of a hall from its day rows (inside the refresh transaction): histograms
    and hourly figures per department and summed over all (department "*"), visit and rating
    counts, staff totals with the punched days."""
    p = store.db.param
    lo, hi = _month_span(month)
    args = [hall, lo, hi]
    where = f" WHERE hall = {p} AND day >= {p} AND day <= {p}"
    for table in MONTH_TABLES:
        store.db.execute_sql(f"DELETE FROM {table} WHERE hall = {p} AND month = {p}", [hall, month])
    merged: dict[str, tuple[Counter, Counter]] = defaultdict(lambda: (Counter(), Counter()))
    for dept, w, s in store.db.execute_sql(f"SELECT department, wait, service FROM fact_hist{where}", args).fetchall():
        for key in (dept, ALL):
            _merge_json(merged[key][0], w)
            _merge_json(merged[key][1], s)
    _insert(store, "fact_hist_month", ("hall", "month", "department", "wait", "service"),
            [(hall, month, dept, _hist_json(w), _hist_json(s)) for dept, (w, s) in sorted(merged.items())])
    hours: dict[tuple[str, int], list] = defaultdict(lambda: [0, 0, Counter()])
    for dept, hour, n, called, w in store.db.execute_sql(
            f"SELECT department, hour, visits, called, wait FROM fact_hours{where}", args).fetchall():
        for key in ((dept, int(hour)), (ALL, int(hour))):
            hr = hours[key]
            hr[0] += n
            hr[1] += called
            _merge_json(hr[2], w)
    _insert(store, "fact_hours_month", ("hall", "month", "department", "hour", "visits", "called", "wait"),
            [(hall, month, dept, hour, n, c, _hist_json(w)) for (dept, hour), (n, c, w) in sorted(hours.items())])
    sums = ", ".join(f"SUM({c})" for c in VISIT_COUNTS)
    store.db.execute_sql(
        f"INSERT INTO fact_visits_month (hall, month, department, win, staff, {', '.join(VISIT_COUNTS)})"
        f" SELECT hall, {p}, department, win, staff, {sums} FROM fact_visits{where} GROUP BY hall, department, win, staff",
        [month, *args])
    store.db.execute_sql(
        "INSERT INTO fact_ratings_month (hall, month, department, win, staff, level, n)"
        f" SELECT hall, {p}, department, win, staff, level, SUM(n) FROM fact_ratings{where}"
        " GROUP BY hall, department, win, staff, level", [month, *args])
    staff: dict[str, list] = {}
    for st, day, punched, slots, late, early, steps, viol in store.db.execute_sql(
            f"SELECT staff, day, punched, slots, late, early, step_aways, violations FROM fact_staff_days{where}",
            args).fetchall():
        t = staff.setdefault(st, [{}, 0, 0, 0, 0])
        if punched:
            t[0][day] = int(slots)
        t[1] += late
        t[2] += early
        t[3] += steps
        t[4] += viol
    _insert(store, "fact_staff_month", ("hall", "month", "staff", "days", "late", "early", "step_aways", "violations"),
            [(hall, month, st, json.dumps(dict(sorted(t[0].items()))), *t[1:]) for st, t in sorted(staff.items())])


# ---------------------------------------------------------------- sources the reports read


def _none(x: str):
    return x or None


class FactSource:
    """Report inputs aggregated from the stored facts (after `refresh`)."""

    def __init__(self, store, d: Directory, start: date, end: date, halls: list[str] | None) -> None:
        self.store, self.d, self.start, self.end, self.halls = store, d, start, end, halls
        refresh(store, d, start, end, halls)

    def _where(self, start: date | None = None, end: date | None = None, col: str = "day") -> tuple[str, list]:
        p = self.store.db.param
        sql = f" WHERE {col} >= {p} AND {col} <= {p}"
        args: list = [(start or self.start).isoformat(), (end or self.end).isoformat()]
        if self.halls is not None:
            sql += f" AND hall IN ({_in(self.store, self.halls)})"
            args += list(self.halls)
        return sql, args

    def _rows(self, sql: str, args: list) -> list[tuple]:
        if self.halls is not None and not self.halls:
            return []
        return [tuple(r) for r in self.store.db.execute_sql(sql, args).fetchall()]

    def _pieces(self) -> tuple[tuple[str, str] | None, list[tuple[date, date]]]:
        """The range as its whole months (first and last "YYYY-MM", None when there is none)
        and the day spans outside them."""
        months, m = [], date(self.start.year, self.start.month, 1)
        while m <= self.end:
            nxt = date(m.year + (m.month == 12), m.month % 12 + 1, 1)
            if m >= self.start and nxt - timedelta(days=1) <= self.end:
                months.append((m, nxt - timedelta(days=1)))
            m = nxt
        spans: list[tuple[date, date]] = []
        cur = self.start
        for ms, me in months:
            if cur < ms:
                spans.append((cur, ms - timedelta(days=1)))
            cur = me + timedelta(days=1)
        if cur <= self.end:
            spans.append((cur, self.end))
        whole = (months[0][0].strftime("%Y-%m"), months[-1][0].strftime("%Y-%m")) if months else None
        return whole, spans

    def _union(self, month_table: str, day_table: str, cols: str, month_filter: str = "", month_args: tuple = (),
               day_filter: str = "", day_args: tuple = ()) -> tuple[str, list]:
        """SELECT cols from the month roll-up for the whole months of the range and from the day
        rows for the rest, as one UNION ALL, and its arguments."""
        whole, spans = self._pieces()
        parts, args = [], []
        if whole:
            w, a = self._where(col="month")
            a[0], a[1] = whole
            parts.append(f"SELECT {cols} FROM {month_table}{w}{month_filter}")
            args += a + list(month_args)
        for s, e in spans:
            w, a = self._where(s, e)
            parts.append(f"SELECT {cols} FROM {day_table}{w}{day_filter}")
            args += a + list(day_args)
        return " UNION ALL ".join(parts), args

    def visit_rows(self) -> list[tuple]:
        """(hall, department, window, staff, visits, completed, no_show, transferred, unrated,
        instant … refused) summed over the range (month roll-ups for its whole months)."""
        cols = ", ".join(("hall", "department", "win", "staff") + VISIT_COUNTS)
        sub, a = self._union("fact_visits_month", "fact_visits", cols)
        sums = ", ".join(f"SUM({c})" for c in VISIT_COUNTS)
        rows = self._rows(f"SELECT hall, department, win, staff, {sums} FROM ({sub}) AS u"
                          " GROUP BY hall, department, win, staff", a)
        return [(h, dept, _none(win), _none(st), *(int(x) for x in c)) for h, dept, win, st, *c in rows]

    def histograms(self, department: str | None = None) -> dict[tuple[str, str], tuple[Counter, Counter]]:
        """(hall, department) → (wait histogram, service histogram) over the range: month
        histograms for the whole months inside it, day histograms for the rest. With
        `department` only that department's; otherwise per hall over every department, keyed
        (hall, "*")."""
        out: dict[tuple[str, str], tuple[Counter, Counter]] = defaultdict(lambda: (Counter(), Counter()))
        p = self.store.db.param
        dept = department if department is not None else ALL
        one = department is not None
        sub, a = self._union("fact_hist_month", "fact_hist", "hall, wait, service", f" AND department = {p}", (dept,),
                             f" AND department = {p}" if one else "", (department,) if one else ())
        for hall, wt, sv in self._rows(sub, a):
            h = out[(hall, dept)]
            _merge_json(h[0], wt)
            _merge_json(h[1], sv)
        return out

    def hour_rows(self, department: str | None = None) -> dict[int, tuple[int, int, Counter]]:
        """Hour of issue → (tickets issued, of those called, wait histogram) over the range, of
        one department or of all."""
        p = self.store.db.param
        one = department is not None
        sub, a = self._union("fact_hours_month", "fact_hours", "hour, visits, called, wait", f" AND department = {p}",
                             (department if one else ALL,), f" AND department = {p}" if one else "",
                             (department,) if one else ())
        out: dict[int, tuple[Counter, Counter]] = {}
        for hour, n, called, w in self._rows(sub, a):
            hr = out.get(int(hour))
            if hr is None:
                hr = out[int(hour)] = (Counter(), Counter())
            hr[0]["n"] += int(n)
            hr[0]["called"] += int(called)
            _merge_json(hr[1], w)
        return {h: (c["n"], c["called"], w) for h, (c, w) in sorted(out.items())}

    def rating_rows(self, excluded: set[tuple[str, str]] = frozenset()) -> list[tuple]:
        """(hall, department, window, staff, level, count) of ratings given in the range, less
        the ratings of the `excluded` (hall, ticket)s (appeals accepted)."""
        sub, a = self._union("fact_ratings_month", "fact_ratings", "hall, department, win, staff, level, n")
        rows = self._rows(f"SELECT hall, department, win, staff, level, SUM(n) FROM ({sub}) AS u"
                          " GROUP BY hall, department, win, staff, level", a)
        c = Counter({(h, dept, _none(win), _none(st), int(lv)): int(n) for h, dept, win, st, lv, n in rows})
        for r in self._excluded_ratings(excluded):
            c[(r.hall, r.department or "", r.window or None, r.staff or None, r.level)] -= 1
        return [(*k, n) for k, n in c.items() if n > 0]

    def _excluded_ratings(self, excluded: set[tuple[str, str]]) -> list[pj.Rating]:
        """The ratings (given in the range) of the excluded tickets, looked for from the day
        before the ticket's service day (fact_tickets) to a week after (the edge takes a rating
        only right after the service, on its day); a ticket central holds no issue of is looked
        for in the whole range of its hall."""
        out: list[pj.Rating] = []
        wanted: dict[str, set[str]] = defaultdict(set)
        for hall, ticket in excluded:
            if self.halls is None or hall in self.halls:
                wanted[hall].add(ticket)
        for hall, tickets in wanted.items():
            p = self.store.db.param
            spans: set[tuple[date, date]] = set()
            unmapped = set(tickets)
            for part in _chunks(sorted(tickets)):
                for ticket, day in self.store.db.execute_sql(
                        f"SELECT ticket, day FROM fact_tickets WHERE hall = {p} AND ticket IN ({_in(self.store, part)})",
                        [hall, *part]).fetchall():
                    try:
                        first = date.fromisoformat(day)
                    except ValueError:
                        continue
                    unmapped.discard(ticket)
                    lo, hi = max(first - timedelta(days=1), self.start), min(first + timedelta(days=7), self.end)
                    if lo <= hi:
                        spans.add((lo, hi))
            if unmapped:
                spans = {(self.start, self.end)}
            merged: list[list[date]] = []
            for lo, hi in sorted(spans):
                if merged and lo <= merged[-1][1] + timedelta(days=1):
                    merged[-1][1] = max(merged[-1][1], hi)
                else:
                    merged.append([lo, hi])
            for lo, hi in merged:
                out.extend(r for r in pj.ratings(self.store, self.d, lo, hi, [hall]) if r.ticket in tickets)
        return out

    def case_rows(self, today: date) -> list[tuple]:
        """(hall, department, window, staff, cases, on_time, late, overdue) of the cases opened
        by visits of the range, their state on `today`."""
        w, a = self._where()
        p = self.store.db.param
        rows = self._rows(
            "SELECT hall, department, win, staff, COUNT(*),"
            " SUM(CASE WHEN finished IS NOT NULL AND finished <= deadline THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN finished IS NOT NULL AND finished > deadline THEN 1 ELSE 0 END),"
            f" SUM(CASE WHEN finished IS NULL AND deadline < {p} THEN 1 ELSE 0 END)"
            f" FROM fact_cases{w} GROUP BY hall, department, win, staff", [today.isoformat(), *a])
        return [(h, dept, _none(win), _none(st), *(int(x) for x in c)) for h, dept, win, st, *c in rows]

    def attendance(self, today: date) -> list[pj.StaffMonth]:
        totals: dict[tuple[str, str], pj.StaffTotals] = {}
        whole, spans = self._pieces()
        if whole:
            w, a = self._where(col="month")
            a[0], a[1] = whole
            for hall, staff, days, late, early, steps, viol in self._rows(
                    f"SELECT hall, staff, days, late, early, step_aways, violations FROM fact_staff_month{w}", a):
                t = totals.get((hall, staff))
                if t is None:
                    t = totals[(hall, staff)] = pj.StaffTotals()
                for day, slots in json.loads(days).items():
                    t.days[date.fromisoformat(day)] = slots
                t.late += late
                t.early += early
                t.step_aways += steps
                t.violations += viol
        rows: list[tuple] = []
        for s, e in spans:
            w, a = self._where(s, e)
            rows += self._rows("SELECT hall, staff, day, punched, slots, late, early, step_aways, violations"
                               f" FROM fact_staff_days{w}", a)
        for hall, staff, day, punched, slots, late, early, steps, viol in rows:
            t = totals.get((hall, staff))
            if t is None:
                t = totals[(hall, staff)] = pj.StaffTotals()
            if punched:
                t.days[date.fromisoformat(day)] = slots
            t.late += late
            t.early += early
            t.step_aways += steps
            t.violations += viol
        hall_ids = self.halls if self.halls is not None else list(self.d.halls)
        leave = pj.leave_days(self.store, self.d, self.start, self.end, self.halls)
        return pj.fold_attendance(self.d, self.start, self.end, hall_ids, today, totals, leave,
                                  pj.first_days(self.store, self.d, hall_ids))


class EventSource:
    """The same report inputs computed on request from the events (exact, slow at scale)."""

    def __init__(self, store, d: Directory, start: date, end: date, halls: list[str] | None) -> None:
        self.store, self.d, self.start, self.end, self.halls = store, d, start, end, halls
        self._vs: list[pj.Visit] | None = None

    def visits(self) -> list[pj.Visit]:
        if self._vs is None:
            self._vs = pj.visits(self.store, self.d, self.start, self.end, self.halls)
        return self._vs

    def visit_rows(self) -> list[tuple]:
        counts: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(VISIT_COUNTS))
        rated = _rated_days(self.store, self.d, self.halls, self.start, self.end)
        for v in self.visits():
            c = counts[(v.hall, *_visit_key(v))]
            c[0] += 1
            c[1] += v.completed is not None
            c[2] += v.no_show
            c[3] += v.transferred > 0
            c[4] += _unrated(v, rated)
            if v.outcome in OUTCOMES:
                c[5 + OUTCOMES.index(v.outcome)] += 1
        return [(h, dept, _none(win), _none(st), *c) for (h, dept, win, st), c in counts.items()]

    def hour_rows(self, department: str | None = None) -> dict[int, tuple[int, int, Counter]]:
        out: dict[int, list] = defaultdict(lambda: [0, 0, Counter()])
        for v in self.visits():
            if department is not None and (v.department or "") != department:
                continue
            hr = out[issue_hour(self.d, v)]
            hr[0] += 1
            if (x := v.wait_seconds) is not None:
                hr[1] += 1
                hr[2][bucket(x)] += 1
        return {h: tuple(x) for h, x in sorted(out.items())}

    def histograms(self, department: str | None = None) -> dict[tuple[str, str], tuple[Counter, Counter]]:
        out: dict[tuple[str, str], tuple[Counter, Counter]] = defaultdict(lambda: (Counter(), Counter()))
        for v in self.visits():
            if department is not None and (v.department or "") != department:
                continue
            w, s = out[(v.hall, department if department is not None else ALL)]
            if (x := v.wait_seconds) is not None:
                w[bucket(x)] += 1
            if (x := v.service_seconds) is not None:
                s[bucket(x)] += 1
        return out

    def rating_rows(self, excluded: set[tuple[str, str]] = frozenset()) -> list[tuple]:
        c: Counter = Counter()
        for r in pj.ratings(self.store, self.d, self.start, self.end, self.halls):
            if (r.hall, r.ticket) in excluded:
                continue
            c[(r.hall, r.department or "", r.window or None, r.staff or None, r.level)] += 1
        return [(*k, n) for k, n in c.items()]

    def case_rows(self, today: date) -> list[tuple]:
        acc: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for c in pj.cases(self.store, self.d, self.visits()):
            a = acc[(c.hall, c.department or "", c.window or None, c.staff or None)]
            st = c.state(today)
            a[0] += 1
            a[1] += st == "on_time"
            a[2] += st == "late"
            a[3] += st == "overdue"
        return [(*k, *a) for k, a in acc.items()]

    def attendance(self, today: date) -> list[pj.StaffMonth]:
        return pj.attendance(self.store, self.d, self.start, self.end, self.halls, today=today)


class Raw:
    """A store seen through the on-request path: reports given `Raw(store)` compute from the
    events instead of the facts (the reference the fact tests compare against)."""

    def __init__(self, store) -> None:
        self.store = store

    def __getattr__(self, name):
        return getattr(self.store, name)


def source(store, d: Directory, start: date, end: date, halls: list[str] | None):
    if isinstance(store, Raw):
        return EventSource(store.store, d, start, end, halls)
    return FactSource(store, d, start, end, halls)

