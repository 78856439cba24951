"""Dashboard pages of central.operations: 办件跟踪 (/reports/cases: promised, joint and 容缺
cases with their deadlines and the hand-overs of joint cases) and 闭厅与设备
(/reports/operations: closing checks and device faults per hall and day) and 窗口值守
(/reports/coverage: window coverage as time) and 延时服务 (/reports/extended: services finished
after closing). The JSON, CSV and XLSX forms are /api/reports/… (central.app)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from .. import operations as op
from .common import report_page


def _range_form(q, today: date, *more: str) -> dict:
    """The form of a report over days: start (default 30 days ago), end (default today), hall
    and the `more` fields, from the query parameters `q`."""
    return {"start": q.get("start") or (today - timedelta(days=30)).isoformat(),
            "end": q.get("end") or today.isoformat(), "hall": q.get("hall") or "", **{k: q.get(k) or "" for k in more}}


class OperationsPages(Controller):
    path = "/reports"
    include_in_schema = False

    @get("/cases", sync_to_thread=True)
    def cases(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        form = _range_form(request.query_params, ctx.today(), "state")
        return report_page(request, ctx, "办件跟踪（承诺件、联办、容缺受理）", lambda scope: op.cases(
            ctx.store, ctx.directory, form["start"], form["end"], form["hall"] or None, scope=scope,
            state=form["state"] or None, today=ctx.today()), form)

    @get("/operations", sync_to_thread=True)
    def operations(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        form = _range_form(request.query_params, ctx.today())
        return report_page(request, ctx, "闭厅检查与设备故障", lambda scope: op.operations(
            ctx.store, ctx.directory, form["start"], form["end"], form["hall"] or None, scope=scope), form)

    @get("/coverage", sync_to_thread=True)
    def coverage(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        form = _range_form(request.query_params, ctx.today(), "group")
        form["group"] = form["group"] or "window"
        return report_page(request, ctx, "窗口值守（开放时间覆盖，A/B 角）", lambda scope: op.coverage(
            ctx.store, ctx.directory, form["start"], form["end"], form["hall"] or None, scope=scope,
            today=ctx.today(), group=form["group"]), form)

    @get("/extended", sync_to_thread=True)
    def extended(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        form = _range_form(request.query_params, ctx.today())
        return report_page(request, ctx, "延时服务（闭厅后办结）", lambda scope: op.extended(
            ctx.store, ctx.directory, form["start"], form["end"], form["hall"] or None, scope=scope), form)
