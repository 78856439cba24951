"""Serving an ASGI app from a command: uvicorn, stopped cleanly by SIGTERM/SIGINT.

uvicorn re-raises the signal after its own shutdown, which would end the process before the
command's `finally` blocks (stopping the hall's writer, the replicator, the store) have run;
here a signal only asks for a graceful shutdown and `serve()` returns.

uvicorn's graceful shutdown waits for every open connection to finish its response. A
server-sent-event stream never finishes on its own, so one connected display board would keep
the process alive for ever (and systemd would SIGKILL it). Hence `Stopping`: the app keeps one
in its state (``app.state["stopping"]``), every long-lived response watches it (use
`until_stopped` around the stream's source), and the server sets it the moment it begins to
shut down, before it waits for connections. `grace` seconds later uvicorn cancels whatever is
still running, as a backstop.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import AsyncIterator
from typing import Callable, TypeVar

import uvicorn

from . import sdnotify

T = TypeVar("T")

GRACE_SECONDS = 1.0  # backstop: requests still running this long after shutdown began are cancelled


class Stopping:
    """Set once, when the server begins to shut down. `set()` is safe from any thread."""

    def __init__(self) -> None:
        self._flag = threading.Event()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = set()
        self._lock = threading.Lock()

    def is_set(self) -> bool:
        return self._flag.is_set()

    def set(self) -> None:
        with self._lock:
            self._flag.set()
            waiters, self._waiters = self._waiters, set()
        for loop, fut in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is already closed
                loop.call_soon_threadsafe(_resolve, fut)

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        entry = (loop, fut)
        with self._lock:
            if self._flag.is_set():
                return
            self._waiters.add(entry)
        try:
            await fut
        finally:
            with self._lock:
                self._waiters.discard(entry)


def _resolve(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


async def until_stopped(source: AsyncIterator[T], stopping: Stopping,
                        heartbeat: float | None = None) -> AsyncIterator[T | None]:
    """The items of `source` until `stopping` is set (then the iteration ends and `source` is
    closed); `None` after every `heartbeat` seconds without an item."""
    if stopping.is_set():
        await _close(source)
        return
    stop = asyncio.ensure_future(stopping.wait())
    item: asyncio.Future | None = None
    try:
        while True:
            if item is None:
                item = asyncio.ensure_future(anext(source))
            done, _ = await asyncio.wait({item, stop}, timeout=heartbeat, return_when=asyncio.FIRST_COMPLETED)
            if stop in done:
                return
            if item in done:
                try:
                    value = item.result()
                except StopAsyncIteration:
                    return
                item = None
                yield value
            else:
                yield None  # quiet for `heartbeat` seconds
    finally:
        for fut in (item, stop):
            if fut is not None and not fut.done():
                fut.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await fut
        await _close(source)


async def _close(source: AsyncIterator) -> None:
    aclose = getattr(source, "aclose", None)
    if aclose is not None:
        await aclose()


def stopping_of(app, *, create: bool = False) -> Stopping | None:
    """The app's `Stopping` (``app.state["stopping"]``), if it keeps one; with `create`, an app
    with a state but no `Stopping` gets one (a handler then finds it in its app's state)."""
    state = getattr(app, "state", None)
    if state is None:
        return None
    try:
        found = state["stopping"]
    except KeyError:
        found = None
    except TypeError:
        return None
    if found is None and create:
        found = state["stopping"] = Stopping()
    return found if isinstance(found, Stopping) else None


class GracefulServer(uvicorn.Server):
    """uvicorn that sets the app's `Stopping` as soon as it begins to shut down (signal or
    `should_exit`), so open streams end and the graceful shutdown does not wait on them."""

    def __init__(self, config: uvicorn.Config, stopping: Stopping | None = None,
                 alive: Callable[[], bool] | None = None) -> None:
        super().__init__(config)
        self.stopping = stopping
        self.alive = alive
        self._watchdog: asyncio.Task | None = None

    async def startup(self, sockets=None) -> None:
        """Serve, then tell systemd (Type=notify) the service is ready and, under a WatchdogSec,
        ping its watchdog from this event loop while `alive()` holds (sync.kernel.sdnotify)."""
        await super().startup(sockets)
        if not self.started or self.should_exit:
            return
        sdnotify.notify("READY=1", "STATUS=serving")
        timeout = sdnotify.watchdog_seconds()
        if timeout:
            self._watchdog = asyncio.create_task(sdnotify.keep_alive(timeout, self.alive))

    @contextlib.contextmanager
    def capture_signals(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    async def shutdown(self, sockets=None) -> None:
        sdnotify.notify("STOPPING=1")
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self.stopping is not None:
            self.stopping.set()
        await super().shutdown(sockets)


def serve(app, host: str, port: int, *, stopping: Stopping | None = None, grace: float = GRACE_SECONDS,
          alive: Callable[[], bool] | None = None) -> bool:
    """Serve until a signal; False if the server could not start (e.g. the port is taken).
    `stopping` (default: the app's own, see `stopping_of`) is set when the shutdown begins.
    Under systemd: READY=1 once serving, STOPPING=1 when stopping, and WATCHDOG=1 pings while
    `alive()` holds (sync.kernel.sdnotify)."""
    server = GracefulServer(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                           lifespan="on", timeout_graceful_shutdown=grace),
                            stopping if stopping is not None else stopping_of(app, create=True), alive)
    server.run()
    return bool(server.started)
