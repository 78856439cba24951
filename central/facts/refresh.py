"""Refreshing the dirty days: recompute, write when the mark is unchanged, rebuild the month
roll-ups (central.facts)."""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from datetime import date, timedelta

from ..projections import Directory
from ..store import marks as store_marks
from ..store.facttables import ALL, CASES_MONTH_SELECT, COLUMNS, DAY_TABLES, MONTH_TABLES, VISIT_COUNTS
from ..store.sql import chunks, insert_rows, placeholders
from .compute import compute
from .hist import hist_json, merge_json

MAX_RUN = 31  # consecutive dirty days recomputed together


_lock = threading.Lock()  # one refresh at a time in this process (requests, the refresher)


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
    were rewritten. (A request calls this only on a store no background refresher serves:
    scripts and tests; central.facts.refresher otherwise.)"""
    set_zones(store, d)
    if halls is not None and not halls:
        return 0
    p = store.db.param
    done = 0
    with _lock:
        while store_marks.mark_deferred(store):  # batches the ingest worker left unmarked
            pass
        for _attempt in range(3):
            sql = f"SELECT hall, day, token FROM fact_dirty WHERE day >= {p} AND day <= {p}"
            args: list = [start.isoformat(), end.isoformat()]
            if halls is not None:
                sql += f" AND hall IN ({placeholders(store, halls)})"
                args += list(halls)
            marks = store.db.execute_sql(sql, args).fetchall()
            if not marks:
                break
            done += refresh_marks(store, d, marks)
    return done


def refresh_marks(store, d: Directory, marks: list[tuple[str, str, int]], stopping=None) -> int:
    """Recompute the hall-days of these (hall, day, token) marks (the caller holds `_lock`);
    returns how many were rewritten. A mark whose day is not an ISO date (no report can ask
    for it) is dropped. `stopping()` true: return between runs, leaving the rest dirty."""
    per_hall: dict[str, dict[date, int]] = defaultdict(dict)
    bad: list[tuple[str, str, int]] = []
    for hall, day, token in marks:
        try:
            when = date.fromisoformat(day)
        except (TypeError, ValueError):
            when = None
        if when is None or when.isoformat() != day:
            bad.append((hall, day, token))
        else:
            per_hall[hall][when] = token
    if bad:
        p = store.db.param
        with store.db.atomic():
            store.db.cursor().executemany(f"DELETE FROM fact_dirty WHERE hall = {p} AND day = {p} AND token = {p}", bad)
    done = 0
    # runs of consecutive dirty days over all halls: the halls dirty in a run are
    # recomputed together (one pass over the run's events), each written on its own
    for a, b in _runs(sorted({day for tokens in per_hall.values() for day in tokens})):
        if stopping is not None and stopping():
            break
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
        for part in chunks(ok):
            for table in DAY_TABLES:
                store.db.execute_sql(f"DELETE FROM {table} WHERE hall = {p} AND day IN ({placeholders(store, part)})",
                                     [hall, *part])
        for table in DAY_TABLES:
            insert_rows(store, table, COLUMNS[table], [r for day in ok for r in rows[day][table]])
        store.db.cursor().executemany(
            f"DELETE FROM fact_dirty WHERE hall = {p} AND day = {p} AND token = {p}",
            [(hall, day, now[day]) for day in ok])
        months = sorted({day[:7] for day in ok})
        for month in months:
            _rebuild_month(store, hall, month)
        insert_rows(store, "fact_month_version", ("hall", "month", "n"), [(hall, m, 1) for m in months],
                    conflict=" ON CONFLICT (hall, month) DO UPDATE SET n = fact_month_version.n + 1")
    return len(ok)


def _month_span(month: str) -> tuple[str, str]:
    return f"{month}-01", f"{month}-31"


def _rebuild_month(store, hall: str, month: str) -> None:
    """The month rows of a hall from its day rows (inside the refresh transaction): histograms
    and hourly figures per department and summed over all (department "*"), visit and rating
    counts, staff totals with the punched days, finished cases."""
    p = store.db.param
    lo, hi = _month_span(month)
    args = [hall, lo, hi]
    where = f" WHERE hall = {p} AND day >= {p} AND day <= {p}"
    for table in MONTH_TABLES:
        store.db.execute_sql(f"DELETE FROM {table} WHERE hall = {p} AND month = {p}", [hall, month])
    merged: dict[str, tuple[Counter, Counter]] = defaultdict(lambda: (Counter(), Counter()))
    for dept, w, s in store.db.execute_sql(f"SELECT department, wait, service FROM fact_hist{where}", args).fetchall():
        for key in (dept, ALL):
            merge_json(merged[key][0], w)
            merge_json(merged[key][1], s)
    insert_rows(store, "fact_hist_month", ("hall", "month", "department", "wait", "service"),
            [(hall, month, dept, hist_json(w), hist_json(s)) for dept, (w, s) in sorted(merged.items())])
    hours: dict[tuple[str, int], list] = defaultdict(lambda: [0, 0, Counter()])
    for dept, hour, n, called, w in store.db.execute_sql(
            f"SELECT department, hour, visits, called, wait FROM fact_hours{where}", args).fetchall():
        for key in ((dept, int(hour)), (ALL, int(hour))):
            hr = hours[key]
            hr[0] += n
            hr[1] += called
            merge_json(hr[2], w)
    insert_rows(store, "fact_hours_month", ("hall", "month", "department", "hour", "visits", "called", "wait"),
            [(hall, month, dept, hour, n, c, hist_json(w)) for (dept, hour), (n, c, w) in sorted(hours.items())])
    sums = ", ".join(f"SUM({c})" for c in VISIT_COUNTS)
    store.db.execute_sql(
        f"INSERT INTO fact_visits_month (hall, month, department, win, staff, {', '.join(VISIT_COUNTS)})"
        f" SELECT hall, {p}, department, win, staff, {sums} FROM fact_visits{where} GROUP BY hall, department, win, staff",
        [month, *args])
    store.db.execute_sql(
        "INSERT INTO fact_ratings_month (hall, month, department, win, staff, level, n)"
        f" SELECT hall, {p}, department, win, staff, level, SUM(n) FROM fact_ratings{where}"
        " GROUP BY hall, department, win, staff, level", [month, *args])
    store.db.execute_sql(
        "INSERT INTO fact_cases_month (hall, month, department, win, staff, finished, on_time, late)"
        f" SELECT hall, {p}, department, win, staff, {CASES_MONTH_SELECT} FROM fact_cases{where}"
        " AND finished IS NOT NULL GROUP BY hall, department, win, staff", [month, *args])
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
    insert_rows(store, "fact_staff_month", ("hall", "month", "staff", "days", "late", "early", "step_aways", "violations"),
            [(hall, month, st, json.dumps(dict(sorted(t[0].items()))), *t[1:]) for st, t in sorted(staff.items())])
