"""Coverage of a window as time, and services after closing: the one implementation the hall
(edge.attendance) and central (central.coverage) both count with, so their figures are equal by
construction.

Rules [U 21, B 28, C 9(4), C 11(6)]:
- A window's open time on a day is the hall's work periods of that day (calendar), up to `now`
  for the day in progress; a window is counted only on the days the schedule opens it
  (sync.kernel.schedule).
- Staffed time: the union of its sign-on stints (window.signed_on → window.signed_off; a stint
  not signed off runs until `now`), within the open time; per role (A, B, duty…) and per staff.
- Paused time: the step-aways (window.paused → window.resumed) within the staffed open time.
- Over the limit: of each step-away longer than the limit (`rules.step_away_limit_minutes`
  [C 9(4)]), the part beyond the limit, within the staffed open time: the window was left
  without permission (擅自离岗), so that time is not covered.
- Covered = staffed − over the limit; uncovered = open − covered, as intervals (a mid-day
  sign-off leaves one); coverage rate = covered / open. A+B must cover 100 % [U 21, B 28].
- 延时服务 (extended service) [U 21, B 28, C 11(6)]: a service completed after the closing time of
  its ticket's service day; its minutes past closing are counted rounded up (10 s past closing
  is one minute).

Times are µs since the epoch (UTC); results are whole seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

Interval = tuple[int, int]  # [start, end) in µs
US = 1_000_000


# ---------------------------------------------------------------- interval arithmetic


def clip(intervals: Iterable[Interval], start: int, end: int) -> list[Interval]:
    return [(max(s, start), min(e, end)) for s, e in intervals if min(e, end) > max(s, start)]


def union(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[list[int]] = []
    for s, e in sorted(intervals):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def length(intervals: Iterable[Interval]) -> int:
    return sum(e - s for s, e in intervals)


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    bl = list(b)
    out = []
    for s1, e1 in a:
        for s2, e2 in bl:
            s, e = max(s1, s2), min(e1, e2)
            if e > s:
                out.append((s, e))
    return union(out)


def minus(a: Iterable[Interval], b: Iterable[Interval]) -> list[Interval]:
    out = union(a)
    for bs, be in union(b):
        nxt = []
        for s, e in out:
            if be <= s or bs >= e:
                nxt.append((s, e))
                continue
            if s < bs:
                nxt.append((s, bs))
            if be < e:
                nxt.append((be, e))
        out = nxt
    return out


# ---------------------------------------------------------------- a window's day


@dataclass(frozen=True)
class Stint:
    """A staff member signed on at a window from `start` to `end` (None: still signed on)."""

    staff: str
    role: str
    start: int
    end: int | None


@dataclass(frozen=True)
class Pause:
    """A step-away (暂停服务) from `start` to `end` (None: still away)."""

    start: int
    end: int | None


@dataclass
class WindowDay:
    """One window's coverage figures (seconds) for one day."""

    open_seconds: int = 0
    staffed_seconds: int = 0
    paused_seconds: int = 0
    over_limit_seconds: int = 0
    covered_seconds: int = 0
    by_role: dict[str, int] = field(default_factory=dict)
    by_staff: dict[str, int] = field(default_factory=dict)
    uncovered: list[Interval] = field(default_factory=list)  # µs

    @property
    def uncovered_seconds(self) -> int:
        return self.open_seconds - self.covered_seconds

    @property
    def rate(self) -> float | None:
        return round(self.covered_seconds / self.open_seconds, 4) if self.open_seconds else None


