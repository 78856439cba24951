"""The visitor kiosk (取号): departments as big tiles, a department's items, an item's page with
what to bring, taking a number (also by department or as a priority visitor), rejoining after a
missed call on an on-screen keypad, the ticket slip naming the windows that serve it. In Chinese
or English, normal or large text, as the visitor chooses (common.visit_prefs)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from sync.kernel.business import Department

from .. import i18n, phone, queue, views, windows
from ..context import Ctx
from ..hall import Hall
from ..store.windows import WindowView
from ..workflow import NotFound, Refused
from ..web import PUBLIC, access
from .common import (MODE_LABELS, Form, FormBody, PageController, back, date_label, flash, get_item, hours, keep_prefs,
                     prefs_query, promise, refusal_text, render, show, visit_prefs)

N_ = i18n.N_
# How long a kiosk page waits for a tap before it returns to the home page (and the next visitor
# gets Chinese, normal text); the home page reloads itself every HOME_REFRESH seconds.
IDLE_SECONDS = 120
HOME_REFRESH = 30
# The ticket states as the slip words them (edge.workflow.TICKET's labels, marked for the catalog;
# tests/edge/test_i18n.py checks they stay the same).
TICKET_STATES = {"waiting": N_("等候中"), "called": N_("已叫号"), "serving": N_("办理中"), "done": N_("已办结"),
                 "no_show": N_("过号"), "expired": N_("已作废")}


class TicketForm(Form):
    item: str = ""
    department: str = ""
    priority: bool = False


class RejoinForm(Form):
    number: str = ""


# ---------------------------------------------------------------------------- read models and commands (writer thread)
# The kiosk offers only what can be served now: each department carries the refusal the ticket
# API would answer (queue.department_refusal), shown as a short reason on a tile that cannot be
# tapped; the estimated wait is shown only while the hall is open and a window of the department
# serves (staff signed on, not paused).


def reason(ctx: Ctx, refusal: Refused | None, lang: str = i18n.DEFAULT) -> str:
    """A refusal of queue.department_refusal as the few words a kiosk tile shows."""
    if refusal is None:
        return ""
    t = i18n.translations(lang)
    cal, now, today = ctx.calendar, ctx.now(), ctx.today()
    nxt = cal.next_open(now)
    later_today = nxt is not None and nxt > now and cal.local_date(nxt) == today
    if refusal.code == "hall-closed":
        if later_today:
            assert nxt is not None
            lead = timedelta(minutes=ctx.catalog.rules.issue_before_open_minutes)
            if lead:
                return t.gettext("{start} 开始办理，{early} 起可取号").format(
                    start=f"{cal.local(nxt):%H:%M}", early=f"{cal.local(nxt - lead):%H:%M}")
            return t.gettext("{start} 开始办理").format(start=f"{cal.local(nxt):%H:%M}")
        return t.gettext("今日已停止取号") if cal.periods_on(today) else t.gettext("今日不对外办公")
    if refusal.code == "no-window-today":
        return t.gettext("该部门窗口今日不开放")
    if refusal.code == "department-closed":
        return t.gettext("窗口暂未开放")  # the hall is open but nobody has signed on: when they come is unknown
    if refusal.code == "department-not-here":
        return t.gettext("本大厅未设该部门窗口")
    return refusal_text(lang, refusal.code, refusal.message)


def department_state(ctx: Ctx, dept_id: str, rows: dict[str, WindowView] | None = None,
                     queues: dict[str, dict] | None = None, lang: str = i18n.DEFAULT) -> dict:
    """What the kiosk shows of a department: whether a number can be taken now (else why),
    the waiting count, the estimated wait (None when no window serves now) and the windows of
    this hall that serve it today."""
    rows = rows if rows is not None else {w.id: w for w in ctx.store.windows()}
    queues = queues if queues is not None else {q["department"]: q for q in views.queue_summary(ctx)}
    refusal = queue.department_refusal(ctx, dept_id, rows)
    q = queues.get(dept_id, {"waiting": 0, "estimated_wait_minutes": 0})
    today = ctx.today()
    mine = [w for w in ctx.catalog.business.windows if w.department == dept_id]
    working = queue.working_windows(ctx, dept_id, list(rows.values()))
    staffed = [w for w in mine if rows.get(w.id) is not None and rows[w.id].staff is not None]
    cal, now = ctx.calendar, ctx.now()
    serving_now = working > 0 and cal.is_open(now)
    nxt = None if cal.is_open(now) else cal.next_open(now)
    return {
        # early numbers before a work period: when calling starts
        "opens_at": f"{cal.local(nxt):%H:%M}" if nxt is not None and cal.local_date(nxt) == today else None,
        "available": refusal is None,
        "code": refusal.code if refusal else None,
        "reason": reason(ctx, refusal, lang),
        "waiting": q["waiting"],
        "wait": q["estimated_wait_minutes"] if serving_now else None,
        "paused": bool(staffed) and working == 0,
        "open_windows": len(staffed),
        "windows": [w.name for w in mine if windows.in_service(ctx, w.id, today, rows.get(w.id))],
    }


def kiosk_data(ctx: Ctx, lang: str = i18n.DEFAULT) -> dict:
    cat = ctx.catalog
    rows = {w.id: w for w in ctx.store.windows()}
    queues = {q["department"]: q for q in views.queue_summary(ctx)}
    items = cat.hall_items()
    hall_refusal = queue.issuing_refusal(ctx)
    return {
        "hours": hours(ctx, lang),
        "closed_reason": reason(ctx, hall_refusal, lang),
        "departments": [
            {"dept": d, "items": sum(1 for i in items if i.department == d.id),
             **department_state(ctx, d.id, rows, queues, lang)}
            for d in cat.hall_departments()
        ],
    }


def get_department(ctx: Ctx, dept_id: str) -> Department:
    d = ctx.catalog.departments.get(dept_id)
    if d is None or d not in ctx.catalog.hall_departments():
        raise NotFound("unknown-department", f"本大厅没有编号为 {dept_id} 的部门")
    return d


def department_data(ctx: Ctx, dept_id: str, lang: str = i18n.DEFAULT) -> dict:
    d = get_department(ctx, dept_id)
    return {"hours": hours(ctx, lang), "dept": d,
            "item_list": [i for i in ctx.catalog.hall_items() if i.department == d.id],
            **department_state(ctx, d.id, lang=lang)}


def item_data(ctx: Ctx, item_id: str, lang: str = i18n.DEFAULT) -> dict:
    it = get_item(ctx, item_id)
    dept = ctx.catalog.departments[it.department]
    here = dept in ctx.catalog.hall_departments()
    t = i18n.translations(lang)
    state = department_state(ctx, it.department, lang=lang) if here else {
        "available": False, "code": "department-not-here", "reason": t.gettext("本大厅未设该部门窗口"), "waiting": 0,
        "wait": None, "paused": False, "open_windows": 0, "windows": [], "opens_at": None}
    return {
        "item": it, "dept": dept, "promise": promise(ctx, it, lang), "hours": hours(ctx, lang), "here": here,
        "mode": t.gettext(MODE_LABELS[it.mode]) if it.mode in MODE_LABELS else it.mode, **state,
    }


def rejoin_data(ctx: Ctx, lang: str = i18n.DEFAULT) -> dict:
    return {"prefixes": [d.prefix for d in ctx.catalog.hall_departments()], "hours": hours(ctx, lang)}


def issue(ctx: Ctx, item: str | None, department: str | None, priority: bool) -> str:
    return queue.issue(ctx, item=item, department=department, priority=priority)["ticket"].id


def rejoin(ctx: Ctx, number: str) -> str:
    return queue.rejoin(ctx, number).id


def ticket_data(ctx: Ctx, ticket_id: str, lang: str = i18n.DEFAULT) -> dict:
    t = ctx.store.ticket(ticket_id)
    if t is None:
        raise NotFound("unknown-ticket", "没有这个号码")
    ahead = wait = None
    state = department_state(ctx, t.department) if t.department in {
        d.id for d in ctx.catalog.hall_departments()} else {"wait": None, "windows": [], "paused": False}
    if t.state == "waiting":
        ahead = queue.waiting_ahead(ctx, t)  # in call order: appointments checked in on time go ahead
        if state["wait"] is not None:
            wait = queue.estimate_wait(ctx, t.department, ahead)
    it = ctx.catalog.items.get(t.item) if t.item else None
    wcfg = ctx.catalog.windows.get(t.window) if t.window else None
    dept = ctx.catalog.departments.get(t.department)
    label = TICKET_STATES.get(t.state)
    return {
        "ticket": t, "state_label": i18n.translations(lang).gettext(label) if label else t.state,
        "item": it, "dept": dept,
        "dept_name": dept.name if dept else t.department, "ahead": ahead, "wait": wait,
        "window_name": wcfg.name if wcfg else None, "windows": state["windows"], "paused": state["paused"],
        "issued": f"{date_label(t.service_date, lang)} {views.hhmm(ctx, t.issued_at)}",
    }


def slip_data(ctx: Ctx, ticket_id: str, lang: str = i18n.DEFAULT) -> dict:
    """The slip on screen: the ticket (ticket_data) and, while `[hall] public_url` is set, the
    QR code of its phone page (edge.phone) with the link it encodes."""
    d = ticket_data(ctx, ticket_id, lang)
    link = phone.ticket_link(ctx, ticket_id, lang)
    d["phone_link"] = link
    d["phone_qr"] = phone.qr_svg(link, i18n.translations(lang).gettext(N_("扫码查看排队进度"))) if link else None
    return d


# ---------------------------------------------------------------------------- routes


def home_refresh(prefs: dict, idle: str | None) -> str:
    """The home page's `<meta http-equiv=refresh>`: reload every HOME_REFRESH seconds; with a
    visitor's choices the reload keeps them (counting the idle reloads in `idle`) until
    IDLE_SECONDS have passed without a tap, then it reloads the plain home page."""
    if not prefs_query(prefs):
        return str(HOME_REFRESH)
    rounds = int(idle) + 1 if idle and idle.isdigit() and len(idle) < 4 else 1
    if rounds * HOME_REFRESH >= IDLE_SECONDS:
        return f"{HOME_REFRESH};url=/kiosk"
    return f"{HOME_REFRESH};url=/kiosk?{prefs_query(prefs, idle=str(rounds))}"


class KioskPages(PageController):
    path = "/kiosk"

    @get("/", opt=access(PUBLIC))
    async def kiosk(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        prefs = visit_prefs(request)
        return render(request, hall, "kiosk.html", refresh=home_refresh(prefs, request.query_params.get("idle")),
                      idle_seconds=IDLE_SECONDS, **await hall.run(kiosk_data, prefs["lang"]))

    @get("/departments/{dept_id:str}", opt=access(PUBLIC))
    async def kiosk_department(self, request: Request, hall: NamedDependency[Hall], dept_id: FromPath[str]) -> Template:
        return await show(request, hall, "kiosk_department.html", department_data, dept_id, visit_prefs(request)["lang"])

    @get("/rejoin", opt=access(PUBLIC))
    async def kiosk_rejoin_page(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        return await show(request, hall, "kiosk_rejoin.html", rejoin_data, visit_prefs(request)["lang"])

    @get("/items/{item_id:str}", opt=access(PUBLIC))
    async def kiosk_item(self, request: Request, hall: NamedDependency[Hall], item_id: FromPath[str]) -> Template:
        return await show(request, hall, "kiosk_item.html", item_data, item_id, visit_prefs(request)["lang"])

    @post("/tickets", opt=access(PUBLIC))
    async def kiosk_issue(self, request: Request, hall: NamedDependency[Hall],
                          data: Annotated[TicketForm, FormBody]) -> Redirect:
        prefs = visit_prefs(request)
        to = (f"/kiosk/items/{data.item}" if data.item
              else f"/kiosk/departments/{data.department}" if data.department else "/kiosk")
        try:
            ticket_id = await hall.run(issue, data.item or None, data.department or None, data.priority)
        except Refused as e:
            flash(request, refusal_text(prefs["lang"], e.code, e.message))
            return back(keep_prefs(prefs, to))
        return back(keep_prefs(prefs, f"/kiosk/tickets/{ticket_id}"))

    @post("/rejoin", opt=access(PUBLIC))
    async def kiosk_rejoin(self, request: Request, hall: NamedDependency[Hall],
                           data: Annotated[RejoinForm, FormBody]) -> Redirect:
        prefs = visit_prefs(request)
        try:
            ticket_id = await hall.run(rejoin, data.number)
        except Refused as e:
            flash(request, refusal_text(prefs["lang"], e.code, e.message))
            return back(keep_prefs(prefs, "/kiosk/rejoin"))
        return back(keep_prefs(prefs, f"/kiosk/tickets/{ticket_id}"))

    @get("/tickets/{ticket_id:str}", opt=access(PUBLIC))
    async def kiosk_ticket(self, request: Request, hall: NamedDependency[Hall], ticket_id: FromPath[str]) -> Template:
        return await show(request, hall, "kiosk_ticket.html", slip_data, ticket_id, visit_prefs(request)["lang"])
