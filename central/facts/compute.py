"""Recomputing the fact rows of a run of days from the events (central.projections)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from .. import projections as pj
from ..projections import CASE_OUTCOMES, Directory
from ..store.facttables import DAY_TABLES, OUTCOMES, VISIT_COUNTS
from .hist import bucket, hist_json

RATED_DAYS = 2  # a completed visit counts as rated when its ticket is rated on its day or the 2 after


def rated_days(store, d: Directory, halls: list[str] | None, start: date, end: date) -> dict[tuple, set[date]]:
    """(hall, ticket) → local days it was rated on, start .. end + RATED_DAYS."""
    lo, hi = pj.day_range_us(d, start, end + timedelta(days=RATED_DAYS))
    out: dict[tuple, set[date]] = defaultdict(set)
    for h, _k, ts, ticket in store.select_bodies(["rating.given"], lo, hi, ["ticket"], halls):
        out[(h, ticket)].add(d.local_date(h, ts))
    return out


def unrated(v: pj.Visit, rated: dict[tuple, set[date]]) -> bool:
    return v.completed is not None and not any(v.day <= r <= v.day + timedelta(days=RATED_DAYS)
                                               for r in rated.get((v.hall, v.ticket), ()))


def visit_key(v: pj.Visit) -> tuple:
    return (v.department or "", v.window or "", v.staff or "")


def count_visit(c: list[int], v: pj.Visit, rated: dict[tuple, set[date]]) -> None:
    """Add the visit to `c`, a row of counts in the order of VISIT_COUNTS."""
    c[0] += 1
    c[1] += v.completed is not None
    c[2] += v.no_show
    c[3] += v.transferred > 0
    c[4] += unrated(v, rated)
    if v.outcome in OUTCOMES:
        c[5 + OUTCOMES.index(v.outcome)] += 1


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
    rated = rated_days(store, d, halls, start, end)
    counts: dict[tuple, list[int]] = defaultdict(lambda: [0] * len(VISIT_COUNTS))
    hists: dict[tuple, tuple[Counter, Counter]] = defaultdict(lambda: (Counter(), Counter()))
    hours: dict[tuple, list] = defaultdict(lambda: [0, 0, Counter()])
    for v in vs:
        hr = hours[(v.hall, v.day.isoformat(), v.department or "", issue_hour(d, v))]
        hr[0] += 1
        if (x := v.wait_seconds) is not None:
            hr[1] += 1
            hr[2][bucket(x)] += 1
        count_visit(counts[(v.hall, v.day.isoformat(), *visit_key(v))], v, rated)
        w, s = hists[(v.hall, v.day.isoformat(), v.department or "")]
        if (x := v.wait_seconds) is not None:
            w[bucket(x)] += 1
        if (x := v.service_seconds) is not None:
            s[bucket(x)] += 1
    for (hall, day, *key), c in counts.items():
        out[hall][day]["fact_visits"].append((hall, day, *key, *c))
    for (hall, day, dept), (w, s) in hists.items():
        out[hall][day]["fact_hist"].append((hall, day, dept, hist_json(w), hist_json(s)))
    for (hall, day, dept, hour), (n, called, w) in hours.items():
        out[hall][day]["fact_hours"].append((hall, day, dept, hour, n, called, hist_json(w)))
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

def issue_hour(d: Directory, v: pj.Visit) -> int:
    """The hour of the hall's local day the visit's ticket was issued in."""
    return datetime.fromtimestamp(v.issued / 1e6, d.tz(v.hall)).hour
