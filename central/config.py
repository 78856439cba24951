"""Central configuration: config/central.toml.

```toml
[central]
name = "长岭大学师生服务中心"
halls = ["halls/*.toml"]          # hall files (globs, relative to this file)
signing_key = "keys/central.key"  # Ed25519 key signing the downlink (onestop-central keygen)

[db]
url = "sqlite:///var/central/central.db"   # or postgresql://user@host:5432/db

[http]
listen = "127.0.0.1:8200"

[broker]
url = "mqtt://127.0.0.1:1883"
username = "central"
password = ""

[dashboard]
session_minutes = 30              # a login expires after this long without a request
min_ratings = 5                   # fewer ratings: pages show 数据不足 (with the count), not a rate
live_stale_seconds = 60           # live view: a hall silent this long is shown offline (halls report every 15 s)
live_refresh_seconds = 2          # live view: pushed to open pages at most this often

[assessment]                      # ranking score weights (docs/central.md)
satisfaction = 0.5
attendance = 0.3
on_time = 0.2

[followups]                       # bad-rating follow-ups (central.supervision)
fix_days = 5                      # open days of the hall's calendar from the rating to fix it; every
                                  # hall file's rules.ratings.followup_days must equal it (load refuses)

[supervision]                     # complaints and the patrol bulletin (central.supervision)
reply_days = { "一般" = 0, "需调查" = 15, "复杂" = 30 }   # reply deadline by complexity, calendar days [H 限时办结-3]
notice_bulletins = 2              # named in this many consecutive monthly bulletins: written notice [C 20]
[supervision.auto]                # 电子监察: findings raised from the halls' events (docs/central.md)
late_min = 3                      # e.g. three late arrivals in a month make one finding
[supervision.lists]               # 红黑榜 per month [C 21]
black_min = 2

[awards]                          # assessment outcomes (central.awards; docs/central.md)
complaint_points = 5.0            # score points off per upheld complaint
patrol_points = 2.0               # score points off per patrol finding
pool_per_staff = 4800             # allowance yuan per stationed staff member per year
[awards.red_flag]                 # also five_star, service_model, advanced (same fields)
count = 3                         # winners (or share = 0.1: that share of the scored candidates)
min_ratings = 20
min_good_rate = 0.95
max_incidents = 3
max_upheld_complaints = 0
max_patrol_findings = 1
[[awards.grades]]                 # best first; the last one has neither share nor min_score
name = "优秀"
share = 0.2
min_score = 90
coefficient = 1.2

[appointments]                    # booking slots (central.appointments; docs/central.md)
slot_minutes = 30                 # capacity is per slot of one item at one hall
capacity = 4
departments = { academic = 6 }    # per-department capacity (each of its items)
items = { transcript = 8 }        # per-item capacity (wins over the department's)
days_ahead = 7                    # bookable from today to today + 7
keep_phone_days = 30              # phone and name erased 30 days after the slot
before_minutes = 30               # kiosk check-in window: 30 min before to 15 min after the slot start
after_minutes = 15
max_in_row = 2                    # appointment tickets called in a row while walk-ins wait (0: no bound)

[[users]]                         # dashboard logins; role admin | department | hall
name = "admin"
display = "中心管理员"
role = "admin"
password_hash = "pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>"   # same scheme as edge PINs
# department = "academic"         # role department: the department id
# hall = "south-hall"             # role hall: the hall id
# staff = "s-101"                 # this person's roster id, if they also serve at a window: they
                                  # never handle the follow-up of their own bad rating
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct, field

from sync.kernel.business import Business
from sync.kernel.configfile import ConfigError, convert, load_hall_business, read_toml

__all__ = ["CentralConfig", "ConfigError", "HallEntry", "RedBlackLists", "Supervision", "SupervisionAuto", "User", "load"]


class Strict(Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class CentralSection(Strict, kw_only=True):
    name: str
    halls: list[str] = field(default_factory=lambda: ["halls/*.toml"])
    # the private key central signs every downlink message with (relative to this file; written
    # by `onestop-central keygen`); central does not start without it
    signing_key: str = ""


class Db(Strict, kw_only=True):
    url: str = "sqlite:///var/central/central.db"


class Http(Strict, kw_only=True):
    listen: Annotated[str, Meta(pattern=r"^[^:]+:\d{1,5}$")] = "127.0.0.1:8200"


class Broker(Strict, kw_only=True):
    url: str = "mqtt://127.0.0.1:1883"
    username: str = ""
    password: str = ""
    ca_file: str = ""
    protocol: Annotated[int, Meta(ge=4, le=5)] = 5


class Dashboard(Strict, kw_only=True):
    session_minutes: Annotated[int, Meta(ge=1, le=24 * 60)] = 30
    # below this many ratings the pages show 数据不足 and the count instead of a satisfaction rate
    min_ratings: Annotated[int, Meta(ge=1, le=10_000)] = 5
    live_stale_seconds: Annotated[float, Meta(gt=0, le=86_400)] = 60.0  # live view: no status this long = 离线
    live_refresh_seconds: Annotated[float, Meta(ge=0.1, le=60)] = 2.0  # live view: store re-read at most this often


class Assessment(Strict, kw_only=True):
    satisfaction: Annotated[float, Meta(ge=0)] = 0.5
    attendance: Annotated[float, Meta(ge=0)] = 0.3
    on_time: Annotated[float, Meta(ge=0)] = 0.2


class AwardRule(Strict, kw_only=True):
    """One award list (docs/central.md, section awards): how many winners and who is eligible."""

    count: Annotated[int, Meta(ge=0)] = 3  # winners per period
    share: Annotated[float, Meta(ge=0, le=1)] = 0.0  # > 0: this share of the ranked candidates instead
    min_ratings: Annotated[int, Meta(ge=0)] = 20
    min_good_rate: Annotated[float, Meta(ge=0, le=1)] = 0.95
    max_incidents: Annotated[int, Meta(ge=0)] = 3  # attendance incidents in the period
    max_upheld_complaints: Annotated[int, Meta(ge=0)] = 0
    max_patrol_findings: Annotated[int, Meta(ge=0)] = 1


class Grade(Strict, kw_only=True):
    """A performance grade: the best grades first; `share` caps how many of the ranked staff may
    have it, `min_score` is the score needed; the last grade has neither (everybody left)."""

    name: str
    share: Annotated[float, Meta(gt=0, le=1)] | None = None
    min_score: Annotated[float, Meta(ge=0, le=100)] | None = None
    coefficient: Annotated[float, Meta(ge=0)]


def _default_grades() -> list[Grade]:
    return [Grade(name="优秀", share=0.2, min_score=90, coefficient=1.2),
            Grade(name="良好", min_score=80, coefficient=1.0),
            Grade(name="合格", min_score=60, coefficient=0.8),
            Grade(name="不合格", coefficient=0.0)]


class Awards(Strict, kw_only=True):
    """`[awards]`: 流动红旗, 五星级窗口, 服务标兵, 先进个人, 绩效奖励津贴 [J 32–34]."""

    red_flag: AwardRule = field(default_factory=lambda: AwardRule(count=3, min_ratings=20, min_good_rate=0.95,
                                                                  max_incidents=3))
    five_star: AwardRule = field(default_factory=lambda: AwardRule(count=5, min_ratings=50, min_good_rate=0.95,
                                                                   max_incidents=6))
    service_model: AwardRule = field(default_factory=lambda: AwardRule(
        count=5, min_ratings=50, min_good_rate=0.98, max_incidents=2, max_patrol_findings=0))
    advanced: AwardRule = field(default_factory=lambda: AwardRule(count=10, min_ratings=30, min_good_rate=0.95,
                                                                  max_incidents=5))
    exclusive: bool = True  # a 服务标兵 is not also listed as 先进个人
    complaint_points: Annotated[float, Meta(ge=0)] = 5.0  # deducted per upheld complaint
    patrol_points: Annotated[float, Meta(ge=0)] = 2.0  # deducted per patrol finding
    pool_per_staff: Annotated[int, Meta(ge=0)] = 4800  # yuan per stationed staff member per year [J 33]
    grades: list[Grade] = field(default_factory=_default_grades)


class Followups(Strict, kw_only=True):
    """`[followups]`: bad-rating follow-ups at central (central.supervision)."""

    fix_days: Annotated[int, Meta(ge=1, le=60)] = 5  # open days of the hall's calendar to fix a bad rating


def _default_reply_days() -> dict[str, int]:
    return {"一般": 0, "需调查": 15, "复杂": 30}


class SupervisionAuto(Strict, kw_only=True):
    """`[supervision.auto]`: findings of electronic supervision (电子监察 [C 20]) raised at central
    from the halls' own events (central.supervision.auto); each kind on/off with its threshold."""

    step_away: bool = True  # 擅自离岗: step-aways over the hall's limit [C 9(4)]
    step_away_min: Annotated[int, Meta(ge=1, le=100)] = 1  # per staff member and month: one finding from this many
    late: bool = True  # late arrivals as the hall classified them (its late_grace_minutes) [J 27, B 28]
    late_min: Annotated[int, Meta(ge=1, le=100)] = 3
    early: bool = True  # early leaves (its early_grace_minutes) [J 27, B 28]
    early_min: Annotated[int, Meta(ge=1, le=100)] = 3
    absent: bool = True  # days absent: expected by the schedule, no punch, no leave [J 27, J 28]
    absent_min: Annotated[int, Meta(ge=1, le=100)] = 1
    overdue_cases: bool = True  # promised / joint / 容缺 cases unfinished past their deadline [B 25(2), H 8]
    overdue_case_days: Annotated[int, Meta(ge=0, le=365)] = 0  # calendar days past the deadline tolerated
    overdue_supply: bool = True  # 容缺 materials still missing after the supply date [C 11(4)]
    overdue_supply_days: Annotated[int, Meta(ge=0, le=365)] = 0
    followups: bool = True  # bad ratings not followed up by the fix deadline ([followups] fix_days)
    followup_late_days: Annotated[int, Meta(ge=0, le=365)] = 0


