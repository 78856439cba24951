"""The hall manager's attendance and leave page (/manage/leave): today's attendance (who punched,
late, absent, on leave, who stands in for whom), leave requests with approve / reject, 销假 of an
approved leave, and a request filed on a staff member's behalf (after the fact within
`leave_after_days` [J 28]). Session-protected like /manage; everything runs offline at the hall."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from .. import attendance, leave
from ..context import Ctx
from ..hall import Hall
from ..web import MANAGER, access
from ..workflow import Invalid
from .common import Form, FormBody, PageController, back, manager, render, run_and_flash, session

HALVES = [("am", "上午"), ("pm", "下午")]


class LeaveForm(Form):
    staff: str = ""
    kind: str = ""
    start: str = ""
    start_half: str = "am"
    end: str = ""
    end_half: str = "pm"
    reason: str = ""
    certificate: str = ""


class DecisionForm(Form):
    note: str = ""


class ReturnForm(Form):
    returned: str = ""
    returned_half: str = "am"


def parse_day(value: str, what: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid("bad-date", f"{what}须为日期（如 2026-11-23）") from None


# ---------------------------------------------------------------------------- read model and commands (writer thread)


def leave_page(ctx: Ctx) -> dict:
    today = ctx.today()
    report = attendance.day_report(ctx, today)
    depts = {d.id: d.name for d in ctx.catalog.business.catalog.departments}
    for p in report["staff"]:
        p["department_name"] = depts.get(p["department"], p["department"])
    rows = ctx.store.leaves()
    pending = [leave.leave_brief(ctx, lv) for lv in rows if lv.state == "requested"]
    current = [leave.leave_brief(ctx, lv) for lv in rows if lv.state == "approved" and lv.end >= today.isoformat()]
    past = [leave.leave_brief(ctx, lv) for lv in rows
            if not (lv.state == "requested" or (lv.state == "approved" and lv.end >= today.isoformat()))]
    past.sort(key=lambda x: x["start"], reverse=True)
    counts: dict[str, int] = {}
    for p in report["staff"]:
        counts[p["status"]] = counts.get(p["status"], 0) + 1
    return {
        "today": today.isoformat(), "report": report, "counts": counts, "pending": pending, "current": current,
        "past": past[:20],
        "staff": [{"id": s.id, "name": s.name, "department": depts.get(s.department, s.department)}
                  for s in ctx.catalog.business.staff],
        "kinds": [{"id": k.id, "name": k.name, "approver": leave.APPROVER_LABELS[k.approver],
                   "advance": k.advance_working_days, "certificate": k.certificate}
                  for k in ctx.catalog.rules.attendance.leave_kinds],
        "after_days": ctx.catalog.rules.attendance.leave_after_days, "halves": HALVES,
    }


def file_leave(ctx: Ctx, data: LeaveForm, manager_id: str) -> str:
    start = parse_day(data.start, "开始日期")
    end = parse_day(data.end or data.start, "结束日期")
    lv = leave.request_leave(ctx, data.staff.strip()[:64], data.kind.strip()[:64], start, end, data.start_half,
                             data.end_half, data.reason[:200], bool(data.certificate), by=manager_id)
    b = leave.leave_brief(ctx, lv)
    return f"已代 {b['name']} 提交{b['kind_name']}（{b['span']}）" + ("，事后补办" if b["after_the_fact"] else "")


def decide(ctx: Ctx, action: str, leave_id: str, note: str, manager_id: str) -> str:
    if action == "approve":
        b = leave.leave_brief(ctx, leave.approve_leave(ctx, leave_id, manager_id, True, note))
        who = "、".join(f"{h['window_name']} 由 {h['stand_in_name']} 顶岗" for h in b["handover"])
        return f"已批准 {b['name']} 的{b['kind_name']}" + (f"；{who}" if who else "")
    b = leave.leave_brief(ctx, leave.reject_leave(ctx, leave_id, manager_id, True, note))
    return f"已驳回 {b['name']} 的{b['kind_name']}"


def record_return(ctx: Ctx, leave_id: str, data: ReturnForm, manager_id: str) -> str:
    returned = parse_day(data.returned, "返岗日期")
    b = leave.leave_brief(ctx, leave.end_leave(ctx, leave_id, returned, data.returned_half, manager_id, True))
    if b["state"] == "cancelled":
        return f"已销假：{b['name']} 的{b['kind_name']}未休，整体取消"
    return f"已销假：{b['name']} 的{b['kind_name']}改为 {b['span']}"


# ---------------------------------------------------------------------------- routes


class ManageLeavePages(PageController):
    path = "/manage/leave"

    @get("/", opt=access(MANAGER, "/manage/login"))
    async def manage_leave(self, request: Request, hall: NamedDependency[Hall]) -> Template | Redirect:
        if not manager(request):
            return back("/manage/login")
        data = await hall.run(leave_page)
        return render(request, hall, "manage_leave.html", manager_name=session(request).get("manager_name"), **data)

    @post("/", opt=access(MANAGER, "/manage/login"))
    async def manage_leave_file(self, request: Request, hall: NamedDependency[Hall],
                                data: Annotated[LeaveForm, FormBody]) -> Redirect:
        manager_id = manager(request)
        if not manager_id:
            return back("/manage/login")
        return await run_and_flash(request, hall, "/manage/leave", file_leave, data, manager_id)

    @post("/{leave_id:str}/return", opt=access(MANAGER, "/manage/login"))
    async def manage_leave_return(self, request: Request, hall: NamedDependency[Hall], leave_id: FromPath[str],
                                  data: Annotated[ReturnForm, FormBody]) -> Redirect:
        manager_id = manager(request)
        if not manager_id:
            return back("/manage/login")
        return await run_and_flash(request, hall, "/manage/leave", record_return, leave_id[:64], data, manager_id)

    @post("/{leave_id:str}/{action:str}", opt=access(MANAGER, "/manage/login"))
    async def manage_leave_decide(self, request: Request, hall: NamedDependency[Hall], leave_id: FromPath[str],
                                  action: FromPath[str], data: Annotated[DecisionForm, FormBody]) -> Any:
        manager_id = manager(request)
        if not manager_id:
            return back("/manage/login")
        if action not in ("approve", "reject"):
            return back("/manage/leave")
        return await run_and_flash(request, hall, "/manage/leave", decide, action, leave_id[:64], data.note[:200],
                                   manager_id)
