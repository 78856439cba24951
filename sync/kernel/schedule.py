"""Who is expected where and when: the one model of the hall's schedule, used by the hall
(edge.windows, edge.attendance) and by central (central.projections) alike, so both count the
same days.

Rules [J 26, J 27, B 7, B 10, B 14, J 9, J 10, J 29, U 22, B 29]:
- A window is open on a day only if the hall is open that day (calendar: periods, closures,
  holidays, vacations with their duty days).
- ``fixed`` windows are open every open day; ``periodic`` windows on the weekdays in force that
  day: those of the `schedules` entry (semester) whose dates hold the day, else `weekdays`
  [B 7, B 10]; ``flexible`` windows (机动窗口 for 潮汐式办公: enrolment, vacation and graduation
  peaks) in their `peaks` [J 9].
- Vacation duty rosters (`Business.duty`) [J 29, U 22, B 29]: on a duty day for which the hall
  has roster entries, the windows open are exactly those of the entries (an entry without
  `windows`: every window of its department) and the staff expected are exactly the staff the
  entries name, whatever their A/B roles; everyone else is not expected that day (not absent).
  A duty day with no entry at the hall keeps the windows' own schedules.
- The hall manager's overrides (events ``window.opened`` / ``window.withdrawn``) [J 10] stay in
  force until the next override. A window counts as open on a day when it was opened during
  that day's opening hours, or when the override in force at the day's opening time is
  "opened"; a window withdrawn by then (and not reopened during the day) is closed; otherwise
  the plan above decides. So a flexible window outside its peaks is open exactly on the days the
  manager opened it (or left it open); a window withdrawn mid-day was still open that day.
- A staff member is expected (counted present or absent) on a day when one of their A-role
  windows (`Staff.windows`) is open that day and, for a window with a `rotation`, they are the
  one on shift that day [B 14] — or, on a rostered duty day, when a window of their duty entry
  is open. B-role backups are not expected by the schedule: they are counted only on the days
  they punch.

Overrides are given per window as (aware datetime, action) in log order; each end reads them from its
own store (the hall's event log, central's events table).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from .business import Business, Window
from .calendar import HallCalendar

Override = tuple[datetime, str]  # (when, time-zone aware; "opened" | "withdrawn")


def weekdays_on(w: Window, day: date) -> list[int]:
    """The weekdays a periodic window opens on, in force on `day`: those of the semester schedule
    holding `day`, else the window's `weekdays` [B 10]."""
    for sem in w.schedules:
        if sem.start <= day <= sem.end:
            return sem.weekdays
    return w.weekdays


def scheduled(w: Window, day: date) -> bool:
    """Whether the window's kind opens it on `day` (an open day of the hall), before duty rosters
    and overrides."""
    if w.kind == "fixed":
        return True
    if w.kind == "periodic":
        return day.isoweekday() in weekdays_on(w, day)
    return any(p.start <= day <= p.end for p in w.peaks)  # flexible: its peak periods


def on_shift(w: Window, staff_id: str, day: date) -> bool:
    """Whether `staff_id` is the one on shift at the window on `day` [B 14]: always when the window
    has no rotation; else the rota's entry for the `every_days` block holding the day."""
    r = w.rotation
    if r is None:
        return True
    block = (day - r.start).days // r.every_days  # floor: the cycle runs backwards before `start`
    return r.staff[block % len(r.staff)] == staff_id


def duty_roster(business: Business) -> dict[date, dict[str, list[str]]]:
    """Per duty day: window → staff on duty there [J 29, U 22, B 29] (from `Business.duty`)."""
    by_dept: dict[str, list[str]] = {}
    for w in business.windows:
        by_dept.setdefault(w.department, []).append(w.id)
    out: dict[date, dict[str, list[str]]] = {}
    for entry in business.duty:
        for day in entry.days:
            for wid in entry.windows or by_dept.get(entry.department, []):
                staff = out.setdefault(day, {}).setdefault(wid, [])
                staff += [s for s in entry.staff if s not in staff]
    return out


