"""Supervision records kept at central (entered through the dashboard): complaints (投诉),
bad-rating follow-ups (差评回访) and patrol findings (巡查).

Storage: three tables created by migration 3 (`create_tables`), peewee models bound to the
store's database here (`models(store)`), so central.store's `Models` stays as it is.

- Complaints are routed (归口) to the department owning the person (staff → their department),
  else the window, else the service item; the central admin may re-route. Reply due date from
  the received day: 一般 the same day, 需调查 15 days, 复杂 30 days (calendar days, [H 限时办结-3]).
  Overdue = no reply and the due day has passed.
- Follow-ups are not stored per rating: the list is every `rating.given` event with level <= 2
  in the merged events; only the follow-up state is stored, keyed by (hall, event id). The fix
  deadline is the rating's local day + `[followups] fix_days` open days of the hall's calendar.
  An accepted appeal (申诉) excludes that rating from 好评率 (`excluded_ratings`).
- Patrol findings (现场巡查 / 电子监察), one row each; the monthly bulletin (通报) flags staff with
  two or more findings in the month for a written notice to their home department [C 20].

Every change goes through a function here that checks the caller's role, validates the input
(`BadRequest` with a Chinese message; nothing is written on error) and writes the change and
its audit row in one transaction.
"""

from __future__ import annotations

import json
import re
import weakref
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import peewee as pw

from .config import User
from .projections import Directory
from .reports import BadRequest, Scope, parse_month

CHANNELS = ("窗口", "电话", "信箱", "网上")
COMPLEXITY_DAYS = {"一般": 0, "需调查": 15, "复杂": 30}
OUTCOMES = ("属实", "部分属实", "不属实")
UPHELD = ("属实", "部分属实")
VERIFICATIONS = ("属实", "不属实", "无法联系")
PATROL_CATEGORIES = ("纪律", "态度", "效率", "其他")
PATROL_KINDS = ("现场巡查", "电子监察")
BAD_LEVEL = 2  # ratings of level <= 2 (不满意, 非常不满意) are followed up
NOTICE_THRESHOLD = 2  # findings in a month that trigger 书面通报派驻部门
DEFAULT_FIX_DAYS = 5


class Forbidden(Exception):
    """The caller's role may not do this (HTTP 403)."""


class NotFound(Exception):
    """No such record the caller may see (HTTP 404)."""


# ---------------------------------------------------------------- tables


@dataclass
class RecordModels:
    Complaint: type
    Followup: type
    Patrol: type

    def all(self) -> list[type]:
        return [self.Complaint, self.Followup, self.Patrol]


def _bind(db: pw.Database) -> RecordModels:
    class Base(pw.Model):
        class Meta:
            database = db

    class Complaint(Base):
        id = pw.BigAutoField()
        received_day = pw.TextField()  # YYYY-MM-DD (local)
        received_time = pw.TextField(default="")  # HH:MM (local)
        channel = pw.TextField()
        hall = pw.TextField()
        window = pw.TextField(default="")
        staff = pw.TextField(default="")
        item = pw.TextField(default="")
        department = pw.TextField()  # routed to (归口部门)
        complainant = pw.TextField(default="")  # name / contact, optional
        content = pw.TextField()
        complexity = pw.TextField()
        due = pw.TextField()  # YYYY-MM-DD
        reply = pw.TextField(default="")
        replied_at = pw.BigIntegerField(null=True)  # µs UTC
        replied_by = pw.TextField(default="")
        outcome = pw.TextField(default="")
        closed = pw.BooleanField(default=False)
        closed_at = pw.BigIntegerField(null=True)
        closed_by = pw.TextField(default="")
        routing = pw.TextField(default="[]")  # JSON list of re-routings
        created_by = pw.TextField()
        created_at = pw.BigIntegerField()

        class Meta:
            table_name = "complaints"
            indexes = ((("received_day",), False), (("department",), False), (("hall",), False))

    class Followup(Base):
        hall = pw.TextField()
        event_id = pw.TextField()  # the rating.given event this follows up
        ticket = pw.TextField(default="")
        callback_at = pw.BigIntegerField(null=True)
        callback_by = pw.TextField(default="")
        callback_note = pw.TextField(default="")
        verification = pw.TextField(default="")
        verification_note = pw.TextField(default="")
        fixed = pw.BooleanField(null=True)
        fix_note = pw.TextField(default="")
        fixed_at = pw.BigIntegerField(null=True)
        appeal = pw.TextField(default="")  # "" | pending | accepted | rejected
        appeal_reason = pw.TextField(default="")
        appeal_by = pw.TextField(default="")
        appeal_at = pw.BigIntegerField(null=True)
        decided_by = pw.TextField(default="")
        decided_at = pw.BigIntegerField(null=True)
        decision_note = pw.TextField(default="")
        updated_at = pw.BigIntegerField()

        class Meta:
            table_name = "rating_followups"
            primary_key = pw.CompositeKey("hall", "event_id")

    class Patrol(Base):
        id = pw.BigAutoField()
        day = pw.TextField()  # YYYY-MM-DD
        hall = pw.TextField()
        window = pw.TextField(default="")
        staff = pw.TextField(default="")
        category = pw.TextField()
        kind = pw.TextField()
        note = pw.TextField()
        inspector = pw.TextField()
        created_by = pw.TextField()
        created_at = pw.BigIntegerField()

        class Meta:
            table_name = "patrol_findings"
            indexes = ((("day",), False), (("hall", "staff"), False))

    return RecordModels(Complaint, Followup, Patrol)


