"""The background refresher: brings the dirty days' facts up to date so that no request waits
for a recompute (docs/central.md, section Storage; issue 16).

A `Refresher` serves one store. In the service (`background=True`, started and stopped with the
app) a thread takes the oldest dirty hall-days — the oldest month's, one hall's days after the
other, so that a step rewrites few (hall, month) roll-ups — at most `chunk` of them,
recomputes and writes them (central.facts.refresh: a day is written only when its mark is
unchanged, so an event that commits meanwhile keeps its day dirty), and goes on until none is
left; then it sleeps until the ingest worker wakes it after a commit (`wake`) or `idle_seconds`
pass (another worker's ingest). It reads only committed marks, on its own connection.

Reports read the facts as they are (central.facts.sources.FactSource) and say how many hall-days
of their range are still dirty and `as_of`: the last time every day dirty at some moment T had
been brought up to date — then every event committed before T is in the facts — taken as T.

With `background=False` nothing runs on its own: a report first runs the refresher until it has
caught up (`run_until_caught_up`), so its figures are fresh. Tests use that (deterministic, no
timing); `BACKGROUND` is the default `central.app.create_app` gives its refresher.

Several workers: on PostgreSQL a refresher works only while it holds a session advisory lock
(`pg_try_advisory_lock`), so one worker's refresher recomputes at a time and the others only
watch `as_of`. Apart from that the work is idempotent: two refreshers computing the same day
write the same rows, and the second finds the mark gone (or changed) and writes nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Callable

from ..projections import Directory
from ..store import marks as store_marks
from .refresh import _lock, refresh_marks, set_zones
from sync.kernel.clock import SystemClock

log = logging.getLogger("onestop.central.facts")

BACKGROUND = True  # what create_app gives its refresher; the tests' fixture sets False (synchronous)
CHUNK = 60  # hall-days recomputed per step, oldest first (~0.3 s at bench scale): bounds a stop's wait
IDLE_SECONDS = 2.0  # without a wake-up, look for marks another worker's ingest left this often
SETTLE_SECONDS = 0.2  # a step waits until ingest has not committed for this long (a burst ends) …
SETTLE_MAX_SECONDS = 2.0  # … but never longer than this: under steady load the facts still move
STOP_SECONDS = 5.0  # stop() waits this long for the step in progress (its work is redone if cut)
ADVISORY_KEY = 0x6F6E6573746F70  # "onestop": PostgreSQL advisory lock of the refresher


def _utc_now() -> datetime:
    """The machine's clock, for a refresher made without one (the app passes its own clock)."""
    return SystemClock().now()


