"""Staff PIN and manager password hashes (the shared scheme of sync.kernel.passwords), equal work
for unknown accounts, login throttling and the audit list of failed logins.

- `verify_account` verifies against a dummy hash with the same iteration count when the account
  is unknown (or has no hash), so a wrong account id costs as long as a wrong PIN.
- `Throttle` locks an account, and separately a source address, after repeated failures
  (`ACCOUNT_FAILURES` / `SOURCE_FAILURES` failures → `LOCK_SECONDS`, doubling with every further
  failure up to `MAX_LOCK_SECONDS`). While locked, nothing is verified.
- `LoginAudit` keeps the last `AUDIT_KEEP` failures in memory (the manager reads them at
  `GET /api/audit/logins`) and logs each one on the `onestop.edge.auth` logger.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import deque
from datetime import datetime
from typing import Callable, Iterable

from sync.kernel.passwords import ITERATIONS, hash_secret, verify_secret

__all__ = ["ITERATIONS", "hash_secret", "verify_secret", "verify_account", "Throttle", "LoginAudit"]

log = logging.getLogger("onestop.edge.auth")

# Throttling (module constants, not config fields: the hall's config file is owned elsewhere).
ACCOUNT_FAILURES = 5  # failures of one account before it locks
SOURCE_FAILURES = 10  # failures from one address (any account) before it locks
LOCK_SECONDS = 60.0  # first lock; doubles with every failure beyond the threshold
MAX_LOCK_SECONDS = 3600.0
FORGET_SECONDS = 24 * 3600.0  # an entry with no failure for this long is dropped
MAX_ENTRIES = 10_000  # bound on the throttle's memory
AUDIT_KEEP = 1000


def _iterations(stored: str | None) -> int:
    try:
        return int((stored or "").split("$")[1])
    except (IndexError, ValueError):
        return ITERATIONS


@functools.lru_cache(maxsize=8)
def _dummy(iterations: int) -> str:
    return hash_secret("\x00 no such account \x00", iterations=iterations)


def verify_account(stored: str | None, secret: str, like: str | None = None) -> bool:
    """Verify `secret` against `stored`; with no stored hash, do the same work against a dummy
    hash (iterations of `like`, a real hash of the same kind, else the default) and fail."""
    if stored:
        return verify_secret(stored, secret)
    verify_secret(_dummy(min(_iterations(like), 10 * ITERATIONS)), secret)
    return False


class Throttle:
    """Failure counters per key (an account or a source address), thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], list[float]] = {}  # key → [failures, locked_until, last_failure]

    @staticmethod
    def _threshold(key: tuple[str, str]) -> int:
        return SOURCE_FAILURES if key[0].endswith("source") else ACCOUNT_FAILURES

    def locked_for(self, keys: Iterable[tuple[str, str]]) -> float:
        """Seconds until every key is free again (0: not locked)."""
        now = self.clock()
        with self._lock:
            return max((e[1] - now for k in keys if (e := self._entries.get(k)) and e[1] > now), default=0.0)

    def failure(self, keys: Iterable[tuple[str, str]]) -> None:
        now = self.clock()
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._prune(now)
            for k in keys:
                e = self._entries.setdefault(k, [0.0, 0.0, now])
                e[0] += 1
                e[2] = now
                over = int(e[0]) - self._threshold(k)
                if over >= 0:
                    e[1] = now + min(LOCK_SECONDS * 2 ** min(over, 20), MAX_LOCK_SECONDS)

    def success(self, key: tuple[str, str]) -> None:
        """A correct login clears its account (never the source: one's own account must not
        reset the count of guesses at others)."""
        with self._lock:
            self._entries.pop(key, None)

    def _prune(self, now: float) -> None:
        old = [k for k, e in self._entries.items() if e[1] <= now and now - e[2] > FORGET_SECONDS]
        for k in old:
            del self._entries[k]
        if len(self._entries) >= MAX_ENTRIES:  # still full: drop the stalest unlocked ones
            stale = sorted((e[2], k) for k, e in self._entries.items() if e[1] <= now)
            for _, k in stale[: len(self._entries) - MAX_ENTRIES // 2]:
                del self._entries[k]


class LoginAudit:
    """The hall's record of failed logins: the last `AUDIT_KEEP` in memory, each one logged."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self.now = now  # the hall's clock (simulated in the demo and the tests)
        self._rows: deque[dict] = deque(maxlen=AUDIT_KEEP)
        self._lock = threading.Lock()

    def failure(self, kind: str, account: str, source: str, reason: str) -> None:
        row = {"at": self.now().isoformat(timespec="seconds"), "kind": kind,
               "account": account[:64], "source": source, "reason": reason}
        with self._lock:
            self._rows.append(row)
        log.warning("login failure: kind=%s account=%r source=%s reason=%s", kind, row["account"], source, reason)

    def rows(self) -> list[dict]:
        with self._lock:
            return list(reversed(self._rows))
