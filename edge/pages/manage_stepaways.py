"""The hall manager's step-away page (/manage/step-aways) [C 9(4)]: today's step-aways (离岗) —
who, at which window, when, how many minutes, and whether it passed the limit
(`rules.step_away_limit_minutes`, edge.stepaway) and became a violation (擅自离岗); a step-away
still going counts its minutes up to now. Read-only; session-protected like /manage."""

from __future__ import annotations

from datetime import datetime

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from .. import stepaway, views
from ..context import Ctx
from ..hall import Hall
from ..web import MANAGER, access
from .common import PageController, back, manager, render, session, staff_name

VIA_LABELS = {"console": "工作台", "badge": "刷卡", "button": "暂停按钮", "api": "工作台"}


def stepaway_page(ctx: Ctx) -> dict:
    limit = stepaway.limit_seconds(ctx)
    now = ctx.calendar.local(ctx.now())
    rows = []
    for a in views.step_aways(ctx, ctx.today()):
        start = a["start"]
        seconds = a["seconds"]
        if a["end"] is None:  # still away: up to now
            seconds = max(0, int((now - datetime.fromisoformat(start)).total_seconds()))
        w = ctx.catalog.windows.get(a["window"])
        rows.append({**a, "window_name": w.name if w else a["window"], "staff_name": staff_name(ctx, a["staff"]),
                     "start_hm": start[11:16], "end_hm": a["end"][11:16] if a["end"] else "",
                     "minutes": round((seconds or 0) / 60, 1), "ongoing": a["end"] is None,
                     "over": a["over_limit"] or (seconds or 0) > limit,
                     "via_label": VIA_LABELS.get(a["via"] or "", "")})
    return {"rows": rows, "limit": stepaway.limit_minutes(ctx), "today": ctx.service_date(),
            "violations": sum(1 for r in rows if r["violation"]), "over": sum(1 for r in rows if r["over"])}


class ManageStepAwayPages(PageController):
    path = "/manage/step-aways"

    @get("/", opt=access(MANAGER, "/manage/login"))
    async def manage_step_aways(self, request: Request, hall: NamedDependency[Hall]) -> Template | Redirect:
        if not manager(request):
            return back("/manage/login")
        data = await hall.run(stepaway_page)
        return render(request, hall, "manage_stepaways.html", manager_name=session(request).get("manager_name"),
                      **data)
