"""The sources the reports read (central.facts): `FactSource` sums the stored facts as they
are, `EventSource` computes the same figures from the events on request, `Raw(store)` selects
the latter. `reading()` collects, for a page or an API answer, how fresh the facts it read were
(`FactsState`: as of when, how many hall-days of its ranges still dirty)."""

from __future__ import annotations

from collections import Counter, defaultdict
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Callable

import msgspec

from .. import projections as pj
from ..projections import Directory
from ..store.facttables import ALL, VISIT_COUNTS
from ..store.marks import unmarked_count
from sync.kernel.clock import SystemClock
from ..store.sql import chunks, placeholders
from .cache import cache_of, events_version, months_version
from .compute import count_visit, issue_hour, rated_days, visit_key
from .hist import bucket, merge_all
from .refresh import refresh


DAYS_DECODER = msgspec.json.Decoder(list[dict[date, int]])  # fact_staff_month.days: {"YYYY-MM-DD": slots}


def _none(x: str):
    return x or None


@dataclass
class FactsState:
    """How fresh the facts a page or an answer read were: `pending` the dirty (hall, day)s of
    the ranges read; `as_of` the time up to which every committed event is in them (the read
    itself when none of its days is dirty, else the refresher's `as_of`; None: not known yet)."""

    pending: set[tuple[str, str]] = field(default_factory=set)
    as_of: datetime | None = None
    read: bool = False  # any facts read at all
    read_at: datetime | None = None
    unmarked: int = 0  # stored batches not marked yet (central.store.marks): their days are unknown

    def add(self, pending: set[tuple[str, str]], read_at: datetime, refreshed: datetime | None,
            unmarked: int = 0) -> None:
        self.pending |= pending
        self.read_at = read_at
        self.unmarked = max(self.unmarked, unmarked)
        at = read_at if not pending and not unmarked else refreshed
        if not self.read:
            self.as_of = at
        elif at is None or self.as_of is None:
            self.as_of = None
        else:
            self.as_of = min(self.as_of, at)
        self.read = True

    @property
    def pending_days(self) -> int:
        """Days of the ranges read that are still dirty in some hall."""
        return len({day for _h, day in self.pending})

    def as_json(self) -> dict:
        """The `facts` field of an answer: `{"as_of": ISO 8601 or null, "pending_days": days
        still dirty in some hall, "pending_hall_days": (hall, day)s still dirty,
        "unmarked_batches": batches stored whose days are not known yet}`."""
        return {"as_of": self.as_of.isoformat() if self.as_of else None, "pending_days": self.pending_days,
                "pending_hall_days": len(self.pending), "unmarked_batches": self.unmarked}


_reading: ContextVar[FactsState | None] = ContextVar("facts_reading", default=None)


@contextmanager
def reading():
    """Collect the `FactsState` of every FactSource made inside (one page, one API answer)."""
    state = FactsState()
    token = _reading.set(state)
    try:
        yield state
    finally:
        _reading.reset(token)


# -- merging the parts of a range (FactSource._split): new objects, the cached parts untouched


def _sum_rows(a: list[tuple], b: list[tuple]) -> list[tuple]:
    """Rows (hall, department, window, staff, *counts) of two parts, counts summed by key."""
    out: dict[tuple, list[int]] = {}
    for r in (*a, *b):
        c = out.get(r[:4])
        if c is None:
            out[r[:4]] = list(r[4:])
        else:
            for i, x in enumerate(r[4:]):
                c[i] += x
    return [(*k, *c) for k, c in out.items()]


def _add_histograms(a: dict, b: dict) -> dict[tuple[str, str], tuple[Counter, Counter]]:
    out = {k: (Counter(w), Counter(s)) for k, (w, s) in a.items()}
    for k, (w, s) in b.items():
        got = out.get(k)
        if got is None:
            out[k] = (Counter(w), Counter(s))
        else:
            got[0].update(w)
            got[1].update(s)
    return out


def _add_hours(a: dict, b: dict) -> dict[int, tuple[int, int, Counter]]:
    out = {h: (n, called, Counter(w)) for h, (n, called, w) in a.items()}
    for h, (n, called, w) in b.items():
        got = out.get(h)
        if got is None:
            out[h] = (n, called, Counter(w))
        else:
            got[2].update(w)
            out[h] = (got[0] + n, got[1] + called, got[2])
    return dict(sorted(out.items()))