class RedBlackLists(Strict, kw_only=True):
    """`[supervision.lists]`: the monthly red and black lists (红黑榜 [C 21]) of windows and staff
    (central.redblack)."""

    red_count: Annotated[int, Meta(ge=0, le=100)] = 3  # red list places per level (windows, staff)
    min_ratings: Annotated[int, Meta(ge=1, le=100_000)] = 10  # ratings in the month to be ranked at all
    min_good_rate: Annotated[float, Meta(ge=0, le=1)] = 0.95  # 好评率 needed for the red list
    red_max_problems: Annotated[int, Meta(ge=0, le=100)] = 0  # problems allowed on the red list
    black_min: Annotated[int, Meta(ge=1, le=100)] = 2  # problems in the month that put one on the black list


class Supervision(Strict, kw_only=True):
    """`[supervision]`: complaint reply deadlines by complexity, calendar days from the day it was
    received (immediately / 15 days when investigation is needed / 30 days for complex cases
    [H 限时办结-3]); and the written notice to the home department of staff named in
    `notice_bulletins` consecutive monthly patrol bulletins (连续 2 次以上 [C 20]); the automatic
    findings (`auto`) and the red and black lists (`lists`)."""

    reply_days: dict[Annotated[str, Meta(min_length=1, max_length=16)], Annotated[int, Meta(ge=0, le=365)]] = field(
        default_factory=_default_reply_days)
    notice_bulletins: Annotated[int, Meta(ge=1, le=12)] = 2
    auto: SupervisionAuto = field(default_factory=SupervisionAuto)
    lists: RedBlackLists = field(default_factory=RedBlackLists)