_MODELS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def models(store) -> RecordModels:
    """The record models bound to this store's database (made once per store)."""
    m = _MODELS.get(store)
    if m is None:
        m = _MODELS[store] = _bind(store.db)
    return m


def create_tables(store) -> None:
    """Migration 3."""
    store.db.create_tables(models(store).all(), safe=True)


# ---------------------------------------------------------------- for the awards (central.awards)


def upheld_complaints(store, start: date, end: date) -> dict[tuple[str, str], int]:
    """(hall, staff) → complaints about that staff member received on days start..end whose
    outcome is 属实 or 部分属实. Complaints naming no staff member are not counted."""
    C = models(store).Complaint
    q = (C.select(C.hall, C.staff, pw.fn.COUNT(C.id))
         .where((C.received_day >= start.isoformat()) & (C.received_day <= end.isoformat())
                & C.outcome.in_(list(UPHELD)) & (C.staff != ""))
         .group_by(C.hall, C.staff))
    return {(hall, staff): n for hall, staff, n in q.tuples()}


def patrol_findings(store, start: date, end: date) -> dict[tuple[str, str], int]:
    """(hall, staff) → patrol findings about that staff member dated start..end."""
    P = models(store).Patrol
    q = (P.select(P.hall, P.staff, pw.fn.COUNT(P.id))
         .where((P.day >= start.isoformat()) & (P.day <= end.isoformat()) & (P.staff != ""))
         .group_by(P.hall, P.staff))
    return {(hall, staff): n for hall, staff, n in q.tuples()}


# ---------------------------------------------------------------- helpers


def _text(data: dict, key: str, limit: int = 2000) -> str:
    v = data.get(key)
    if v is None:
        return ""
    if isinstance(v, list):  # a repeated form field: the last one wins
        v = v[-1] if v else ""
    if not isinstance(v, (str, int, float)):
        raise BadRequest(f"字段 {key} 格式不正确")
    s = str(v).strip()
    if len(s) > limit:
        raise BadRequest(f"字段 {key} 过长（最多 {limit} 字）")
    return s


