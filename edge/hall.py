"""The hall node's core: one writer thread that owns the store and runs every command.

Commands (functions of `Ctx`) are queued to the writer. It takes every command waiting, runs
each inside its own savepoint of one transaction, commits once (group commit: one fsync for
many tickets), and only then completes the callers' futures and tells listeners (display board,
sync) about the new events. A command that raises is rolled back alone and leaves the log
gap-free. The HTTP layer awaits `Hall.run`; tests and tools may call `Hall.call`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable

from sync.kernel.calendar import HallCalendar
from sync.kernel.clock import Clock

from . import timefloor
from .config import EdgeConfig
from .context import Catalog, Ctx, device_labels, load_persisted_business
from .store import Store
from .store.log import StoredEvent, storage_failure
from .workflow import StorageUnavailable

log = logging.getLogger("onestop.edge")

Listener = Callable[[list[StoredEvent]], None]
_STOP = object()
BEAT_SECONDS = 0.5  # an idle writer still beats this often (systemd's watchdog asks, see writer_alive)


class Hall:
    def __init__(self, config: EdgeConfig, data_dir: Path, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.data_dir = Path(data_dir)
        self.store = Store(self.data_dir / "hall.db", config.hall.id, clock)
        self.ctx = Ctx(
            store=self.store,
            clock=clock,
            calendar=HallCalendar(config.business.calendar),
            catalog=Catalog(config.business),
            hall_id=config.hall.id,
            device_labels=device_labels(config.devices, config.business),
            backup=config.backup,
            retention_days=config.storage.retention_days,
            public_url=config.hall.public_url,
            notify=config.notify,
            hall_name=config.hall.name,
        )
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._listeners: list[Listener] = []
        self.max_batch = 128
        self.beat = time.monotonic()  # the writer's last sign of life

    # -- lifecycle

    def start(self) -> None:
        ready: concurrent.futures.Future = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._writer, args=(ready,), name="hall-writer", daemon=True)
        self._thread.start()
        ready.result()  # re-raises an error from opening the store

    def stop(self) -> None:
        if self._thread and self._thread.is_alive():
            self._q.put(_STOP)
            self._thread.join(timeout=30)
        self._thread = None

    def writer_alive(self, max_age: float) -> bool:
        """Whether the writer thread runs and beat within `max_age` seconds (it beats after each
        batch and every BEAT_SECONDS when idle): a writer stuck in a command is not alive."""
        thread = self._thread
        return thread is not None and thread.is_alive() and time.monotonic() - self.beat < max_age

    def add_listener(self, fn: Listener) -> None:
        self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    # -- running commands

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        if self._thread is None:
            raise RuntimeError("hall is not running")
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._q.put((fn, args, kwargs, fut))
        return fut

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a command and wait for its committed result (threads, tests, tools)."""
        return self.submit(fn, *args, **kwargs).result()

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a command from async code; returns after the commit."""
        return await asyncio.wrap_future(self.submit(fn, *args, **kwargs))

    # -- the writer thread

    def _writer(self, ready: concurrent.futures.Future) -> None:
        try:
            self.store.open()
            with self.store.atomic():
                self.store.ensure_windows({w.id: w.department for w in self.config.business.windows})
                load_persisted_business(self.ctx)
                timefloor.hold(self.ctx)
                timefloor.remember(self.ctx)
        except BaseException as e:  # noqa: BLE001 - reported to start()
            ready.set_exception(e)
            return
        ready.set_result(None)
        try:
            while True:
                self.beat = time.monotonic()
                try:
                    job = self._q.get(timeout=BEAT_SECONDS)
                except queue.Empty:
                    self._remember_time()
                    continue
                if job is _STOP:
                    break
                batch = [job]
                stop_after = False
                while len(batch) < self.max_batch:
                    try:
                        more = self._q.get_nowait()
                    except queue.Empty:
                        break
                    if more is _STOP:
                        stop_after = True
                        break
                    batch.append(more)
                self._run_batch(batch)
                if stop_after:
                    break
        finally:
            self._remember_time(force=True)
            self.store.close()

    def _remember_time(self, force: bool = False) -> None:
        """The time floor of edge.timefloor (idle writer: at most every ten minutes; at stop)."""
        try:
            with self.store.atomic():
                timefloor.remember(self.ctx, force)
        except Exception as e:  # noqa: BLE001 - a full disk must not stop the writer; health says why
            log.warning("could not remember the time: %s", e)

    def _run_batch(self, batch: list) -> None:
        # A caller that gave up before its command ran (an HTTP client that went away cancels
        # its future) gets nothing done; every other future is claimed, so it cannot be
        # cancelled any more and answering it cannot fail.
        batch = [job for job in batch if job[3].set_running_or_notify_cancel()]
        if not batch:
            return
        results: list[tuple[concurrent.futures.Future, Any, BaseException | None]] = []
        start_mark = self.store.seq_mark()
        try:
            with self.store.atomic():
                for fn, args, kwargs, fut in batch:
                    mark = self.store.seq_mark()
                    try:
                        with self.store.atomic():  # savepoint: a refused command changes nothing
                            value = fn(self.ctx, *args, **kwargs)
                        results.append((fut, value, None))
                    except Exception as e:  # noqa: BLE001 - handed to the caller
                        if storage_failure(e) or not self.store.in_transaction():
                            # SQLite rolled the whole transaction back (SQLITE_FULL, I/O error):
                            # nothing of this batch stands, so nothing of it may be confirmed
                            raise _BatchLost from e
                        self.store.rollback_to(mark)
                        results.append((fut, None, e))
        except Exception as e:  # the batch or its commit failed: nothing of this batch is saved
            err = self._storage_refusal(e)
            if err is e:
                log.exception("commit failed")
            self.store.abandon_transaction()
            self.store.rollback_to(start_mark)
            for fn, args, kwargs, fut in batch:
                fut.set_exception(err)
            return
        committed = self.store.take_committed()
        if committed and self.ctx.storage_error is not None:
            log.warning("the hall database takes writes again (after: %s)", self.ctx.storage_error)
            self.ctx.storage_error = None
        for fut, value, err in results:
            if err is not None:
                fut.set_exception(err)
            else:
                fut.set_result(value)
        if committed:
            for listener in list(self._listeners):
                try:
                    listener(committed)
                except Exception:  # noqa: BLE001 - a listener never breaks the hall
                    log.exception("event listener failed")

    def _storage_refusal(self, e: BaseException) -> BaseException:
        """A write the disk refused (full, read-only, I/O error) becomes `StorageUnavailable`
        (503 to the caller, `degraded` in health, the cause logged once); other errors pass
        (unwrapped from `_BatchLost`)."""
        if not storage_failure(e):
            return e.__cause__ if isinstance(e, _BatchLost) and e.__cause__ else e
        cause = str(storage_failure(e))
        if self.ctx.storage_error is None:
            log.error("the hall database %s cannot be written: %s; commands are refused until it can",
                      self.store.path, cause)
        self.ctx.storage_error = cause
        return StorageUnavailable(cause)


class _BatchLost(Exception):
    """The database dropped the batch's transaction under a command: the whole batch fails."""