def _add_counts(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, n in b.items():
        out[k] = out.get(k, 0) + n
    return out


def _add_totals(a: dict, b: dict) -> dict[tuple[str, str], pj.StaffTotals]:
    """Staff totals of two parts (fold_attendance only reads them: the days dicts are shared)."""
    out = dict(a)
    for k, t in b.items():
        got = out.get(k)
        out[k] = t if got is None else pj.StaffTotals(days={**got.days, **t.days}, late=got.late + t.late,
                                                      early=got.early + t.early,
                                                      step_aways=got.step_aways + t.step_aways,
                                                      violations=got.violations + t.violations)
    return out


class FactSource:
    """Report inputs aggregated from the stored facts as they are. The store's refresher
    (central.facts.refresher, `store.facts_refresher`) keeps them up to date; run synchronously
    (tests) it first catches up. A store no refresher serves (scripts) gets the range's dirty
    days recomputed first, as before the refresher."""

    def __init__(self, store, d: Directory, start: date, end: date, halls: list[str] | None) -> None:
        self.store, self.d, self.start, self.end, self.halls = store, d, start, end, halls
        self._version: tuple[int, int] | None = None  # of the range's months (central.facts.cache), read once
        self._parts: tuple[FactSource, FactSource] | None = None  # before the last month, the last month (_split)
        refresher = getattr(store, "facts_refresher", None)
        if refresher is None:
            refresh(store, d, start, end, halls)
        else:
            refresher.before_read()
        state = _reading.get()
        if state is not None:
            now = refresher.now() if refresher is not None else SystemClock().now()
            w, a = self._where()
            pending = {(h, day) for h, day in self._rows(f"SELECT hall, day FROM fact_dirty{w}", a)}
            state.add(pending, now, refresher.as_of if refresher is not None else None, unmarked_count(self.store))

    def _where(self, start: date | None = None, end: date | None = None, col: str = "day") -> tuple[str, list]:
        p = self.store.db.param
        sql = f" WHERE {col} >= {p} AND {col} <= {p}"
        args: list = [(start or self.start).isoformat(), (end or self.end).isoformat()]
        if self.halls is not None:
            sql += f" AND hall IN ({placeholders(self.store, self.halls)})"
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
               day_filter: str = "", day_args: tuple = (), day_cols: str | None = None) -> tuple[str, list]:
        """SELECT cols from the month roll-up for the whole months of the range and from the day
        rows (`day_cols` when given) for the rest, as one UNION ALL, and its arguments."""
        whole, spans = self._pieces()
        parts, args = [], []
        if whole:
            w, a = self._where(col="month")
            a[0], a[1] = whole
            parts.append(f"SELECT {cols} FROM {month_table}{w}{month_filter}")
            args += a + list(month_args)
        for s, e in spans:
            w, a = self._where(s, e)
            parts.append(f"SELECT {day_cols or cols} FROM {day_table}{w}{day_filter}")
            args += a + list(day_args)
        return " UNION ALL ".join(parts), args

    # -- the report inputs, each kept in the store's cache while its facts are unchanged

    def _cached(self, name: str, args: tuple, make: Callable[[], Any], events: bool = False) -> Any:
        """`make()`, or what it gave for the same facts before (central.facts.cache); `events`:
        it also reads the events on request (attendance: leave, first days, window overrides)."""
        if self.halls is not None and not self.halls:
            return make()
        if self._version is None:
            self._version = months_version(self.store, self.start.strftime("%Y-%m"), self.end.strftime("%Y-%m"),
                                           self.halls)
        key = (name, args, self.start, self.end, None if self.halls is None else tuple(self.halls), self._version,
               events_version(self.store) if events else None)
        return cache_of(self.store).get(key, self.d, make)

    def _split(self, name: str, args: tuple, method: str, merge: Callable[[Any, Any], Any]) -> Any:
        """What `method(*args)` gives over the range, as the merge of its value before the
        range's last month and its value over that month, each cached on its own: under live
        ingest the refresher rewrites today's month every few seconds, and only that month's
        part is then recomputed (a year's report reads the eleven months before from the cache).
        A range inside one month is one part."""
        cut = date(self.end.year, self.end.month, 1)
        if cut <= self.start or (self.halls is not None and not self.halls):
            value = self._cached(name, args, lambda: getattr(self, method)(*args))
            return merge(value, type(value)())  # a copy: the cached value is shared
        if self._parts is None:
            self._parts = (self._part(self.start, cut - timedelta(days=1)), self._part(cut, self.end))
        head, tail = self._parts
        return merge(head._cached(name, args, lambda: getattr(head, method)(*args)),
                     tail._cached(name, args, lambda: getattr(tail, method)(*args)))

    def _part(self, start: date, end: date) -> "FactSource":
        """This source over a part of its range (no refresh, no freshness note: the whole range's
        were taken when it was made)."""
        part = object.__new__(FactSource)
        part.store, part.d, part.start, part.end, part.halls = self.store, self.d, start, end, self.halls
        part._version, part._parts = None, None
        return part

    def visit_rows(self) -> list[tuple]:
        """(hall, department, window, staff, visits, completed, no_show, transferred, unrated,
        instant … refused) summed over the range (month roll-ups for its whole months)."""
        return self._split("visits", (), "_visit_rows", _sum_rows)

    def histograms(self, department: str | None = None) -> dict[tuple[str, str], tuple[Counter, Counter]]:
        """(hall, department) → (wait histogram, service histogram) over the range: month
        histograms for the whole months inside it, day histograms for the rest. With
        `department` only that department's; otherwise per hall over every department, keyed
        (hall, "*")."""
        return self._split("histograms", (department,), "_histograms", _add_histograms)

    def hour_rows(self, department: str | None = None) -> dict[int, tuple[int, int, Counter]]:
        """Hour of issue → (tickets issued, of those called, wait histogram) over the range, of
        one department or of all."""
        return self._split("hours", (department,), "_hour_rows", _add_hours)

    def case_rows(self, today: date) -> list[tuple]:
        """(hall, department, window, staff, cases, on_time, late, overdue) of the cases opened
        by visits of the range, their state on `today`."""
        return self._split("cases", (today,), "_case_rows", _sum_rows)

    def attendance(self, today: date) -> list[pj.StaffMonth]:
        """Per staff member of the range: the staff-day facts folded with leave, first days and
        schedules (projections.fold_attendance)."""
        return [replace(m) for m in self._cached("attendance", (today,), lambda: self._attendance(today), events=True)]

    def _visit_rows(self) -> list[tuple]:
        cols = ", ".join(("hall", "department", "win", "staff") + VISIT_COUNTS)
        sub, a = self._union("fact_visits_month", "fact_visits", cols)
        sums = ", ".join(f"SUM({c})" for c in VISIT_COUNTS)
        rows = self._rows(f"SELECT hall, department, win, staff, {sums} FROM ({sub}) AS u"
                          " GROUP BY hall, department, win, staff", a)
        return [(h, dept, _none(win), _none(st), *(int(x) for x in c)) for h, dept, win, st, *c in rows]

    def _histograms(self, department: str | None = None) -> dict[tuple[str, str], tuple[Counter, Counter]]:
        out: dict[tuple[str, str], tuple[Counter, Counter]] = defaultdict(lambda: (Counter(), Counter()))
        p = self.store.db.param
        dept = department if department is not None else ALL
        one = department is not None
        sub, a = self._union("fact_hist_month", "fact_hist", "hall, wait, service", f" AND department = {p}", (dept,),
                             f" AND department = {p}" if one else "", (department,) if one else ())
        texts: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
        for hall, wt, sv in self._rows(sub, a):
            texts[hall][0].append(wt)
            texts[hall][1].append(sv)
        for hall, (wt, sv) in texts.items():
            h = out[(hall, dept)]
            merge_all(h[0], wt)
            merge_all(h[1], sv)
        return out

    def _hour_rows(self, department: str | None = None) -> dict[int, tuple[int, int, Counter]]:
        p = self.store.db.param
        one = department is not None
        sub, a = self._union("fact_hours_month", "fact_hours", "hour, visits, called, wait", f" AND department = {p}",
                             (department if one else ALL,), f" AND department = {p}" if one else "",
                             (department,) if one else ())
        out: dict[int, tuple[Counter, list[str]]] = {}
        for hour, n, called, w in self._rows(sub, a):
            hr = out.get(int(hour))
            if hr is None:
                hr = out[int(hour)] = (Counter(), [])
            hr[0]["n"] += int(n)
            hr[0]["called"] += int(called)
            hr[1].append(w)
        merged: dict[int, tuple[int, int, Counter]] = {}
        for h, (c, texts) in sorted(out.items()):
            merge_all(w := Counter(), texts)
            merged[h] = (c["n"], c["called"], w)
        return merged

    def rating_rows(self, excluded: set[tuple[str, str]] = frozenset()) -> list[tuple]:
        """(hall, department, window, staff, level, count) of ratings given in the range, less
        the ratings of the `excluded` (hall, ticket)s (appeals accepted)."""
        c = Counter(self._split("ratings", (), "_rating_counts", _add_counts))
        for r in self._excluded_ratings(excluded):
            c[(r.hall, r.department or "", r.window or None, r.staff or None, r.level)] -= 1
        return [(*k, n) for k, n in c.items() if n > 0]

    def _rating_counts(self) -> dict[tuple, int]:
        sub, a = self._union("fact_ratings_month", "fact_ratings", "hall, department, win, staff, level, n")
        rows = self._rows(f"SELECT hall, department, win, staff, level, SUM(n) FROM ({sub}) AS u"
                          " GROUP BY hall, department, win, staff, level", a)
        return {(h, dept, _none(win), _none(st), int(lv)): int(n) for h, dept, win, st, lv, n in rows}

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
            for part in chunks(sorted(tickets)):
                for ticket, day in self.store.db.execute_sql(
                        f"SELECT ticket, day FROM fact_tickets WHERE hall = {p} AND ticket IN ({placeholders(self.store, part)})",
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

    def _case_rows(self, today: date) -> list[tuple]:
        """The finished cases from the month roll-ups for the range's whole months, the open
        ones (overdue or not depends on `today`) from the day rows through their partial index."""
        sub, a = self._union("fact_cases_month", "fact_cases", "hall, department, win, staff, finished, on_time, late",
                             day_filter=" AND finished IS NOT NULL",
                             day_cols="hall, department, win, staff, 1 AS finished,"
                                      " CASE WHEN finished <= deadline THEN 1 ELSE 0 END AS on_time,"
                                      " CASE WHEN finished > deadline THEN 1 ELSE 0 END AS late")
        acc: dict[tuple, list[int]] = {}
        for h, dept, win, st, n, on_time, late in self._rows(
                "SELECT hall, department, win, staff, SUM(finished), SUM(on_time), SUM(late)"
                f" FROM ({sub}) AS u GROUP BY hall, department, win, staff", a):
            acc[(h, dept, win, st)] = [int(n), int(on_time), int(late), 0]
        w, a = self._where()
        p = self.store.db.param
        for h, dept, win, st, n, overdue in self._rows(
                f"SELECT hall, department, win, staff, COUNT(*), SUM(CASE WHEN deadline < {p} THEN 1 ELSE 0 END)"
                f" FROM fact_cases{w} AND finished IS NULL GROUP BY hall, department, win, staff",
                [today.isoformat(), *a]):
            c = acc.setdefault((h, dept, win, st), [0, 0, 0, 0])
            c[0] += int(n)
            c[3] += int(overdue)
        return [(h, dept, _none(win), _none(st), *c) for (h, dept, win, st), c in acc.items()]

    def _attendance(self, today: date) -> list[pj.StaffMonth]:
        totals = self._split("staff_totals", (), "_staff_totals", _add_totals)
        hall_ids = self.halls if self.halls is not None else list(self.d.halls)
        leave = pj.leave_days(self.store, self.d, self.start, self.end, self.halls)
        return pj.fold_attendance(self.d, self.start, self.end, hall_ids, today, totals, leave,
                                  pj.first_days(self.store, self.d, hall_ids),
                                  pj.schedules(self.store, self.d, self.end, hall_ids))

    def _staff_totals(self) -> dict[tuple[str, str], pj.StaffTotals]:
        """(hall, staff) → punched days and summed counts over the range, from the facts only
        (cached by the months' version; what attendance also reads from the events is not in it)."""
        totals: dict[tuple[str, str], pj.StaffTotals] = {}
        whole, spans = self._pieces()
        if whole:
            w, a = self._where(col="month")
            a[0], a[1] = whole
            rows = self._rows(
                f"SELECT hall, staff, days, late, early, step_aways, violations FROM fact_staff_month{w}", a)
            decoded = DAYS_DECODER.decode("[" + ",".join(r[2] for r in rows) + "]") if rows else []
            for (hall, staff, _days, late, early, steps, viol), days in zip(rows, decoded):
                t = totals.get((hall, staff))
                if t is None:
                    t = totals[(hall, staff)] = pj.StaffTotals()
                t.days.update(days)
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
        return totals


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
        rated = rated_days(self.store, self.d, self.halls, self.start, self.end)
        for v in self.visits():
            count_visit(counts[(v.hall, *visit_key(v))], v, rated)
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