def _day(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{what}格式应为 YYYY-MM-DD，收到 {value!r}") from None


def _choice(value: str, options: tuple, what: str) -> str:
    if value not in options:
        raise BadRequest(f"{what}必须是 {'/'.join(options)} 之一，收到 {value!r}")
    return value


def _hall_of(d: Directory, user: User, hall: str) -> str:
    if not hall:
        raise BadRequest("请选择大厅")
    if hall not in d.halls:
        raise BadRequest(f"没有编号为 {hall!r} 的大厅")
    if user.role == "hall" and hall != user.hall:
        raise Forbidden("大厅管理员只能登记本大厅的记录")
    return hall


def _check_window_staff(d: Directory, hall: str, window: str, staff: str) -> None:
    if window and d.window(hall, window) is None:
        raise BadRequest(f"{d.hall_name(hall)}没有窗口 {window!r}")
    if staff and d.staff(hall, staff) is None:
        raise BadRequest(f"{d.hall_name(hall)}没有工作人员 {staff!r}")


def _item(d: Directory, hall: str, item: str):
    h = d.halls.get(hall)
    for it in (h.business.catalog.items if h else []):
        if it.id == item:
            return it
    return None


def _departments(d: Directory) -> set[str]:
    return {dep.id for h in d.halls.values() for dep in h.business.catalog.departments}


def _audit(store, user: User, action: str, detail: dict, now_us: int) -> None:
    store.audit(user.name, action, json.dumps(detail, ensure_ascii=False, sort_keys=True), now_us)


def local_now(d: Directory, hall: str | None, now_us: int) -> datetime:
    return datetime.fromtimestamp(now_us / 1e6, d.tz(hall or ""))


# ---------------------------------------------------------------- complaints


def route_department(d: Directory, hall: str, window: str = "", staff: str = "", item: str = "") -> str:
    """The department owning the person (staff), else the window, else the service item."""
    if staff and (dep := d.staff_department(hall, staff)):
        return dep
    if window and (dep := d.window_department(hall, window)):
        return dep
    if item and (it := _item(d, hall, item)) is not None:
        return it.department
    return ""


def due_date(received: date, complexity: str) -> date:
    """一般: the same day; 需调查: 15 days; 复杂: 30 days (calendar days)."""
    return received + timedelta(days=COMPLEXITY_DAYS[complexity])


def complaint_visible(scope: Scope, c) -> bool:
    if scope.role == "department":
        return c.department == scope.department
    if scope.role == "hall":
        return c.hall == scope.hall
    return True


def complaint_dict(d: Directory, c, today: date) -> dict:
    overdue = not c.reply and today > date.fromisoformat(c.due)
    return {
        "id": c.id, "received_day": c.received_day, "received_time": c.received_time, "channel": c.channel,
        "hall": c.hall, "hall_name": d.hall_name(c.hall), "window": c.window,
        "window_name": d.window_name(c.hall, c.window) if c.window else "",
        "staff": c.staff, "staff_name": d.staff_name(c.hall, c.staff) if c.staff else "",
        "item": c.item, "item_name": (it.name if (it := _item(d, c.hall, c.item)) else c.item) if c.item else "",
        "department": c.department, "department_name": d.department_name(c.department),
        "complainant": c.complainant, "content": c.content, "complexity": c.complexity, "due": c.due,
        "reply": c.reply, "replied_at": c.replied_at, "replied_by": c.replied_by, "outcome": c.outcome,
        "closed": bool(c.closed), "closed_at": c.closed_at, "closed_by": c.closed_by,
        "routing": json.loads(c.routing or "[]"), "created_by": c.created_by, "created_at": c.created_at,
        "overdue": overdue,
        "state": "已办结" if c.closed else ("已答复" if c.reply else ("逾期未答复" if overdue else "待答复")),
    }


def create_complaint(store, d: Directory, user: User, data: dict, now_us: int) -> dict:
    """Admin (any hall) or hall manager (their hall) records a complaint received."""
    if user.role not in ("admin", "hall"):
        raise Forbidden("只有中心管理员和大厅管理员可以登记投诉")
    hall = _hall_of(d, user, _text(data, "hall", 64))
    window, staff, item = _text(data, "window", 64), _text(data, "staff", 64), _text(data, "item", 64)
    _check_window_staff(d, hall, window, staff)
    if item and _item(d, hall, item) is None:
        raise BadRequest(f"{d.hall_name(hall)}没有服务事项 {item!r}")
    received = _text(data, "received", 32)
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}))?", received)
    if not m:
        raise BadRequest(f"受理时间格式应为 YYYY-MM-DD HH:MM，收到 {received!r}")
    day = _day(m.group(1), "受理日期")
    hm = m.group(2) or ""
    if hm and not (int(hm[:2]) < 24 and int(hm[3:]) < 60):
        raise BadRequest(f"受理时间 {hm!r} 不正确")
    if day > local_now(d, hall, now_us).date():
        raise BadRequest("受理日期不能晚于今天")
    channel = _choice(_text(data, "channel", 16), CHANNELS, "受理渠道")
    complexity = _choice(_text(data, "complexity", 16), tuple(COMPLEXITY_DAYS), "复杂程度")
    content = _text(data, "content", 4000)
    if not content:
        raise BadRequest("请填写投诉内容")
    department = _text(data, "department", 64)
    if department:
        if department not in _departments(d):
            raise BadRequest(f"没有编号为 {department!r} 的部门")
    else:
        department = route_department(d, hall, window, staff, item)
        if not department:
            raise BadRequest("无法确定归口部门：请填写被投诉人、窗口、服务事项或直接选择部门")
    C = models(store).Complaint
    with store.db.atomic():
        c = C.create(received_day=day.isoformat(), received_time=hm, channel=channel, hall=hall, window=window,
                     staff=staff, item=item, department=department,
                     complainant=_text(data, "complainant", 200), content=content, complexity=complexity,
                     due=due_date(day, complexity).isoformat(), created_by=user.name, created_at=now_us)
        _audit(store, user, "complaint.create", {"id": c.id, "hall": hall, "staff": staff, "window": window,
                                                 "department": department, "complexity": complexity,
                                                 "due": c.due}, now_us)
    return complaint_dict(d, c, local_now(d, hall, now_us).date())


