"""What every dashboard page shares: the templates, the value formats (`fmt`, `when`), the
logged-in session, the context every page template gets, and the HTTP status of central's
errors (central.errors)."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar import Request, Response
from litestar.response import Redirect, Template
from litestar.exceptions import HTTPException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from markupsafe import Markup, escape

from ..auth import COOKIE, ROLE_NAMES, scope_of
from ..errors import BadRequest, Forbidden, NotFound, error_body
from ..export import is_rate
from ..facts.sources import reading

TEMPLATES = Path(__file__).parent.parent / "templates"
SH = ZoneInfo("Asia/Shanghai")


def facts_note(state) -> str | None:
    """The line a page shows while the facts it read are still being brought up to date
    (central.facts.sources.FactsState): 数据更新中：截至 HH:MM，尚有 N 天待更新; None when they are
    up to date."""
    if state is None or not (state.pending or state.unmarked):
        return None
    if not state.pending:  # only batches just stored, their days not known yet
        at = state.as_of.astimezone(SH) if state.as_of else None
        return f"数据更新中：截至 {at:%H:%M}，刚收到的数据尚未计入" if at else "数据更新中：刚收到的数据尚未计入"
    halls = len({h for h, _d in state.pending})
    where = f"（涉及 {halls} 个大厅）" if halls > 1 else ""
    if state.as_of is None:
        return f"数据更新中：尚有 {state.pending_days} 天待更新{where}，以下数字尚未包含这些天的最新数据"
    at = state.as_of.astimezone(SH)
    same_day = state.read_at is not None and state.read_at.astimezone(SH).date() == at.date()
    stamp = f"{at:%H:%M}" if same_day else f"{at.month}月{at.day}日 {at:%H:%M}"
    return f"数据更新中：截至 {stamp}，尚有 {state.pending_days} 天待更新{where}"


def template_config() -> TemplateConfig:
    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine)


# Report columns holding seconds (the API keeps seconds; a page shows minutes).
SECONDS = re.compile(r"^(wait|service)_p\d+$")
# Columns holding identifiers an editor types (staff, window, item, case ids, card numbers):
# shown as <code>, not as words of the page.
ID_KEYS = frozenset({"staff", "window", "item", "case", "card", "ticket"})
# Columns counting exceptions: a non-zero count is highlighted (warn: amber, bad: red).
WARN_KEYS = frozenset({"late", "early", "missing", "step_aways", "no_show", "incidents", "uncovered"})
BAD_KEYS = frozenset({"absent", "violations", "complaints", "findings", "faults", "alarms", "overdue"})


def is_seconds(key: str) -> bool:
    return bool(SECONDS.match(key))


def minutes(seconds: float | None) -> str:
    """A duration in seconds as the pages show it: `9.4 分钟`."""
    return "—" if seconds is None else f"{seconds / 60:.1f} 分钟"


def fmt(value: Any, key: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and is_seconds(key):
        return minutes(value)
    if isinstance(value, float) and is_rate(key):
        return f"{value * 100:.1f}%"
    return str(value)


def column_title(title: str) -> str:
    """A report column's title on a page (the API's "(秒)" columns are shown in minutes)."""
    return title.replace("(秒)", "")


def cell_class(value: Any, key: str = "") -> str:
    """The class of a report cell: `num` for numbers (right-aligned), plus `warn`/`bad` for a
    non-zero count of an exception (late arrival, absence, over-limit step-away …)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    if value and key in BAD_KEYS:
        return "num bad"
    if value and key in WARN_KEYS:
        return "num warn"
    return "num"


RATE_OF_RATINGS = frozenset({"good_rate", "satisfaction", "overall_good_rate"})


def too_few_ratings(row: dict | None, key: str, min_ratings: int) -> str | None:
    """What a page shows instead of a satisfaction rate computed from fewer than `min_ratings`
    ratings (`[dashboard] min_ratings`): 数据不足 with the sample size; None: show the rate."""
    if row is None or key not in RATE_OF_RATINGS:
        return None
    n = row.get("ratings")
    if key == "overall_good_rate" and isinstance(n, int):  # unrated services count as 满意
        n += row.get("unrated") or 0
    if not isinstance(n, int) or n >= min_ratings:
        return None
    return f"数据不足（{n} 条评价）" if n else "无评价"


def cell(value: Any, key: str = "", row: dict | None = None, min_ratings: int = 1) -> Markup:
    """One report cell, `<td>` included: formatted, classed, identifiers as <code>; a rate of
    too few ratings (see `too_few_ratings`) as 数据不足."""
    if (short := too_few_ratings(row, key, min_ratings)) is not None:
        return Markup(f'<td class="nodata">{escape(short)}</td>')
    text = escape(fmt(value, key))
    if key in ID_KEYS and isinstance(value, str) and value:
        text = Markup(f"<code>{text}</code>")
    cls = cell_class(value, key)
    return Markup(f'<td class="{cls}">{text}</td>' if cls else f"<td>{text}</td>")


def when(us: int | None) -> str:
    if not us:
        return "—"
    return datetime.fromtimestamp(us / 1e6, SH).strftime("%Y-%m-%d %H:%M:%S")


