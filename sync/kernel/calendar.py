"""Opening hours and working days of a hall, computed from its `sync.kernel.business.Calendar`.

Pure logic: nothing here reads the clock. Callers pass timezone-aware datetimes (any zone); they
are converted to the hall's zone (`Calendar.timezone`). Dates are the hall's local dates.

Rules (see docs and RULES.md "Working time and attendance"):

- A *working day* (statutory) is Monday–Friday unless its ISO weekday is listed in `weekend`,
  minus the holiday ranges (inclusive), plus the make-up working days (调休, `workdays`). A
  make-up working day wins over both the weekend and a holiday range.
- A *service day* is a working day not inside any vacation, or a duty day (值班) listed in a
  vacation, whatever its weekday (an explicit listing wins over weekends, holidays and the
  vacation itself). An *open day* is a service day with some open time left after the closures;
  open days are the hall working days that promised deadlines (承诺件) count.
- The open intervals of an open day are the configured `periods` (`duty_periods` of the vacation
  that lists a duty day, when it has any), minus every recurring closure that matches the day.
  Intervals are half-open: [start, end).
- "24:00" as an end means midnight at the start of the next day.

Intervals are built from wall-clock times with the hall's zone and compared as absolute instants,
so zones with daylight saving time behave correctly (e.g. open minutes on a transition day).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from sync.kernel.business import Calendar, Closure, Period

__all__ = ["HallCalendar"]

UTC = timezone.utc
ONE_DAY = timedelta(days=1)
SEARCH_DAYS = 400  # how far next_open looks ahead; also the longest run of closed days tolerated

Interval = tuple[datetime, datetime]


def _clock(value: str) -> tuple[int, int]:
    """Parse "HH:MM" (00:00 … 24:00) into (hours, minutes)."""
    hh, mm = value.split(":")
    h, m = int(hh), int(mm)
    if not (0 <= m < 60 and (0 <= h < 24 or (h == 24 and m == 0))):
        raise ValueError(f"not a clock time: {value!r}")
    return h, m


def _expand(start: date, end: date) -> set[date]:
    days: set[date] = set()
    d = start
    while d <= end:
        days.add(d)
        d += ONE_DAY
    return days


class HallCalendar:
    """Opening hours of one hall.

    Per-day results are cheap: holiday, make-up, vacation and duty days are expanded into sets
    once, and the open intervals of each day are cached.
    """

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar
        self.tz = ZoneInfo(calendar.timezone)
        self._weekend = frozenset(calendar.weekend)
        self._periods = tuple(_clock_pair(p) for p in calendar.periods)
        self._closures = tuple(calendar.closures)
        holidays: set[date] = set()
        for h in calendar.holidays:
            holidays |= _expand(h.start, h.end)
        self._holidays = frozenset(holidays)
        self._workdays = frozenset(w.date for w in calendar.workdays)
        vacation_days: set[date] = set()
        duty: dict[date, tuple[tuple[tuple[int, int], tuple[int, int]], ...]] = {}
        for v in calendar.vacations:
            vacation_days |= _expand(v.start, v.end)
            periods = tuple(_clock_pair(p) for p in v.duty_periods) if v.duty_periods else self._periods
            for d in v.duty_days:
                duty.setdefault(d, periods)  # the first vacation listing a day decides
        self._vacation_days = frozenset(vacation_days)
        self._duty = duty
        self._intervals = lru_cache(maxsize=4096)(self._compute_intervals)

    # ------------------------------------------------------------ time conversion

    def local(self, at: datetime) -> datetime:
        """`at` in the hall's zone. `at` must be timezone-aware."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"a timezone-aware datetime is needed, got {at!r}")
        return at.astimezone(self.tz)

    def local_date(self, at: datetime) -> date:
        """The hall's local date at instant `at`."""
        return self.local(at).date()

    def _at(self, d: date, hm: tuple[int, int]) -> datetime:
        """Wall-clock time `hm` of day `d` as an aware local datetime ("24:00" = next midnight)."""
        h, m = hm
        if h == 24:
            return datetime.combine(d + ONE_DAY, time(0, 0), tzinfo=self.tz)
        return datetime.combine(d, time(h, m), tzinfo=self.tz)

    # ------------------------------------------------------------ days

    def is_working_day(self, d: date) -> bool:
        """Statutory working day: not a weekend day nor a holiday, or a make-up working day."""
        if d in self._workdays:
            return True
        if d in self._holidays:
            return False
        return d.isoweekday() not in self._weekend

    def is_vacation_day(self, d: date) -> bool:
        """Inside any vacation range (duty days included)."""
        return d in self._vacation_days

    def is_duty_day(self, d: date) -> bool:
        """Listed as a duty day (值班) of a vacation."""
        return d in self._duty

    def is_service_day(self, d: date) -> bool:
        """By the day rules alone: a working day outside vacations, or a listed duty day."""
        if d in self._duty:
            return True
        return d not in self._vacation_days and self.is_working_day(d)

    def is_open_day(self, d: date) -> bool:
        """The hall serves on `d`: a service day (see `is_service_day`) that keeps some open
        time after the recurring closures (a whole-day closure makes it a closed day)."""
        return bool(self._intervals(d))

    def closures_on(self, d: date) -> list[Closure]:
        """The recurring closures that apply to day `d` (whether or not the hall is open)."""
        return [c for c in self._closures if _matches(c, d)]

    # ------------------------------------------------------------ intervals

    def _compute_intervals(self, d: date) -> tuple[Interval, ...]:
        if not self.is_service_day(d):
            return ()
        clocks = self._duty.get(d, self._periods)
        # Work in UTC so that comparisons and merges are between absolute instants.
        pieces: list[list[datetime]] = []
        for start, end in sorted(clocks):
            s = self._at(d, start).astimezone(UTC)
            e = self._at(d, end).astimezone(UTC)
            if s >= e:
                continue
            if pieces and s <= pieces[-1][1]:  # tolerate unchecked, overlapping periods
                pieces[-1][1] = max(pieces[-1][1], e)
            else:
                pieces.append([s, e])
        for c in self.closures_on(d):
            cs = self._at(d, _clock(c.start)).astimezone(UTC)
            ce = self._at(d, _clock(c.end)).astimezone(UTC)
            if cs >= ce:
                continue
            cut: list[list[datetime]] = []
            for s, e in pieces:
                if s < min(e, cs):
                    cut.append([s, min(e, cs)])
                if max(s, ce) < e:
                    cut.append([max(s, ce), e])
            pieces = cut
        return tuple((s.astimezone(self.tz), e.astimezone(self.tz)) for s, e in pieces)

    def periods_on(self, d: date) -> list[Interval]:
        """Open intervals [start, end) of day `d` as aware local datetimes, in order."""
        return list(self._intervals(d))

    def opening_time(self, d: date) -> datetime | None:
        """Start of the first open interval of `d`, None when closed all day."""
        iv = self._intervals(d)
        return iv[0][0] if iv else None

    def closing_time(self, d: date) -> datetime | None:
        """End of the last open interval of `d`, None when closed all day."""
        iv = self._intervals(d)
        return iv[-1][1] if iv else None

    def open_minutes(self, d: date) -> int:
        """Total open minutes of `d` (elapsed time, so DST transitions are accounted for)."""
        total = sum((_elapsed(s, e) for s, e in self._intervals(d)), timedelta())
        return int(total.total_seconds() // 60)

    # ------------------------------------------------------------ instants

    def is_open(self, at: datetime) -> bool:
        """Whether the hall is open at instant `at` (start inclusive, end exclusive)."""
        t = self.local(at).astimezone(UTC)
        for s, e in self._intervals(self.local_date(at)):
            if s.astimezone(UTC) <= t < e.astimezone(UTC):
                return True
        return False

    def next_open(self, at: datetime) -> datetime | None:
        """`at` (in the hall's zone) when open, else the start of the next open interval.

        Looks at most `SEARCH_DAYS` days ahead; None when nothing opens in that window.
        """
        local = self.local(at)
        t = local.astimezone(UTC)
        d = local.date()
        for _ in range(SEARCH_DAYS + 1):
            for s, e in self._intervals(d):
                if e.astimezone(UTC) > t:
                    return local if s.astimezone(UTC) <= t else s
            d += ONE_DAY
        return None

    # ------------------------------------------------------------ working-day arithmetic

    def add_working_days(self, start: date, n: int) -> date:
        """The day `n` open days after `start` (`start` itself does not count; n=0 → `start`).

        Used for promised deadlines (承诺件): accepted on Friday + 3 → the next Wednesday.
        Raises ValueError for negative `n` or when no open day comes for `SEARCH_DAYS` days.
        """
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        d = start
        closed_run = 0
        while n > 0:
            d += ONE_DAY
            if self.is_open_day(d):
                n -= 1
                closed_run = 0
            else:
                closed_run += 1
                if closed_run > SEARCH_DAYS:
                    raise ValueError(f"no open day within {SEARCH_DAYS} days after {start}")
        return d

    def working_days_between(self, a: date, b: date) -> int:
        """Number of open days d with a < d <= b (0 when b <= a)."""
        count = 0
        d = a + ONE_DAY
        while d <= b:
            if self.is_open_day(d):
                count += 1
            d += ONE_DAY
        return count


def _clock_pair(p: Period) -> tuple[tuple[int, int], tuple[int, int]]:
    return _clock(p.start), _clock(p.end)


def _matches(c: Closure, d: date) -> bool:
    if d.isoweekday() != c.weekday:
        return False
    if c.kind == "weekly":
        return True
    if c.kind == "last-weekday-of-month":
        return (d + timedelta(days=7)).month != d.month
    raise ValueError(f"unknown closure kind {c.kind!r}")


def _elapsed(s: datetime, e: datetime) -> timedelta:
    """Absolute time between two aware datetimes (same-zone subtraction ignores DST)."""
    return e.astimezone(UTC) - s.astimezone(UTC)
