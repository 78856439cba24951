"""Dashboard logins: users from `[[users]]` of central.toml (PBKDF2-SHA256 hashes, the scheme
of sync.kernel.passwords shared with the edge's PINs), server-side sessions in memory that expire
after `session_minutes` without a request, and the scope each role may see (central admin:
everything; department head: their department; hall manager: their hall).

Guessing is throttled (`Throttle`): after `ACCOUNT_LIMIT` failures in a row for one user name,
or `SOURCE_LIMIT` for one source address, that name / address is locked for a time that doubles
with every further failure (30 s, 60 s, … up to 15 minutes); a success clears the name's count.
An unknown name costs the same work as a known one: its password is checked against a dummy
hash of the same scheme and iteration count as the configured users' (`Auth.dummy_hash`).
Session ids are made by the server only (a new one at every login; the caller's old one, if
any, is dropped), never taken from the request."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from sync.kernel.passwords import ITERATIONS, hash_secret, verify_secret

from .config import User
from .scope import Scope

__all__ = ["COOKIE", "ROLE_NAMES", "Auth", "Check", "Session", "Throttle", "hash_secret", "scope_of",
           "verify_secret"]

COOKIE = "onestop_central_session"
ROLE_NAMES = {"admin": "中心管理员", "department": "部门负责人", "hall": "大厅管理员"}
ACCOUNT_LIMIT = 5  # failures in a row for one user name before it is locked
SOURCE_LIMIT = 20  # failures in a row from one address before it is locked
LOCK_BASE = 30.0  # seconds of the first lock; doubles with every further failure
LOCK_MAX = 15 * 60.0


def scope_of(user: User) -> Scope:
    if user.role == "department":
        return Scope(role="department", department=user.department)
    if user.role == "hall":
        return Scope(role="hall", hall=user.hall)
    return Scope()


@dataclass
class Session:
    token: str
    user: User
    expires: float


@dataclass
class _Count:
    failures: int = 0
    locked_until: float = 0.0


@dataclass
class Throttle:
    """Failure counts per key (an account name or a source address) and the lock they earn."""

    limit: int
    clock: object = time.monotonic
    base: float = LOCK_BASE
    most: float = LOCK_MAX
    _counts: dict[str, _Count] = field(default_factory=dict)

    def locked(self, key: str) -> float:
        """Seconds `key` stays locked (0: not locked)."""
        c = self._counts.get(key)
        return max(0.0, c.locked_until - self.clock()) if c else 0.0  # type: ignore[operator]

    def fail(self, key: str) -> None:
        c = self._counts.setdefault(key, _Count())
        c.failures += 1
        if c.failures >= self.limit:
            c.locked_until = self.clock() + min(self.most, self.base * 2 ** min(c.failures - self.limit, 20))  # type: ignore[operator]
        if len(self._counts) > 10_000:  # bounded: forget the keys whose locks ran out
            now = self.clock()  # type: ignore[operator]
            for k in [k for k, v in self._counts.items() if v.locked_until <= now and k != key]:
                del self._counts[k]

    def clear(self, key: str) -> None:
        self._counts.pop(key, None)


@dataclass
class Check:
    """The outcome of a password check: `user` when it matched; `locked` seconds when the name or
    the source is locked (the password was not even tried); `reason` for the audit log."""

    user: User | None
    reason: str = ""
    locked: float = 0.0


class Auth:
    """Users and live sessions. `clock` is seconds (monotonic), replaceable in tests."""

    def __init__(self, users: list[User], session_minutes: int = 30, clock=time.monotonic,
                 account_limit: int = ACCOUNT_LIMIT, source_limit: int = SOURCE_LIMIT) -> None:
        self.users = {u.name: u for u in users}
        self.ttl = session_minutes * 60
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self.accounts = Throttle(account_limit, clock)
        self.sources = Throttle(source_limit, clock)
        self.dummy_hash = hash_secret(secrets.token_hex(16), iterations=_iterations(users))

    def check(self, name: str, password: str) -> User | None:
        """The user whose name and password these are (None otherwise): the same PBKDF2 work for
        an unknown name as for a known one. No throttling (see `authenticate`)."""
        u = self.users.get(name)
        if u is None:
            verify_secret(self.dummy_hash, password)
            return None
        return u if verify_secret(u.password_hash, password) else None

    def authenticate(self, name: str, password: str, source: str) -> Check:
        """`check` with throttling per account name and per source address."""
        with self._lock:
            wait = max(self.accounts.locked(name), self.sources.locked(source))
        if wait > 0:
            return Check(None, "locked", wait)
        user = self.check(name, password)
        with self._lock:
            if user is None:
                self.accounts.fail(name)
                self.sources.fail(source)
                return Check(None, "unknown user" if name not in self.users else "wrong password")
            self.accounts.clear(name)
            self.sources.clear(source)
        return Check(user)

    def login(self, user: User, old_token: str | None = None) -> str:
        """A new session for `user`, its id made here; `old_token` (the caller's previous
        session, if any) ends, so an id known before the login is never one that is logged in."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = self.clock()
            self._sessions.pop(old_token or "", None)
            for t in [t for t, s in self._sessions.items() if s.expires <= now]:
                del self._sessions[t]
            self._sessions[token] = Session(token, user, now + self.ttl)
        return token

    def session(self, token: str | None) -> Session | None:
        """The live session of `token`, its expiry pushed on (sliding); None when expired."""
        if not token:
            return None
        with self._lock:
            s = self._sessions.get(token)
            now = self.clock()
            if s is None:
                return None
            if s.expires <= now:
                del self._sessions[token]
                return None
            s.expires = now + self.ttl
            return s

    def alive(self, token: str | None) -> bool:
        """Whether `token` is a live session, without pushing its expiry on (a long-lived
        response checks this: it ends at logout or expiry, and keeps no login alive)."""
        with self._lock:
            s = self._sessions.get(token or "")
            return s is not None and s.expires > self.clock()

    def logout(self, token: str | None) -> Session | None:
        with self._lock:
            return self._sessions.pop(token or "", None)


def _iterations(users: list[User]) -> int:
    """The iteration count of the configured users' hashes (the largest; the default without
    users), so the dummy hash of unknown names costs what a real check costs."""
    counts = []
    for u in users:
        parts = u.password_hash.split("$")
        if len(parts) == 4 and parts[0] == "pbkdf2_sha256" and parts[1].isdigit():
            counts.append(int(parts[1]))
    return max(counts) if counts else ITERATIONS
