"""What a caller may see (`Scope`) and the period parameters every report and record list takes.

A `Scope` limits what a caller sees: central admin everything, a department head their
department (in every hall), a hall manager their hall.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from .errors import BadRequest


@dataclass(frozen=True)
class Scope:
    role: str = "admin"  # admin | department | hall
    department: str | None = None
    hall: str | None = None

    def halls(self, d, wanted: str | None = None) -> list[str] | None:
        """Hall ids to query (None = every hall); `d` is the hall directory (central.projections)."""
        if wanted is not None and wanted not in d.halls:
            raise BadRequest(f"unknown hall {wanted!r}")
        if self.role == "hall":
            return [self.hall] if wanted in (None, self.hall) else []
        return [wanted] if wanted else None

    def department_ok(self, department: str | None) -> bool:
        return self.role != "department" or department == self.department


ADMIN = Scope()

# Every day a caller names (a period, `today`, `as_of`, a form date) lies in these years: the
# date arithmetic of the reports (a day either side, the next month) never leaves Python's
# date range, and the microsecond times never overflow the databases' 64-bit integers.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)


def check_day(day: date, what: str = "date") -> date:
    """`day`, or BadRequest when it lies outside FIRST_DAY … LAST_DAY."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadRequest(f"{what} must lie between {FIRST_DAY} and {LAST_DAY}, got {day}")
    return day


def parse_month(value: str | None) -> tuple[date, date]:
    m = re.fullmatch(r"(\d{4})-(\d{2})", value or "")
    if not m or not 1 <= int(m.group(2)) <= 12 or not 1 <= int(m.group(1)):
        raise BadRequest(f"month must be YYYY-MM, got {value!r}")
    start = check_day(date(int(m.group(1)), int(m.group(2)), 1), "month")
    nxt = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start, nxt - timedelta(days=1)


def parse_range(start: str | None, end: str | None) -> tuple[date, date]:
    try:
        s, e = date.fromisoformat(start or ""), date.fromisoformat(end or "")
    except ValueError:
        raise BadRequest(f"start and end must be dates YYYY-MM-DD, got {start!r} and {end!r}") from None
    check_day(s, "start")
    check_day(e, "end")
    if e < s:
        raise BadRequest("end is before start")
    if (e - s).days > 400:
        raise BadRequest("a range spans at most 400 days")
    return s, e


def parse_period(value: str | None) -> tuple[date, date]:
    """month:YYYY-MM | semester:YYYY-1 (Sep 1 YYYY – Jan 31 YYYY+1) | semester:YYYY-2 (Feb 1 –
    Aug 31 of YYYY+1; YYYY names the academic year's start) | year:YYYY."""
    kind, _, arg = (value or "").partition(":")
    if kind == "month":
        return parse_month(arg)
    if kind == "year" and re.fullmatch(r"\d{4}", arg) and int(arg) >= 1:
        return check_day(date(int(arg), 1, 1), "year"), check_day(date(int(arg), 12, 31), "year")
    m = re.fullmatch(r"(\d{4})-([12])", arg)
    if kind == "semester" and m and int(m.group(1)) >= 1:
        y = int(m.group(1))
        check_day(date(y, 9, 1), "semester")
        if m.group(2) == "1":
            return date(y, 9, 1), check_day(date(y + 1, 1, 31), "semester")
        return check_day(date(y + 1, 2, 1), "semester"), check_day(date(y + 1, 8, 31), "semester")
    raise BadRequest(f"period must be month:YYYY-MM, semester:YYYY-1|YYYY-2 or year:YYYY, got {value!r}")
