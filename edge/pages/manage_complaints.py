"""The hall's complaints desk (/manage/complaints, 办不成事反映窗口) [J 35, U 33, B 41, C 19]: the
hall manager records a complaint taken at the hall — at the window, on the complaint phone or
from the box — offline (edge.complaints: a `complaint.received` event, synced to central like
any event, where it is routed, given its reply deadline and answered); the complaints taken in
the last 30 days below. Session-protected like /manage."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from .. import complaints
from ..context import Ctx
from ..hall import Hall
from ..web import MANAGER, access
from .common import Form, FormBody, PageController, back, manager, render, run_and_flash, session


class ComplaintForm(Form):
    channel: str = "窗口"
    complexity: str = ""
    window: str = ""
    staff: str = ""
    item: str = ""
    complainant: str = ""
    content: str = ""


def complaints_page(ctx: Ctx) -> dict:
    depts = {d.id: d.name for d in ctx.catalog.business.catalog.departments}
    return {
        "recent": complaints.recent(ctx), "days": complaints.RECENT_DAYS, "channels": complaints.CHANNELS,
        "complexities": complaints.COMPLEXITIES,
        "windows": [{"id": w.id, "name": w.name} for w in ctx.catalog.business.windows],
        "staff": [{"id": s.id, "name": s.name, "department": depts.get(s.department, s.department)}
                  for s in ctx.catalog.business.staff],
        "items": [{"id": i.id, "name": i.name} for i in ctx.catalog.business.catalog.items],
    }


def take(ctx: Ctx, data: ComplaintForm, manager_id: str) -> str:
    c = complaints.record(ctx, manager_id, data.content[:4000], data.channel.strip(), data.complexity.strip(),
                          data.window[:64], data.staff[:64], data.item[:64], data.complainant[:200])
    return f"投诉已登记（{c['received'].replace('T', ' ')}），将同步至中心归口办理"


class ManageComplaintPages(PageController):
    path = "/manage/complaints"

    @get("/", opt=access(MANAGER, "/manage/login"))
    async def manage_complaints(self, request: Request, hall: NamedDependency[Hall]) -> Template | Redirect:
        if not manager(request):
            return back("/manage/login")
        data = await hall.run(complaints_page)
        return render(request, hall, "manage_complaints.html", manager_name=session(request).get("manager_name"),
                      **data)

    @post("/", opt=access(MANAGER, "/manage/login"))
    async def manage_complaint_take(self, request: Request, hall: NamedDependency[Hall],
                                    data: Annotated[ComplaintForm, FormBody]) -> Redirect:
        manager_id = manager(request)
        if not manager_id:
            return back("/manage/login")
        return await run_and_flash(request, hall, "/manage/complaints", take, data, manager_id)
