"""The hall's HTTP hardening: who may call each route, sessions, cross-site request defence,
security headers, login throttling and request ids (docs/security.md).

- Every route handler declares its access in `opt={"access": ...}` (see `access`); the app-wide
  `guard` refuses a handler that declares nothing (default deny), so a new route without an
  owner answers 401 until someone decides who may call it.
- Staff sessions are bound to one sign-on: the session remembers the window, the staff member,
  the sign-on's time and its log sequence number; once that person signs off (anywhere, by
  badge or another browser) the session stops working, even if they sign on again.
- `HallSessionBackend`: session ids are issued by the server only (a cookie the client chose is
  never adopted), rotated at sign-on and manager login; cookies are HttpOnly, SameSite=Strict,
  Secure when the request came over TLS.
- `CrossSiteMiddleware`: a state-changing request must come from the hall's own origin (Origin,
  else Referer); without either it must be a non-browser JSON request; JSON endpoints refuse
  bodies that are not `application/json`.
- `security_headers` (a before-send hook): CSP (self only), frame options (the display board may be
  framed by its own origin, nothing else at all), nosniff, Referrer-Policy, and a request id on
  every response; `internal_error` logs an unhandled error with that id and answers 500 with it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie, MutableScopeHeaders
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.types import ASGIApp, Empty, Message, Receive, Scope, Send
from litestar.utils.dataclass import extract_dataclass_items

from sync.kernel.httperrors import code_of

from . import cases, windows
from .auth import LoginAudit, Throttle, verify_account
from .context import Ctx
from .hall import Hall
from .store.cases import CaseView
from .workflow import Forbidden, Refused

log = logging.getLogger("onestop.edge.http")

# ============================================================================ access levels

PUBLIC = "public"  # anyone, no session (kiosk, display, guide, health, catalog, queue, static)
STAFF = "staff"  # a staff member signed on at some window (this session's sign-on still current)
AT_WINDOW = "window"  # a staff member signed on at the window named in the path ({window_id})
MANAGER = "manager"  # the hall manager's login
STAFF_OR_MANAGER = "staff-or-manager"
EVENTS = "events"  # the manager, or a client presenting the read token (integrators, test harness)
LEVELS = (PUBLIC, STAFF, AT_WINDOW, MANAGER, STAFF_OR_MANAGER, EVENTS)

# The read token of /api/events for programs (not a config field: the hall file is owned by the
# config module; set it in the environment of `onestop-edge`). Empty: only the manager may read.
EVENTS_TOKEN_ENV = "ONESTOP_EDGE_EVENTS_TOKEN"

STAFF_KEYS = ("staff", "window", "signon_seq", "signed_on_at")
MANAGER_KEYS = ("manager", "manager_name", "manager_key")


def access(level: str, login: str | None = None) -> dict:
    """A handler's `opt`: its access level; for pages, where a refused browser is sent (may
    name path parameters, e.g. "/console/{window_id}")."""
    assert level in LEVELS, level
    return {"access": level, "login": login} if login else {"access": level}


class SignOns:
    """The current sign-on (staff, log seq) per window, from the log as it commits. Read and
    written on the hall's writer thread only (listeners run there; so do `Hall.run` commands),
    so a check inside `Hall.run` sees every sign-off committed before it."""

    def __init__(self) -> None:
        self._by_window: dict[str, tuple[str, int]] = {}

    def on_events(self, events: list) -> None:
        for e in events:
            if e.kind == "window.signed_on":
                b = msgspec.json.decode(e.body)
                self._by_window[b["window"]] = (b["staff"], e.seq)
            elif e.kind == "window.signed_off":
                b = msgspec.json.decode(e.body)
                self._by_window.pop(b["window"], None)

    def seq(self, window: str) -> int | None:
        cur = self._by_window.get(window)
        return cur[1] if cur else None


def manager_key(password_hash: str) -> str:
    """A fingerprint of the manager's password hash: a new password ends the old logins."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _session(connection: ASGIConnection) -> dict:
    s = connection.scope.get("session")
    return dict(s) if isinstance(s, dict) else {}