def list_complaints(store, d: Directory, scope: Scope, today: date, hall: str = "", department: str = "",
                    state: str = "", month: str = "") -> list[dict]:
    """Complaints the scope may see, newest first; filters: hall, department, state
    (open | overdue | replied | closed), month (YYYY-MM of the received day)."""
    if state not in ("", "open", "overdue", "replied", "closed"):
        raise BadRequest(f"状态筛选必须是 open/overdue/replied/closed，收到 {state!r}")
    if hall and hall not in d.halls:
        raise BadRequest(f"没有编号为 {hall!r} 的大厅")
    C = models(store).Complaint
    q = C.select()
    if scope.role == "department":
        q = q.where(C.department == scope.department)
    elif scope.role == "hall":
        q = q.where(C.hall == scope.hall)
    if hall:
        q = q.where(C.hall == hall)
    if department:
        q = q.where(C.department == department)
    if month:
        s, e = parse_month(month)
        q = q.where((C.received_day >= s.isoformat()) & (C.received_day <= e.isoformat()))
    out = [complaint_dict(d, c, today) for c in q.order_by(C.received_day.desc(), C.id.desc())]
    if state == "open":
        out = [c for c in out if not c["reply"]]
    elif state == "overdue":
        out = [c for c in out if c["overdue"]]
    elif state == "replied":
        out = [c for c in out if c["reply"] and not c["closed"]]
    elif state == "closed":
        out = [c for c in out if c["closed"]]
    return out


def _complaint(store, scope: Scope, cid) -> object:
    try:
        cid = int(cid)
    except (TypeError, ValueError):
        raise NotFound(f"没有编号为 {cid!r} 的投诉") from None
    C = models(store).Complaint
    c = C.get_or_none(C.id == cid)
    if c is None or not complaint_visible(scope, c):
        raise NotFound(f"没有编号为 {cid} 的投诉")
    return c


def get_complaint(store, d: Directory, scope: Scope, cid, today: date) -> dict:
    return complaint_dict(d, _complaint(store, scope, cid), today)


def update_complaint(store, d: Directory, user: User, scope: Scope, cid, data: dict, now_us: int) -> dict:
    """action = reply (reply text + outcome; admin or the routed department's head),
    reroute (department + reason; admin), close (admin or the hall's manager, after a reply)."""
    c = _complaint(store, scope, cid)
    action = _text(data, "action", 16)
    C = models(store).Complaint
    detail: dict = {"id": c.id}
    if action == "reply":
        if not (user.role == "admin" or (user.role == "department" and user.department == c.department)):
            raise Forbidden("只有归口部门负责人或中心管理员可以答复")
        if c.closed:
            raise BadRequest("投诉已办结，不能再答复")
        reply = _text(data, "reply", 4000)
        if not reply:
            raise BadRequest("请填写答复内容")
        outcome = _choice(_text(data, "outcome", 16), OUTCOMES, "调查结果")
        changes = {C.reply: reply, C.outcome: outcome, C.replied_at: now_us, C.replied_by: user.name}
        detail.update(outcome=outcome, late=local_now(d, c.hall, now_us).date() > date.fromisoformat(c.due))
    elif action == "reroute":
        if user.role != "admin":
            raise Forbidden("只有中心管理员可以改派归口部门")
        if c.closed:
            raise BadRequest("投诉已办结，不能改派")
        department = _text(data, "department", 64)
        if department not in _departments(d):
            raise BadRequest(f"没有编号为 {department!r} 的部门")
        if department == c.department:
            raise BadRequest("新的归口部门与原部门相同")
        reason = _text(data, "reason", 500)
        routing = json.loads(c.routing or "[]") + [{"from": c.department, "to": department, "by": user.name,
                                                    "at": now_us, "reason": reason}]
        changes = {C.department: department, C.routing: json.dumps(routing, ensure_ascii=False)}
        detail.update({"from": c.department, "to": department, "reason": reason})
    elif action == "close":
        if not (user.role == "admin" or (user.role == "hall" and user.hall == c.hall)):
            raise Forbidden("只有中心管理员或本大厅管理员可以办结投诉")
        if c.closed:
            raise BadRequest("投诉已办结")
        if not c.reply:
            raise BadRequest("尚未答复，不能办结")
        changes = {C.closed: True, C.closed_at: now_us, C.closed_by: user.name}
    else:
        raise BadRequest(f"操作必须是 reply/reroute/close 之一，收到 {action!r}")
    with store.db.atomic():
        C.update(changes).where(C.id == c.id).execute()
        _audit(store, user, f"complaint.{action}", detail, now_us)
    fresh = C.get_by_id(c.id)
    return complaint_dict(d, fresh, local_now(d, c.hall, now_us).date())


