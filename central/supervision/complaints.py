"""Complaints (投诉): routed (归口) to the department owning the person (staff → their
department), else the window, else the service item; the central admin may re-route. Reply due
date from the received day: `[supervision] reply_days` per complexity, by default 一般 the same
day, 需调查 15 days, 复杂 30 days (calendar days, [H 限时办结-3]). Overdue = no reply and the due
day has passed.

Complaints are typed here by the admin or a hall manager, or taken at a hall's own desk
(办不成事反映窗口, offline: a `complaint.received` event, edge.complaints): those are filed here
when the complaints are next listed (`file_hall_complaints`), once each (`source` = the event's
id), with their hall, routed and given their deadline the same way, and answered like the rest
[J 35, U 33, B 41, C 19]."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

from ..config import Supervision, User
from ..errors import BadRequest, Forbidden, NotFound
from ..projections import Directory
from ..scope import Scope, parse_month
from ..store import records as stored
from .forms import (audit, catalog_item, check_window_staff, choice, department_ids, field_text, hall_of, local_now,
                    parse_day)

CHANNELS = ("窗口", "电话", "信箱", "网上")
DEFAULT = Supervision()  # when the app was started without a central.toml (tests)
OUTCOMES = ("属实", "部分属实", "不属实")
UPHELD = ("属实", "部分属实")

def route_department(d: Directory, hall: str, window: str = "", staff: str = "", item: str = "") -> str:
    """The department owning the person (staff), else the window, else the service item."""
    if staff and (dep := d.staff_department(hall, staff)):
        return dep
    if window and (dep := d.window_department(hall, window)):
        return dep
    if item and (it := catalog_item(d, hall, item)) is not None:
        return it.department
    return ""


def due_date(received: date, complexity: str, reply_days: dict[str, int] = DEFAULT.reply_days) -> date:
    """The received day + the complexity's reply days (calendar days) [H 限时办结-3]."""
    return received + timedelta(days=reply_days[complexity])


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
        "item": c.item, "item_name": (it.name if (it := catalog_item(d, c.hall, c.item)) else c.item) if c.item else "",
        "department": c.department, "department_name": d.department_name(c.department),
        "complainant": c.complainant, "content": c.content, "complexity": c.complexity, "due": c.due,
        "reply": c.reply, "replied_at": c.replied_at, "replied_by": c.replied_by, "outcome": c.outcome,
        "closed": bool(c.closed), "closed_at": c.closed_at, "closed_by": c.closed_by,
        "routing": json.loads(c.routing or "[]"), "created_by": c.created_by, "created_at": c.created_at,
        "overdue": overdue, "taken_at_hall": bool(getattr(c, "source", "")),
        "state": "已办结" if c.closed else ("已答复" if c.reply else ("逾期未答复" if overdue else "待答复")),
    }


def create_complaint(store, d: Directory, user: User, data: dict, now_us: int,
                     reply_days: dict[str, int] = DEFAULT.reply_days) -> dict:
    """Admin (any hall) or hall manager (their hall) records a complaint received; its reply is
    due after `reply_days[complexity]` days ([supervision] reply_days)."""
    if user.role not in ("admin", "hall"):
        raise Forbidden("只有中心管理员和大厅管理员可以登记投诉")
    hall = hall_of(d, user, field_text(data, "hall", 64))
    window, staff, item = field_text(data, "window", 64), field_text(data, "staff", 64), field_text(data, "item", 64)
    check_window_staff(d, hall, window, staff)
    if item and catalog_item(d, hall, item) is None:
        raise BadRequest(f"{d.hall_name(hall)}没有服务事项 {item!r}")
    received = field_text(data, "received", 32)
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}))?", received)
    if not m:
        raise BadRequest(f"受理时间格式应为 YYYY-MM-DD HH:MM，收到 {received!r}")
    day = parse_day(m.group(1), "受理日期")
    hm = m.group(2) or ""
    if hm and not (int(hm[:2]) < 24 and int(hm[3:]) < 60):
        raise BadRequest(f"受理时间 {hm!r} 不正确")
    if day > local_now(d, hall, now_us).date():
        raise BadRequest("受理日期不能晚于今天")
    channel = choice(field_text(data, "channel", 16), CHANNELS, "受理渠道")
    complexity = choice(field_text(data, "complexity", 16), tuple(reply_days), "复杂程度")
    content = field_text(data, "content", 4000)
    if not content:
        raise BadRequest("请填写投诉内容")
    department = field_text(data, "department", 64)
    if department:
        if department not in department_ids(d):
            raise BadRequest(f"没有编号为 {department!r} 的部门")
    else:
        department = route_department(d, hall, window, staff, item)
        if not department:
            raise BadRequest("无法确定归口部门：请填写被投诉人、窗口、服务事项或直接选择部门")
    C = store.records.Complaint
    with store.db.atomic():
        c = C.create(received_day=day.isoformat(), received_time=hm, channel=channel, hall=hall, window=window,
                     staff=staff, item=item, department=department,
                     complainant=field_text(data, "complainant", 200), content=content, complexity=complexity,
                     due=due_date(day, complexity, reply_days).isoformat(), created_by=user.name, created_at=now_us)
        audit(store, user, "complaint.create", {"id": c.id, "hall": hall, "staff": staff, "window": window,
                                                 "department": department, "complexity": complexity,
                                                 "due": c.due}, now_us)
    return complaint_dict(d, c, local_now(d, hall, now_us).date())


