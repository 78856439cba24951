"""How a service ends (handling modes) and the cases that stay open after the visitor leaves.

Outcomes [J 24–25, U 20, B 25, C 11]:
- ``instant`` (即办): done on the spot;
- ``promised`` (承诺件): materials received, completion promised by a date counted in working
  days from the item's promise; tracked until finished, overdue flagged;
- ``joint`` (联办): a lead window accepts, co-departments contribute; every hand-over of
  materials is recorded (from, to, what, when, who);
- ``notice`` (一次性告知): the missing materials, all of them at once, in a printable notice;
- ``gaps`` (容缺受理): accepted with named missing materials (only those the item allows) and a
  date to supply them, with a printable notice;
- ``refused`` (不予办理): with the reason, in a printable return notice.

For promised, joint and 容缺 cases the applicant may leave a phone number (`phone`): when the
case is finished, or its supply date passes, a result notice goes out (edge.outbox)
[J 24(2), B 25(2), C 11(4), C 11(7)].
"""

from __future__ import annotations

from datetime import date

from sync.contract import events as ev
from sync.kernel.clock import uuid7

from . import outbox
from .context import Ctx
from .queue import current_ticket
from .windows import acting_window
from .store.cases import CaseView
from .store.queue import TicketView
from .workflow import CASE, TICKET, Invalid, NotFound, Refused

OUTCOMES = ("instant", "promised", "joint", "notice", "gaps", "refused")
OUTCOME_LABELS = {
    "instant": "即办件（当场办结）",
    "promised": "承诺件",
    "joint": "联办件",
    "notice": "一次性告知",
    "gaps": "容缺受理",
    "refused": "不予办理",
}


def complete(
    ctx: Ctx,
    window_id: str,
    staff: str,
    outcome: str,
    item: str | None = None,
    missing: list[str] | None = None,
    co_departments: list[str] | None = None,
    reason: str = "",
    note: str = "",
    supply_by: date | None = None,
    phone: str = "",
) -> TicketView:
    """End the current service at a window with one of the outcomes; `phone`: the applicant's
    number for the result notice (promised, joint, gaps only)."""
    w = acting_window(ctx, window_id, staff)
    t = current_ticket(ctx, w)
    if outcome not in OUTCOMES:
        raise Invalid("unknown-outcome", f"未知的办理结果 {outcome!r}，可选：{', '.join(OUTCOMES)}")
    item_id = item or t.item
    if item_id is None:
        raise Invalid("item-required", "请选择本次办理的服务事项")
    it = ctx.catalog.items.get(item_id)
    if it is None:
        raise NotFound("unknown-item", f"没有编号为 {item_id} 的服务事项")
    if it.department != w.department:
        raise Invalid("item-of-other-department", f"「{it.name}」不属于本窗口部门，请转办")
    TICKET.next(t.state, "complete", "号码")
    number = None
    if phone and phone.strip():
        if outcome not in outbox.NOTICE_OUTCOMES:
            raise Invalid("no-notice-for-outcome", "只有承诺件、联办件和容缺受理件可以登记电话号码以便通知办理结果")
        number = outbox.normalise_phone(phone)
        if ctx.notify.gateway == "none":
            raise Refused("notify-off", "本大厅未开通办结短信通知（[notify] gateway），不能登记电话号码")

    cal = ctx.calendar
    today = ctx.today()
    missing = list(dict.fromkeys(missing or []))  # keep order, drop repeats
    materials = {m.id: m for m in it.materials}
    body = dict(ticket=t.id, window=window_id, staff=staff, item=item_id, outcome=outcome, note=note.strip()[:500])

    def deadline() -> str | None:
        return cal.add_working_days(today, it.promise_days).isoformat() if it.promise_days else None

    if outcome in ("notice", "gaps"):
        if not missing:
            raise Invalid("missing-required", "请勾选所缺的全部材料")
        unknown = [m for m in missing if m not in materials]
        if unknown:
            raise Invalid("unknown-material", f"材料 {', '.join(unknown)} 不在该事项的材料清单中")
        body["missing"] = missing
    elif missing:
        raise Invalid("missing-not-allowed", "只有一次性告知和容缺受理需要填写所缺材料")

    if outcome == "promised":
        if not it.promise_days:
            raise Invalid("not-promised-item", f"「{it.name}」为即办事项，没有承诺时限")
        body["deadline"] = deadline()
    elif outcome == "joint":
        cos = list(dict.fromkeys(co_departments if co_departments is not None else it.co_departments))
        if not cos:
            raise Invalid("co-departments-required", "联办件需要指定协办部门")
        bad = [d for d in cos if d not in ctx.catalog.departments or d == w.department]
        if bad:
            raise Invalid("bad-co-department", f"协办部门无效：{', '.join(bad)}")
        body["co_departments"] = cos
        body["deadline"] = deadline()
    elif outcome == "gaps":
        not_allowed = [materials[m].name for m in missing if not materials[m].gap_allowed]
        if not_allowed:
            raise Invalid("gap-not-allowed", f"以下材料不可容缺：{'、'.join(not_allowed)}")
        due = supply_by or cal.add_working_days(today, ctx.catalog.rules.gap_supply_days)
        if due < today:
            raise Invalid("supply-date-past", "补交日期不能早于今天")
        body["supply_by"] = due.isoformat()
        body["deadline"] = deadline()
    elif outcome == "refused":
        if len(reason.strip()) < 2:
            raise Invalid("reason-required", "不予办理须写明理由")
        body["reason"] = reason.strip()[:500]

    if outcome != "instant":
        body["case"] = uuid7(ctx.clock)
    if t.state == "called":
        ctx.store.append(ev.TicketStarted(ticket=t.id, window=window_id, staff=staff))
    ctx.store.append(ev.TicketCompleted(**body))
    if number is not None:
        outbox.record_phone(ctx, body["case"], number, staff)
    return ctx.store.ticket(t.id)  # type: ignore[return-value]


