"""Per-hall, per-day facts derived from the merged events, computed on request.

Nothing here is stored: every call reads the events table (`CentralStore.select_bodies`, one
SQL query per kind group over a `ts_true` range with the body fields extracted by the
database's JSON functions) and folds the rows into plain dataclasses. A hall that comes back
after a week offline therefore changes every figure its late events touch the next time a
report is asked for — there is no projection table to fall out of step.

Days are the hall's local days (its calendar's time zone): tickets and punches carry the
hall's own `service_date`; everything else is bucketed by the local date of `ts_true` (true
time, re-based after clock corrections).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sync.kernel.calendar import HallCalendar
from sync.kernel.leave import halves_on, shortened, slot_halves
from sync.kernel.schedule import Schedule, overrides_of

from .config import HallEntry

CASE_OUTCOMES = ("promised", "joint", "gaps")  # outcomes that open a case with a deadline


# ---------------------------------------------------------------- who is who (from the config)


@dataclass
class Directory:
    """Names and ownership from the hall configurations central pushes down."""

    halls: dict[str, HallEntry]
    calendars: dict[str, HallCalendar] = field(default_factory=dict)

    @classmethod
    def of(cls, entries: list[HallEntry]) -> "Directory":
        d = cls({h.id: h for h in entries})
        d.calendars = {h.id: HallCalendar(h.business.calendar) for h in entries}
        return d

    def tz(self, hall: str) -> ZoneInfo:
        cal = self.calendars.get(hall)
        return cal.tz if cal else ZoneInfo("Asia/Shanghai")

    def local_date(self, hall: str, ts: int) -> date:
        return datetime.fromtimestamp(ts / 1e6, self.tz(hall)).date()

    def hall_name(self, hall: str) -> str:
        h = self.halls.get(hall)
        return h.name if h else hall

    def campus(self, hall: str) -> str:
        h = self.halls.get(hall)
        return h.campus if h else ""

    def campus_name(self, hall: str) -> str:
        h = self.halls.get(hall)
        return (h.campus_name or h.campus) if h else ""

    def department_name(self, department: str) -> str:
        for h in self.halls.values():
            for d in h.business.catalog.departments:
                if d.id == department:
                    return d.name
        return department

    def window(self, hall: str, window: str):
        h = self.halls.get(hall)
        if h:
            for w in h.business.windows:
                if w.id == window:
                    return w
        return None

    def window_department(self, hall: str, window: str | None) -> str:
        w = self.window(hall, window) if window else None
        return w.department if w else ""

    def window_name(self, hall: str, window: str) -> str:
        w = self.window(hall, window)
        return w.name if w else window

    def staff(self, hall: str, staff: str):
        h = self.halls.get(hall)
        if h:
            for s in h.business.staff:
                if s.id == staff:
                    return s
        return None

    def staff_department(self, hall: str, staff: str | None) -> str:
        s = self.staff(hall, staff) if staff else None
        return s.department if s else ""

    def staff_name(self, hall: str, staff: str) -> str:
        s = self.staff(hall, staff)
        return s.name if s else staff


def day_range_us(d: Directory, start: date, end: date) -> tuple[int, int]:
    """A ts_true range safely covering local days start..end (inclusive) in every hall's zone:
    one day of slack each side; callers filter by the hall's local date."""
    lo = datetime.combine(start - timedelta(days=1), time(), ZoneInfo("UTC"))
    hi = datetime.combine(end + timedelta(days=2), time(), ZoneInfo("UTC"))
    return int(lo.timestamp() * 1_000_000), int(hi.timestamp() * 1_000_000)


def _int(v) -> int | None:
    return None if v is None else int(v)


# ---------------------------------------------------------------- visits


@dataclass
class Visit:
    hall: str
    ticket: str
    day: date  # the ticket's service_date
    department: str  # the department that owns it at the end (after transfers)
    item: str | None
    issued: int
    called: int | None = None
    started: int | None = None
    completed: int | None = None
    outcome: str | None = None
    window: str | None = None
    staff: str | None = None
    case: str | None = None
    deadline: str | None = None
    no_show: bool = False
    transferred: int = 0

    @property
    def wait_seconds(self) -> float | None:
        return None if self.called is None else (self.called - self.issued) / 1e6

    @property
    def service_seconds(self) -> float | None:
        if self.started is None or self.completed is None:
            return None
        return (self.completed - self.started) / 1e6


