"""Central's web application: merged records API, reports API (`/api/reports/…`) and the
dashboard (central.pages)."""

from __future__ import annotations

import asyncio
import base64
import logging
import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from litestar import Controller, Litestar, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.datastructures import State
from litestar.exceptions import (ClientException, HTTPException, NotAuthorizedException, PermissionDeniedException,
                                 TooManyRequestsException)
from litestar.openapi import OpenAPIConfig
from litestar.params import QueryParameter
from litestar.static_files import create_static_files_router

from sync.kernel.clock import Clock, SystemClock
from sync.kernel.httperrors import invalid_request_detail
from sync.kernel.serve import Stopping

from . import operations as op
from . import reports as rp
from .auth import COOKIE, Auth, Check, scope_of
from .config import User
from .errors import BadRequest, error_body
from .export import XLSX_TYPE, filename, to_xlsx
from .facts.refresher import Refresher
from .facts.sources import reading
from .appointments import AppointmentBook
from .pages.appointments import AppointmentsApi, AppointmentsPages
from .pages.awards import AwardsApi, AwardsPages
from .pages.common import template_config
from .pages.config import ConfigApi, ConfigEditController
from .pages.dashboard import DashboardController
from .pages.live import LiveBoard, LivePages
from .pages.operations import OperationsPages
from .pages.redblack import RedBlackApi, RedBlackPages
from .pages.supervision import RecordsApi, RecordsPages
from .projections import Directory
from .reports import Weights
from .scope import Scope, check_day
from .service import CentralService
from .store import CentralStore
from .websecurity import SecurityMiddleware, request_id

STATIC = Path(__file__).parent / "static"
CENTRE_TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class ReportContext:
    store: CentralStore
    directory: Directory
    auth: Auth
    weights: Weights
    clock: Clock = field(default_factory=SystemClock)  # central's clock (simulated in the demo)
    min_ratings: int = 5  # [dashboard] min_ratings: fewer ratings show 数据不足 on the pages

    def now_us(self) -> int:
        return self.clock.micros()

    def today(self) -> date:
        """Today at the centre (Asia/Shanghai), by the injected clock."""
        return self.clock.now().astimezone(CENTRE_TZ).date()

    def today_of(self, q, key: str = "today") -> date:
        """`?today=YYYY-MM-DD` (or `key`, e.g. the records pages' `as_of`) pins the day states are
        judged on (reprints, tests); else today by the clock."""
        value = q.get(key)
        if not value:
            return self.today()
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise BadRequest(f"{key} 格式应为 YYYY-MM-DD，收到 {value!r}") from None
        return check_day(day, key)

    def caller(self, request: Request) -> tuple[User, Scope]:
        """The logged-in user (dashboard session cookie, or HTTP Basic for scripts) and scope.
        A wrong Basic password is audited and counts towards the login throttle (429 while the
        name or the source is locked), exactly like a failed dashboard login."""
        s = self.auth.session(request.cookies.get(COOKIE))
        if s is not None:
            return s.user, scope_of(s.user)
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                name, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                name, password = "", ""
            got = self.login_attempt(request, name[:128], password[:1024], "basic")
            if got.user is not None:
                return got.user, scope_of(got.user)
            if got.locked:
                raise TooManyRequestsException(f"登录失败次数过多，请 {math.ceil(got.locked)} 秒后再试",
                                               headers={"retry-after": str(math.ceil(got.locked))})
        raise NotAuthorizedException("请先登录（仪表盘会话或 HTTP Basic）")

    def login_attempt(self, request: Request, name: str, password: str, how: str) -> Check:
        """A throttled password check (central.auth) with every failure audited: who, how
        (form or basic), from where, why."""
        source = source_of(request)
        got = self.auth.authenticate(name, password, source)
        if got.user is None:
            self.store.audit(name or "?", "login_failed", f"{how} from {source}: {got.reason}", self.now_us())
        return got

    def user_of(self, request: Request, *roles: str) -> User:
        """The caller, who must have one of `roles` (403 otherwise)."""
        user, _scope = self.caller(request)
        if user.role not in roles:
            raise PermissionDeniedException(f"角色 {user.role} 无权访问此接口")
        return user


