"""Helpers of the page tests: sign on at a console, take a number through the API, read a window,
the event kinds, the flash message and notice links of a page."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Iterator

from tests.conftest import PIN, wait_until


def sign_on(client, window: str = "W1", staff: str = "s-li"):
    r = client.post(f"/console/{window}/sign-on", data={"staff": staff, "pin": PIN})
    assert r.status_code == 200, r.text
    assert "签到成功" in r.text
    return r


def issue(client, item: str | None = None, department: str | None = None) -> dict:
    body = {"item": item} if item else {"department": department}
    r = client.post("/api/tickets", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def window(client, wid: str) -> dict:
    return next(w for w in client.get("/api/windows").json() if w["id"] == wid)


def kinds(client) -> list[str]:
    return [e["kind"] for e in client.get("/api/events", params={"limit": 1000}).json()]


def flash(html: str) -> str:
    m = re.search(r'<div class="flash flash-(\w+)" role="alert">(.*?)</div>', html, re.S)
    return f"{m.group(1)}: {m.group(2)}" if m else ""


def call_and_complete(client, item: str, outcome: str, **fields) -> str:
    """Issue a ticket for `item`, call it at W1 (signed on) and complete it; returns the page."""
    issue(client, item)
    r = client.post("/console/W1/call")
    assert "已叫号" in r.text, flash(r.text)
    return client.post("/console/W1/complete", data={"item": item, "outcome": outcome, **fields}).text


def case_link(html: str) -> str:
    m = re.search(r'href="(/notices/[0-9a-f-]+)"', html)
    assert m, flash(html)
    return m.group(1)


@contextlib.contextmanager
def served(app, name: str) -> Iterator[str]:
    """`app` under uvicorn on a free port, in a background thread, as `onestop-edge` serves it
    (sync.kernel.serve.GracefulServer: open event streams end at once on shutdown): its base URL."""
    import uvicorn

    from sync.kernel.serve import GracefulServer, stopping_of

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = GracefulServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                                        lifespan="on", timeout_graceful_shutdown=1), stopping_of(app))
    thread = threading.Thread(target=srv.run, name=f"uvicorn-{name}", daemon=True)
    thread.start()
    try:
        wait_until(lambda: srv.started or not thread.is_alive(), 15, what="uvicorn to start")
        if not srv.started:
            raise RuntimeError("uvicorn did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive(), "uvicorn did not stop"


@contextlib.contextmanager
def hall_served(config, data_dir, name: str, clock_start: str = "2026-11-23T09:00+08:00",
                **app_kwargs) -> Iterator[tuple[str, object]]:
    """A hall of `config` on a simulated clock from `clock_start` (a Monday morning: the test hall
    is open), its real app served by `served`: (base URL, hall); the hall stops afterwards."""
    from edge.app import create_app
    from edge.hall import Hall
    from sync.kernel.clock import make_clock

    hall = Hall(config, data_dir, make_clock(clock_start, None))
    hall.start()
    try:
        with served(create_app(hall, tick_seconds=3600, **app_kwargs), name) as url:
            yield url, hall
    finally:
        hall.stop()
