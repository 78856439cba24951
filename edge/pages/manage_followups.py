"""The hall manager's follow-up page (/manage/followups): bad ratings (不满意 / 非常不满意) to
follow up — open ones by due date, overdue in red (`rules.ratings.followup_days`, edge.ratings)
— and a form to record one (回访办结: result and what was found), the same as
`POST /api/followups/{id}/close` with the manager's rights (only the manager may find an appeal
upheld; the rated staff member never closes their own). The latest closed ones below.
Session-protected like /manage; works offline."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from .. import ratings
from ..context import Ctx
from ..hall import Hall
from ..web import MANAGER, access
from .common import Form, FormBody, PageController, back, manager, render, run_and_flash, session

RECENT_CLOSED = 20


class CloseForm(Form):
    result: str = "resolved"
    note: str = ""


def followup_page(ctx: Ctx) -> dict:
    today = ctx.service_date()
    windows = ctx.catalog.windows
    depts = {d.id: d.name for d in ctx.catalog.business.catalog.departments}

    def brief(f) -> dict:
        b = ratings.followup_brief(ctx, f)
        w = windows.get(b["window"])
        return {**b, "window_name": w.name if w else b["window"],
                "department_name": depts.get(b["department"] or "", b["department"] or ""),
                "due_today": b["state"] == "open" and b["due"] == today}

    open_ = sorted((brief(f) for f in ctx.store.followups("open")), key=lambda b: (b["due"], b["opened_at"]))
    closed = sorted((brief(f) for f in ctx.store.followups("closed")), key=lambda b: b["opened_at"], reverse=True)
    return {"open": open_, "closed": closed[:RECENT_CLOSED], "today": today,
            "overdue": sum(1 for b in open_ if b["overdue"]), "due_today": sum(1 for b in open_ if b["due_today"]),
            "results": list(ratings.RESULT_LABELS.items()), "days": ctx.catalog.rules.ratings.followup_days}


def close(ctx: Ctx, followup_id: str, data: CloseForm, manager_id: str) -> str:
    f = ratings.close_followup(ctx, followup_id, manager_id, data.result.strip()[:32], data.note[:500], True)
    b = ratings.followup_brief(ctx, f)
    return f"已办结 {b['number'] or b['ticket']} 号的差评回访：{b['result_label']}"


class ManageFollowupPages(PageController):
    path = "/manage/followups"

    @get("/", opt=access(MANAGER, "/manage/login"))
    async def manage_followups(self, request: Request, hall: NamedDependency[Hall]) -> Template | Redirect:
        if not manager(request):
            return back("/manage/login")
        data = await hall.run(followup_page)
        return render(request, hall, "manage_followups.html", manager_name=session(request).get("manager_name"),
                      **data)

    @post("/{followup_id:str}/close", opt=access(MANAGER, "/manage/login"))
    async def manage_followup_close(self, request: Request, hall: NamedDependency[Hall], followup_id: FromPath[str],
                                    data: Annotated[CloseForm, FormBody]) -> Redirect:
        manager_id = manager(request)
        if not manager_id:
            return back("/manage/login")
        return await run_and_flash(request, hall, "/manage/followups", close, followup_id[:64], data, manager_id)