def source_of(request: Request) -> str:
    """The address a request came from (the peer; a proxy in front must be trusted to pass it)."""
    return request.client.host if request.client else "?"


def _answer(report: dict, fmt: str | None) -> Response:
    if fmt in (None, "", "json"):
        return Response({k: v for k, v in report.items() if k != "columns"}
                        | {"columns": [{"key": k, "title": t} for k, t in report["columns"]]})
    if fmt == "csv":
        name = f"{report['report']}.csv"
        return Response(rp.to_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{name}"'})
    if fmt == "xlsx":
        return Response(to_xlsx(report), media_type=XLSX_TYPE,
                        headers={"content-disposition": f'attachment; filename="{filename(report, "xlsx")}"'})
    raise BadRequest(f"format must be json, csv or xlsx, got {fmt!r}")


def _report(request: Request, ctx: ReportContext, make) -> Response:
    """A report answer; in JSON with `facts: {"as_of", "pending_days"}` when it read day facts
    (central.facts.sources.reading)."""
    _user, scope = ctx.caller(request)
    q = request.query_params
    try:
        with reading() as facts:
            report = make(q, scope)
        if facts.read:
            report = {**report, "facts": facts.as_json()}
        return _answer(report, q.get("format"))
    except BadRequest as e:
        raise HTTPException(status_code=400, detail=str(e)) from None


class ReportsApi(Controller):
    """Reports over the merged events (docs/central.md has the formulas). Login required; the
    caller's role limits the rows. `?format=csv` answers CSV (UTF-8 with BOM)."""

    path = "/api/reports"
    tags = ["reports"]

    @get("/attendance", sync_to_thread=True, summary="Monthly attendance per staff member (?month=YYYY-MM)")
    def attendance(self, request: Request, ctx: NamedDependency[ReportContext]) -> Response:
        return _report(request, ctx, lambda q, scope: rp.attendance(
            ctx.store, ctx.directory, q.get("month"), q.get("hall"), q.get("department"), scope=scope,
            today=ctx.today_of(q)))

    @get("/satisfaction", sync_to_thread=True, summary="Ratings by level, 好评率, 未评价率 (?start=&end=&by=)")
    def satisfaction(self, request: Request, ctx: NamedDependency[ReportContext]) -> Response:
        return _report(request, ctx, lambda q, scope: rp.satisfaction(
            ctx.store, ctx.directory, q.get("start"), q.get("end"), q.get("hall"), q.get("by") or "window",
            scope=scope))

    @get("/service", sync_to_thread=True, summary="Visits, wait and service time, outcomes, cases on time")
    def service(self, request: Request, ctx: NamedDependency[ReportContext]) -> Response:
        return _report(request, ctx, lambda q, scope: rp.service(
            ctx.store, ctx.directory, q.get("start"), q.get("end"), q.get("hall"), scope=scope,
            today=ctx.today_of(q)))

    @get("/rankings", sync_to_thread=True, summary="Ranked scores (?period=month:|semester:|year:&level=)")
    def rankings(self, request: Request, ctx: NamedDependency[ReportContext]) -> Response:
        return _report(request, ctx, lambda q, scope: rp.rankings(
            ctx.store, ctx.directory, q.get("period"), q.get("level") or "window", ctx.weights, scope=scope,
            today=ctx.today_of(q)))

    @get("/cases", sync_to_thread=True, summary="Promised, joint and 容缺 cases: deadlines, state, hand-overs")
    def cases(self, request: Request, ctx: NamedDependency[ReportContext]) -> Response:
        return _report(request, ctx, lambda q, scope: op.cases(
            ctx.store, ctx.directory, q.get("start"), q.get("end"), q.get("hall"), scope=scope,
            state=q.get("state"), today=ctx.today_of(q)))

    @get("/coverage", sync_to_thread=True,
         summary="Window coverage as time: open, A/B/duty, paused, over-limit, uncovered (?group=day|window|department|hall)")
    def coverage(self, request: Request, ctx: NamedDependency[ReportContext]) -> Response:
        return _report(request, ctx, lambda q, scope: op.coverage(
            ctx.store, ctx.directory, q.get("start"), q.get("end"), q.get("hall"), scope=scope,
            today=ctx.today_of(q), group=q.get("group"), month=q.get("month")))

    @get("/extended", sync_to_thread=True, summary="延时服务: services completed after closing, per staff member")
    def extended(self, request: Request, ctx: NamedDependency[ReportContext]) -> Response:
        return _report(request, ctx, lambda q, scope: op.extended(
            ctx.store, ctx.directory, q.get("start"), q.get("end"), q.get("hall"), scope=scope, month=q.get("month")))

    @get("/operations", sync_to_thread=True, summary="Closing checks and device faults per hall and day")
    def operations(self, request: Request, ctx: NamedDependency[ReportContext]) -> Response:
        return _report(request, ctx, lambda q, scope: op.operations(
            ctx.store, ctx.directory, q.get("start"), q.get("end"), q.get("hall"), scope=scope))


MAX_INT = 2**63 - 1  # the largest id or sequence number the databases hold
log = logging.getLogger("onestop.central.app")


def http_handler(request: Request, exc: HTTPException) -> Response:
    """Every HTTP error as JSON `{"status_code", "code", "detail", "extra"?}` (central.errors); a
    request the framework could not validate or decode is `invalid-request` with the fields that
    failed in `extra`."""
    body = error_body(exc.status_code, exc.detail)
    if isinstance(exc, ClientException) and exc.status_code == 400:
        extra = exc.extra if isinstance(exc.extra, list) and exc.extra else [{"message": exc.detail}]
        body.update(detail=invalid_request_detail(extra), extra=extra)
    return Response(body, status_code=exc.status_code, headers=exc.headers)


def error_handler(request: Request, exc: Exception) -> Response:
    """Anything a route did not handle: a body nested too deep to decode answers 400; anything
    else is logged with the request id (traceback in the log, never in the answer) and answers
    500 naming that id."""
    if isinstance(exc, RecursionError) and "deserializ" in str(exc):
        return Response(error_body(400, "请求内容嵌套层数过多，无法解析"), status_code=400)
    rid = request_id(request)
    log.error("request %s %s %s failed: %s: %s", rid, request.method, request.url.path, type(exc).__name__, exc,
              exc_info=exc)
    return Response(error_body(500, f"服务器内部错误（请求编号 {rid}），已记录日志", request_id=rid), status_code=500)


def _status_view(status: dict, scope: Scope) -> dict:
    """A hall's reported status as a department head may see it: their department's windows
    and queue only."""
    if scope.role != "department":
        return status
    return {**status, "windows": [w for w in status.get("windows", []) if scope.department_ok(w.get("department"))],
            "queues": {k: v for k, v in (status.get("queues") or {}).items() if scope.department_ok(k)}}


class CentralApi(Controller):
    """Central's own records. Health is public (counters, no personal data); the halls list,
    the merged events and the quarantine need a login (session or HTTP Basic) and answer
    within the caller's scope: central admin everything; a hall manager their own hall only; a
    department head the halls list with their department's windows and queues (raw events and
    quarantined payloads carry every department's records: admin and hall manager only)."""

    path = "/api"
    tags = ["central"]

    @get("/health", sync_to_thread=True, summary="Central health and ingest counters (public)")
    def health(self, store: NamedDependency[CentralStore], service: NamedDependency[CentralService | None]) -> dict:
        return {"status": "ok", "connected": bool(service and service.link.connected), "schema": store.schema_version(),
                "events": store.count_events(), "ingest": dict(service.stats) if service else {}}

    @get("/halls", sync_to_thread=True, summary="Every hall the caller may see: online, last seen, acked seq per epoch")
    def halls(self, request: Request, store: NamedDependency[CentralStore],
              ctx: NamedDependency[ReportContext]) -> list[dict]:
        _user, scope = ctx.caller(request)
        return [{**h, "status": _status_view(h["status"], scope)} for h in store.halls()
                if scope.role != "hall" or h["id"] == scope.hall]

    @get("/events", sync_to_thread=True, summary="Merged events as stored (admin; a hall manager their hall)")
    def events(
        self,
        request: Request,
        store: NamedDependency[CentralStore],
        ctx: NamedDependency[ReportContext],
        hall: Annotated[str | None, QueryParameter(max_length=64)] = None,
        epoch: Annotated[str | None, QueryParameter(max_length=64)] = None,
        after: Annotated[int, QueryParameter(ge=0, le=MAX_INT)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=5000)] = 100,
    ) -> list[dict]:
        """With `hall` and `epoch`, `after` is a seq; otherwise it is central's own row id."""
        user = ctx.user_of(request, "admin", "hall")
        if user.role == "hall":
            if hall not in (None, user.hall):
                raise PermissionDeniedException(f"大厅管理员只能查看本大厅（{user.hall}）的事件")
            hall = user.hall
        return store.events(hall=hall, after=after, limit=limit, epoch=epoch)

    @get("/quarantine", sync_to_thread=True, summary="Payloads and events central could not accept (admin; hall manager: own hall)")
    def quarantine(self, request: Request, store: NamedDependency[CentralStore], ctx: NamedDependency[ReportContext],
                   limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100) -> list[dict]:
        user = ctx.user_of(request, "admin", "hall")
        return store.quarantined(limit, hall=user.hall if user.role == "hall" else None)