# ---------------------------------------------------------------- bad-rating follow-ups

LEVEL_NAMES = {1: "非常不满意", 2: "不满意", 3: "基本满意", 4: "满意", 5: "非常满意"}
APPEAL_NAMES = {"": "", "pending": "申诉待审", "accepted": "申诉已采纳", "rejected": "申诉已驳回"}


@dataclass
class BadRating:
    hall: str
    event_id: str
    ts: int  # ts_true, µs
    day: date  # the hall's local day
    ticket: str
    window: str
    staff: str
    department: str
    level: int


def bad_ratings(store, d: Directory, halls: list[str] | None = None, event_id: str | None = None) -> list[BadRating]:
    """Every rating.given event with level <= 2 in the merged events (oldest first)."""
    if halls is not None and not halls:
        return []
    p = store.db.param
    sql = (f"SELECT hall, event_id, ts_true, body FROM events WHERE kind = {p}"
           f" AND CAST({store.json_field('level')} AS INTEGER) <= {p}")
    args: list = ["rating.given", BAD_LEVEL]
    if halls is not None:
        sql += f" AND hall IN ({', '.join([p] * len(halls))})"
        args += list(halls)
    if event_id is not None:
        sql += f" AND event_id = {p}"
        args.append(event_id)
    out = []
    for hall, eid, ts, body in store.db.execute_sql(sql + " ORDER BY ts_true, hall, seq", args).fetchall():
        b = json.loads(body)
        window = b.get("window") or ""
        out.append(BadRating(hall=hall, event_id=eid, ts=int(ts), day=d.local_date(hall, int(ts)),
                             ticket=b.get("ticket") or "", window=window, staff=b.get("staff") or "",
                             department=b.get("department") or d.window_department(hall, window),
                             level=int(b["level"])))
    return out


HALL_RESULTS = {"resolved": "大厅已回访办结", "appeal_upheld": "大厅申诉成立", "unreachable": "大厅回访联系不上"}


def hall_followups(store, halls: list[str] | None = None) -> dict[tuple[str, str], dict]:
    """The halls' own follow-ups (rating.followup_opened / _closed, written at the hall's
    console) by (hall, ticket): {"followup", "due", "result", "by", "note"}; result None while
    open at the hall."""
    if halls is not None and not halls:
        return {}
    p = store.db.param
    sql = f"SELECT hall, kind, body FROM events WHERE kind IN ({p}, {p})"
    args: list = ["rating.followup_opened", "rating.followup_closed"]
    if halls is not None:
        sql += f" AND hall IN ({', '.join([p] * len(halls))})"
        args += list(halls)
    opened: dict[tuple[str, str], dict] = {}
    closed: dict[tuple[str, str], dict] = {}
    for hall, kind, body in store.db.execute_sql(sql + " ORDER BY ts_true, hall, seq", args).fetchall():
        b = json.loads(body)
        if kind == "rating.followup_opened":
            opened[(hall, b["followup"])] = {"followup": b["followup"], "ticket": b["ticket"], "due": b["due"],
                                             "result": None, "by": "", "note": ""}
        else:
            closed[(hall, b["followup"])] = b
    out = {}
    for (hall, fid), f in opened.items():
        c = closed.get((hall, fid))
        if c is not None:
            f.update(result=c.get("result", "resolved"), by=c.get("by", ""), note=c.get("note", ""))
        out[(hall, f.pop("ticket"))] = f
    return out


def fix_due(d: Directory, r: BadRating, fix_days: int) -> date:
    """The rating's local day + `fix_days` open days of the hall's calendar (weekdays when the
    hall is not configured)."""
    cal = d.calendars.get(r.hall)
    if cal is not None:
        return cal.add_working_days(r.day, fix_days)
    day, n = r.day, fix_days
    while n > 0:
        day += timedelta(days=1)
        n -= day.isoweekday() <= 5
    return day


