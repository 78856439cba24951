"""Central's web application: merged records API, reports API (`/api/reports/…`) and the
dashboard (central.pages)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from litestar import Controller, Litestar, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.params import FromQuery, QueryParameter
from litestar.static_files import create_static_files_router

from sync.kernel.clock import Clock, SystemClock

from . import operations as op
from . import reports as rp
from .auth import COOKIE, Auth, scope_of
from .config import User
from .errors import BadRequest
from .export import XLSX_TYPE, filename, to_xlsx
from .pages.awards import AwardsApi, AwardsPages
from .pages.common import template_config
from .pages.config import ConfigApi, ConfigEditController
from .pages.dashboard import DashboardController
from .pages.operations import OperationsPages
from .pages.supervision import RecordsApi, RecordsPages
from .projections import Directory
from .reports import Weights
from .scope import Scope
from .service import CentralService
from .store import CentralStore

STATIC = Path(__file__).parent / "static"
CENTRE_TZ = ZoneInfo("Asia/Shanghai")


@dataclass
class ReportContext:
    store: CentralStore
    directory: Directory
    auth: Auth
    weights: Weights
    clock: Clock = field(default_factory=SystemClock)  # central's clock (simulated in the demo)

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
            return date.fromisoformat(value)
        except ValueError:
            raise BadRequest(f"{key} 格式应为 YYYY-MM-DD，收到 {value!r}") from None

    def caller(self, request: Request) -> tuple[User, Scope]:
        """The logged-in user (dashboard session cookie, or HTTP Basic for scripts) and scope."""
        s = self.auth.session(request.cookies.get(COOKIE))
        if s is not None:
            return s.user, scope_of(s.user)
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                name, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                name, password = "", ""
            user = self.auth.check(name, password)
            if user is not None:
                return user, scope_of(user)
        raise NotAuthorizedException("login required (dashboard session or HTTP Basic)")


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
    _user, scope = ctx.caller(request)
    q = request.query_params
    try:
        return _answer(make(q, scope), q.get("format"))
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

    @get("/coverage", sync_to_thread=True, summary="A/B coverage per window: expected, A days, B days, uncovered")
    def coverage(self, request: Request, ctx: NamedDependency[ReportContext]) -> Response:
        return _report(request, ctx, lambda q, scope: op.coverage(
            ctx.store, ctx.directory, q.get("start"), q.get("end"), q.get("hall"), scope=scope,
            today=ctx.today_of(q)))

    @get("/operations", sync_to_thread=True, summary="Closing checks and device faults per hall and day")
    def operations(self, request: Request, ctx: NamedDependency[ReportContext]) -> Response:
        return _report(request, ctx, lambda q, scope: op.operations(
            ctx.store, ctx.directory, q.get("start"), q.get("end"), q.get("hall"), scope=scope))


def http_handler(request: Request, exc: HTTPException) -> Response:
    body: dict = {"status_code": exc.status_code, "detail": exc.detail}
    if isinstance(exc, ValidationException) and exc.extra:
        body["extra"] = exc.extra
    return Response(body, status_code=exc.status_code)


class CentralApi(Controller):
    path = "/api"
    tags = ["central"]

    @get("/health", sync_to_thread=True, summary="Central health and ingest counters")
    def health(self, store: NamedDependency[CentralStore], service: NamedDependency[CentralService]) -> dict:
        return {"status": "ok", "connected": bool(service and service.link.connected), "schema": store.schema_version(),
                "events": store.count_events(), "ingest": dict(service.stats) if service else {}}

    @get("/halls", sync_to_thread=True, summary="Every hall: online, last seen, acked seq per epoch, events")
    def halls(self, store: NamedDependency[CentralStore]) -> list[dict]:
        return store.halls()

    @get("/events", sync_to_thread=True, summary="Merged events as stored")
    def events(
        self,
        store: NamedDependency[CentralStore],
        hall: FromQuery[str | None] = None,
        epoch: FromQuery[str | None] = None,
        after: Annotated[int, QueryParameter(ge=0)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=5000)] = 100,
    ) -> list[dict]:
        """With `hall` and `epoch`, `after` is a seq; otherwise it is central's own row id."""
        return store.events(hall=hall, after=after, limit=limit, epoch=epoch)

    @get("/quarantine", sync_to_thread=True, summary="Payloads and events central could not accept")
    def quarantine(self, store: NamedDependency[CentralStore],
                   limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100) -> list[dict]:
        return store.quarantined(limit)


def create_app(store: CentralStore, service: CentralService | None, directory: Directory | None = None,
               auth: Auth | None = None, weights: Weights | None = None, clock: Clock | None = None) -> Litestar:
    """`directory` (the hall configurations) and `auth` (the `[[users]]`) enable the reports API
    and the dashboard; without them only the records API is served."""
    ctx = ReportContext(store, directory or Directory.of([]), auth or Auth([]), weights or Weights(),
                        clock or SystemClock())
    return Litestar(
        route_handlers=[CentralApi, ReportsApi, DashboardController, ConfigEditController, ConfigApi,
                        RecordsPages, RecordsApi,
                        AwardsPages, AwardsApi, OperationsPages,
                        create_static_files_router(path="/static", directories=[STATIC], name="static")],
        dependencies={"store": Provide(lambda: store, sync_to_thread=False),
                      "service": Provide(lambda: service, sync_to_thread=False),
                      "ctx": Provide(lambda: ctx, sync_to_thread=False)},
        exception_handlers={HTTPException: http_handler},
        template_config=template_config(),
        openapi_config=OpenAPIConfig(title="onestop central", version="1"),
    )
