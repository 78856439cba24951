"""Who is expected where and when: the one model of the hall's schedule, used by the hall
(edge.windows, edge.attendance) and by central (central.projections) alike, so both count the
same days.

Rules [J 26, J 27, B 7, B 10, J 9, J 10]:
- A window is open on a day only if the hall is open that day (calendar: periods, closures,
  holidays, vacations with their duty days).
- ``fixed`` windows are open every open day; ``periodic`` windows on their `weekdays` only
  [B 7, B 10]; ``flexible`` windows (机动窗口) in their `peaks` [J 9].
- The hall manager's overrides (events ``window.opened`` / ``window.withdrawn``) [J 10] stay in
  force until the next override. A window counts as open on a day when it was opened during
  that day's opening hours, or when the override in force at the day's opening time is
  "opened"; a window withdrawn by then (and not reopened during the day) is closed; otherwise
  its kind decides. So a flexible window outside its peaks is open exactly on the days the
  manager opened it (or left it open); a window withdrawn mid-day was still open that day.
- A staff member is expected (counted present or absent) on a day when one of their A-role
  windows (`Staff.windows`) is open that day. B-role backups are not expected by the schedule:
  they are counted only on the days they punch.

Overrides are given per window as (aware datetime, action) in log order; each end reads them from its
own store (the hall's event log, central's events table).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from .business import Business, Window
from .calendar import HallCalendar

Override = tuple[datetime, str]  # (when, time-zone aware; "opened" | "withdrawn")


def scheduled(w: Window, day: date) -> bool:
    """Whether the window's kind opens it on `day` (an open day of the hall), before overrides."""
    if w.kind == "fixed":
        return True
    if w.kind == "periodic":
        return day.isoweekday() in w.weekdays
    return any(p.start <= day <= p.end for p in w.peaks)  # flexible: its peak periods


class Schedule:
    """The hall's windows and A-role staff against its calendar and the manager's overrides."""

    def __init__(self, business: Business, calendar: HallCalendar,
                 overrides: dict[str, list[Override]] | None = None) -> None:
        self.business = business
        self.calendar = calendar
        self.windows = {w.id: w for w in business.windows}
        self.overrides = {k: list(v) for k, v in (overrides or {}).items()}
        self._a_windows = {s.id: [w for w in s.windows if w in self.windows] for s in business.staff}

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
        return scheduled(w, day)

    def expected_windows(self, staff_id: str, day: date) -> list[str]:
        """The staff member's A-role windows open on `day`."""
        return [w for w in self._a_windows.get(staff_id, ()) if self.window_open(w, day)]

    def expected(self, staff_id: str, day: date) -> bool:
        """Whether the staff member is expected at the hall on `day` (present or else absent)."""
        return bool(self.expected_windows(staff_id, day))

    def expected_staff(self, day: date) -> set[str]:
        return {s for s in self._a_windows if self.expected(s, day)}


def overrides_of(rows: Iterable[tuple[datetime, str, str]]) -> dict[str, list[Override]]:
    """Overrides per window from (aware datetime, window, action) rows in log order."""
    out: dict[str, list[Override]] = {}
    for at, window, action in rows:
        out.setdefault(window, []).append((at, action))
    return out