TICKET_KINDS = ["ticket.issued", "ticket.called", "ticket.started", "ticket.completed", "ticket.no_show",
                "ticket.transferred"]
TICKET_FIELDS = ["ticket", "department", "item", "service_date", "window", "staff", "outcome", "case", "deadline",
                 "to_department"]


def visits(store, d: Directory, start: date, end: date, halls: list[str] | None = None) -> list[Visit]:
    """Every ticket issued for a service day in start..end, with what happened to it."""
    lo, hi = day_range_us(d, start, end)
    hi += 2 * 86_400_000_000  # a ticket's later events (a rare overnight case) still count
    rows = store.select_bodies(TICKET_KINDS, lo, hi, TICKET_FIELDS, halls)
    out: dict[tuple[str, str], Visit] = {}
    for hall, kind, ts, ticket, dept, item, sdate, window, staff, outcome, case, deadline, to_dept in rows:
        key = (hall, ticket)
        if kind == "ticket.issued":
            day = date.fromisoformat(sdate)
            if start <= day <= end:
                out[key] = Visit(hall=hall, ticket=ticket, day=day, department=dept, item=item, issued=ts)
            continue
        v = out.get(key)
        if v is None:
            continue
        if kind == "ticket.called":
            if v.called is None:
                v.called = ts
            v.window, v.staff = window, staff
        elif kind == "ticket.started":
            v.started = ts
            v.window, v.staff = window, staff
        elif kind == "ticket.completed":
            v.completed, v.outcome, v.case, v.deadline = ts, outcome, case, deadline
            v.window, v.staff = window, staff
            if item:
                v.item = item
        elif kind == "ticket.no_show":
            v.no_show = True
        elif kind == "ticket.transferred":
            v.transferred += 1
            v.department = to_dept or v.department
    return list(out.values())


# ---------------------------------------------------------------- ratings


@dataclass
class Rating:
    hall: str
    ticket: str
    window: str
    staff: str | None
    department: str
    level: int
    day: date


def ratings(store, d: Directory, start: date, end: date, halls: list[str] | None = None) -> list[Rating]:
    """Ratings given on local days start..end."""
    lo, hi = day_range_us(d, start, end)
    rows = store.select_bodies(["rating.given"], lo, hi, ["ticket", "window", "staff", "department", "level"], halls)
    out = []
    for hall, _kind, ts, ticket, window, staff, dept, level in rows:
        day = d.local_date(hall, ts)
        if start <= day <= end:
            out.append(Rating(hall=hall, ticket=ticket, window=window, staff=staff,
                              department=dept or d.window_department(hall, window), level=int(level), day=day))
    return out


def rated_tickets(store, d: Directory, start: date, end: date, halls: list[str] | None = None) -> set[tuple[str, str]]:
    """(hall, ticket) of every rating given from `start` to two days after `end`: a visit is
    rated when its rating exists at all, even just after the report's range."""
    lo, hi = day_range_us(d, start, end + timedelta(days=2))
    return {(r[0], r[3]) for r in store.select_bodies(["rating.given"], lo, hi, ["ticket"], halls)}


# ---------------------------------------------------------------- attendance


@dataclass
class StaffMonth:
    hall: str
    staff: str
    department: str
    present: int = 0  # days with a punch (closed-day punches excluded)
    late: int = 0
    early: int = 0
    absent: int = 0
    missing: int = 0  # punch slots of a present day without a punch
    leave_days: int = 0
    violations: int = 0  # window.step_away_violation
    step_aways: int = 0  # window.paused
    expected: int = 0  # open days the staff member was expected (A-role, up to `today`)

    @property
    def incidents(self) -> int:
        return self.late + self.early + self.absent + self.missing + self.violations