def _followup_visible(scope: Scope, r: BadRating) -> bool:
    if scope.role == "department":
        return r.department == scope.department
    if scope.role == "hall":
        return r.hall == scope.hall
    return True


def followup_dict(d: Directory, r: BadRating, f, fix_days: int, today: date, hall_f: dict | None = None) -> dict:
    """`f`: central's follow-up row (None: nothing entered here yet); `hall_f`: the hall's own
    follow-up of this rating (hall_followups), whose closing at the hall counts as done."""
    due = fix_due(d, r, fix_days)
    appeal = f.appeal if f else ""
    fixed = f.fixed if f else None
    hall_result = (hall_f or {}).get("result")
    if appeal == "accepted":
        status = "申诉已采纳"
    elif fixed:
        status = "已整改"
    elif hall_result == "appeal_upheld":
        status = "申诉已采纳"
    elif hall_result:
        status = HALL_RESULTS.get(hall_result, hall_result)
    elif appeal == "pending":
        status = "申诉待审"
    elif f is None or f.callback_at is None:
        status = "待回访"
    elif fixed is False:
        status = "未整改"
    else:
        status = "待整改"
    return {
        "hall": r.hall, "hall_name": d.hall_name(r.hall), "event_id": r.event_id, "ticket": r.ticket,
        "rated_at": r.ts, "day": r.day.isoformat(), "level": r.level, "level_name": LEVEL_NAMES.get(r.level, ""),
        "window": r.window, "window_name": d.window_name(r.hall, r.window) if r.window else "",
        "staff": r.staff, "staff_name": d.staff_name(r.hall, r.staff) if r.staff else "",
        "department": r.department, "department_name": d.department_name(r.department),
        "fix_due": due.isoformat(),
        "callback_at": f.callback_at if f else None, "callback_by": f.callback_by if f else "",
        "callback_note": f.callback_note if f else "",
        "verification": f.verification if f else "", "verification_note": f.verification_note if f else "",
        "fixed": fixed, "fix_note": f.fix_note if f else "", "fixed_at": f.fixed_at if f else None,
        "appeal": appeal, "appeal_name": APPEAL_NAMES.get(appeal, appeal),
        "appeal_reason": f.appeal_reason if f else "", "appeal_by": f.appeal_by if f else "",
        "appeal_at": f.appeal_at if f else None, "decided_by": f.decided_by if f else "",
        "decided_at": f.decided_at if f else None, "decision_note": f.decision_note if f else "",
        "hall_followup": (hall_f or {}).get("followup", ""), "hall_due": (hall_f or {}).get("due", ""),
        "hall_result": hall_result or "", "hall_result_name": HALL_RESULTS.get(hall_result or "", ""),
        "hall_by": (hall_f or {}).get("by", ""), "hall_note": (hall_f or {}).get("note", ""),
        "status": status,
        "overdue": status not in DONE_STATUSES and today > due,
    }


def list_followups(store, d: Directory, scope: Scope, fix_days: int, today: date, hall: str = "",
                   month: str = "", status: str = "") -> list[dict]:
    """Every bad rating the scope may see with its follow-up state, newest first; filters:
    hall, month (YYYY-MM of the rating's day), status (open | overdue | done)."""
    if status not in ("", "open", "overdue", "done"):
        raise BadRequest(f"状态筛选必须是 open/overdue/done，收到 {status!r}")
    halls = scope.halls(d, hall or None) if hall or scope.role == "hall" else None
    rs = [r for r in bad_ratings(store, d, halls) if _followup_visible(scope, r)]
    if month:
        s, e = parse_month(month)
        rs = [r for r in rs if s <= r.day <= e]
    F = models(store).Followup
    state = {}
    if rs:
        for f in F.select().where(F.hall.in_(sorted({r.hall for r in rs}))):
            state[(f.hall, f.event_id)] = f
    at_hall = hall_followups(store, sorted({r.hall for r in rs})) if rs else {}
    out = [followup_dict(d, r, state.get((r.hall, r.event_id)), fix_days, today, at_hall.get((r.hall, r.ticket)))
           for r in reversed(rs)]
    if status == "open":
        out = [x for x in out if x["status"] not in DONE_STATUSES]
    elif status == "overdue":
        out = [x for x in out if x["overdue"]]
    elif status == "done":
        out = [x for x in out if x["status"] in DONE_STATUSES]
    return out


