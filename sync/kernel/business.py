"""The hall's business configuration: catalog, calendar, windows, roster and rules.

These types are part of the wire contract: a hall starts with the business configuration in its
TOML file and later receives newer versions from central (config downlink), so they live in
`sync/` where both ends can use them. Every struct is strict: an unknown field is an error.
Field documentation: docs/configuration.md.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct, field

Id = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
ClockTime = Annotated[str, Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")]
Weekday = Annotated[int, Meta(ge=1, le=7)]  # ISO: 1 = Monday … 7 = Sunday
NonNegative = Annotated[int, Meta(ge=0)]


class Strict(Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    pass


# ---------------------------------------------------------------- catalog (办事指南)


class Material(Strict, kw_only=True):
    """One required material of a service item."""

    id: Id
    name: str
    copies: str = ""  # e.g. "原件1份，复印件1份"
    note: str = ""
    gap_allowed: bool = False  # may be missing under 容缺受理 and supplied later


HandlingMode = Literal["instant", "promised", "joint"]


class Item(Strict, kw_only=True):
    """A service item (服务事项) with its public guide."""

    id: Id
    name: str
    department: Id
    audience: str  # 服务对象
    basis: str  # 办理依据
    process: list[str]  # 办理流程, one step per entry
    materials: list[Material] = []
    location: str = ""
    mode: HandlingMode = "instant"
    promise_days: NonNegative = 0  # 承诺时限, working days; 0 = done on the spot
    co_departments: list[Id] = []  # joint (联办) items: the contributing departments
    forms: list[str] = []  # 标准表格
    fee: str = "不收费"
    service_minutes: Annotated[int, Meta(ge=1, le=240)] = 8  # typical time at the window
    appointment: bool = False  # 预约 recommended for this item
    keywords: list[str] = []


class Department(Strict, kw_only=True):
    """A window unit (窗口单位)."""

    id: Id
    name: str
    prefix: Annotated[str, Meta(pattern=r"^[A-Z]{1,2}$")]  # ticket number prefix, "A" → A001
    phone: str = ""
    description: str = ""


class Catalog(Strict, kw_only=True):
    departments: list[Department]
    items: list[Item]


# ---------------------------------------------------------------- calendar


class Period(Strict, kw_only=True):
    """A work period of a working day, local time."""

    start: ClockTime
    end: ClockTime


class Closure(Strict, kw_only=True):
    """A recurring closure: the hall closes at `start` (until `end`) on matching days.

    kind ``weekly``: every `weekday`; kind ``last-weekday-of-month``: the last `weekday` of each
    month (e.g. the last Wednesday afternoon, set aside for staff study).
    """

    kind: Literal["weekly", "last-weekday-of-month"]
    weekday: Weekday
    start: ClockTime = "00:00"
    end: ClockTime = "24:00"
    name: str = ""


class Holiday(Strict, kw_only=True):
    """Public holiday or other closed range (inclusive dates)."""

    start: date
    end: date
    name: str = ""


class Workday(Strict, kw_only=True):
    """A make-up working day (调休上班) on what would otherwise be a weekend."""

    date: date
    name: str = ""


class Vacation(Strict, kw_only=True):
    """School vacation: the hall is closed except on the listed duty days (值班)."""

    start: date
    end: date
    name: str = ""
    duty_days: list[date] = []
    duty_periods: list[Period] = []  # empty: the normal periods


class Calendar(Strict, kw_only=True):
    timezone: str = "Asia/Shanghai"
    periods: list[Period] = field(
        default_factory=lambda: [Period(start="08:00", end="11:30"), Period(start="13:00", end="16:30")]
    )
    weekend: list[Weekday] = field(default_factory=lambda: [6, 7])
    closures: list[Closure] = []
    holidays: list[Holiday] = []
    workdays: list[Workday] = []
    vacations: list[Vacation] = []


# ---------------------------------------------------------------- windows and roster


class DateRange(Strict, kw_only=True):
    start: date
    end: date
    name: str = ""


class Semester(Strict, kw_only=True):
    """A periodic window's opening weekdays for one semester (or any date range) [B 10]."""

    start: date
    end: date
    weekdays: list[Weekday]  # required: `[]` closes the window for the range
    name: str = ""


