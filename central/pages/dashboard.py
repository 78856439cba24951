"""The central dashboard: server-rendered Chinese pages (Jinja, no CDN).

Pages: login/logout, live view of every hall (实时), monthly attendance (考勤月报), satisfaction
(满意度), service (办件), rankings (排名), each with its chart (inline SVG drawn by
central.charts) and CSV/XLSX download links; the charts page (图表); drill-down campus → hall →
window → staff (下钻); audit log (审计, central admin only). Every page renders the same report
functions as the API with the logged-in user's scope, so role filtering happens on the server.
Logins (and failures and logouts) are written to the audit table.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from markupsafe import Markup

from .. import charts
from .. import hourly
from .. import projections as pj
from .. import reports as rp
from ..facts.sources import reading
from ..auth import COOKIE, scope_of
from ..errors import BadRequest
from ..export import XLSX_TYPE, filename, to_xlsx
from ..scope import parse_month
from .common import facts_note, fmt, page_context, report_page, session

# ---------------------------------------------------------------- charts of the report pages


def _chart(svg: str, data: dict | None = None) -> dict:
    """A chart for the templates (macro `chart` of chart.html): the SVG and, shown under it in
    a <details>, the report whose figures it draws."""
    return {"svg": Markup(svg), "data": data}


def _empty(title: str, why: str = "暂无数据", data: dict | None = None) -> dict:
    """A chart with nothing to draw: its title and why (no 11 empty months, no rows of "—")."""
    return {"svg": None, "empty": why, "title": title, "data": data}


def _minutes(v) -> str:
    return "—" if v is None else f"{v:.1f}"


def wait_charts(rep: dict) -> list[dict]:
    """Wait p50/p90 per hour of day (line, in minutes) and tickets per hour (bars)."""
    labels = [f"{r['hour']}时" for r in rep["rows"]]
    span = f"{rep['start']} 至 {rep['end']}"
    wait_title, count_title = f"各时段等候时间（{span}，按取号时段）", f"各时段取号数（{span}）"
    if not any(r["visits"] for r in rep["rows"]):
        return [_empty(wait_title, data=rep), _empty(count_title)]
    as_min = lambda v: None if v is None else v / 60  # noqa: E731
    return [_chart(charts.line_chart(wait_title, labels,
                                     [("P50", [as_min(r["wait_p50"]) for r in rep["rows"]]),
                                      ("P90", [as_min(r["wait_p90"]) for r in rep["rows"]])],
                                     unit="分钟", fmt=_minutes), rep),
            _chart(charts.bar_chart(count_title, labels, [r["visits"] for r in rep["rows"]], unit="人"))]


DISTRIBUTION_COLORS = ["#2a8a3a", "#72b562", "#d9b02b", "#d9822b", "#b23b3b", "#8c8c8c"]


def distribution_chart(rep: dict, min_ratings: int = 1) -> dict:
    """Ratings per level and unrated completed services (bars coloured from good to bad); the
    good rate only from at least `min_ratings` ratings (else 数据不足 and the count)."""
    title = f"满意度分布（{rep['start']} 至 {rep['end']}）"
    if not (rep["ratings"] or rep["completed"]):
        return _empty(title, data=rep)
    good = (fmt(rep["good_rate"], "good_rate") if rep["ratings"] >= min_ratings
            else f"数据不足（{rep['ratings']} 条评价）")
    title = (f"满意度分布（{rep['start']} 至 {rep['end']}；主动评价好评率 {good}，"
             f"未评价率 {fmt(rep['unrated_rate'], 'unrated_rate')}）")
    return _chart(charts.bar_chart(title, [r["label"] for r in rep["rows"]], [r["count"] for r in rep["rows"]],
                                   unit="条", bar_colors=DISTRIBUTION_COLORS), rep)


ATTENDANCE_KEYS = ("late", "early", "absent", "missing")


def attendance_chart(rep: dict) -> dict:
    """The year's attendance problems, only the months with any (not twelve bars of nothing)."""
    title = f"{rep['year']}年各月考勤问题（次/天）"
    rows = [r for r in rep["rows"] if any(r[k] for k in ATTENDANCE_KEYS)]
    if not rows:
        return _empty(title, f"{rep['year']} 年暂无考勤问题记录", rep)
    labels = [f"{int(r['month'][5:])}月" for r in rows]
    series = [(t, [r[k] for r in rows]) for k, t in rep["columns"] if k in ATTENDANCE_KEYS]
    return _chart(charts.grouped_bars(title, labels, series, width=min(960, 480 + 80 * len(rows))), rep)