def schedules(store, d: Directory, end: date, halls: list[str]) -> dict[str, Schedule]:
    """Each hall's schedule (sync.kernel.schedule, the model the hall counts with) with the
    manager's window overrides up to local day `end`."""
    _lo, hi = day_range_us(d, end, end)
    rows: dict[str, list] = {h: [] for h in halls}
    for hall, kind, ts, window in store.select_bodies(["window.opened", "window.withdrawn"], 0, hi, ["window"],
                                                       halls):
        rows.setdefault(hall, []).append((datetime.fromtimestamp(ts / 1e6, d.tz(hall)), window,
                                          "opened" if kind == "window.opened" else "withdrawn"))
    return {h: Schedule(d.halls[h].business, d.calendars[h], overrides_of(rows.get(h, [])))
            for h in halls if h in d.halls}


def leave_days(store, d: Directory, lo_day: date, hi_day: date, halls) -> dict[tuple[str, str], dict[date, set[str]]]:
    """Halves of each day of lo_day..hi_day covered by approved leave, per (hall, staff):
    {day: {"am", "pm"}}. Every approval and 销假 counts whenever it came (after-the-fact leave
    approved after the month still excuses its days, as at the hall) [J 28, C 9]; the arithmetic
    is sync.kernel.leave, the hall's."""
    rows = store.select_bodies(["leave.requested", "leave.approved", "leave.ended"], 0, 2 ** 62,
                               ["leave", "staff", "start", "end", "start_half", "end_half", "returned",
                                "returned_half"], halls)
    spans: dict[tuple[str, str], list] = {}
    approved: set[tuple[str, str]] = set()
    for hall, kind, _ts, leave, staff, s, e, sh, eh, ret, rh in rows:
        key = (hall, leave)
        if kind == "leave.requested":
            spans[key] = [staff, date.fromisoformat(s), sh or "am", date.fromisoformat(e), eh or "pm"]
        elif kind == "leave.approved":
            approved.add(key)
        elif key in spans and spans[key] is not None and ret:
            _staff, st, sth, en, enh = spans[key]
            cut = shortened(st, sth, en, enh, date.fromisoformat(ret), rh or "am")
            spans[key] = None if cut is None else [_staff, st, sth, cut[0], cut[1]]
    out: dict[tuple[str, str], dict[date, set[str]]] = {}
    for key in approved:
        sp = spans.get(key)
        if sp is None:
            continue
        staff, st, sth, en, enh = sp
        day = max(st, lo_day)
        while day <= min(en, hi_day):
            h = halves_on(st, sth, en, enh, day)
            if h:
                out.setdefault((key[0], staff), {}).setdefault(day, set()).update(h)
            day += timedelta(days=1)
    return out


@dataclass
class StaffDay:
    """What one staff member's events say about one local day: the day's punches (their
    service_date; closed-day punches excluded), step-aways and violations (local date of ts)."""

    hall: str
    staff: str
    day: date
    punched: bool = False
    slots: set[int] = field(default_factory=set)  # in/out punch slots filled
    late: int = 0
    early: int = 0
    step_aways: int = 0
    violations: int = 0


def staff_days(store, d: Directory, start: date, end: date,
               halls: list[str] | None = None) -> dict[tuple[str, str, date], StaffDay]:
    """Per (hall, staff, local day) of start..end: the facts `attendance` folds into months."""
    lo, hi = day_range_us(d, start, end)
    out: dict[tuple[str, str, date], StaffDay] = {}

    def at(hall: str, staff: str, day: date) -> StaffDay:
        key = (hall, staff, day)
        if key not in out:
            out[key] = StaffDay(hall=hall, staff=staff, day=day)
        return out[key]

    for hall, _k, _ts, staff, kind, cls, slot, sdate in store.select_bodies(
            ["attendance.punch"], lo, hi, ["staff", "kind", "classification", "slot", "service_date"], halls):
        day = date.fromisoformat(sdate)
        if not start <= day <= end or cls == "closed_day":
            continue
        r = at(hall, staff, day)
        r.punched = True
        if kind in ("in", "out") and slot is not None:
            r.slots.add(int(slot))
        if kind == "in" and cls == "late":
            r.late += 1
        elif kind == "out" and cls == "early":
            r.early += 1
    for hall, kind, ts, staff in store.select_bodies(
            ["window.step_away_violation", "window.paused"], lo, hi, ["staff"], halls):
        day = d.local_date(hall, ts)
        if start <= day <= end:
            r = at(hall, staff, day)
            if kind == "window.paused":
                r.step_aways += 1
            else:
                r.violations += 1
    return out