def _staff_valid(ctx: Ctx, signons: SignOns, s: dict) -> bool:
    w = ctx.store.window(s.get("window") or "")
    if w is None or w.staff is None or w.staff != s.get("staff") or w.signed_on_at != s.get("signed_on_at"):
        return False
    cur = signons.seq(w.id)
    return cur is None or cur == s.get("signon_seq")


def _manager_valid(ctx: Ctx, s: dict) -> bool:
    m = next((m for m in ctx.catalog.business.managers if m.id == s.get("manager")), None)
    return m is not None and hmac.compare_digest(manager_key(m.password_hash), str(s.get("manager_key", "")))


def _check_session(ctx: Ctx, signons: SignOns, s: dict) -> tuple[bool, bool]:
    return (bool(s.get("staff")) and _staff_valid(ctx, signons, s),
            bool(s.get("manager")) and _manager_valid(ctx, s))


async def who(connection: ASGIConnection) -> tuple[str | None, str | None]:
    """(staff, manager) of this session whose sign-on / login is still current; a stale part
    is dropped from the session."""
    s = _session(connection)
    if not s.get("staff") and not s.get("manager"):
        return None, None
    hall: Hall = connection.app.state["hall"]
    staff_ok, manager_ok = await hall.run(_check_session, connection.app.state["signons"], s)
    stale = [k for k, ok in (("staff", staff_ok), ("manager", manager_ok)) if s.get(k) and not ok]
    if stale:
        for k in stale:
            for key in STAFF_KEYS if k == "staff" else MANAGER_KEYS:
                s.pop(key, None)
        if s:
            connection.scope["session"] = s
        else:
            connection.clear_session()
    return (s.get("staff") if staff_ok else None), (s.get("manager") if manager_ok else None)


async def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """The app-wide guard: the handler's declared access level, default deny."""
    level = handler.opt.get("access")
    if level == PUBLIC:
        return
    if level not in LEVELS:
        raise NotAuthorizedException("该地址未声明访问权限")
    if level == EVENTS:
        token = connection.app.state.get("events_token") or ""
        auth = connection.headers.get("authorization", "")
        if token and auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].strip().encode(), token.encode()):
            return
    staff, manager = await who(connection)
    if level in (MANAGER, EVENTS):
        if manager:
            return
        raise NotAuthorizedException("请先以大厅管理员身份登录")
    if level == STAFF_OR_MANAGER and manager:
        return
    if not staff:
        raise NotAuthorizedException("请先在窗口签到（工号 + 密码，或刷工作证）" if level != AT_WINDOW
                                     else "请先在本窗口签到（工号 + 密码）")
    if level == AT_WINDOW and connection.path_params.get("window_id") != _session(connection).get("window"):
        raise PermissionDeniedException("您未在该窗口签到")


def signed_on_session(ctx: Ctx, signons: SignOns, window_id: str, staff: str, before: int) -> dict:
    """After a sign-on (writer thread): what the session remembers of it."""
    w = ctx.store.window(window_id)
    seq = ctx.store.last_seq if ctx.store.last_seq > before else signons.seq(window_id)
    return {"staff": staff, "window": window_id, "signon_seq": seq, "signed_on_at": w.signed_on_at if w else None}


def own_case(ctx: Ctx, window_id: str, staff: str, case_id: str) -> CaseView:
    """The case, checked to belong to the department of the window `staff` works (its lead
    department or a co-department): the console's case page and the JSON API check the same."""
    w = windows.acting_window(ctx, window_id, staff)
    c = cases.get_case(ctx, case_id)
    if w.department != c.department and w.department not in c.co_departments:
        raise Forbidden("not-your-case", "该办件不属于本窗口部门")
    return c


# ============================================================================ logins: throttle, audit, equal work


class Throttled(Refused):
    status = 429

    def __init__(self, seconds: float) -> None:
        super().__init__("too-many-attempts", f"尝试次数过多，请 {max(1, int(seconds + 0.999))} 秒后再试")
        self.retry_after = max(1, int(seconds + 0.999))


def source_of(connection: ASGIConnection) -> str:
    client = connection.scope.get("client")
    return str(client[0]) if client else "unknown"


