"""Page and JSON API of the monthly red and black lists (红黑榜 [C 21], central.redblack):
/redblack?month=YYYY-MM (printable; `&format=csv` downloads it) and /api/redblack?month=
(dashboard session or HTTP Basic; `&format=csv`). The month defaults to the past one. The rule is
`app.state.supervision.lists` (`[supervision.lists]`); the problems counted include the automatic
findings of `[supervision.auto]` as of today (`?as_of=` pins the day)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template

from .. import redblack as rb
from ..auth import scope_of
from ..errors import BadRequest
from .awards import _csv, _default_month, _json
from .common import page_context, session
from .supervision import auto_run, supervision


def _make(request: Request, ctx, scope) -> dict:
    month = request.query_params.get("month") or _default_month(ctx.today())
    run = auto_run(request, ctx)
    return rb.red_black(ctx.store, ctx.directory, month, scope, supervision(request).lists, ctx.weights, run,
                        today=run.today)


def _format(request: Request, allowed: tuple[str, ...]) -> str:
    fmt = request.query_params.get("format") or ""
    if fmt not in ("", "csv", *allowed):
        raise BadRequest(f"format must be {' or '.join((*allowed, 'csv'))}, got {fmt!r}")
    return fmt


class RedBlackApi(Controller):
    """红黑榜 (docs/central.md, section 红黑榜). Login required; the caller's role limits the rows."""

    path = "/api/redblack"
    tags = ["records"]

    @get("/", sync_to_thread=True, summary="Monthly red and black lists of windows and staff (?month=&format=csv)")
    def lists(self, request: Request, ctx: NamedDependency[Any]) -> Response:
        _user, scope = ctx.caller(request)
        try:
            fmt = _format(request, ("json",))
            report = _make(request, ctx, scope)
        except BadRequest as e:
            raise HTTPException(status_code=400, detail=str(e)) from None
        return _csv(report) if fmt == "csv" else Response(_json(report))


class RedBlackPages(Controller):
    path = "/redblack"
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def page(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect | Response:
        s = session(request, ctx)
        if s is None:
            return Redirect(path="/login")
        month = request.query_params.get("month") or _default_month(ctx.today())
        report, error, status = None, None, 200
        try:
            fmt = _format(request, ("html",))
            report = _make(request, ctx, scope_of(s.user))
            if fmt == "csv":
                return _csv(report)
        except BadRequest as e:
            error, status = str(e), 400
        return Template(template_name="redblack.html", status_code=status, context=page_context(
            s.user, ctx, title="红黑榜", report=report, error=error, month=month,
            rule=supervision(request).lists))
