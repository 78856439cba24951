"""Dashboard pages of central.operations: 办件跟踪 (/reports/cases: promised, joint and 容缺
cases with their deadlines and the hand-overs of joint cases) and 闭厅与设备
(/reports/operations: closing checks and device faults per hall and day) and 窗口值守
(/reports/coverage: A/B coverage per window). The JSON, CSV and
XLSX forms are /api/reports/cases and /api/reports/operations (central.app)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from . import operations as op
from . import reports as rp
from .auth import COOKIE, ROLE_NAMES, scope_of
from .dashboard import _fmt, _when


def _default_range(q, today: date) -> tuple[str, str]:
    return q.get("start") or (today - timedelta(days=30)).isoformat(), q.get("end") or today.isoformat()


class OperationsPages(Controller):
    path = "/reports"
    include_in_schema = False

    def _render(self, request: Request, ctx, title: str, form: dict, make) -> Template | Redirect:
        s = ctx.auth.session(request.cookies.get(COOKIE))
        if s is None:
            return Redirect(path="/login")
        report, error = None, None
        try:
            report = make(scope_of(s.user))
        except rp.BadRequest as e:
            error = str(e)
        query = urlencode({k: v for k, v in form.items() if v})
        return Template(template_name="report.html", status_code=400 if error else 200, context={
            "user": s.user, "role_name": ROLE_NAMES[s.user.role], "fmt": _fmt, "when": _when,
            "directory": ctx.directory, "title": title, "report": report, "error": error, "form": form,
            "charts": [], "export_query": query, "csv_query": query + "&format=csv"})

    @get("/cases", sync_to_thread=True)
    def cases(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        q = request.query_params
        start, end = _default_range(q, ctx.today())
        form = {"start": start, "end": end, "hall": q.get("hall") or "", "state": q.get("state") or ""}
        return self._render(request, ctx, "办件跟踪（承诺件、联办、容缺受理）", form, lambda scope: op.cases(
            ctx.store, ctx.directory, start, end, form["hall"] or None, scope=scope, state=form["state"] or None,
            today=ctx.today()))

    @get("/operations", sync_to_thread=True)
    def operations(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        q = request.query_params
        start, end = _default_range(q, ctx.today())
        form = {"start": start, "end": end, "hall": q.get("hall") or ""}
        return self._render(request, ctx, "闭厅检查与设备故障", form, lambda scope: op.operations(
            ctx.store, ctx.directory, start, end, form["hall"] or None, scope=scope))

    @get("/coverage", sync_to_thread=True)
    def coverage(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        q = request.query_params
        start, end = _default_range(q, ctx.today())
        form = {"start": start, "end": end, "hall": q.get("hall") or ""}
        return self._render(request, ctx, "窗口值守（A/B 角）", form, lambda scope: op.coverage(
            ctx.store, ctx.directory, start, end, form["hall"] or None, scope=scope, today=ctx.today()))