def check_pin(ctx: Ctx, staff_id: str, pin: str) -> None:
    """Staff id + PIN; an unknown staff id costs as much as a wrong PIN."""
    s = ctx.catalog.staff.get(staff_id)
    like = next((x.pin_hash for x in ctx.catalog.business.staff if x.pin_hash), None)
    if not verify_account(s.pin_hash if s else None, pin, like):
        raise Forbidden("bad-credentials", "工号或密码不正确")


def check_manager(ctx: Ctx, manager_id: str, password: str) -> tuple[str, str]:
    """(name, key) of the manager; an unknown id costs as much as a wrong password."""
    m = next((m for m in ctx.catalog.business.managers if m.id == manager_id), None)
    like = next((x.password_hash for x in ctx.catalog.business.managers), None)
    if not verify_account(m.password_hash if m else None, password, like) or m is None:
        raise Forbidden("bad-credentials", "账号或密码不正确")
    return m.name, manager_key(m.password_hash)


async def throttled_login(connection: ASGIConnection, kind: str, account: str, attempt: Any, *args: Any) -> Any:
    """Run `attempt(ctx, *args)` on the writer thread unless the account or the source is
    locked; a refusal for bad credentials counts as a failure and is audited."""
    state = connection.app.state
    throttle: Throttle = state["throttle"]
    audit: LoginAudit = state["login_audit"]
    src = source_of(connection)
    keys = [(kind, account[:64]), (f"{kind}-source", src)]
    wait = throttle.locked_for(keys)
    if wait > 0:
        audit.failure(kind, account, src, "locked")
        raise Throttled(wait)
    hall: Hall = state["hall"]
    try:
        result = await hall.run(attempt, *args)
    except Forbidden as e:
        if e.code == "bad-credentials":
            throttle.failure(keys)
            audit.failure(kind, account, src, "bad-credentials")
        raise
    throttle.success(keys[0])
    return result


def rotate_session(connection: ASGIConnection) -> None:
    """Issue a new session id when this response stores the session (sign-on, login)."""
    connection.scope[_ROTATE] = True  # type: ignore[literal-required]


# ============================================================================ sessions

_KNOWN = "onestop.session_id"  # scope key: the id the store knew for this request's cookie
_ROTATE = "onestop.rotate_session"


class HallSessionBackend(ServerSideSessionBackend):
    """Server-side sessions whose ids only the server issues."""

    async def load_from_connection(self, connection: ASGIConnection) -> dict[str, Any]:
        sid = connection.cookies.get(self.config.key)
        if sid and sid != "null" and len(sid) <= 256:
            store = self.config.get_store_from_app(connection.scope["app"])
            data = await self.get(sid, store=store)
            if data is not None:
                connection.scope[_KNOWN] = sid  # type: ignore[literal-required]
                return self.deserialize_data(data)
        return {}

    def get_session_id(self, connection: ASGIConnection) -> str:
        return connection.scope.get(_KNOWN) or ""  # type: ignore[return-value]

    async def store_in_message(self, scope_session: Any, message: Message, connection: ASGIConnection) -> None:
        scope = connection.scope
        store = self.config.get_store_from_app(scope["app"])
        headers = MutableScopeHeaders.from_message(message)
        known: str | None = scope.get(_KNOWN)  # type: ignore[assignment]
        params = dict(extract_dataclass_items(self.config, exclude_none=True, include=Cookie.__dict__.keys()))
        params["secure"] = scope.get("scheme") in ("https", "wss")
        params["httponly"] = True
        if scope_session is Empty or not scope_session:
            if known:
                await self.delete(known, store=store)
            if known or connection.cookies.get(self.config.key) not in (None, "null"):
                headers.add("Set-Cookie", Cookie(value="null", key=self.config.key, expires=0, **params).to_header(header=""))
            return
        sid = known
        if not sid or scope.get(_ROTATE):
            if sid:
                await self.delete(sid, store=store)
            sid = self.generate_session_id()
        await self.set(session_id=sid, data=self.serialize_data(scope_session, scope), store=store)
        headers.add("Set-Cookie", Cookie(value=sid, key=self.config.key, **params).to_header(header=""))