RANKING_CHART_ROWS = 30


def ranking_chart(rep: dict) -> dict:
    """The scored rows as bars; rows without a score (no data in the period) are not drawn but
    counted; fewer than two scored rows: 数据不足 with the numbers instead of a chart."""
    scored = [r for r in rep["rows"] if r["score"] is not None]
    unscored = len(rep["rows"]) - len(scored)
    rows = scored[:RANKING_CHART_ROWS]
    name_keys = {"hall": ("hall_name",), "department": ("department_name",), "window": ("hall_name", "window_name"),
                 "staff": ("hall_name", "staff_name")}[rep["level"]]
    more = f"，前 {RANKING_CHART_ROWS} 名" if len(scored) > RANKING_CHART_ROWS else ""
    title = f"考核得分排名（{rep['start']} 至 {rep['end']}{more}）"
    if len(scored) < 2:
        return _empty(title, f"数据不足：{len(rep['rows'])} 个参评对象中 {len(scored)} 个有考核数据，不作排名图")
    labels = [f"{r['rank']}. " + " ".join(str(r.get(k) or "") for k in name_keys) for r in rows]
    chart = _chart(charts.hbar_chart(title, labels, [r["score"] for r in rows], max_value=100, width=760))
    if unscored:
        chart["note"] = f"另有 {unscored} 个无考核数据，未列入图中"
    return chart