class Schedule:
    """The hall's windows, shifts and duty rosters against its calendar and the manager's overrides."""

    def __init__(self, business: Business, calendar: HallCalendar,
                 overrides: dict[str, list[Override]] | None = None) -> None:
        self.business = business
        self.calendar = calendar
        self.windows = {w.id: w for w in business.windows}
        self.overrides = {k: list(v) for k, v in (overrides or {}).items()}
        self.staff = {s.id: s for s in business.staff}
        self._a_windows = {s.id: [w for w in s.windows if w in self.windows] for s in business.staff}
        self.duty = duty_roster(business)
        self._departments = {s.id: s.department for s in business.staff}

    def planned(self, window_id: str, day: date) -> bool:
        """Whether the plan (kind, semester, peaks, duty roster) opens the window on `day`, before
        the manager's overrides."""
        w = self.windows.get(window_id)
        if w is None or not self.calendar.is_open_day(day):
            return False
        roster = self.duty.get(day) if self.calendar.is_duty_day(day) else None
        if roster:
            return window_id in roster
        return scheduled(w, day)

    def window_open(self, window_id: str, day: date) -> bool:
        """Whether the window was meant to be open on `day` (see the module's rules)."""
        w = self.windows.get(window_id)
        if w is None or not self.calendar.is_open_day(day):
            return False
        opening, closing = self.calendar.opening_time(day), self.calendar.closing_time(day)
        if opening is None or closing is None:
            return False
        in_force = None
        for at, action in self.overrides.get(window_id, ()):
            if at <= opening:
                in_force = action
            elif at < closing and action == "opened":
                return True
        if in_force == "withdrawn":
            return False
        if in_force == "opened":
            return True
        return self.planned(window_id, day)

    def rostered(self, day: date) -> dict[str, list[str]] | None:
        """Window → duty staff on `day` when it is a duty day with roster entries at the hall."""
        if not self.calendar.is_duty_day(day):
            return None
        return self.duty.get(day) or None

    def on_duty(self, staff_id: str, day: date) -> bool:
        """Named in the hall's duty roster for `day` (whatever window)."""
        roster = self.rostered(day)
        return bool(roster) and any(staff_id in names for names in roster.values())  # type: ignore[union-attr]

    def duty_at(self, staff_id: str, window_id: str, day: date) -> bool:
        """Whether `staff_id` may sign on at `window_id` on `day` as duty staff: on duty that day
        and the window is of their department [J 29, U 22, B 29]."""
        w = self.windows.get(window_id)
        return (w is not None and self._departments.get(staff_id) == w.department
                and self.on_duty(staff_id, day))

    def expected_windows(self, staff_id: str, day: date) -> list[str]:
        """The windows open on `day` where the staff member is expected: on a rostered duty day
        those of their duty entries, else their A-role windows on which they are on shift."""
        roster = self.rostered(day)
        if roster is not None:
            return [w for w, names in roster.items() if staff_id in names and self.window_open(w, day)]
        return [w for w in self._a_windows.get(staff_id, ())
                if on_shift(self.windows[w], staff_id, day) and self.window_open(w, day)]

    def expected(self, staff_id: str, day: date) -> bool:
        """Whether the staff member is expected at the hall on `day` (present or else absent)."""
        return bool(self.expected_windows(staff_id, day))

    def expected_staff(self, day: date) -> set[str]:
        return {s for s in self._a_windows if self.expected(s, day)}

    def ever_expected(self, staff_id: str) -> bool:
        """A-role somewhere or named in a duty roster: the staff the attendance report lists."""
        return bool(self._a_windows.get(staff_id)) or any(
            staff_id in names for roster in self.duty.values() for names in roster.values())


def overrides_of(rows: Iterable[tuple[datetime, str, str]]) -> dict[str, list[Override]]:
    """Overrides per window from (aware datetime, window, action) rows in log order."""
    out: dict[str, list[Override]] = {}
    for at, window, action in rows:
        out.setdefault(window, []).append((at, action))
    return out