class HallSessionConfig(ServerSideSessionConfig):
    _backend_class = HallSessionBackend  # type: ignore[assignment]


def session_config() -> HallSessionConfig:
    # The event stream is long-lived and public; static files and the schema never need a session.
    return HallSessionConfig(max_age=12 * 3600, samesite="strict", httponly=True,
                             exclude=["^/static/", "^/schema", "^/api/stream$"])


# ============================================================================ cross-site requests, headers, errors

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors {ancestors}")


async def _answer(send: Send, status: int, detail: str, headers: list | None = None, code: str | None = None) -> None:
    body = msgspec.json.encode({"status_code": status, "code": code or code_of(status), "detail": detail})
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", []):
        if k.lower() == name:
            return v.decode("latin-1")
    return None


def _same_origin(url: str, own: str) -> bool:
    url = url.strip().lower()
    return url == own or url.startswith(own + "/")


class CrossSiteMiddleware:
    """Refuses state changes from another origin and JSON endpoints' non-JSON bodies."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        host = (_header(scope, b"host") or "").lower()
        own = f"{scope.get('scheme', 'http')}://{host}"
        origin = _header(scope, b"origin")
        referer = _header(scope, b"referer")
        ctype = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        length = _header(scope, b"content-length")
        has_body = (length not in (None, "", "0")) or _header(scope, b"transfer-encoding") is not None
        if origin is not None:
            if origin.strip().lower() != own:
                await _answer(send, 403, "跨站请求被拒绝（Origin 与本站不符）", code="cross-site")
                return
        elif referer:
            if not _same_origin(referer, own):
                await _answer(send, 403, "跨站请求被拒绝（Referer 与本站不符）", code="cross-site")
                return
        elif ctype not in ("application/json", "") or (ctype == "" and has_body):
            # no Origin and no Referer: only a program's JSON request (an HTML form always has a type)
            await _answer(send, 403, "缺少 Origin 的请求必须是 application/json", code="cross-site")
            return
        if scope["path"].startswith("/api/") and has_body and ctype != "application/json":
            await _answer(send, 415, "请求体必须是 application/json")
            return
        await self.app(scope, receive, send)


def new_request_id() -> str:
    return secrets.token_hex(8)


def _request_id(scope: Scope) -> str:
    state = scope.setdefault("state", {})  # type: ignore[typeddict-item]
    if "request_id" not in state:
        state["request_id"] = new_request_id()
    return state["request_id"]


async def security_headers(message: Message, scope: Scope) -> None:
    """The app's `before_send` hook: security headers and an X-Request-Id on every response
    (also those no route handled, e.g. 404s, which app middleware never sees)."""
    if message["type"] != "http.response.start" or scope["type"] != "http":
        return
    board = scope["path"].rstrip("/") == "/display"
    h = MutableScopeHeaders.from_message(message)
    h["Content-Security-Policy"] = CSP.format(ancestors="'self'" if board else "'none'")
    h["X-Frame-Options"] = "SAMEORIGIN" if board else "DENY"
    h["X-Content-Type-Options"] = "nosniff"
    h["Referrer-Policy"] = "same-origin"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    h["X-Request-Id"] = _request_id(scope)
    if scope.get("scheme") == "https":
        h["Strict-Transport-Security"] = "max-age=31536000"


def request_id(request: Request) -> str:
    return _request_id(request.scope)


def too_deep(request: Request, exc: RecursionError) -> Response:
    """JSON nested deeper than the decoder's recursion limit: a bad request, not an error."""
    return Response({"status_code": 400, "code": "invalid-request", "detail": "请求内容嵌套过深"}, status_code=400)


def internal_error(request: Request, exc: Exception) -> Response:
    """An unhandled error: logged with the request id, answered 500 with that id only."""
    rid = request_id(request)
    log.error("unhandled error request_id=%s %s %s", rid, request.method, request.url.path, exc_info=exc)
    return Response({"status_code": 500, "code": "internal-error", "detail": f"服务器内部错误（请求编号 {rid}）",
                     "request_id": rid},
                    status_code=500)


def events_token() -> str:
    return os.environ.get(EVENTS_TOKEN_ENV, "")

