"""Window coverage as time and 延时服务 at central, from the merged events, by the arithmetic the
hall counts with (sync.kernel.coverage), so central's figures equal the hall's day by day.

- `window_days`: per (hall, window, local day) of a range before `today`, from the hall's first
  day with records, on the days the schedule opens the window (sync.kernel.schedule, the hall's
  model): open, staffed (by role A / B / duty and by staff), paused, over the step-away limit,
  covered seconds and the uncovered intervals [U 21, B 28, C 9(4)]. Stints and step-aways are
  folded from `window.signed_on` / `signed_off` / `paused` / `resumed` as the hall's projection
  does (sync.kernel.coverage.fold); a stint begun before the range (nobody signed off) still
  counts.
- `extended_services`: every service of a service day in the range completed after that day's
  closing time (延时服务) with its window, staff and minutes past closing [U 21, B 28, C 11(6)].

Nothing is stored: both read the events on request (central.operations shapes them into the
report; a range spans at most 92 days).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sync.kernel import coverage as cov

from . import projections as pj
from .projections import Directory

FAR = 2 ** 62  # "now" for a day that has ended: every stint and pause not ended runs past it


@dataclass
class WindowDayRow:
    hall: str
    window: str
    department: str
    kind: str
    day: date
    fig: cov.WindowDay


def _us(t: datetime) -> int:
    return int(t.timestamp() * 1_000_000)


def presence(store, hi: int, halls: list[str]) -> dict[tuple[str, str], cov.Presence]:
    """Per (hall, window) its stints and step-aways up to `hi` (µs): sign-ons from the first
    event (a stint can stay open for days), step-aways from the earliest stint still open then
    (a step-away ends at the latest with the stint it began in)."""
    out: dict[tuple[str, str], cov.Presence] = {}
    per_hall: dict[str, list] = {h: [] for h in halls}
    for hall, kind, ts, window, staff, role in store.select_bodies(
            ["window.signed_on", "window.signed_off"], 0, hi, ["window", "staff", "role"], halls):
        per_hall.setdefault(hall, []).append((kind, int(ts), window, staff, role))
    for hall, rows in per_hall.items():
        for window, p in cov.fold(rows).items():
            out[(hall, window)] = p
    return out


def add_pauses(store, presence_of: dict[tuple[str, str], cov.Presence], lo: int, hi: int, halls: list[str]) -> None:
    """Fold the step-aways of `halls` into `presence_of`: from the earliest stint open at `lo`."""
    starts = [s.start for p in presence_of.values() for s in p.stints if s.start < hi and (s.end is None or s.end > lo)]
    if not starts:
        return
    per_hall: dict[str, list] = {}
    for hall, kind, ts, window in store.select_bodies(["window.paused", "window.resumed"], min(starts), hi,
                                                      ["window"], halls):
        per_hall.setdefault(hall, []).append((kind, int(ts), window, None, None))
    for hall, rows in per_hall.items():
        for window, p in cov.fold(rows).items():
            presence_of.setdefault((hall, window), cov.Presence()).pauses.extend(p.pauses)


def window_days(store, d: Directory, start: date, end: date, halls: list[str], today: date) -> list[WindowDayRow]:
    """Coverage of every window on each of its open days start..end before `today` (see the
    module docstring), oldest first per hall and window."""
    since = pj.first_days(store, d, halls)
    halls = [h for h in halls if h in since and h in d.halls and h in d.calendars]
    if not halls:
        return []
    sched = pj.schedules(store, d, end, halls)
    lo, hi = pj.day_range_us(d, start, end)
    pres = presence(store, hi, halls)
    add_pauses(store, pres, lo, hi, halls)
    out = []
    for h in sorted(halls):
        entry, cal = d.halls[h], d.calendars[h]
        limit = entry.business.rules.step_away_limit_minutes * 60
        day = max(start, since[h])
        days = []
        while day <= end and day < today:
            if cal.is_open_day(day):
                days.append(day)
            day += timedelta(days=1)
        for w in entry.business.windows:
            mine = pres.get((h, w.id), cov.Presence())
            for day in days:
                if not sched[h].window_open(w.id, day):
                    continue
                open_iv = [(_us(s), _us(e)) for s, e in cal.periods_on(day)]
                if not open_iv:
                    continue
                p = mine.overlapping(open_iv[0][0], open_iv[-1][1])
                out.append(WindowDayRow(hall=h, window=w.id, department=w.department, kind=w.kind, day=day,
                                        fig=cov.window_day(open_iv, p.stints, p.pauses, limit, FAR)))
    return out


@dataclass
class ExtendedRow:
    hall: str
    day: date
    service: cov.AfterClosing


def extended_services(store, d: Directory, start: date, end: date, halls: list[str]) -> list[ExtendedRow]:
    """Services of service days start..end completed after the day's closing time (延时服务)."""
    per_day: dict[tuple[str, date], list] = {}
    for v in pj.visits(store, d, start, end, halls):
        if v.completed is not None:
            per_day.setdefault((v.hall, v.day), []).append((v.ticket, v.window, v.staff, v.completed))
    out = []
    for (h, day), services in sorted(per_day.items()):
        cal = d.calendars.get(h)
        close = cal.closing_time(day) if cal else None
        for a in cov.after_closing(_us(close) if close else None, services):
            out.append(ExtendedRow(hall=h, day=day, service=a))
    return out
