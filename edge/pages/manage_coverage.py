"""The hall manager's coverage page (/manage/coverage?day=YYYY-MM-DD): a day's coverage of every
open window as time — open, staffed by A / B / duty, paused, over the step-away limit, the
uncovered intervals (a mid-day sign-off shows as one) — and the services finished after closing
(延时服务), with the month so far summed per window and per staff member. The same arithmetic as
central's report (sync.kernel.coverage) [U 21, B 28, C 9(4), C 11(6)]. Session-protected like
/manage; runs offline at the hall."""

from __future__ import annotations

from datetime import date, timedelta

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from sync.kernel import coverage as cov
from sync.kernel.clock import from_micros

from .. import attendance
from ..context import Ctx
from ..hall import Hall
from ..web import MANAGER, access
from ..workflow import Invalid
from .common import PageController, back, manager, render, session


def hours(seconds: int) -> str:
    """A duration as the page shows it: `3:25` (hours:minutes)."""
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}"


def _day(value: str | None, today: date) -> date:
    if not value:
        return today
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid("bad-date", "日期须为 YYYY-MM-DD（如 2026-11-23）") from None


def coverage_page(ctx: Ctx, day: date) -> dict:
    """The day's windows and 延时服务, and the month up to `day` summed (read on the writer thread)."""
    report = attendance.day_report(ctx, day)
    depts = {d.id: d.name for d in ctx.catalog.business.catalog.departments}
    month: dict[str, list[cov.WindowDay]] = {}
    names: dict[str, str] = {}
    extended: dict[str, dict] = {}
    first = ctx.store.first_event_ts()
    d = day.replace(day=1)
    if first is not None:  # as central: from the hall's first day with records
        d = max(d, ctx.calendar.local_date(from_micros(first)))
    while d <= day:
        if ctx.calendar.is_open_day(d):
            for w, fig in attendance.window_figures(ctx, d):
                month.setdefault(w.id, []).append(fig)
                names[w.id] = w.name
            for x in attendance.extended_services(ctx, d):
                r = extended.setdefault(x["staff"] or "", {"name": x["name"], "services": 0, "minutes": 0,
                                                           "windows": set()})
                r["services"] += 1
                r["minutes"] += x["minutes"]
                r["windows"].add(x["window"] or "")
        d += timedelta(days=1)
    rows = [{"window": k, "name": names[k], **cov.total(v)} for k, v in sorted(month.items())]
    hall_total = cov.total(f for v in month.values() for f in v)
    return {
        "day": day.isoformat(), "today": ctx.today().isoformat(), "open": report["open"],
        "prev": (day - timedelta(days=1)).isoformat(), "next": (day + timedelta(days=1)).isoformat(),
        "windows": [{**w, "department_name": depts.get(w["department"], w["department"])} for w in report["windows"]],
        "extended": report["extended"], "month": day.strftime("%Y-%m"), "month_rows": rows, "month_total": hall_total,
        "month_extended": [{"staff": k, **v, "windows": "、".join(sorted(x for x in v["windows"] if x))}
                           for k, v in sorted(extended.items())],
        "limit_minutes": ctx.catalog.rules.step_away_limit_minutes,
    }


class ManageCoveragePages(PageController):
    path = "/manage/coverage"

    @get("/", opt=access(MANAGER, "/manage/login"))
    async def manage_coverage(self, request: Request, hall: NamedDependency[Hall]) -> Template | Redirect:
        if not manager(request):
            return back("/manage/login")
        today = await hall.run(lambda ctx: ctx.today())
        day = _day(request.query_params.get("day"), today)
        data = await hall.run(coverage_page, day)
        return render(request, hall, "manage_coverage.html", manager_name=session(request).get("manager_name"),
                      hours=hours, **data)