FOLLOWUP_ACTIONS = ("callback", "verify", "fix", "appeal", "decide")
DONE_STATUSES = ("已整改", "申诉已采纳", *HALL_RESULTS.values())


def update_followup(store, d: Directory, user: User, scope: Scope, data: dict, fix_days: int,
                    now_us: int) -> dict:
    """action = callback (note), verify (verification, note), fix (fixed 1/0, note), appeal
    (reason), decide (decision accepted/rejected, note; admin only)."""
    hall, event_id = _text(data, "hall", 64), _text(data, "event_id", 128)
    found = bad_ratings(store, d, [hall], event_id) if hall and event_id else []
    if not found or not _followup_visible(scope, found[0]):
        raise NotFound(f"没有这条差评（大厅 {hall!r}，事件 {event_id!r}）")
    r = found[0]
    action = _text(data, "action", 16)
    if action not in FOLLOWUP_ACTIONS:
        raise BadRequest(f"操作必须是 {'/'.join(FOLLOWUP_ACTIONS)} 之一，收到 {action!r}")
    F = models(store).Followup
    f = F.get_or_none((F.hall == hall) & (F.event_id == event_id))
    note = _text(data, "note", 2000)
    detail: dict = {"hall": hall, "event_id": event_id, "ticket": r.ticket}
    if action == "callback":
        if not note:
            raise BadRequest("请填写回访情况")
        changes = {"callback_at": now_us, "callback_by": user.name, "callback_note": note}
    elif action == "verify":
        v = _choice(_text(data, "verification", 16), VERIFICATIONS, "核实结果")
        changes = {"verification": v, "verification_note": note}
        detail["verification"] = v
    elif action == "fix":
        fixed = _text(data, "fixed", 8)
        if fixed not in ("1", "0", "true", "false"):
            raise BadRequest("请选择是否已整改")
        if not note:
            raise BadRequest("请填写整改情况")
        done = fixed in ("1", "true")
        changes = {"fixed": done, "fix_note": note, "fixed_at": now_us if done else None}
        detail["fixed"] = done
    elif action == "appeal":
        if f is not None and f.appeal in ("pending", "accepted"):
            raise BadRequest("该差评已提交申诉")
        if f is not None and f.appeal == "rejected":
            raise BadRequest("该差评的申诉已被驳回，不能再次申诉")
        reason = _text(data, "reason", 2000)
        if not reason:
            raise BadRequest("请填写申诉理由")
        changes = {"appeal": "pending", "appeal_reason": reason, "appeal_by": user.name, "appeal_at": now_us}
    else:  # decide
        if user.role != "admin":
            raise Forbidden("只有中心管理员可以审核申诉")
        if f is None or f.appeal != "pending":
            raise BadRequest("该差评没有待审核的申诉")
        decision = _choice(_text(data, "decision", 16), ("accepted", "rejected"), "审核结果")
        changes = {"appeal": decision, "decided_by": user.name, "decided_at": now_us, "decision_note": note}
        detail["decision"] = decision
    with store.db.atomic():
        if f is None:
            F.insert(hall=hall, event_id=event_id, ticket=r.ticket, updated_at=now_us, **changes).execute()
        else:
            F.update(updated_at=now_us, **changes).where((F.hall == hall) & (F.event_id == event_id)).execute()
        _audit(store, user, f"followup.{action}", detail, now_us)
    f = F.get((F.hall == hall) & (F.event_id == event_id))
    return followup_dict(d, r, f, fix_days, local_now(d, hall, now_us).date(),
                         hall_followups(store, [hall]).get((hall, r.ticket)))


def excluded_ratings(store) -> set[tuple[str, str]]:
    """(hall, ticket) of every rating whose appeal (申诉) was accepted, at central or at the hall
    (rating.followup_closed with result appeal_upheld): left out of 好评率.
    One rating per service (一次一评), so the ticket names the rating."""
    F = models(store).Followup
    out = set(F.select(F.hall, F.ticket).where(F.appeal == "accepted").tuples())
    return out | {key for key, f in hall_followups(store).items() if f["result"] == "appeal_upheld"}


# ---------------------------------------------------------------- patrols (巡查)


def _patrol_department(d: Directory, p) -> str:
    return d.staff_department(p.hall, p.staff) or d.window_department(p.hall, p.window)