class Refresher:
    def __init__(self, store, directory: Directory, now: Callable[[], datetime] | None = None, *,
                 background: bool | None = None, chunk: int = CHUNK, idle_seconds: float = IDLE_SECONDS) -> None:
        self.store, self.d = store, directory
        self.now = now or _utc_now
        self.background = BACKGROUND if background is None else background
        self.chunk = max(1, chunk)
        self.idle_seconds = idle_seconds
        self.as_of: datetime | None = None  # facts hold every event committed before this
        self._since: tuple[datetime, set[tuple[str, str]]] | None = None  # (T, days dirty at T)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._last_wake = 0.0  # time.monotonic() of the last ingest commit's wake-up
        self.busy: Callable[[], bool] = lambda: False  # the ingest worker's (central.service.busy)
        self._thread: threading.Thread | None = None
        self.stats = {"steps": 0, "written": 0}
        self.started: float | None = None  # time.monotonic() when the thread started
        store.facts_refresher = self  # central.facts.sources finds it here

    # ---------------------------------------------------------------- the work

    def step(self, wait: bool = False) -> int:
        """Recompute the oldest `chunk` dirty hall-days (oldest month first, then by hall and day:
        a hall's month roll-up is rebuilt once for many of its days, not once per day as in
        (day, hall) order — after a bulk load of 30 halls that took a quarter off the catch-up);
        returns how many marks it took (0: none left, or another worker's refresher holds the
        lock and `wait` is false)."""
        set_zones(self.store, self.d)
        with _lock:
            if not self._exclusive(wait):
                return 0
            try:
                # first the marks of batches the ingest worker stored without them (it leaves
                # them to us, off its ack path: central.store.marks)
                while store_marks.mark_deferred(self.store) and not self._stop.is_set():
                    pass
                marks = self.store.db.execute_sql(
                    "SELECT hall, day, token FROM fact_dirty ORDER BY SUBSTR(day, 1, 7), hall, day"
                    f" LIMIT {int(self.chunk)}").fetchall()
                if marks:
                    self.stats["steps"] += 1
                    self.stats["written"] += refresh_marks(self.store, self.d, [tuple(m) for m in marks],
                                                           self._stop.is_set)
                return len(marks)
            finally:
                self._release()

    def run_until_caught_up(self, max_steps: int = 100_000) -> int:
        """Step until no day is dirty (tests; a report on a store served synchronously). Returns
        the steps taken."""
        steps = 0
        while steps < max_steps and self.step(wait=True):
            steps += 1
        self.track()
        return steps

    def before_read(self) -> None:
        """Called by a report before it reads the facts: synchronously, bring them up to date;
        in the background, nothing (the report reads them as they are)."""
        if not self.background:
            self.run_until_caught_up()

    def track(self) -> None:
        """Move `as_of`: when none of the days dirty at T (the last snapshot) is dirty now, the
        facts hold every event committed before T."""
        t = self.now()
        if store_marks.unmarked_count(self.store):
            return  # batches committed before t are not marked yet: t says nothing yet
        dirty = {(h, d) for h, d in self.store.db.execute_sql("SELECT hall, day FROM fact_dirty").fetchall()}
        if not dirty:
            self.as_of, self._since = t, None
        elif self._since is None:
            self._since = (t, dirty)
        elif not (self._since[1] & dirty):
            self.as_of, self._since = self._since[0], (t, dirty)

    def pending(self) -> int:
        return int(self.store.db.execute_sql("SELECT COUNT(*) FROM fact_dirty").fetchone()[0])

    def _exclusive(self, wait: bool) -> bool:
        if not self.store.postgres:
            return True  # one writer at a time anyway (BEGIN IMMEDIATE); the write checks the token
        fn = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
        got = self.store.db.execute_sql(f"SELECT {fn}(%s)", [ADVISORY_KEY]).fetchone()[0]
        return wait or bool(got)

    def _release(self) -> None:
        if self.store.postgres:
            self.store.db.execute_sql("SELECT pg_advisory_unlock(%s)", [ADVISORY_KEY])

    # ---------------------------------------------------------------- the thread

    def start(self) -> None:
        """Start the background thread (nothing when not in the background)."""
        if not self.background or self._thread is not None:
            return
        self._stop.clear()
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="central-facts", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = STOP_SECONDS) -> bool:
        """Stop the thread after its current run of days; False if it did not end in `timeout`
        (a step cut short by the exit commits nothing: its days stay dirty)."""
        t, self._thread = self._thread, None
        if t is None:
            return True
        self._stop.set()
        self._wake.set()
        t.join(timeout)
        return not t.is_alive()

    def wake(self) -> None:
        """After an ingest commit: look for dirty days soon (`_settle`)."""
        self._last_wake = time.monotonic()
        self._wake.set()

    def _settle(self) -> None:
        """Wait while ingest is busy (batches waiting or being stored) or committed less than
        SETTLE_SECONDS ago — a hall draining its backlog — up to
        SETTLE_MAX_SECONDS: marking and recomputing then would take the database and the
        interpreter from the ingest that the halls wait on for their acks."""
        deadline = time.monotonic() + SETTLE_MAX_SECONDS
        while not self._stop.is_set():
            now = time.monotonic()
            quiet_at = self._last_wake + SETTLE_SECONDS
            if now >= deadline or (now >= quiet_at and not self.busy()):
                return
            self._stop.wait(min(max(quiet_at - now, 0.02), deadline - now))

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._settle()
                try:
                    took = self.step()
                    self.track()
                except Exception:  # noqa: BLE001 - the database may be away; try again later
                    log.exception("refreshing the day facts failed")
                    took = 0
                    try:
                        self.store.db.close()  # a fresh connection next time
                    except Exception:  # noqa: BLE001
                        pass
                if not took and not self._stop.is_set():
                    self._wake.wait(self.idle_seconds)
                    self._wake.clear()
        finally:
            if not self.store.db.is_closed():
                self.store.db.close()  # this thread's connection
