"""The hall node's web application: JSON API, pages, live stream, OpenAPI at /schema."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from litestar import Litestar, Request, Response, Router
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.di import Provide
from litestar.exceptions import ClientException, HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.static_files import create_static_files_router
from litestar.stores.file import FileStore
from litestar.template.config import TemplateConfig

from sync.kernel.httperrors import code_of, invalid_request_detail, plain_detail
from sync.kernel.serve import Stopping

from .api import DevicesApi, HallApi
from .simapi import sim_handlers
from .auth import LoginAudit, Throttle
from . import i18n
from .hall import Hall
from .housekeeping import tick
from .live import Hub
from .printing import slip_notice
from .pages import page_handlers
from .pages.phone import PhoneApi
from .pages.board import BoardApi
from .web import (PUBLIC, CrossSiteMiddleware, SignOns, access, guard, internal_error, security_headers,
                  session_config, too_deep)
from .web import events_token as env_events_token
from .workflow import Refused, StorageUnavailable

log = logging.getLogger("onestop.edge")
HERE = Path(__file__).parent
TICK_SECONDS = 5.0
MAX_BODY = 256 * 1024  # the largest request body the hall reads (forms and JSON are small)


def refused_handler(request: Request, exc: Refused) -> Response:
    retry = getattr(exc, "retry_after", None)
    return Response({"status_code": exc.status, "code": exc.code, "detail": exc.message}, status_code=exc.status,
                    headers={"Retry-After": str(retry)} if retry else None)


def http_handler(request: Request, exc: HTTPException) -> Response:
    """An HTTP error of the framework or a guard: `code` by status (sync.kernel.httperrors; a
    request that fails validation is `invalid-request`), the fields that failed in `extra`."""
    body: dict = {"status_code": exc.status_code, "code": code_of(exc.status_code),
                  "detail": plain_detail(exc.detail)}
    if isinstance(exc, ClientException) and exc.status_code == 400:
        extra = exc.extra if isinstance(exc.extra, list) and exc.extra else [{"message": exc.detail}]
        body.update(code="invalid-request", detail=invalid_request_detail(extra), extra=extra)
    return Response(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


def create_app(hall: Hall, *, simulate: bool = False, extra_handlers: list | None = None,
               tick_seconds: float = TICK_SECONDS, replicator=None, hardware=None,
               events_token: str | None = None, printing=None) -> Litestar:
    """The hall's app; `replicator` (sync.replicator.Replicator) feeds /api/health's sync part;
    `hardware` (edge.hardware.Hardware) feeds the closing check, /api/devices and, with
    `simulate`, the /api/sim endpoints and the /sim page. `events_token`: a bearer token that
    may read /api/events (default: $ONESTOP_EDGE_EVENTS_TOKEN; empty: the manager only).
    `printing` (edge.printing.Printing): the receipt printer (kiosk notice, reprints, /sim)."""
    hub = Hub()
    stopping = Stopping()  # set when the server shuts down: open streams end (sync.kernel.serve)
    hall.add_listener(hub.on_events)
    signons = SignOns()
    hall.add_listener(signons.on_events)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar):
        hub.bind(asyncio.get_running_loop())
        task = asyncio.create_task(_ticker(hall, tick_seconds, sessions, hardware))
        try:
            yield
        finally:
            stopping.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    handlers: list = [HallApi, DevicesApi, PhoneApi, BoardApi, *page_handlers(simulate), *(sim_handlers() if simulate else []),
                      create_static_files_router(path="/static", directories=[HERE / "static"], opt=access(PUBLIC))]
    handlers += extra_handlers or []
    sessions = FileStore(hall.data_dir / "sessions", create_directories=True)
    return Litestar(
        route_handlers=handlers,
        dependencies={"hall": Provide(lambda: hall, sync_to_thread=False),
                      "hub": Provide(lambda: hub, sync_to_thread=False)},
        exception_handlers={Refused: refused_handler, HTTPException: http_handler, RecursionError: too_deep,
                            Exception: internal_error},
        # every route declares who may call it (opt["access"]); web.guard denies the rest
        guards=[guard],
        middleware=[CrossSiteMiddleware, session_config().middleware],
        before_send=[security_headers],
        stores={"sessions": sessions},
        template_config=TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine,
                                       engine_callback=lambda e: (
                                           i18n.install(e),  # _() / {% trans %}: edge/i18n.py
                                           e.register_template_callable("slip_notice", slip_notice))),
        openapi_config=OpenAPIConfig(title=f"onestop hall {hall.config.hall.id}", version="1",
                                     # the schema is public (it describes routes, no data)
                                     openapi_router=Router(path="/schema", route_handlers=[], opt=access(PUBLIC))),
        lifespan=[lifespan],
        state={"simulate": simulate, "stopping": stopping, "replicator": replicator, "hardware": hardware, "hall": hall,
               "printing": printing,
               "signons": signons, "throttle": Throttle(), "login_audit": LoginAudit(hall.clock.now),
               "events_token": events_token if events_token is not None else env_events_token()},
        request_max_body_size=MAX_BODY,
    )


async def _ticker(hall: Hall, seconds: float, sessions: FileStore, hardware=None) -> None:
    """Periodic housekeeping: the hall's `tick` (on the writer thread) and, now and then,
    delete expired staff sessions."""
    rounds = 0
    while True:
        try:
            await hall.run(tick, hardware.sensors() if hardware is not None else None)
            if rounds % 120 == 0:
                await sessions.delete_expired()
        except StorageUnavailable:
            pass  # an expected fault (disk full, read-only): the hall logged it once, health says degraded
        except OSError as e:  # the sessions folder on a failing disk: one line, no traceback
            log.warning("tick: %s", e)
        except Exception:  # noqa: BLE001 - keep ticking
            log.exception("tick failed")
        rounds += 1
        await asyncio.sleep(seconds)