def create_app(store: CentralStore, service: CentralService | None, directory: Directory | None = None,
               auth: Auth | None = None, weights: Weights | None = None, clock: Clock | None = None,
               min_ratings: int = 5, refresher: Refresher | None = None) -> Litestar:
    """`directory` (the hall configurations) and `auth` (the `[[users]]`) enable the reports API
    and the dashboard; without them only the records API is served. `min_ratings`: `[dashboard]
    min_ratings`, below which the pages show 数据不足 instead of a satisfaction rate.
    `refresher` (central.facts.refresher; default: one for this store, in the background unless
    `refresher.BACKGROUND` says otherwise) keeps the day facts up to date: started with the app,
    stopped when it shuts down."""
    ctx = ReportContext(store, directory or Directory.of([]), auth or Auth([]), weights or Weights(),
                        clock or SystemClock(), min_ratings)
    facts = refresher or Refresher(store, ctx.directory, ctx.clock.now)
    if service is not None:
        service.after_commit = facts.wake  # dirty days are looked for right after each ingest commit
        store.defer_marks = True  # ingest leaves the dirty marks to the refresher (central.store.marks)
        facts.busy = service.busy  # which waits while ingest is busy (a drain), up to a bound

    async def stop_facts() -> None:
        await asyncio.to_thread(facts.stop)  # joins the thread: off the event loop

    return Litestar(
        on_startup=[facts.start],
        on_shutdown=[stop_facts],
        route_handlers=[CentralApi, ReportsApi, DashboardController, LivePages, ConfigEditController, ConfigApi,
                        RecordsPages, RecordsApi, RedBlackPages, RedBlackApi,
                        AwardsPages, AwardsApi, OperationsPages, AppointmentsPages, AppointmentsApi,
                        create_static_files_router(path="/static", directories=[STATIC], name="static")],
        dependencies={"store": Provide(lambda: store, sync_to_thread=False),
                      "service": Provide(lambda: service, sync_to_thread=False),
                      "ctx": Provide(lambda: ctx, sync_to_thread=False)},
        exception_handlers={HTTPException: http_handler, Exception: error_handler},
        middleware=[SecurityMiddleware],
        template_config=template_config(),
        openapi_config=OpenAPIConfig(title="onestop central", version="1"),
        # the live view's shared reads (cli sets its [dashboard] settings); `stopping`: set by
        # sync.kernel.serve when shutdown begins, so open /live/stream responses end at once
        state=State({"live": LiveBoard(), "stopping": Stopping(),
                     # bookings (central.appointments); cli sets its [appointments] settings
                     "appointments": AppointmentBook(store, ctx.directory, ctx.clock,
                                                     publish=service.publish_appointments if service else None)}),
    )
