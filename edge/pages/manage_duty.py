"""The hall manager's duty roster page (/manage/duty) [J 29, U 22, B 29]: every duty day (值班日)
of the school vacations in the calendar, with its opening periods and this hall's roster —
department, the staff on duty and their windows — or, where the hall has no roster for a duty
day, that its windows keep their normal schedule that day. On a duty day, who is signed on at
each rostered window now. Read-only (the roster is configuration, pushed down by central);
session-protected like /manage."""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from .. import views
from ..context import Ctx
from ..hall import Hall
from ..web import MANAGER, access
from .common import PageController, back, manager, render, session, staff_name


def duty_page(ctx: Ctx) -> dict:
    b = ctx.catalog.business
    today = ctx.today()
    now = {w["id"]: w for w in views.windows(ctx)}
    days = []
    for v in b.calendar.vacations:
        for d in sorted(v.duty_days):
            periods = [f"{ctx.calendar.local(s):%H:%M}–{ctx.calendar.local(e):%H:%M}" for s, e in ctx.calendar.periods_on(d)]
            entries = []
            for entry in b.duty:
                if d not in entry.days:
                    continue
                dept = ctx.catalog.departments.get(entry.department)
                wins = entry.windows or [w.id for w in b.windows if w.department == entry.department]
                entries.append({
                    "department": dept.name if dept else entry.department,
                    "staff": [staff_name(ctx, s) for s in entry.staff],
                    "windows": [{"name": ctx.catalog.windows[w].name if w in ctx.catalog.windows else w,
                                 "signed_on": (now.get(w) or {}).get("staff") if d == today else None,
                                 "role_label": (now.get(w) or {}).get("role_label") if d == today else ""}
                                for w in wins],
                })
            days.append({"day": d.isoformat(), "vacation": v.name, "periods": "、".join(periods) or "不开放",
                         "entries": entries, "today": d == today, "past": d < today})
    upcoming = [x for x in days if not x["past"]]
    return {"days": days, "today": today.isoformat(), "next": upcoming[0]["day"] if upcoming else None}


class ManageDutyPages(PageController):
    path = "/manage/duty"

    @get("/", opt=access(MANAGER, "/manage/login"))
    async def manage_duty(self, request: Request, hall: NamedDependency[Hall]) -> Template | Redirect:
        if not manager(request):
            return back("/manage/login")
        data = await hall.run(duty_page)
        return render(request, hall, "manage_duty.html", manager_name=session(request).get("manager_name"), **data)
