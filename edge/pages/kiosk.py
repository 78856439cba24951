"""The visitor kiosk (取号): items by department, an item's page with what to bring, taking a
number (also by department or as a priority visitor), rejoining after a missed call, the ticket."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from .. import queue, views, windows
from ..context import Ctx
from ..hall import Hall
from ..workflow import TICKET, NotFound, Refused
from ..web import PUBLIC, access
from .common import (MODE_LABELS, Form, FormBody, PageController, back, date_label, flash, get_item, hours,
                     promise, show)


class TicketForm(Form):
    item: str = ""
    department: str = ""
    priority: bool = False


class RejoinForm(Form):
    number: str = ""


# ---------------------------------------------------------------------------- read models and commands (writer thread)


def open_today(ctx: Ctx, dept_id: str) -> bool:
    today = ctx.today()
    return any(windows.in_service(ctx, w.id, today) for w in ctx.catalog.business.windows if w.department == dept_id)


def kiosk_data(ctx: Ctx) -> dict:
    cat = ctx.catalog
    queues = {q["department"]: q for q in views.queue_summary(ctx)}
    items = cat.hall_items()
    return {
        "hours": hours(ctx),
        "departments": [
            {"dept": d, "item_list": [i for i in items if i.department == d.id], "waiting": queues[d.id]["waiting"],
             "wait": queues[d.id]["estimated_wait_minutes"], "open_today": open_today(ctx, d.id)}
            for d in cat.hall_departments()
        ],
    }


def item_data(ctx: Ctx, item_id: str) -> dict:
    it = get_item(ctx, item_id)
    dept = ctx.catalog.departments[it.department]
    q = next((q for q in views.queue_summary(ctx) if q["department"] == it.department), None)
    return {
        "item": it, "dept": dept, "promise": promise(ctx, it), "hours": hours(ctx),
        "here": q is not None, "open_today": q is not None and open_today(ctx, it.department),
        "waiting": q["waiting"] if q else 0, "wait": q["estimated_wait_minutes"] if q else 0,
        "mode": MODE_LABELS.get(it.mode, it.mode),
    }


def issue(ctx: Ctx, item: str | None, department: str | None, priority: bool) -> str:
    return queue.issue(ctx, item=item, department=department, priority=priority)["ticket"].id


def rejoin(ctx: Ctx, number: str) -> str:
    return queue.rejoin(ctx, number).id


def ticket_data(ctx: Ctx, ticket_id: str) -> dict:
    t = ctx.store.ticket(ticket_id)
    if t is None:
        raise NotFound("unknown-ticket", "没有这个号码")
    ahead = wait = None
    if t.state == "waiting":
        waiting = ctx.store.waiting(t.department, t.service_date)
        ahead = next((i for i, x in enumerate(waiting) if x.id == t.id), 0)
        wait = queue.estimate_wait(ctx, t.department, ahead)
    it = ctx.catalog.items.get(t.item) if t.item else None
    wcfg = ctx.catalog.windows.get(t.window) if t.window else None
    dept = ctx.catalog.departments.get(t.department)
    return {
        "ticket": t, "state_label": TICKET.labels.get(t.state, t.state), "item": it, "dept": dept,
        "dept_name": dept.name if dept else t.department, "ahead": ahead, "wait": wait,
        "window_name": wcfg.name if wcfg else None,
        "issued": f"{date_label(t.service_date)} {views.hhmm(ctx, t.issued_at)}",
        "location": it.location if it else "",
    }


# ---------------------------------------------------------------------------- routes


class KioskPages(PageController):
    path = "/kiosk"

    @get("/", opt=access(PUBLIC))
    async def kiosk(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        return await show(request, hall, "kiosk.html", kiosk_data)

    @get("/items/{item_id:str}", opt=access(PUBLIC))
    async def kiosk_item(self, request: Request, hall: NamedDependency[Hall], item_id: FromPath[str]) -> Template:
        return await show(request, hall, "kiosk_item.html", item_data, item_id)

    @post("/tickets", opt=access(PUBLIC))
    async def kiosk_issue(self, request: Request, hall: NamedDependency[Hall],
                          data: Annotated[TicketForm, FormBody]) -> Redirect:
        to = f"/kiosk/items/{data.item}" if data.item else "/kiosk"
        try:
            ticket_id = await hall.run(issue, data.item or None, data.department or None, data.priority)
        except Refused as e:
            flash(request, e.message)
            return back(to)
        return back(f"/kiosk/tickets/{ticket_id}")

    @post("/rejoin", opt=access(PUBLIC))
    async def kiosk_rejoin(self, request: Request, hall: NamedDependency[Hall],
                           data: Annotated[RejoinForm, FormBody]) -> Redirect:
        try:
            ticket_id = await hall.run(rejoin, data.number)
        except Refused as e:
            flash(request, e.message)
            return back("/kiosk")
        return back(f"/kiosk/tickets/{ticket_id}")

    @get("/tickets/{ticket_id:str}", opt=access(PUBLIC))
    async def kiosk_ticket(self, request: Request, hall: NamedDependency[Hall], ticket_id: FromPath[str]) -> Template:
        return await show(request, hall, "kiosk_ticket.html", ticket_data, ticket_id)