class Rotation(Strict, kw_only=True):
    """Rotating shifts (轮班) of a window's A-role staff [B 14]: `staff[0]` is on shift for the
    `every_days` calendar days from `start`, then `staff[1]`, … and round again (the cycle runs
    backwards before `start` too)."""

    start: date
    every_days: Annotated[int, Meta(ge=1)] = 7
    staff: list[Id]


class Window(Strict, kw_only=True):
    """A service window. ``fixed``: open every working day; ``periodic``: open on `weekdays`
    only (or the weekdays of the `schedules` entry in force) [B 7, B 10]; ``flexible``
    (机动窗口, 潮汐式办公): open in its `peaks` or when the hall manager opens it [J 9].
    `rotation`: its A-role staff take shifts [B 14]."""

    id: Id
    name: str  # what the board shows, e.g. "3号窗口"
    department: Id
    kind: Literal["fixed", "periodic", "flexible"] = "fixed"
    weekdays: list[Weekday] = []
    schedules: list[Semester] = []
    peaks: list[DateRange] = []
    rotation: Rotation | None = None


class Duty(Strict, kw_only=True):
    """A vacation duty roster entry (值班安排) [J 29, U 22, B 29]: on `days` (duty days of a
    vacation) `staff` of `department` are on duty at `windows` (empty: every window of the
    department at the hall). Duty staff need not be A- or B-role."""

    days: list[date]
    department: Id
    staff: list[Id]
    windows: list[Id] = []


class Staff(Strict, kw_only=True):
    """A staff member stationed at the hall. `windows`: their A-role windows; `backup_for`:
    windows where they stand in as B (AB岗)."""

    id: Id
    name: str
    department: Id
    phone: str = ""
    title: str = ""
    card: str = ""  # badge id as the reader reports it (10 hex digits, upper case) or decimal
    kind: Literal["employee", "student"] = "employee"
    windows: list[Id] = []
    backup_for: list[Id] = []
    head: bool = False  # 窗口负责人 / 首席代表
    pin_hash: str = ""  # console PIN hash; `onestop-edge --hash-pin` makes one
    # 亮身份 on the display board [J 18, H 5]: a photo's file name in the hall's `[display]
    # photos_dir` (a plain name, no folders) and the service pledge (服务承诺); the post (岗位) is `title`
    photo: Annotated[str, Meta(pattern=r"^([A-Za-z0-9_][A-Za-z0-9_.-]{0,99}\.(jpg|jpeg|png|webp))?$")] = ""
    pledge: Annotated[str, Meta(max_length=120)] = ""


class Manager(Strict, kw_only=True):
    """A hall manager login (hall settings page)."""

    id: Id
    name: str
    password_hash: str


RatingLevel = Annotated[int, Meta(ge=1, le=5)]  # 5 = 非常满意 … 1 = 非常不满意

# The national five-level scale (一次一评), best first; `RATING_LABELS[level]`.
RATING_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


class LeaveKind(Strict, kw_only=True):
    """A kind of leave (请假类别) [C 9, J 28, U 23, B 30]."""

    id: Id
    name: str
    advance_working_days: NonNegative = 1  # must be requested this many working days ahead (0: same day)
    certificate: bool = False  # approval needs a certificate (sick leave: a hospital's)
    # who approves [C 9]: "hall" = the chief representative / window head or a hall manager;
    # "department" = the home department (进驻部门) consents, the approval names who [C 9(3)]
    approver: Literal["hall", "department"] = "hall"


def _default_leave_kinds() -> list[LeaveKind]:
    return [
        LeaveKind(id="official", name="公假"),
        LeaveKind(id="sick", name="病假", advance_working_days=0, certificate=True),
        LeaveKind(id="personal", name="事假"),
        LeaveKind(id="annual", name="年假", approver="department"),
    ]


class Attendance(Strict, kw_only=True):
    """Attendance (考勤) [J 27, B 28]: punches at the hall reader classified against the calendar."""

    punches_per_day: Literal[2, 4] = 2  # 2: in at opening, out at closing; 4: in/out around every period
    late_grace_minutes: NonNegative = 0  # an in-punch this long after the slot is still on time
    early_grace_minutes: NonNegative = 0  # an out-punch this long before the slot is still on time
    duplicate_window_seconds: NonNegative = 60  # repeated punches within this count once
    window_reader_punches: bool = False  # a badge at a window reader also counts as a punch
    window_reader_sign_off_seconds: Annotated[int, Meta(ge=1, le=120)] = 10  # 2nd tap after a badge pause signs off
    # staff leave only after serving whoever took a number [U 21, B 28, C 11(6)]: a sign-off that
    # would leave the department's waiting visitors without a serving window is refused unless
    # the hall manager confirms it (recorded)
    refuse_sign_off_while_waiting: bool = True
    leave_kinds: list[LeaveKind] = field(default_factory=_default_leave_kinds)
    # leave may be requested after it began (事后补办请假手续 [J 28]) up to this many working days
    # after its first day; 0: only ahead
    leave_after_days: NonNegative = 3