def patrol_visible(d: Directory, scope: Scope, p) -> bool:
    if scope.role == "department":
        return _patrol_department(d, p) == scope.department
    if scope.role == "hall":
        return p.hall == scope.hall
    return True


def patrol_dict(d: Directory, p) -> dict:
    dep = _patrol_department(d, p)
    return {"id": p.id, "day": p.day, "hall": p.hall, "hall_name": d.hall_name(p.hall), "window": p.window,
            "window_name": d.window_name(p.hall, p.window) if p.window else "", "staff": p.staff,
            "staff_name": d.staff_name(p.hall, p.staff) if p.staff else "", "department": dep,
            "department_name": d.department_name(dep) if dep else "", "category": p.category, "kind": p.kind,
            "note": p.note, "inspector": p.inspector, "created_by": p.created_by, "created_at": p.created_at}


def create_patrol(store, d: Directory, user: User, data: dict, now_us: int) -> dict:
    """Admin (any hall) or hall manager (their hall) records one finding."""
    if user.role not in ("admin", "hall"):
        raise Forbidden("只有中心管理员和大厅管理员可以登记巡查记录")
    hall = _hall_of(d, user, _text(data, "hall", 64))
    window, staff = _text(data, "window", 64), _text(data, "staff", 64)
    _check_window_staff(d, hall, window, staff)
    if not window and not staff:
        raise BadRequest("请填写被巡查的窗口或工作人员")
    day = _day(_text(data, "day", 16), "巡查日期")
    if day > local_now(d, hall, now_us).date():
        raise BadRequest("巡查日期不能晚于今天")
    category = _choice(_text(data, "category", 16), PATROL_CATEGORIES, "问题类别")
    kind = _choice(_text(data, "kind", 16), PATROL_KINDS, "巡查方式")
    note = _text(data, "note", 2000)
    if not note:
        raise BadRequest("请填写巡查发现的问题")
    inspector = _text(data, "inspector", 100) or user.display or user.name
    P = models(store).Patrol
    with store.db.atomic():
        p = P.create(day=day.isoformat(), hall=hall, window=window, staff=staff, category=category, kind=kind,
                     note=note, inspector=inspector, created_by=user.name, created_at=now_us)
        _audit(store, user, "patrol.create", {"id": p.id, "day": p.day, "hall": hall, "window": window,
                                              "staff": staff, "category": category, "kind": kind}, now_us)
    return patrol_dict(d, p)


def list_patrols(store, d: Directory, scope: Scope, month: str = "", hall: str = "") -> list[dict]:
    if hall and hall not in d.halls:
        raise BadRequest(f"没有编号为 {hall!r} 的大厅")
    P = models(store).Patrol
    q = P.select()
    if month:
        s, e = parse_month(month)
        q = q.where((P.day >= s.isoformat()) & (P.day <= e.isoformat()))
    if scope.role == "hall":
        q = q.where(P.hall == scope.hall)
    if hall:
        q = q.where(P.hall == hall)
    return [patrol_dict(d, p) for p in q.order_by(P.day.desc(), P.id.desc()) if patrol_visible(d, scope, p)]


def bulletin(store, d: Directory, scope: Scope, month: str) -> dict:
    """The monthly patrol bulletin (巡查通报): every finding of the month, the count per staff
    member, and those with >= 2 findings flagged for a written notice to their home department."""
    s, e = parse_month(month)
    findings = sorted(list_patrols(store, d, scope, month), key=lambda p: (p["day"], p["id"]))
    per: dict[tuple[str, str], dict] = {}
    for p in findings:
        if not p["staff"]:
            continue
        row = per.setdefault((p["hall"], p["staff"]), {
            "hall": p["hall"], "hall_name": p["hall_name"], "staff": p["staff"], "staff_name": p["staff_name"],
            "department": d.staff_department(p["hall"], p["staff"]),
            "department_name": d.department_name(d.staff_department(p["hall"], p["staff"])),
            "findings": 0, "categories": {}})
        row["findings"] += 1
        row["categories"][p["category"]] = row["categories"].get(p["category"], 0) + 1
    staff = sorted(per.values(), key=lambda r: (-r["findings"], r["hall"], r["staff"]))
    for r in staff:
        r["notice"] = r["findings"] >= NOTICE_THRESHOLD
    return {"month": f"{s:%Y-%m}", "start": s.isoformat(), "end": e.isoformat(), "findings": findings,
            "staff": staff, "notices": [r for r in staff if r["notice"]], "threshold": NOTICE_THRESHOLD}
