"""Pages and JSON API of the assessment outcomes (central.awards): the monthly attendance
bulletin (/awards/bulletin), the semester's red flag windows (/awards/redflag), the yearly
awards (/awards/year) and the performance allowance (/awards/allowance), each printable (a print
stylesheet) and downloadable as CSV (`?format=csv`, central.reports.to_csv). The JSON API is
/api/awards/bulletin|redflag|year|allowance (dashboard session or HTTP Basic).

Winners and grades are always computed over the whole centre; the caller's role (Scope) only
limits the rows shown, as in the reports. The `[awards]` configuration is read from
`app.state.awards` (set by central.cli from central.toml); without it the defaults apply.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template

from .. import awards as aw
from .. import reports as rp
from ..auth import scope_of
from ..config import Awards
from ..errors import BadRequest
from .common import page_context, session


def awards_config(request: Request) -> Awards:
    cfg = request.app.state.get("awards")
    return cfg if isinstance(cfg, Awards) else aw.DEFAULT


def _csv(report: dict) -> Response:
    return Response(rp.to_csv(report), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{report["report"]}.csv"'})


def _json(report: dict) -> dict:
    out = {k: v for k, v in report.items() if not k.endswith("columns")}
    for k, v in report.items():
        if k.endswith("columns"):
            out[k] = [{"key": key, "title": title} for key, title in v]
    return out


def _make(kind: str, request: Request, ctx, scope) -> dict:
    q = request.query_params
    cfg, today = awards_config(request), ctx.today_of(request.query_params)
    if kind == "bulletin":
        return aw.attendance_bulletin(ctx.store, ctx.directory, q.get("month"), scope, today=today)
    if kind == "redflag":
        return aw.red_flags(ctx.store, ctx.directory, q.get("semester"), scope, cfg, ctx.weights, today=today)
    if kind == "year":
        return aw.yearly_awards(ctx.store, ctx.directory, q.get("year"), scope, cfg, ctx.weights, today=today)
    return aw.allowance(ctx.store, ctx.directory, q.get("year"), scope, cfg, ctx.weights, today=today)


class AwardsApi(Controller):
    """Assessment outcomes (docs/central.md, section awards). Login required; the caller's role
    limits the rows. `?format=csv` answers CSV (UTF-8 with BOM)."""

    path = "/api/awards"
    tags = ["awards"]

    def _answer(self, kind: str, request: Request, ctx) -> Response:
        _user, scope = ctx.caller(request)
        try:
            report = _make(kind, request, ctx, scope)
            fmt = request.query_params.get("format")
            if fmt == "csv":
                return _csv(report)
            if fmt not in (None, "", "json"):
                raise BadRequest(f"format must be json or csv, got {fmt!r}")
        except BadRequest as e:
            raise HTTPException(status_code=400, detail=str(e)) from None
        return Response(_json(report))

    @get("/bulletin", sync_to_thread=True, summary="Monthly attendance bulletin per hall and department (?month=)")
    def bulletin(self, request: Request, ctx: NamedDependency[Any]) -> Response:
        return self._answer("bulletin", request, ctx)

    @get("/redflag", sync_to_thread=True, summary="流动红旗 windows of a semester (?semester=YYYY-1|YYYY-2)")
    def redflag(self, request: Request, ctx: NamedDependency[Any]) -> Response:
        return self._answer("redflag", request, ctx)

    @get("/year", sync_to_thread=True, summary="Five-star windows, service models, advanced individuals (?year=)")
    def year(self, request: Request, ctx: NamedDependency[Any]) -> Response:
        return self._answer("year", request, ctx)

    @get("/allowance", sync_to_thread=True, summary="Performance allowance per staff member and department (?year=)")
    def allowance(self, request: Request, ctx: NamedDependency[Any]) -> Response:
        return self._answer("allowance", request, ctx)


def _default_month(today: date) -> str:
    last = today.replace(day=1) - timedelta(days=1)  # the bulletin publishes the past month
    return f"{last:%Y-%m}"


def _default_semester(t: date) -> str:
    if t.month >= 9:
        return f"{t.year}-1"
    return f"{t.year - 1}-1" if t.month == 1 else f"{t.year - 1}-2"


TITLES = {"bulletin": "考勤公布", "redflag": "流动红旗服务窗口", "year": "年度评优", "allowance": "绩效奖励津贴"}


class AwardsPages(Controller):
    path = "/awards"
    include_in_schema = False

    def _page(self, kind: str, request: Request, ctx, form: dict) -> Template | Redirect | Response:
        s = session(request, ctx)
        if s is None:
            return Redirect(path="/login")
        report, error, status = None, None, 200
        try:
            report = _make(kind, request, ctx, scope_of(s.user))
            fmt = request.query_params.get("format")
            if fmt == "csv":
                return _csv(report)
            if fmt not in (None, "", "html"):
                raise BadRequest(f"format must be html or csv, got {fmt!r}")
        except BadRequest as e:
            report, error, status = None, str(e), 400
        query = "&".join(f"{k}={v}" for k, v in form.items() if v)
        return Template(template_name=f"awards_{kind}.html", status_code=status, context=page_context(
            s.user, ctx, title=TITLES[kind], report=report, error=error, form=form, csv_query=query + "&format=csv",
            printed=ctx.today().isoformat(), cfg=awards_config(request)))

    @get("/", sync_to_thread=False)
    def index(self) -> Redirect:
        return Redirect(path="/awards/bulletin")

    @get("/bulletin", sync_to_thread=True)
    def bulletin(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect | Response:
        form = {"month": request.query_params.get("month") or _default_month(ctx.today())}
        return self._with(request, "bulletin", ctx, form)

    @get("/redflag", sync_to_thread=True)
    def redflag(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect | Response:
        return self._with(request, "redflag", ctx,
                          {"semester": request.query_params.get("semester") or _default_semester(ctx.today())})

    @get("/year", sync_to_thread=True)
    def year(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect | Response:
        return self._with(request, "year", ctx,
                          {"year": request.query_params.get("year") or str(ctx.today().year - 1)})

    @get("/allowance", sync_to_thread=True)
    def allowance(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect | Response:
        return self._with(request, "allowance", ctx,
                          {"year": request.query_params.get("year") or str(ctx.today().year - 1)})

    def _with(self, request: Request, kind: str, ctx, form: dict):
        return self._page(kind, _Defaults(request, form), ctx, form)


class _Defaults:
    """The request seen by `_make` with the page's defaults filled in for missing parameters."""

    def __init__(self, request: Request, form: dict) -> None:
        self._r = request
        self.query_params = {**{k: v for k, v in request.query_params.items()}, **form}
        self.cookies = request.cookies
        self.app = request.app
