"""Dashboard logins: users from `[[users]]` of central.toml (PBKDF2-SHA256 hashes, the scheme
of sync.kernel.passwords shared with the edge's PINs), server-side sessions in memory that expire
after `session_minutes` without a request, and the scope each role may see (central admin:
everything; department head: their department; hall manager: their hall)."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from sync.kernel.passwords import hash_secret, verify_secret

from .config import User
from .scope import Scope

__all__ = ["COOKIE", "ROLE_NAMES", "Auth", "Session", "hash_secret", "scope_of", "verify_secret"]

COOKIE = "onestop_central_session"
ROLE_NAMES = {"admin": "中心管理员", "department": "部门负责人", "hall": "大厅管理员"}


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


class Auth:
    """Users and live sessions. `clock` is seconds (monotonic), replaceable in tests."""

    def __init__(self, users: list[User], session_minutes: int = 30, clock=time.monotonic) -> None:
        self.users = {u.name: u for u in users}
        self.ttl = session_minutes * 60
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def check(self, name: str, password: str) -> User | None:
        u = self.users.get(name)
        if u is None:
            verify_secret("pbkdf2_sha256$1000$00$00", password)  # similar work for unknown names
            return None
        return u if verify_secret(u.password_hash, password) else None

    def login(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = self.clock()
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

    def logout(self, token: str | None) -> Session | None:
        with self._lock:
            return self._sessions.pop(token or "", None)
