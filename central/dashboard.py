"""The central dashboard: server-rendered Chinese pages (Jinja, no CDN).

Pages: login/logout, live view of every hall (实时), monthly attendance (考勤月报), satisfaction
(满意度), service (办件), rankings (排名), drill-down hall → window → staff (下钻), audit log
(审计, central admin only). Every page renders the same report functions as the API with the
logged-in user's scope, so role filtering happens on the server. Logins (and failures and
logouts) are written to the audit table.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.template.config import TemplateConfig

from . import reports as rp
from .auth import COOKIE, ROLE_NAMES, scope_of

TEMPLATES = Path(__file__).parent / "templates"
SH = ZoneInfo("Asia/Shanghai")


def template_config() -> TemplateConfig:
    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine)


def _fmt(value: Any, key: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and key in ("good_rate", "unrated_rate", "on_time_rate", "satisfaction",
                                            "attendance", "on_time"):
        return f"{value * 100:.1f}%"
    return str(value)


def _when(us: int | None) -> str:
    if not us:
        return "—"
    return datetime.fromtimestamp(us / 1e6, SH).strftime("%Y-%m-%d %H:%M:%S")


def _now_us() -> int:
    return time.time_ns() // 1000


class DashboardController(Controller):
    path = "/"
    include_in_schema = False

    def _page(self, request: Request, ctx, name: str, **data) -> Template | Redirect:
        s = ctx.auth.session(request.cookies.get(COOKIE))
        if s is None:
            return Redirect(path="/login")
        return Template(template_name=name, context={
            "user": s.user, "role_name": ROLE_NAMES[s.user.role], "fmt": _fmt, "when": _when,
            "directory": ctx.directory, **data})

    def _report_page(self, request: Request, ctx, title: str, make, form: dict) -> Template | Redirect:
        s = ctx.auth.session(request.cookies.get(COOKIE))
        if s is None:
            return Redirect(path="/login")
        report, error = None, None
        try:
            report = make(scope_of(s.user))
        except rp.BadRequest as e:
            error = str(e)
        return self._page(request, ctx, "report.html", title=title, report=report, error=error, form=form,
                          csv_query="&".join(f"{k}={v}" for k, v in form.items() if v) + "&format=csv")

    @get("/", sync_to_thread=False)
    def index(self) -> Redirect:
        return Redirect(path="/live")

    @get("/login", sync_to_thread=False)
    def login_form(self) -> Template:
        return Template(template_name="login.html", context={"error": None})

    @post("/login", sync_to_thread=True, status_code=200)
    def login(self, request: Request, ctx: NamedDependency[Any],
              data: Annotated[dict, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Response:
        name, password = str(data.get("username", "")), str(data.get("password", ""))
        user = ctx.auth.check(name, password)
        if user is None:
            ctx.store.audit(name or "?", "login_failed", f"from {request.client.host if request.client else '?'}",
                            _now_us())
            return Template(template_name="login.html", context={"error": "用户名或密码错误"}, status_code=401)
        token = ctx.auth.login(user)
        ctx.store.audit(user.name, "login", f"role {user.role}", _now_us())
        r = Redirect(path="/live")
        r.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
        return r

    @post("/logout", sync_to_thread=True, status_code=200)
    def logout(self, request: Request, ctx: NamedDependency[Any]) -> Redirect:
        s = ctx.auth.logout(request.cookies.get(COOKIE))
        if s is not None:
            ctx.store.audit(s.user.name, "logout", "", _now_us())
        r = Redirect(path="/login")
        r.delete_cookie(COOKIE, path="/")
        return r

    @get("/live", sync_to_thread=True)
    def live(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        s = ctx.auth.session(request.cookies.get(COOKIE))
        if s is None:
            return Redirect(path="/login")
        scope = scope_of(s.user)
        halls = []
        known = {h["id"]: h for h in ctx.store.halls()}
        for hid, entry in ctx.directory.halls.items():  # configured halls never heard from: offline
            known.setdefault(hid, {"id": hid, "campus": entry.campus, "online": False, "last_seen": None,
                                   "acked": {}, "events": 0, "status": {}})
        for h in sorted(known.values(), key=lambda h: h["id"]):
            if scope.role == "hall" and h["id"] != scope.hall:
                continue
            st = h["status"] or {}
            windows = [w for w in st.get("windows", []) if scope.department_ok(w.get("department"))]
            queues = {k: v for k, v in (st.get("queues") or {}).items() if scope.department_ok(k)}
            halls.append({**h, "name": ctx.directory.hall_name(h["id"]),
                          "campus_name": ctx.directory.campus_name(h["id"]) or h["campus"],
                          "windows": windows, "queues": queues})
        quarantined = len(ctx.store.quarantined(1000)) if scope.role == "admin" else None
        return self._page(request, ctx, "live.html", title="实时大厅", halls=halls, quarantined=quarantined)

    @get("/reports/attendance", sync_to_thread=True)
    def attendance(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        q = request.query_params
        month = q.get("month") or date.today().strftime("%Y-%m")
        form = {"month": month, "hall": q.get("hall") or "", "department": q.get("department") or ""}
        return self._report_page(request, ctx, "考勤月报", lambda scope: rp.attendance(
            ctx.store, ctx.directory, month, form["hall"] or None, form["department"] or None, scope=scope), form)

    @get("/reports/satisfaction", sync_to_thread=True)
    def satisfaction(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        q = request.query_params
        today = date.today()
        form = {"start": q.get("start") or today.replace(day=1).isoformat(), "end": q.get("end") or today.isoformat(),
                "hall": q.get("hall") or "", "by": q.get("by") or "window"}
        return self._report_page(request, ctx, "满意度（好差评）", lambda scope: rp.satisfaction(
            ctx.store, ctx.directory, form["start"], form["end"], form["hall"] or None, form["by"], scope=scope), form)

    @get("/reports/service", sync_to_thread=True)
    def service(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        q = request.query_params
        today = date.today()
        form = {"start": q.get("start") or today.replace(day=1).isoformat(), "end": q.get("end") or today.isoformat(),
                "hall": q.get("hall") or ""}
        return self._report_page(request, ctx, "办件统计", lambda scope: rp.service(
            ctx.store, ctx.directory, form["start"], form["end"], form["hall"] or None, scope=scope), form)

    @get("/reports/rankings", sync_to_thread=True)
    def rankings(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        q = request.query_params
        form = {"period": q.get("period") or f"month:{date.today():%Y-%m}", "level": q.get("level") or "window"}
        return self._report_page(request, ctx, "考核排名", lambda scope: rp.rankings(
            ctx.store, ctx.directory, form["period"], form["level"], ctx.weights, scope=scope), form)

    @get("/drill", sync_to_thread=True)
    def drill(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        """Hall → its windows → one window's staff (satisfaction and attendance of the month)."""
        s = ctx.auth.session(request.cookies.get(COOKIE))
        if s is None:
            return Redirect(path="/login")
        q = request.query_params
        scope = scope_of(s.user)
        month = q.get("month") or date.today().strftime("%Y-%m")
        hall, window = q.get("hall") or None, q.get("window") or None
        error, rows, level = None, [], "hall"
        try:
            start, end = rp.parse_month(month)
            sat_by = "window" if hall and not window else ("staff" if window else "hall")
            sat = rp.satisfaction(ctx.store, ctx.directory, start.isoformat(), end.isoformat(), hall, sat_by,
                                  scope=scope)["rows"]
            if window:
                level = "staff"
                w = ctx.directory.window(hall, window)
                ids = {st.id for st in ctx.directory.halls[hall].business.staff
                       if window in st.windows or window in st.backup_for} if w else set()
                att = {r["staff"]: r for r in rp.attendance(ctx.store, ctx.directory, month, hall,
                                                            scope=scope)["rows"]}
                served = {r["staff"] for r in sat if r.get("staff")}
                for sid in sorted(ids | (served & set(att))):
                    srow = next((r for r in sat if r.get("staff") == sid), {})
                    rows.append({"staff": sid, "name": ctx.directory.staff_name(hall, sid), **srow,
                                 **{k: v for k, v in att.get(sid, {}).items() if k in ("late", "early", "absent",
                                                                                       "missing", "violations")}})
            elif hall:
                level = "window"
                rows = sat
            else:
                rows = sat
        except rp.BadRequest as e:
            error = str(e)
        return self._page(request, ctx, "drill.html", title="下钻查询", rows=rows, level=level, month=month,
                          hall=hall, window=window, error=error)

    @get("/audit", sync_to_thread=True)
    def audit(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        s = ctx.auth.session(request.cookies.get(COOKIE))
        if s is None:
            return Redirect(path="/login")
        if s.user.role != "admin":
            return Template(template_name="base.html", context={"user": s.user, "role_name": ROLE_NAMES[s.user.role],
                                                                "title": "无权限"}, status_code=403)
        return self._page(request, ctx, "audit.html", title="审计日志", entries=ctx.store.audit_log(500))
