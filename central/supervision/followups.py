"""Bad-rating follow-ups (差评回访): not stored per rating: the list is every `rating.given`
event with level <= 2 in the merged events; only the follow-up state is stored, keyed by
(hall, event id). The fix deadline is the rating's local day + `[followups] fix_days` open days
of the hall's calendar. An accepted appeal (申诉) excludes that rating from 好评率
(`excluded_ratings`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

from ..config import User
from ..errors import BadRequest, Forbidden, NotFound
from ..projections import Directory
from ..scope import Scope, parse_month
from .forms import audit, choice, field_text, local_now

VERIFICATIONS = ("属实", "不属实", "无法联系")
BAD_LEVEL = 2  # ratings of level <= 2 (不满意, 非常不满意) are followed up
DEFAULT_FIX_DAYS = 5
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
SELF_CLOSED = "被评价人本人办结，不予认可"
NOT_MANAGER = "申诉成立须由大厅管理员确认，不予认可"


def hall_closing_refusal(d: Directory | None, hall: str, staff: str, by: str, result: str) -> str:
    """Why central does not honour a hall's closing of a follow-up ("" when it does): the rated
    staff member closed their own follow-up, or an appeal was upheld by someone who is not one
    of the hall's managers (the hall file's `[[business.managers]]`)."""
    if staff and by == staff:
        return SELF_CLOSED
    if result == "appeal_upheld" and d is not None:
        entry = d.halls.get(hall)
        managers = {m.id for m in entry.business.managers} if entry is not None else set()
        if by not in managers:
            return NOT_MANAGER
    return ""


def hall_followups(store, halls: list[str] | None = None, d: Directory | None = None) -> dict[tuple[str, str], dict]:
    """The halls' own follow-ups (rating.followup_opened / _closed, written at the hall's
    console) by (hall, ticket): {"followup", "due", "result", "by", "note", "refused"}; result
    None while open at the hall, and also when central does not honour the closing
    (`hall_closing_refusal`, given the directory `d`; "refused" says why)."""
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
                                             "result": None, "by": "", "note": "", "refused": "",
                                             "staff": b.get("staff") or ""}
        else:
            closed[(hall, b["followup"])] = b
    out = {}
    for (hall, fid), f in opened.items():
        c = closed.get((hall, fid))
        if c is not None:
            result, by = c.get("result", "resolved"), c.get("by", "")
            refused = hall_closing_refusal(d, hall, f["staff"], by, result)
            f.update(result=None if refused else result, by=by, note=c.get("note", ""), refused=refused,
                     claimed=result)
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
        "hall_refused": (hall_f or {}).get("refused", ""),
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
    F = store.records.Followup
    state = {}
    if rs:
        for f in F.select().where(F.hall.in_(sorted({r.hall for r in rs}))):
            state[(f.hall, f.event_id)] = f
    at_hall = hall_followups(store, sorted({r.hall for r in rs}), d) if rs else {}
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
    hall, event_id = field_text(data, "hall", 64), field_text(data, "event_id", 128)
    found = bad_ratings(store, d, [hall], event_id) if hall and event_id else []
    if not found or not _followup_visible(scope, found[0]):
        raise NotFound(f"没有这条差评（大厅 {hall!r}，事件 {event_id!r}）")
    r = found[0]
    action = field_text(data, "action", 16)
    if action not in FOLLOWUP_ACTIONS:
        raise BadRequest(f"操作必须是 {'/'.join(FOLLOWUP_ACTIONS)} 之一，收到 {action!r}")
    F = store.records.Followup
    f = F.get_or_none((F.hall == hall) & (F.event_id == event_id))
    if action != "appeal" and user.staff and r.staff and user.staff == r.staff:
        raise Forbidden("被评价人本人不能办理自己的差评回访（可以提出申诉，由他人核实、整改和审核）")
    note = field_text(data, "note", 2000)
    detail: dict = {"hall": hall, "event_id": event_id, "ticket": r.ticket}
    if action == "callback":
        if not note:
            raise BadRequest("请填写回访情况")
        changes = {"callback_at": now_us, "callback_by": user.name, "callback_note": note}
    elif action == "verify":
        v = choice(field_text(data, "verification", 16), VERIFICATIONS, "核实结果")
        changes = {"verification": v, "verification_note": note}
        detail["verification"] = v
    elif action == "fix":
        fixed = field_text(data, "fixed", 8)
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
        reason = field_text(data, "reason", 2000)
        if not reason:
            raise BadRequest("请填写申诉理由")
        changes = {"appeal": "pending", "appeal_reason": reason, "appeal_by": user.name, "appeal_at": now_us}
    else:  # decide
        if user.role != "admin":
            raise Forbidden("只有中心管理员可以审核申诉")
        if f is None or f.appeal != "pending":
            raise BadRequest("该差评没有待审核的申诉")
        if f.appeal_by == user.name:
            raise Forbidden("提出申诉的人不能审核自己的申诉")
        decision = choice(field_text(data, "decision", 16), ("accepted", "rejected"), "审核结果")
        changes = {"appeal": decision, "decided_by": user.name, "decided_at": now_us, "decision_note": note}
        detail["decision"] = decision
    with store.db.atomic():
        if f is None:
            F.insert(hall=hall, event_id=event_id, ticket=r.ticket, updated_at=now_us, **changes).execute()
        else:
            F.update(updated_at=now_us, **changes).where((F.hall == hall) & (F.event_id == event_id)).execute()
        audit(store, user, f"followup.{action}", detail, now_us)
    f = F.get((F.hall == hall) & (F.event_id == event_id))
    return followup_dict(d, r, f, fix_days, local_now(d, hall, now_us).date(),
                         hall_followups(store, [hall], d).get((hall, r.ticket)))


def excluded_ratings(store, d: Directory | None = None) -> set[tuple[str, str]]:
    """(hall, ticket) of every rating whose appeal (申诉) was accepted, at central or at the hall
    (rating.followup_closed with result appeal_upheld, by one of the hall's managers — given the
    directory `d` — and not by the rated staff member): left out of 好评率.
    One rating per service (一次一评), so the ticket names the rating."""
    F = store.records.Followup
    out = set(F.select(F.hall, F.ticket).where(F.appeal == "accepted").tuples())
    return out | {key for key, f in hall_followups(store, None, d).items() if f["result"] == "appeal_upheld"}