@dataclass
class StaffTotals:
    """One staff member's staff-day facts over a range: punched days with the number of slots
    filled, and the summed counts (the input of `fold_attendance`)."""

    days: dict[date, int] = field(default_factory=dict)
    late: int = 0
    early: int = 0
    step_aways: int = 0
    violations: int = 0


def totals_of(days: dict[tuple[str, str, date], StaffDay]) -> dict[tuple[str, str], StaffTotals]:
    out: dict[tuple[str, str], StaffTotals] = {}
    for (hall, staff, day), f in days.items():
        t = out.setdefault((hall, staff), StaffTotals())
        if f.punched:
            t.days[day] = len(f.slots)
        t.late += f.late
        t.early += f.early
        t.step_aways += f.step_aways
        t.violations += f.violations
    return out


def first_days(store, d: Directory, halls: list[str]) -> dict[str, date]:
    """Each hall's first local day with any event at central: before it the hall did not run
    onestop (or its records never came), so nobody can be counted absent there."""
    out = {}
    for hall in halls:
        ts = store.first_event_ts(hall)
        if ts is not None:
            out[hall] = d.local_date(hall, int(ts))
    return out


def fold_attendance(d: Directory, start: date, end: date, hall_ids: list[str], today: date,
                    totals: dict[tuple[str, str], StaffTotals],
                    leave: dict[tuple[str, str], dict[date, set[str]]],
                    since: dict[str, date] | None = None,
                    sched: dict[str, Schedule] | None = None) -> list[StaffMonth]:
    """Staff totals of start..end into report rows: days absent and punch slots missed (open
    days up to the day before `today`, from the hall's first day with records on when `since`
    gives it; a hall with no records at all expects nothing), leave days. A-role staff and
    staff on a duty roster always get a row.

    A day counts for a staff member only when the schedule (`sched`, sync.kernel.schedule: the
    model the hall counts with) expects them there — one of their A-role windows is open that
    day and they are on shift there, or on a rostered vacation duty day a window of their duty
    entry is open — or they punched: staff of a periodic window are never absent on the days it
    is closed (semester schedules included), a flexible window's staff only on the days it was
    opened, staff of a rotating window only on their shifts, and on a duty day only the duty
    staff [B 7, B 10, B 14, J 9, J 29, U 22, B 29]. Such
    days feed rankings, awards and the allowance [B 14, J 33]. A day whose punch slots are all in
    halves on leave counts as leave; a day half on leave is judged by its other half's slots: a
    punched day as present (missing slots of the other half counted), no punch as absent — as the
    hall's day report (sync.kernel.leave.slot_halves) [J 27, B 28, C 9, J 28]."""
    out: dict[tuple[str, str], StaffMonth] = {}
    for (hall, staff), t in totals.items():
        out[(hall, staff)] = StaffMonth(hall=hall, staff=staff, department=d.staff_department(hall, staff),
                                        late=t.late, early=t.early, step_aways=t.step_aways,
                                        violations=t.violations)
    for hall in hall_ids:
        entry, cal = d.halls.get(hall), d.calendars.get(hall)
        if entry is None:
            continue
        per_day = entry.business.rules.attendance.punches_per_day
        hs = (sched or {}).get(hall) or Schedule(entry.business, cal)
        for s in entry.business.staff:
            if hs.ever_expected(s.id) and (hall, s.id) not in out:  # A-role or on a duty roster
                out[(hall, s.id)] = StaffMonth(hall=hall, staff=s.id, department=s.department)
        open_days: list[tuple[date, int]] = []
        day = start
        if since is not None:
            day = max(start, since.get(hall, end + timedelta(days=1)))
        while day <= end and day < today:
            if cal.is_open_day(day):
                open_days.append((day, slot_halves(len(cal.periods_on(day)), per_day)))
            day += timedelta(days=1)
        slot_count = {day: len(halves) for day, halves in open_days}
        for (h, staff), r in out.items():
            if h != hall:
                continue
            t = totals.get((h, staff))
            days = t.days if t else {}
            on_leave = leave.get((h, staff))
            # slots counted per open day: all of them, less the halves on leave
            n_of = slot_count if not on_leave else {
                day: sum(1 for x in halves if x not in on_leave[day]) if day in on_leave else len(halves)
                for day, halves in open_days}
            punched = [(n_of[day], slots) for day, slots in days.items() if day in n_of]
            absent_n = [n for day, n in n_of.items() if day not in days and hs.expected(staff, day)]
            absent = sum(1 for n in absent_n if n)  # scheduled, no punch, not all on leave
            leave_days = sum(1 for n in absent_n if not n) + sum(1 for n, _s in punched if not n)
            expected = absent + sum(1 for n, _s in punched if n)
            missing = sum(n - slots for n, slots in punched if n > slots)
            r.expected += expected
            r.absent += absent
            r.missing += missing
            r.leave_days += leave_days
            r.present = len(days)
    return sorted(out.values(), key=lambda r: (r.hall, r.department, r.staff))