class Appointments(Strict, kw_only=True):
    """`[appointments]`: booking slots (预约) for the items marked `appointment = true` [C 11(6),
    J 4(6)] and the check-in rules the halls apply (central.appointments, docs/central.md)."""

    slot_minutes: Annotated[int, Meta(ge=5, le=240)] = 30  # a slot's length; divides a day
    capacity: Annotated[int, Meta(ge=0, le=1000)] = 4  # bookings per slot of one item at one hall
    departments: dict[str, Annotated[int, Meta(ge=0, le=1000)]] = {}  # capacity for a department's items
    items: dict[str, Annotated[int, Meta(ge=0, le=1000)]] = {}  # capacity for one item (wins over its department)
    days_ahead: Annotated[int, Meta(ge=0, le=90)] = 7  # bookable from today to today + days_ahead
    keep_phone_days: Annotated[int, Meta(ge=0, le=3650)] = 30  # phone and name erased this long after the slot
    before_minutes: Annotated[int, Meta(ge=0, le=240)] = 30  # check-in opens this long before the slot
    after_minutes: Annotated[int, Meta(ge=0, le=240)] = 15  # and closes this long after its start
    max_in_row: Annotated[int, Meta(ge=0, le=100)] = 2  # appointment calls in a row while walk-ins wait (0: no bound)