def session(request: Request, ctx):
    """The caller's live dashboard session (None: not logged in)."""
    return ctx.auth.session(request.cookies.get(COOKIE))


def account_label(ctx, name: str | None) -> Markup:
    """Who did something, as a page names them: a central account's display name (its login
    name as <code> when it has none or is unknown: a hall's staff id, a script)."""
    if not name:
        return Markup("—")
    u = ctx.auth.users.get(name)
    if u is not None and u.display:
        return escape(u.display)
    return Markup(f"<code>{escape(name)}</code>")


RECENT_YEARS = 3  # the period pickers always offer this many years back from today


class Periods:
    """The choices of the period pickers: years with records at central plus the last few,
    academic semesters (学年/学期) and months, labelled in Chinese; the value sent is what the
    server parses (and still validates: a hand-made URL gets a 400 page)."""

    def __init__(self, ctx) -> None:
        self._ctx = ctx
        self._years: list[int] | None = None

    def years(self, selected: str | int | None = None) -> list[tuple[str, str]]:
        if self._years is None:
            today = self._ctx.today()
            first = [ts for h in self._ctx.directory.halls if (ts := self._ctx.store.first_event_ts(h)) is not None]
            oldest = min([today.year - RECENT_YEARS + 1,
                          *(datetime.fromtimestamp(int(ts) / 1e6, SH).year for ts in first)])
            self._years = list(range(today.year, max(oldest, today.year - 20) - 1, -1))
        out = [(str(y), f"{y} 年") for y in self._years]
        return _with_selected(out, selected, lambda v: f"{v} 年")

    def semesters(self, selected: str | None = None) -> list[tuple[str, str]]:
        today = self._ctx.today()
        out = []
        for y in [int(v) for v, _ in self.years()] + [int(self.years()[-1][0]) - 1]:
            if date(y + 1, 2, 1) <= today:
                out.append((f"{y}-2", semester_label(f"{y}-2")))
            if date(y, 9, 1) <= today:
                out.append((f"{y}-1", semester_label(f"{y}-1")))
        return _with_selected(out, selected, semester_label)

    def months(self, selected: str | None = None, count: int = 24) -> list[tuple[str, str]]:
        today = self._ctx.today()
        y, m, out = today.year, today.month, []
        for _ in range(count):
            out.append((f"{y}-{m:02d}", f"{y} 年 {m} 月"))
            y, m = (y, m - 1) if m > 1 else (y - 1, 12)
        return _with_selected(out, selected, lambda v: v)

    def periods(self, selected: str | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
        """Grouped choices of a `period` (month:… / semester:… / year:…)."""
        groups = [("月份", [(f"month:{v}", t) for v, t in self.months(count=12)]),
                  ("学期", [(f"semester:{v}", t) for v, t in self.semesters()]),
                  ("年度", [(f"year:{v}", t) for v, t in self.years()])]
        if selected and not any(selected == v for _, opts in groups for v, _ in opts):
            groups.append(("其他", [(selected, selected)]))
        return groups


def semester_label(value: str) -> str:
    """`2026-1` → 2026–2027 学年第一学期（秋季）; anything else unchanged."""
    m = re.fullmatch(r"(\d{4})-([12])", value or "")
    if not m:
        return value
    y = int(m.group(1))
    return f"{y}–{y + 1} 学年第{'一' if m.group(2) == '1' else '二'}学期（{'秋季' if m.group(2) == '1' else '春季'}）"


def _with_selected(options: list[tuple[str, str]], selected, label) -> list[tuple[str, str]]:
    """`options`, plus the selected value when it is not among them (an old period from a link)."""
    if selected and str(selected) not in {v for v, _ in options}:
        return [*options, (str(selected), label(str(selected)))]
    return options


def departments_of(directory) -> list[tuple[str, str]]:
    """Every department of the hall configurations, (id, name), in configuration order."""
    out: dict[str, str] = {}
    for h in directory.halls.values():
        for d in h.business.catalog.departments:
            out.setdefault(d.id, d.name)
    return list(out.items())


def page_context(user, ctx, **data) -> dict:
    """The context every page template gets: the user, their role's name, the formats, the
    hall directory, and the page's own `data`."""
    min_ratings = getattr(ctx, "min_ratings", 1)
    return {"user": user, "role_name": ROLE_NAMES[user.role], "fmt": fmt, "when": when,
            "cell": lambda value, key="", row=None: cell(value, key, row, min_ratings), "min_ratings": min_ratings,
            "column_title": column_title, "minutes": minutes, "directory": ctx.directory,
            "account": lambda name: account_label(ctx, name), "periods": Periods(ctx),
            "all_departments": departments_of(ctx.directory), "semester_label": semester_label, **data}


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
    with reading() as facts:
        try:
            scope = scope_of(s.user)
            report = make(scope)
            drawn = charts_of(scope, report) if charts_of else []
        except BadRequest as e:
            report, error = None, str(e)
    query = urlencode({k: v for k, v in form.items() if v})
    return Template(template_name="report.html", status_code=400 if error else 200, context=page_context(
        s.user, ctx, title=title, report=report, error=error, form=form, charts=drawn, export_query=query,
        csv_query=query + "&format=csv", facts_note=facts_note(facts)))
