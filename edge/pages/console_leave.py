"""A clerk's own leave at the window console (/console/{window}/leave): request leave for
oneself — ahead of time, or after the fact within `rules.attendance.leave_after_days` working
days with a reason [J 28] — see one's requests and their state (approved by whom, the hand-over
to the B-role [C 7, H AB-2]), record one's own 销假 [C 9], and the hand-overs naming oneself as
stand-in. The rules are edge.leave's, the same as `POST /api/leave` for oneself; every step is an
event. Needs the clerk signed on at the window (like the cases page)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect

from .. import leave, views, windows
from ..context import Ctx
from ..hall import Hall
from ..web import AT_WINDOW, access
from ..workflow import NotFound
from .common import FormBody, PageController, not_signed, render, run_and_flash, staff_at
from .manage_leave import HALVES, LeaveForm, ReturnForm, parse_day

RECENT = 20


def leave_data(ctx: Ctx, window_id: str, staff: str | None) -> dict:
    w = windows.get_window(ctx, window_id)
    brief = views.window_brief(ctx, w)
    if staff is None or w.staff != staff:
        return {"window": brief, "signed": False}
    today = ctx.today()
    mine = [leave.leave_brief(ctx, lv) for lv in ctx.store.leaves(staff=staff)]
    mine.sort(key=lambda b: b["start"], reverse=True)
    for b in mine:
        b["can_return"] = b["state"] == "approved" and b["end"] >= today.isoformat()
    me = ctx.catalog.staff[staff]
    return {"window": brief, "signed": True, "me": {"id": me.id, "name": me.name}, "leaves": mine[:RECENT],
            "today": today.isoformat(), "halves": HALVES,
            "standing_in": leave.standing_in(ctx, staff, today),
            "kinds": [{"id": k.id, "name": k.name, "approver": leave.APPROVER_LABELS[k.approver],
                       "advance": k.advance_working_days, "certificate": k.certificate}
                      for k in ctx.catalog.rules.attendance.leave_kinds],
            "after_days": ctx.catalog.rules.attendance.leave_after_days}


def request_own(ctx: Ctx, staff: str, data: LeaveForm) -> str:
    start = parse_day(data.start, "开始日期")
    end = parse_day(data.end or data.start, "结束日期")
    lv = leave.request_leave(ctx, staff, data.kind.strip()[:64], start, end, data.start_half, data.end_half,
                             data.reason[:200], bool(data.certificate), by=staff)
    b = leave.leave_brief(ctx, lv)
    return f"已提交{b['kind_name']}（{b['span']}），待审批：{b['approver_label']}" + ("；事后补办" if b["after_the_fact"] else "")


def return_own(ctx: Ctx, staff: str, leave_id: str, data: ReturnForm) -> str:
    lv = ctx.store.leave(leave_id)
    if lv is None or lv.staff != staff:  # only one's own leave here; a head uses the manager page or the API
        raise NotFound("unknown-leave", f"没有编号为 {leave_id} 的本人请假")
    returned = parse_day(data.returned, "返岗日期")
    b = leave.leave_brief(ctx, leave.end_leave(ctx, leave_id, returned, data.returned_half, staff))
    if b["state"] == "cancelled":
        return f"已销假：{b['kind_name']}未休，整体取消"
    return f"已销假：{b['kind_name']}改为 {b['span']}"


class ConsoleLeavePages(PageController):
    path = "/console/{window_id:str}/leave"

    @get("/", opt=access(AT_WINDOW, "/console/{window_id}"))
    async def console_leave(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str]) -> Any:
        data = await hall.run(leave_data, window_id, staff_at(request, window_id))
        if not data["signed"]:
            return not_signed(request, window_id)
        return render(request, hall, "console_leave.html", **data)

    @post("/", opt=access(AT_WINDOW, "/console/{window_id}"))
    async def console_leave_request(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                                    data: Annotated[LeaveForm, FormBody]) -> Redirect:
        staff = staff_at(request, window_id)
        if staff is None:
            return not_signed(request, window_id)
        return await run_and_flash(request, hall, f"/console/{window_id}/leave", request_own, staff, data)

    @post("/{leave_id:str}/return", opt=access(AT_WINDOW, "/console/{window_id}"))
    async def console_leave_return(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                                   leave_id: FromPath[str], data: Annotated[ReturnForm, FormBody]) -> Redirect:
        staff = staff_at(request, window_id)
        if staff is None:
            return not_signed(request, window_id)
        return await run_and_flash(request, hall, f"/console/{window_id}/leave", return_own, staff, leave_id[:64], data)