def window_day(open_iv: Iterable[Interval], stints: Iterable[Stint], pauses: Iterable[Pause],
               limit_seconds: int, now: int) -> WindowDay:
    """The figures of one window on one day: `open_iv` its open intervals (the day's work
    periods), `stints` and `pauses` the window's (any that overlap), `now` the present (open
    time, stints and pauses not ended stop there)."""
    open_so_far = union(clip(open_iv, 0, now))
    stints = list(stints)
    staffed = intersect(union((s.start, now if s.end is None else s.end) for s in stints), open_so_far)
    away = [(p.start, now if p.end is None else p.end) for p in pauses]
    limit_us = limit_seconds * US
    excess = intersect(union((s + limit_us, e) for s, e in away if e - s > limit_us), staffed)
    paused = intersect(union(away), staffed)
    covered = minus(staffed, excess)
    by_role: dict[str, list[Interval]] = {}
    by_staff: dict[str, list[Interval]] = {}
    for s in stints:
        iv = (s.start, now if s.end is None else s.end)
        by_role.setdefault(s.role, []).append(iv)
        by_staff.setdefault(s.staff, []).append(iv)
    return WindowDay(
        open_seconds=length(open_so_far) // US, staffed_seconds=length(staffed) // US,
        paused_seconds=length(paused) // US, over_limit_seconds=length(excess) // US,
        covered_seconds=length(covered) // US,
        by_role={r: length(intersect(union(v), open_so_far)) // US for r, v in sorted(by_role.items())},
        by_staff={k: length(intersect(union(v), open_so_far)) // US for k, v in sorted(by_staff.items())},
        uncovered=minus(open_so_far, covered))


def total(figs: Iterable[WindowDay]) -> dict:
    """Sums of window-day figures (a month; a window, department or hall): seconds, seconds by
    role, the number of window-days, and coverage_rate = covered / open."""
    figs = list(figs)
    keys = ("open_seconds", "staffed_seconds", "paused_seconds", "over_limit_seconds", "covered_seconds")
    out: dict = {k: sum(getattr(f, k) for f in figs) for k in keys}
    roles: dict[str, int] = {}
    for f in figs:
        for r, v in f.by_role.items():
            roles[r] = roles.get(r, 0) + v
    out["by_role"] = dict(sorted(roles.items()))
    out["uncovered_seconds"] = out["open_seconds"] - out["covered_seconds"]
    out["coverage_rate"] = round(out["covered_seconds"] / out["open_seconds"], 4) if out["open_seconds"] else None
    out["days"] = len(figs)
    return out


# ---------------------------------------------------------------- from the events


@dataclass
class Presence:
    """A window's stints and pauses, folded from its events."""

    stints: list[Stint] = field(default_factory=list)
    pauses: list[Pause] = field(default_factory=list)

    def overlapping(self, lo: int, hi: int) -> "Presence":
        def over(s: int, e: int | None) -> bool:
            return s < hi and (e is None or e > lo)
        return Presence([x for x in self.stints if over(x.start, x.end)],
                        [x for x in self.pauses if over(x.start, x.end)])


PRESENCE_KINDS = ["window.signed_on", "window.signed_off", "window.paused", "window.resumed"]


def fold(rows: Iterable[tuple[str, int, str, str | None, str | None]]) -> dict[str, Presence]:
    """Per window, its stints and pauses from (kind, ts, window, staff, role) rows of
    `PRESENCE_KINDS` in log order — as the hall's projection (edge/store/presence.py) keeps
    them: a sign-off ends that staff member's open stint at the window, a resume ends the
    window's open step-away."""
    out: dict[str, Presence] = {}
    open_stints: dict[tuple[str, str], list[int]] = {}  # (window, staff) → indexes of open stints
    open_pauses: dict[str, list[int]] = {}
    for kind, ts, window, staff, role in rows:
        p = out.setdefault(window, Presence())
        if kind == "window.signed_on":
            open_stints.setdefault((window, staff or ""), []).append(len(p.stints))
            p.stints.append(Stint(staff=staff or "", role=role or "A", start=ts, end=None))
        elif kind == "window.signed_off":
            for i in open_stints.pop((window, staff or ""), []):
                p.stints[i] = Stint(p.stints[i].staff, p.stints[i].role, p.stints[i].start, ts)
        elif kind == "window.paused":
            open_pauses.setdefault(window, []).append(len(p.pauses))
            p.pauses.append(Pause(start=ts, end=None))
        elif kind == "window.resumed":
            for i in open_pauses.pop(window, []):
                p.pauses[i] = Pause(p.pauses[i].start, ts)
    return out


# ---------------------------------------------------------------- 延时服务


@dataclass(frozen=True)
class AfterClosing:
    """A service completed after the closing time of its service day (延时服务)."""

    ticket: str
    window: str | None
    staff: str | None
    completed: int  # µs
    seconds: int  # past closing

    @property
    def minutes(self) -> int:
        return -(-self.seconds // 60)


def after_closing(closing: int | None, services: Iterable[tuple[str, str | None, str | None, int]]) -> list[AfterClosing]:
    """Of (ticket, window, staff, completed µs) services of one service day whose closing time
    is `closing` (µs; None: the calendar has no hours that day, so nothing counts), those
    completed after closing."""
    if closing is None:
        return []
    out = []
    for ticket, window, staff, completed in services:
        if completed > closing:
            out.append(AfterClosing(ticket=ticket, window=window, staff=staff, completed=completed,
                                    seconds=(completed - closing) // US))
    return sorted(out, key=lambda a: (a.completed, a.ticket))