class Ratings(Strict, kw_only=True):
    """Ratings (好差评) at the window's five buttons, one per service (一次一评)."""

    window_seconds: Annotated[int, Meta(ge=5, le=3600)] = 120  # buttons rate the last service this long
    followup_days: Annotated[int, Meta(ge=1)] = 5  # working days to follow up a bad rating
    followup_levels: list[RatingLevel] = field(default_factory=lambda: [1, 2])  # levels that open a follow-up


class Closing(Strict, kw_only=True):
    """The end-of-day check [J 42, U 31, B 39]: doors closed, lights/air-conditioning/computers/printers off."""

    check_within_minutes: Annotated[int, Meta(ge=1)] = 30  # after the last period and the last service
    alarm_repeat_minutes: Annotated[int, Meta(ge=1)] = 5  # a failed check alarms again this often
    max_extension_minutes: Annotated[int, Meta(ge=0)] = 120  # check even if numbers are still open this late


class Rules(Strict, kw_only=True):
    """Hall rules; every number is a default the institution may change."""

    no_show_after_recalls: NonNegative = 2  # a no-show may be marked after this many recalls
    rejoin_limit: NonNegative = 1  # times a no-show ticket may rejoin the queue
    issue_outside_hours: bool = False  # allow taking a number when the hall is closed
    issue_before_open_minutes: NonNegative = 30  # numbers may be taken this long before opening
    # allow taking a number for a department none of whose windows has staff signed on (the
    # number waits until one opens); false: the kiosk and the API refuse it (department-closed)
    issue_without_open_window: bool = False
    gap_supply_days: Annotated[int, Meta(ge=1)] = 5  # 容缺受理: working days to supply materials
    step_away_limit_minutes: Annotated[int, Meta(ge=1)] = 15  # 离岗 limit
    # the visitor's phone page reminds them (banner, vibration) when this many numbers or fewer
    # are ahead of their ticket; 0: only when theirs is next
    remind_ahead: Annotated[int, Meta(ge=0, le=99)] = 3
    attendance: Attendance = field(default_factory=Attendance)
    ratings: Ratings = field(default_factory=Ratings)
    closing: Closing = field(default_factory=Closing)


class Business(Strict, kw_only=True):
    """Everything central may change about a hall, versioned as a whole."""

    version: NonNegative
    catalog: Catalog
    calendar: Calendar = field(default_factory=Calendar)
    windows: list[Window]
    staff: list[Staff] = []
    duty: list[Duty] = []  # vacation duty rosters of this hall
    managers: list[Manager] = []
    rules: Rules = field(default_factory=Rules)