def attendance(store, d: Directory, start: date, end: date, halls: list[str] | None = None,
               today: date | None = None) -> list[StaffMonth]:
    """Per staff member of start..end: the edge's punch classifications summed, plus days
    absent and punch slots missed (open days up to the day before `today`), leave, step-aways."""
    today = today or date.today()
    hall_ids = halls if halls is not None else list(d.halls)
    totals = totals_of(staff_days(store, d, start, end, halls))
    return fold_attendance(d, start, end, hall_ids, today, totals, leave_days(store, d, start, end, halls),
                           first_days(store, d, hall_ids), schedules(store, d, end, hall_ids))


# ---------------------------------------------------------------- cases (承诺件)


@dataclass
class Case:
    hall: str
    case: str
    deadline: date
    window: str | None
    staff: str | None
    department: str
    finished: date | None = None
    result: str | None = None

    def state(self, today: date) -> str:
        """on_time | late | overdue (unfinished, deadline passed) | open"""
        if self.finished is not None:
            return "on_time" if self.finished <= self.deadline else "late"
        return "overdue" if today > self.deadline else "open"


def cases(store, d: Directory, vs: list[Visit]) -> list[Case]:
    """The cases with a promised deadline opened by these visits, with their finish day."""
    out = {}
    for v in vs:
        if v.outcome in CASE_OUTCOMES and v.case and v.deadline:
            out[(v.hall, v.case)] = Case(hall=v.hall, case=v.case, deadline=date.fromisoformat(v.deadline),
                                         window=v.window, staff=v.staff, department=v.department)
    if not out:
        return []
    first = min(v.issued for v in vs)
    halls = sorted({h for h, _ in out})
    for hall, _k, ts, case, result in store.select_bodies(["case.finished"], first, 2**62, ["case", "result"],
                                                         halls):
        c = out.get((hall, case))
        if c is not None and c.finished is None:
            c.finished, c.result = d.local_date(hall, ts), result
    return list(out.values())


# ---------------------------------------------------------------- closing checks


def closing_checks(store, d: Directory, start: date, end: date, halls: list[str] | None = None) -> dict:
    """Per (hall, service_date): the last closing check's result and how many alarms rang."""
    lo, hi = day_range_us(d, start, end)
    out: dict[tuple[str, str], dict] = {}
    for hall, kind, _ts, sdate, ok in store.select_bodies(["closing.checked", "closing.alarm"], lo, hi,
                                                          ["service_date", "ok"], halls):
        if not start <= date.fromisoformat(sdate) <= end:
            continue
        r = out.setdefault((hall, sdate), {"ok": None, "alarms": 0})
        if kind == "closing.alarm":
            r["alarms"] += 1
        else:
            r["ok"] = ok in (1, True, "true", "1")
    return out