def file_hall_complaints(store, d: Directory, reply_days: dict[str, int] = DEFAULT.reply_days) -> int:
    """File every complaint a hall took (`complaint.received`) that is not filed yet: routed like
    one typed here (the hall's choice of department, else by staff, window, item), due after its
    complexity's reply days (an unknown or missing complexity: the first of `reply_days`).
    Idempotent (unique (hall, source): a second worker filing the same one changes nothing);
    returns how many were found not filed yet."""
    p = store.db.param
    rows = store.db.execute_sql(
        f"SELECT e.hall, e.event_id, e.ts_true, e.body FROM events e WHERE e.kind = {p} AND NOT EXISTS"
        f" (SELECT 1 FROM complaints c WHERE c.hall = e.hall AND c.source = e.event_id) ORDER BY e.ts_true",
        ["complaint.received"]).fetchall()
    C = store.records.Complaint
    for hall, event_id, ts, body in rows:
        b = json.loads(body)
        received = str(b.get("received") or "")
        m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})", received)
        day = date.fromisoformat(m.group(1)) if m else d.local_date(hall, int(ts))
        complexity = b.get("complexity") if b.get("complexity") in reply_days else next(iter(reply_days))
        department = b.get("department") or route_department(d, hall, b.get("window", ""), b.get("staff", ""),
                                                              b.get("item", ""))
        entry = d.halls.get(hall)
        managers = {mg.id: mg.name for mg in entry.business.managers} if entry is not None else {}
        by = str(b.get("by") or "")
        with store.db.atomic():
            C.insert(
                received_day=day.isoformat(), received_time=m.group(2) if m else "",
                channel=b.get("channel") if b.get("channel") in CHANNELS else CHANNELS[0], hall=hall,
                window=b.get("window", ""), staff=b.get("staff", ""), item=b.get("item", ""), department=department,
                complainant=str(b.get("complainant", ""))[:200], content=str(b.get("content", ""))[:4000],
                complexity=complexity, due=due_date(day, complexity, reply_days).isoformat(),
                created_by=f"{managers.get(by, by)}（{d.hall_name(hall)}登记）", created_at=int(ts), source=event_id,
            ).on_conflict_ignore().execute()
    return len(rows)


def list_complaints(store, d: Directory, scope: Scope, today: date, hall: str = "", department: str = "",
                    state: str = "", month: str = "", reply_days: dict[str, int] = DEFAULT.reply_days) -> list[dict]:
    """Complaints the scope may see, newest first; filters: hall, department, state
    (open | overdue | replied | closed), month (YYYY-MM of the received day). The halls'
    complaints not filed yet are filed first (`file_hall_complaints`)."""
    file_hall_complaints(store, d, reply_days)
    if state not in ("", "open", "overdue", "replied", "closed"):
        raise BadRequest(f"状态筛选必须是 open/overdue/replied/closed，收到 {state!r}")
    if hall and hall not in d.halls:
        raise BadRequest(f"没有编号为 {hall!r} 的大厅")
    C = store.records.Complaint
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
    if not 1 <= cid <= 2**63 - 1:  # beyond what the database's ids hold: no such complaint
        raise NotFound(f"没有编号为 {cid} 的投诉")
    C = store.records.Complaint
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
    action = field_text(data, "action", 16)
    C = store.records.Complaint
    detail: dict = {"id": c.id}
    if action == "reply":
        if not (user.role == "admin" or (user.role == "department" and user.department == c.department)):
            raise Forbidden("只有归口部门负责人或中心管理员可以答复")
        if c.closed:
            raise BadRequest("投诉已办结，不能再答复")
        reply = field_text(data, "reply", 4000)
        if not reply:
            raise BadRequest("请填写答复内容")
        outcome = choice(field_text(data, "outcome", 16), OUTCOMES, "调查结果")
        changes = {C.reply: reply, C.outcome: outcome, C.replied_at: now_us, C.replied_by: user.name}
        detail.update(outcome=outcome, late=local_now(d, c.hall, now_us).date() > date.fromisoformat(c.due))
    elif action == "reroute":
        if user.role != "admin":
            raise Forbidden("只有中心管理员可以改派归口部门")
        if c.closed:
            raise BadRequest("投诉已办结，不能改派")
        department = field_text(data, "department", 64)
        if department not in department_ids(d):
            raise BadRequest(f"没有编号为 {department!r} 的部门")
        if department == c.department:
            raise BadRequest("新的归口部门与原部门相同")
        reason = field_text(data, "reason", 500)
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
        audit(store, user, f"complaint.{action}", detail, now_us)
    fresh = C.get_by_id(c.id)
    return complaint_dict(d, fresh, local_now(d, c.hall, now_us).date())


def upheld_complaints(store, start: date, end: date) -> dict[tuple[str, str], int]:
    """(hall, staff) → complaints about that staff member received on days start..end whose
    outcome is 属实 or 部分属实 (for the awards). Complaints naming no staff member are not counted."""
    return stored.upheld_complaint_counts(store, start, end, UPHELD)