class BusinessError(ValueError):
    """A consistency error; `path` names the field as `$.a.b[3].c`."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{message} - at `{path}`")
        self.path = path
        self.message = message


_CARD = re.compile(r"^[0-9A-F]{10}$|^[0-9]{1,20}$")
_HASH = re.compile(r"^pbkdf2_sha256\$[0-9]+\$[0-9a-f]+\$[0-9a-f]{64}$")


def _unique(path: str, ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(ids):
        if value in seen:
            raise BusinessError(f"{path}[{i}]", f"duplicate {what} {value!r}")
        seen.add(value)


def _minutes(hhmm: str) -> int:
    h, _, m = hhmm.partition(":")
    return int(h) * 60 + int(m)


def check(b: Business, root: str = "$") -> None:
    """Cross-reference checks msgspec cannot express. Raises BusinessError."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    cat = b.catalog
    depts = {d.id for d in cat.departments}
    _unique(f"{root}.catalog.departments", [d.id for d in cat.departments], "department id")
    _unique(f"{root}.catalog.departments", [d.prefix for d in cat.departments], "ticket prefix")
    _unique(f"{root}.catalog.items", [i.id for i in cat.items], "item id")
    for i, item in enumerate(cat.items):
        p = f"{root}.catalog.items[{i}]"
        if item.department not in depts:
            raise BusinessError(f"{p}.department", f"unknown department {item.department!r}")
        for j, co in enumerate(item.co_departments):
            if co not in depts or co == item.department:
                raise BusinessError(f"{p}.co_departments[{j}]", f"not another known department: {co!r}")
        if item.mode == "promised" and item.promise_days == 0:
            raise BusinessError(f"{p}.promise_days", "a promised item needs promise_days ≥ 1")
        if item.mode == "joint" and not item.co_departments:
            raise BusinessError(f"{p}.co_departments", "a joint item needs co_departments")
        _unique(f"{p}.materials", [m.id for m in item.materials], "material id")
    cal = b.calendar
    try:
        ZoneInfo(cal.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BusinessError(f"{root}.calendar.timezone", f"unknown time zone {cal.timezone!r}") from None
    if not cal.periods:
        raise BusinessError(f"{root}.calendar.periods", "at least one work period is needed")
    last_end = "00:00"
    for i, per in enumerate(cal.periods):
        if not (last_end <= per.start < per.end):
            raise BusinessError(f"{root}.calendar.periods[{i}]", "periods must be ordered and not overlap")
        last_end = per.end
    att = b.rules.attendance
    shortest = min(_minutes(p.end) - _minutes(p.start) for p in cal.periods)
    if att.late_grace_minutes + att.early_grace_minutes >= shortest:
        raise BusinessError(f"{root}.rules.attendance.late_grace_minutes",
                            f"late_grace_minutes + early_grace_minutes ({att.late_grace_minutes} + "
                            f"{att.early_grace_minutes}) must be less than the shortest work period "
                            f"({shortest} minutes): an in-punch could be on time after the out-punch may be")
    for name, ranges in (("holidays", cal.holidays), ("vacations", cal.vacations)):
        for i, r in enumerate(ranges):
            if r.end < r.start:
                raise BusinessError(f"{root}.calendar.{name}[{i}].end", "end is before start")
    weekend = set(cal.weekend)
    for i, wd in enumerate(cal.workdays):
        if wd.date.isoweekday() not in weekend:
            raise BusinessError(f"{root}.calendar.workdays[{i}].date", f"{wd.date} is not a weekend day")
    for i, c in enumerate(cal.closures):
        if c.end <= c.start:
            raise BusinessError(f"{root}.calendar.closures[{i}].end", "end must be after start")
    _unique(f"{root}.windows", [w.id for w in b.windows], "window id")
    windows = {w.id for w in b.windows}
    for i, w in enumerate(b.windows):
        if w.department not in depts:
            raise BusinessError(f"{root}.windows[{i}].department", f"unknown department {w.department!r}")
        if w.kind == "periodic" and not w.weekdays and not w.schedules:
            raise BusinessError(f"{root}.windows[{i}].weekdays", "a periodic window needs weekdays (or schedules)")
        _check_semesters(f"{root}.windows[{i}]", w)
        for j, peak in enumerate(w.peaks):
            if peak.end < peak.start:
                raise BusinessError(f"{root}.windows[{i}].peaks[{j}].end", "end is before start")
    _unique(f"{root}.staff", [s.id for s in b.staff], "staff id")
    _unique(f"{root}.staff", [s.card for s in b.staff if s.card], "card")
    win_dept = {w.id: w.department for w in b.windows}
    for i, s in enumerate(b.staff):
        p = f"{root}.staff[{i}]"
        if s.card and not _CARD.match(s.card):
            raise BusinessError(f"{p}.card", "a card id is 10 hex digits (upper case) or a decimal number")
        if s.pin_hash and not _HASH.match(s.pin_hash):
            raise BusinessError(f"{p}.pin_hash", "not a pbkdf2_sha256 hash (make one with onestop-edge --hash-pin)")
        if s.department not in depts:
            raise BusinessError(f"{p}.department", f"unknown department {s.department!r}")
        for key, lst in (("windows", s.windows), ("backup_for", s.backup_for)):
            for j, wid in enumerate(lst):
                if wid not in windows:
                    raise BusinessError(f"{p}.{key}[{j}]", f"unknown window {wid!r}")
                if win_dept[wid] != s.department:
                    raise BusinessError(f"{p}.{key}[{j}]", f"window {wid!r} belongs to another department")
    _check_rotations(root, b)
    _check_duty(root, b)
    _unique(f"{root}.rules.attendance.leave_kinds", [k.id for k in b.rules.attendance.leave_kinds], "leave kind")
    _unique(f"{root}.rules.ratings.followup_levels", [str(x) for x in b.rules.ratings.followup_levels], "level")
    _unique(f"{root}.managers", [m.id for m in b.managers], "manager id")
    for i, m in enumerate(b.managers):
        if not _HASH.match(m.password_hash):
            raise BusinessError(f"{root}.managers[{i}].password_hash",
                                "not a pbkdf2_sha256 hash (make one with onestop-edge --hash-pin)")


def _check_semesters(p: str, w: Window) -> None:
    """A periodic window's semester schedules: ordered ranges that do not overlap [B 10]."""
    if w.schedules and w.kind != "periodic":
        raise BusinessError(f"{p}.schedules", f"only a periodic window has schedules (this one is {w.kind})")
    ranges = sorted((sem.start, sem.end, j) for j, sem in enumerate(w.schedules))
    for j, sem in enumerate(w.schedules):
        if sem.end < sem.start:
            raise BusinessError(f"{p}.schedules[{j}].end", "end is before start")
    for (s1, e1, j1), (s2, _e2, j2) in zip(ranges, ranges[1:]):
        if s2 <= e1:
            raise BusinessError(f"{p}.schedules[{max(j1, j2)}]",
                                f"overlaps schedules[{min(j1, j2)}] ({s1}–{e1}): one weekday list per day")


def _check_rotations(root: str, b: Business) -> None:
    """A rota names exactly the window's A-role staff (each once) [B 14]."""
    for i, w in enumerate(b.windows):
        if w.rotation is None:
            continue
        p = f"{root}.windows[{i}].rotation"
        a_role = {s.id for s in b.staff if w.id in s.windows}
        if not w.rotation.staff:
            raise BusinessError(f"{p}.staff", "a rotation needs staff")
        _unique(f"{p}.staff", w.rotation.staff, "staff")
        for j, sid in enumerate(w.rotation.staff):
            if sid not in a_role:
                raise BusinessError(f"{p}.staff[{j}]", f"{sid!r} is not an A-role staff member of window {w.id!r}")
        missing = sorted(a_role - set(w.rotation.staff))
        if missing:
            raise BusinessError(f"{p}.staff", f"A-role staff of window {w.id!r} missing from the rotation: "
                                              + ", ".join(missing))


def _check_duty(root: str, b: Business) -> None:
    """Duty rosters [J 29, U 22, B 29]: on a vacation's duty days, known staff of the department at
    windows of the department; nobody on duty twice the same day."""
    duty_days = {d for v in b.calendar.vacations for d in v.duty_days}
    staff = {s.id: s for s in b.staff}
    win_dept = {w.id: w.department for w in b.windows}
    on_duty: dict[tuple[date, str], int] = {}
    for i, entry in enumerate(b.duty):
        p = f"{root}.duty[{i}]"
        if entry.department not in {w.department for w in b.windows}:
            raise BusinessError(f"{p}.department", f"no window of department {entry.department!r} at this hall")
        if not entry.days:
            raise BusinessError(f"{p}.days", "a duty entry needs days")
        if not entry.staff:
            raise BusinessError(f"{p}.staff", "a duty entry needs staff")
        for j, d in enumerate(entry.days):
            if d not in duty_days:
                raise BusinessError(f"{p}.days[{j}]", f"{d} is not a duty day of any vacation (calendar duty_days)")
        for j, wid in enumerate(entry.windows):
            if win_dept.get(wid) != entry.department:
                raise BusinessError(f"{p}.windows[{j}]", f"{wid!r} is not a window of department {entry.department!r}")
        _unique(f"{p}.staff", entry.staff, "staff")
        for j, sid in enumerate(entry.staff):
            s = staff.get(sid)
            if s is None:
                raise BusinessError(f"{p}.staff[{j}]", f"unknown staff {sid!r} (list them under staff)")
            if s.department != entry.department:
                raise BusinessError(f"{p}.staff[{j}]", f"{sid!r} belongs to department {s.department!r}")
            for d in entry.days:
                if (d, sid) in on_duty:
                    raise BusinessError(f"{p}.staff[{j}]", f"{sid!r} is already on duty on {d} (duty[{on_duty[(d, sid)]}])")
                on_duty[(d, sid)] = i


def encode(b: Business) -> bytes:
    return msgspec.json.encode(b)


def decode(data: bytes) -> Business:
    return msgspec.json.decode(data, type=Business)
