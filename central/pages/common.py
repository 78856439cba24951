"""What every dashboard page shares: the templates, the value formats (`fmt`, `when`), the
logged-in session, the context every page template gets, and the HTTP status of central's
errors (central.errors)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Request, Response
from litestar.response import Redirect, Template
from litestar.exceptions import HTTPException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from ..auth import COOKIE, ROLE_NAMES, scope_of
from ..errors import BadRequest, Forbidden, NotFound, error_body
from ..export import is_rate

TEMPLATES = Path(__file__).parent.parent / "templates"
SH = ZoneInfo("Asia/Shanghai")


def template_config() -> TemplateConfig:
    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine)


def fmt(value: Any, key: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and is_rate(key):
        return f"{value * 100:.1f}%"
    return str(value)


def when(us: int | None) -> str:
    if not us:
        return "—"
    return datetime.fromtimestamp(us / 1e6, SH).strftime("%Y-%m-%d %H:%M:%S")


def session(request: Request, ctx):
    """The caller's live dashboard session (None: not logged in)."""
    return ctx.auth.session(request.cookies.get(COOKIE))


def page_context(user, ctx, **data) -> dict:
    """The context every page template gets: the user, their role's name, the formats, the
    hall directory, and the page's own `data`."""
    return {"user": user, "role_name": ROLE_NAMES[user.role], "fmt": fmt, "when": when,
            "directory": ctx.directory, **data}


def status_of(e: Exception) -> int:
    """The HTTP status of a domain error: 403 Forbidden, 404 NotFound, else 400."""
    return 403 if isinstance(e, Forbidden) else 404 if isinstance(e, NotFound) else 400


def domain_error(request: Request, exc: Exception) -> Response:
    """Exception handler of a JSON controller: a domain error (BadRequest, Forbidden, NotFound)
    answers its status with the message, as `raise_http` would."""
    status = status_of(exc)
    return Response(error_body(status, str(exc)), status_code=status)


DOMAIN_ERRORS = {BadRequest: domain_error, Forbidden: domain_error, NotFound: domain_error}


def raise_http(e: Exception):
    """Raise a domain error (BadRequest, Forbidden, NotFound) as the HTTP error of its status."""
    if isinstance(e, (BadRequest, Forbidden, NotFound)):
        raise HTTPException(status_code=status_of(e), detail=str(e)) from None
    raise e


def report_page(request: Request, ctx, title: str, make, form: dict, charts_of=None) -> Template | Redirect:
    """A report table (`make(scope)`) with its charts (`charts_of(scope, report)`) and download
    links; a bad parameter answers 400 with the message on the page."""
    s = session(request, ctx)
    if s is None:
        return Redirect(path="/login")
    report, error, drawn = None, None, []
    try:
        scope = scope_of(s.user)
        report = make(scope)
        drawn = charts_of(scope, report) if charts_of else []
    except BadRequest as e:
        report, error = None, str(e)
    query = urlencode({k: v for k, v in form.items() if v})
    return Template(template_name="report.html", status_code=400 if error else 200, context=page_context(
        s.user, ctx, title=title, report=report, error=error, form=form, charts=drawn, export_query=query,
        csv_query=query + "&format=csv"))