def get_case(ctx: Ctx, case_id: str) -> CaseView:
    c = ctx.store.case(case_id)
    if c is None:
        raise NotFound("unknown-case", f"没有编号为 {case_id} 的办件")
    return c


def handoff(ctx: Ctx, case_id: str, from_department: str, to_department: str, materials: list[str],
            by: str, note: str = "") -> CaseView:
    """Record materials handed between departments of a joint case (联办材料流转)."""
    c = get_case(ctx, case_id)
    CASE.next(c.state, "handoff", "办件")
    involved = {c.department, *c.co_departments}
    for d in (from_department, to_department):
        if d not in involved:
            raise Invalid("department-not-involved", f"部门 {d} 不是该办件的主办或协办部门")
    if from_department == to_department:
        raise Invalid("same-department", "移交双方不能是同一部门")
    items = [m.strip() for m in materials if m and m.strip()]
    if not items:
        raise Invalid("materials-required", "请填写移交的材料")
    ctx.store.append(ev.CaseHandoff(case=case_id, from_department=from_department, to_department=to_department,
                                    materials=items, by=by, note=note.strip()[:200]))
    return get_case(ctx, case_id)


def supply(ctx: Ctx, case_id: str, materials: list[str], by: str) -> CaseView:
    """Missing materials of a 容缺 case handed in."""
    c = get_case(ctx, case_id)
    CASE.next(c.state, "supply", "办件")
    if c.outcome != "gaps":
        raise Refused("not-gaps-case", "只有容缺受理的办件需要补交材料")
    outstanding = [m for m in c.missing if m not in c.supplied]
    bad = [m for m in materials if m not in outstanding]
    if not materials or bad:
        raise Invalid("not-outstanding", f"这些材料不在待补交清单中：{', '.join(bad) or '（空）'}")
    ctx.store.append(ev.CaseSupplied(case=case_id, materials=list(dict.fromkeys(materials)), by=by))
    return get_case(ctx, case_id)


def finish(ctx: Ctx, case_id: str, by: str, result: str = "done", note: str = "") -> CaseView:
    c = get_case(ctx, case_id)
    CASE.next(c.state, "finish", "办件")
    if result not in ("done", "refused", "withdrawn"):
        raise Invalid("unknown-result", "办结结果须为 done、refused 或 withdrawn")
    if result == "done" and c.outcome == "gaps":
        outstanding = [m for m in c.missing if m not in c.supplied]
        if outstanding:
            raise Refused("materials-outstanding", f"尚有容缺材料未补交：{', '.join(outstanding)}")
    ctx.store.append(ev.CaseFinished(case=case_id, by=by, result=result, note=note.strip()[:500]))  # type: ignore[arg-type]
    done = get_case(ctx, case_id)
    outbox.case_finished(ctx, done)  # the result notice, if the applicant left a number [B 25(2)]
    return done


def is_overdue(c: CaseView, today: date) -> bool:
    return c.state == "open" and c.deadline is not None and c.deadline < today.isoformat()