class User(Strict, kw_only=True):
    name: str
    display: str = ""
    role: Literal["admin", "department", "hall"]
    password_hash: str
    department: str = ""
    hall: str = ""
    staff: str = ""  # the roster id (staff) of this person, if they also serve at a window


class CentralConfig(Strict, kw_only=True):
    central: CentralSection
    db: Db = field(default_factory=Db)
    http: Http = field(default_factory=Http)
    broker: Broker = field(default_factory=Broker)
    dashboard: Dashboard = field(default_factory=Dashboard)
    assessment: Assessment = field(default_factory=Assessment)
    followups: Followups = field(default_factory=Followups)
    supervision: Supervision = field(default_factory=Supervision)
    awards: Awards = field(default_factory=Awards)
    appointments: Appointments = field(default_factory=Appointments)
    users: list[User] = []


class HallEntry(msgspec.Struct, kw_only=True):
    id: str
    name: str
    campus: str
    campus_name: str
    file: str
    username: str
    password: str
    business: Business


def load(path: str | Path) -> tuple[CentralConfig, list[HallEntry]]:
    path = Path(path)
    cfg = convert(read_toml(path), CentralConfig, path)
    if cfg.central.signing_key:
        cfg.central.signing_key = str((path.parent / cfg.central.signing_key).resolve())
    halls: list[HallEntry] = []
    seen: dict[str, Path] = {}
    for i, pattern in enumerate(cfg.central.halls):
        files = sorted(path.parent.glob(pattern))
        if not files:
            raise ConfigError(f"{path}: field $.central.halls[{i}]: no hall file matches {pattern!r}")
        for f in files:
            ident, biz = load_hall_business(f)
            hid = ident["id"]
            if hid in seen:
                raise ConfigError(f"{f}: field $.hall.id: hall {hid!r} is also defined in {seen[hid]}")
            seen[hid] = f
            broker = read_toml(f).get("broker", {})
            halls.append(HallEntry(
                id=hid, name=ident.get("name", hid), campus=ident.get("campus", ""),
                campus_name=ident.get("campus_name", ""), file=str(f),
                username=broker.get("username", hid), password=broker.get("password", ""), business=biz,
            ))
    check_awards(cfg.awards, path)
    check_appointments(cfg.appointments, halls, path)
    check_supervision(cfg.supervision, path)
    for h in halls:
        check_followup_days(cfg.followups.fix_days, h.business.rules.ratings.followup_days, h.file, path)
    for i, u in enumerate(cfg.users):
        if u.role == "department" and not u.department:
            raise ConfigError(f"{path}: field $.users[{i}].department: a department head needs a department")
        if u.role == "hall" and u.hall not in seen:
            raise ConfigError(f"{path}: field $.users[{i}].hall: no hall {u.hall!r}")
        if [x.name for x in cfg.users].count(u.name) > 1:
            raise ConfigError(f"{path}: field $.users[{i}].name: user {u.name!r} is defined twice")
    return cfg, halls


