"""Central's web application: merged records API (dashboard pages come with the assessment)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Litestar, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.params import FromQuery, QueryParameter

from .service import CentralService
from .store import CentralStore


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
        return {"status": "ok", "connected": service.link.connected, "schema": store.schema_version(),
                "events": store.count_events(), "ingest": dict(service.stats)}

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


def create_app(store: CentralStore, service: CentralService) -> Litestar:
    return Litestar(
        route_handlers=[CentralApi],
        dependencies={"store": Provide(lambda: store, sync_to_thread=False),
                      "service": Provide(lambda: service, sync_to_thread=False)},
        exception_handlers={HTTPException: http_handler},
        openapi_config=OpenAPIConfig(title="onestop central", version="1"),
    )