class DashboardController(Controller):
    path = "/"
    include_in_schema = False

    def _page(self, request: Request, ctx, name: str, **data) -> Template | Redirect:
        s = session(request, ctx)
        if s is None:
            return Redirect(path="/login")
        return Template(template_name=name, context=page_context(s.user, ctx, **data))

    @get("/", sync_to_thread=False)
    def index(self) -> Redirect:
        return Redirect(path="/live")

    @get("/login", sync_to_thread=False)
    def login_form(self) -> Template:
        return Template(template_name="login.html", context={"error": None})

    @post("/login", sync_to_thread=True, status_code=200)
    def login(self, request: Request, ctx: NamedDependency[Any],
              data: Annotated[dict, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Response:
        name, password = str(data.get("username", ""))[:128], str(data.get("password", ""))[:1024]
        got = ctx.login_attempt(request, name, password, "form")
        if got.user is None:
            if got.locked:
                wait = math.ceil(got.locked)
                return Template(template_name="login.html", status_code=429, headers={"retry-after": str(wait)},
                                context={"error": f"登录失败次数过多，请 {wait} 秒后再试"})
            return Template(template_name="login.html", context={"error": "用户名或密码错误"}, status_code=401)
        user = got.user
        token = ctx.auth.login(user, request.cookies.get(COOKIE))
        ctx.store.audit(user.name, "login", f"role {user.role}", ctx.now_us())
        r = Redirect(path="/live")
        r.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/", secure=request.url.scheme == "https")
        return r

    @post("/logout", sync_to_thread=True, status_code=200)
    def logout(self, request: Request, ctx: NamedDependency[Any]) -> Redirect:
        s = ctx.auth.logout(request.cookies.get(COOKIE))
        if s is not None:
            ctx.store.audit(s.user.name, "logout", "", ctx.now_us())
        r = Redirect(path="/login")
        r.delete_cookie(COOKIE, path="/")
        return r

    @get("/reports/attendance", sync_to_thread=True)
    def attendance(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        q = request.query_params
        month = q.get("month") or ctx.today().strftime("%Y-%m")
        form = {"month": month, "hall": q.get("hall") or "", "department": q.get("department") or ""}
        return report_page(request, ctx, "考勤月报", lambda scope: rp.attendance(
            ctx.store, ctx.directory, month, form["hall"] or None, form["department"] or None, scope=scope,
            today=ctx.today()), form,
            lambda scope, _rep: [attendance_chart(hourly.attendance_by_month(
                ctx.store, ctx.directory, month[:4], form["hall"] or None, form["department"] or None,
                scope=scope, today=ctx.today()))])

    @get("/reports/satisfaction", sync_to_thread=True)
    def satisfaction(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        q = request.query_params
        today = ctx.today()
        form = {"start": q.get("start") or today.replace(day=1).isoformat(), "end": q.get("end") or today.isoformat(),
                "hall": q.get("hall") or "", "by": q.get("by") or "window"}
        return report_page(request, ctx, "满意度（好差评）", lambda scope: rp.satisfaction(
            ctx.store, ctx.directory, form["start"], form["end"], form["hall"] or None, form["by"], scope=scope), form,
            lambda scope, _rep: [distribution_chart(hourly.satisfaction_distribution(
                ctx.store, ctx.directory, form["start"], form["end"], form["hall"] or None, scope=scope),
                ctx.min_ratings)])

    @get("/reports/service", sync_to_thread=True)
    def service(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        q = request.query_params
        today = ctx.today()
        form = {"start": q.get("start") or today.replace(day=1).isoformat(), "end": q.get("end") or today.isoformat(),
                "hall": q.get("hall") or ""}
        return report_page(request, ctx, "办件统计", lambda scope: rp.service(
            ctx.store, ctx.directory, form["start"], form["end"], form["hall"] or None, scope=scope,
            today=ctx.today()), form,
            lambda scope, _rep: wait_charts(hourly.wait_by_hour(
                ctx.store, ctx.directory, form["start"], form["end"], form["hall"] or None, scope=scope)))

    @get("/reports/rankings", sync_to_thread=True)
    def rankings(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        q = request.query_params
        form = {"period": q.get("period") or f"month:{ctx.today():%Y-%m}", "level": q.get("level") or "window"}
        return report_page(request, ctx, "考核排名", lambda scope: rp.rankings(
            ctx.store, ctx.directory, form["period"], form["level"], ctx.weights, scope=scope,
            today=ctx.today()), form,
            lambda _scope, rep: [ranking_chart(rep)])

    def _chart_reports(self, ctx, scope, month: str, hall: str | None, level: str) -> dict[str, dict]:
        """The figures of the charts page for one month (attendance: the month's whole year)."""
        start, end = parse_month(month)
        if level not in rp.RANK_KEYS:
            raise BadRequest(f"level must be one of {', '.join(rp.RANK_KEYS)}, got {level!r}")
        ranks = rp.rankings(ctx.store, ctx.directory, f"month:{month}", level, ctx.weights, scope=scope,
                            today=ctx.today())
        if hall:
            scope.halls(ctx.directory, hall)  # unknown hall: 400
            if level != "department":
                ranks = {**ranks, "rows": [r for r in ranks["rows"] if r.get("hall") == hall]}
        return {
            "wait_by_hour": hourly.wait_by_hour(ctx.store, ctx.directory, start, end, hall, scope=scope),
            "satisfaction_distribution": hourly.satisfaction_distribution(ctx.store, ctx.directory, start, end,
                                                                          hall, scope=scope),
            "attendance_by_month": hourly.attendance_by_month(ctx.store, ctx.directory, month[:4], hall,
                                                              scope=scope, today=ctx.today()),
            "rankings": ranks}

    @get("/reports/charts", sync_to_thread=True)
    def charts_page(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        """Every chart of one month on one page: waits by hour, satisfaction distribution,
        attendance month by month over the year, rankings."""
        s = session(request, ctx)
        if s is None:
            return Redirect(path="/login")
        q = request.query_params
        form = {"month": q.get("month") or ctx.today().strftime("%Y-%m"), "hall": q.get("hall") or "",
                "level": q.get("level") or "window"}
        drawn, error = [], None
        with reading() as facts:
            try:
                reps = self._chart_reports(ctx, scope_of(s.user), form["month"], form["hall"] or None,
                                           form["level"])
                drawn = [*wait_charts(reps["wait_by_hour"]),
                         distribution_chart(reps["satisfaction_distribution"], ctx.min_ratings),
                         attendance_chart(reps["attendance_by_month"]), ranking_chart(reps["rankings"])]
                drawn[-1]["data"] = reps["rankings"]
            except BadRequest as e:
                error = str(e)
        page = self._page(request, ctx, "charts.html", title="统计图表", form=form, charts=drawn, error=error,
                          query=urlencode({k: v for k, v in form.items() if v}), facts_note=facts_note(facts))
        if error and isinstance(page, Template):
            page.status_code = 400
        return page

    @get("/reports/charts/data", sync_to_thread=True)
    def charts_data(self, request: Request, ctx: NamedDependency[Any]) -> Response | Redirect:
        """One chart's figures as CSV or XLSX (?chart=wait_by_hour|satisfaction_distribution|
        attendance_by_month|rankings&month=&hall=&level=&format=csv|xlsx)."""
        s = session(request, ctx)
        if s is None:
            return Redirect(path="/login")
        q = request.query_params
        try:
            fmt = q.get("format") or "csv"
            if fmt not in ("csv", "xlsx"):
                raise BadRequest(f"format must be csv or xlsx, got {fmt!r}")
            reps = self._chart_reports(ctx, scope_of(s.user), q.get("month") or ctx.today().strftime("%Y-%m"),
                                       q.get("hall") or None, q.get("level") or "window")
            if q.get("chart") not in reps:
                raise BadRequest(f"chart must be one of {', '.join(reps)}, got {q.get('chart')!r}")
        except BadRequest as e:
            return Response({"status_code": 400, "detail": str(e)}, status_code=400)
        report = reps[q.get("chart")]
        if fmt == "xlsx":
            body, media = to_xlsx(report), XLSX_TYPE
        else:
            body, media = rp.to_csv(report), "text/csv; charset=utf-8"
        return Response(body, media_type=media,
                        headers={"content-disposition": f'attachment; filename="{filename(report, fmt)}"'})

    @get("/drill", sync_to_thread=True)
    def drill(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        """Campus → its halls → a hall's windows → one window's staff, with the month's figures.
        A hall manager starts at (and stays in) their hall; a department head sees only their
        department's figures, windows and staff."""
        s = session(request, ctx)
        if s is None:
            return Redirect(path="/login")
        q = request.query_params
        d = ctx.directory
        scope = scope_of(s.user)
        month = q.get("month") or ctx.today().strftime("%Y-%m")
        campus, hall, window = q.get("campus") or None, q.get("hall") or None, q.get("window") or None
        if scope.role == "hall" and not (campus or hall):
            hall = scope.hall
        error, status, rows, level = None, 200, [], "campus"
        with reading() as facts:
            try:
                start, end = parse_month(month)
                if hall is not None and hall not in d.halls:
                    raise BadRequest(f"unknown hall {hall!r}")
                if window is not None and hall is None:
                    raise BadRequest("window needs hall")
                if window is not None and d.window(hall, window) is None:
                    raise BadRequest(f"unknown window {window!r} of hall {hall!r}")
                if hall is not None:
                    campus = d.campus(hall)
                elif campus is not None and campus not in {d.campus(h) for h in d.halls}:
                    raise BadRequest(f"unknown campus {campus!r}")
                if scope.role == "hall" and ((hall and hall != scope.hall) or campus != d.campus(scope.hall)):
                    raise PermissionError("只能查看本大厅的数据")
                if window and not scope.department_ok(d.window(hall, window).department):
                    raise PermissionError("只能查看本部门的窗口")
                if window:
                    level = "staff"
                    rows = self._drill_staff(ctx, scope, month, start, end, hall, window)
                elif hall:
                    level = "window"
                    rows = self._drill_windows(ctx, scope, start, end, hall)
                elif campus:
                    level = "hall"
                    rows = hourly.area_figures(ctx.store, d, start, end, "hall", campus, scope=scope)["rows"]
                else:
                    rows = hourly.area_figures(ctx.store, d, start, end, "campus", scope=scope)["rows"]
            except BadRequest as e:
                error, status, rows = str(e), 400, []
            except PermissionError as e:
                error, status, rows = str(e), 403, []
        page = self._page(request, ctx, "drill.html", title="下钻查询", rows=rows, level=level, month=month,
                          campus=campus, hall=hall, window=window, error=error, secs=charts.default_fmt,
                          facts_note=facts_note(facts),
                          campus_label=d.campus_name(next((h for h in sorted(d.halls) if d.campus(h) == campus),
                                                          "")) or campus)
        if isinstance(page, Template):
            page.status_code = status
        return page

    @staticmethod
    def _drill_windows(ctx, scope, start: date, end: date, hall: str) -> list[dict]:
        """Every configured window of the hall the caller may see, with its satisfaction figures,
        then any window id met only in the events (no link: not configured)."""
        d = ctx.directory
        sat = {r.get("window"): r for r in rp.satisfaction(ctx.store, d, start.isoformat(), end.isoformat(), hall,
                                                           "window", scope=scope)["rows"]}
        rows = []
        for w in d.halls[hall].business.windows:
            if scope.department_ok(w.department):
                rows.append({"hall": hall, "window": w.id, "window_name": w.name, "configured": True,
                             "department_name": d.department_name(w.department), **sat.pop(w.id, {})})
        for wid, r in sorted(sat.items(), key=lambda kv: str(kv[0])):
            rows.append({**r, "configured": False})
        return rows

    @staticmethod
    def _drill_staff(ctx, scope, month: str, start: date, end: date, hall: str, window: str) -> list[dict]:
        """The window's A-role and B-role staff (and anyone who served there this month), with
        satisfaction and attendance figures."""
        d = ctx.directory
        sat = rp.satisfaction(ctx.store, d, start.isoformat(), end.isoformat(), hall, "staff", scope=scope)["rows"]
        ids = {st.id for st in d.halls[hall].business.staff
               if (window in st.windows or window in st.backup_for) and scope.department_ok(st.department)}
        att = {r["staff"]: r for r in rp.attendance(ctx.store, d, month, hall, scope=scope,
                                                    today=ctx.today())["rows"]}
        served = {v.staff for v in pj.visits(ctx.store, d, start, end, [hall])
                  if v.window == window and v.staff and scope.department_ok(v.department)}
        rows = []
        for sid in sorted(ids | served):
            srow = next((r for r in sat if r.get("staff") == sid), {})
            st = d.staff(hall, sid)
            role = "A岗" if st and window in st.windows else ("B岗" if st and window in st.backup_for else "—")
            rows.append({"staff": sid, "name": d.staff_name(hall, sid), "role": role, **srow,
                         **{k: v for k, v in att.get(sid, {}).items() if k in ("late", "early", "absent", "missing",
                                                                               "violations")}})
        return rows

    @get("/audit", sync_to_thread=True)
    def audit(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        s = session(request, ctx)
        if s is None:
            return Redirect(path="/login")
        if s.user.role != "admin":
            return Template(template_name="base.html", context=page_context(s.user, ctx, title="无权限"),
                            status_code=403)
        return self._page(request, ctx, "audit.html", title="审计日志", entries=ctx.store.audit_log(500))