def check_followup_days(fix_days: int, followup_days: int, hall_file: str | Path, path: str | Path) -> None:
    """One follow-up deadline for a bad rating: the hall counts `rules.ratings.followup_days`
    working days, central `[followups] fix_days` open days of the same calendar; a hall file
    whose number differs from central's is refused, so the two never disagree."""
    if followup_days != fix_days:
        raise ConfigError(f"{hall_file}: field $.business.rules.ratings.followup_days: {followup_days} differs from "
                          f"[followups] fix_days = {fix_days} in {path}; the bad-rating follow-up deadline must be "
                          "the same at the hall and at central")


def check_supervision(s: Supervision, path: str | Path) -> None:
    """Contradictions refused: no complexity at all; a complexity listed after another with a
    shorter reply deadline (a harder case never gets less time [H 限时办结-3]); a red list that
    tolerates as many problems as put one on the black list (nobody may be on both, [C 21])."""
    if not s.reply_days:
        raise ConfigError(f"{path}: field $.supervision.reply_days: at least one complexity is needed")
    prev = None
    for name, days in s.reply_days.items():
        if prev is not None and days < prev[1]:
            raise ConfigError(f"{path}: field $.supervision.reply_days.{name}: {days} days is less than "
                              f"{prev[0]} = {prev[1]} listed before it; list complexities from the simplest, "
                              "each with at least the days of the one before")
        prev = (name, days)
    if s.lists.red_max_problems >= s.lists.black_min:
        raise ConfigError(f"{path}: field $.supervision.lists.red_max_problems: {s.lists.red_max_problems} "
                          f"is not below black_min = {s.lists.black_min}; one window could be on the red "
                          "and the black list at once")


def check_appointments(a: Appointments, halls: list[HallEntry], path: str | Path) -> None:
    """Slots must tile a day; every override must name a department / a bookable item
    (`appointment = true`) of some hall."""
    if (24 * 60) % a.slot_minutes:
        raise ConfigError(f"{path}: field $.appointments.slot_minutes: {a.slot_minutes} does not divide a day "
                          "(24 × 60 minutes); use e.g. 15, 20, 30 or 60")
    departments = {d.id for h in halls for d in h.business.catalog.departments}
    bookable = {i.id for h in halls for i in h.business.catalog.items if i.appointment}
    for d in a.departments:
        if d not in departments:
            raise ConfigError(f"{path}: field $.appointments.departments.{d}: no department {d!r} in the hall files")
    for i in a.items:
        if i not in bookable:
            raise ConfigError(f"{path}: field $.appointments.items.{i}: no item {i!r} with appointment = true in the "
                              "hall files")


def check_awards(a: Awards, path: str | Path) -> None:
    """The grade list must be usable: unique names, shares summing to at most 1, and a last
    grade that takes everybody left (neither share nor min_score)."""
    g = a.grades
    if not g:
        raise ConfigError(f"{path}: field $.awards.grades: at least one grade is needed")
    for i, x in enumerate(g):
        if [y.name for y in g].count(x.name) > 1:
            raise ConfigError(f"{path}: field $.awards.grades[{i}].name: grade {x.name!r} is defined twice")
    last = len(g) - 1
    if g[last].share is not None or g[last].min_score is not None:
        raise ConfigError(f"{path}: field $.awards.grades[{last}]: the last grade takes everybody left, "
                          "so it has neither share nor min_score")
    if sum(x.share or 0 for x in g) > 1 + 1e-9:
        raise ConfigError(f"{path}: field $.awards.grades: the shares add up to more than 1")
