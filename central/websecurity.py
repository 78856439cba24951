"""What every request to central passes through before its route (an ASGI middleware):

- a request id (`X-Request-Id` on every answer; the id unhandled errors are logged with);
- cross-site request refusal on state changes (POST, PUT, PATCH, DELETE): an `Origin` header
  must name central's own origin (scheme and `Host`); a request without `Origin` is taken only
  from a script (HTTP Basic, or a JSON body — a browser sends `Origin` on every cross-site POST,
  and a cross-site JSON post needs a CORS preflight central never grants) and never when
  `Sec-Fetch-Site` says cross-site; the JSON API (`/api/…`) takes `application/json` bodies only
  (415 otherwise; a DELETE without any body counts as JSON), so no `text/plain` form can reach it;
- security headers on every answer: a Content-Security-Policy allowing only central's own
  scripts and images (and the pages' inline styles), no framing at all, `nosniff`, no referrer
  beyond central's origin.

Refusals answer JSON `{"status_code", "code", "detail"}` like the API's other errors, in Chinese.
"""

from __future__ import annotations

import json
import secrets

from .errors import error_body

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
REQUEST_ID = "request_id"  # key of the id in the ASGI scope's state


def request_id(scope) -> str:
    """The id of the request whose ASGI scope (or litestar Request) this is."""
    state = scope.get("state") if isinstance(scope, dict) else getattr(scope, "scope", {}).get("state")
    return (state or {}).get(REQUEST_ID, "")


def _header(scope, name: bytes) -> str:
    for k, v in scope.get("headers") or []:
        if k.lower() == name:
            return v.decode("latin-1")
    return ""


def refusal(scope) -> tuple[int, str] | None:
    """(status, message) when this state-changing request is refused; None when it may go on."""
    if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
        return None
    origin = _header(scope, b"origin")
    host = _header(scope, b"host")
    own = f"{scope.get('scheme', 'http')}://{host}"
    content_type = _header(scope, b"content-type").split(";")[0].strip().lower()
    # a DELETE with no body at all (the API's cancel) carries nothing a form could have sent:
    # it is taken like a JSON request (a browser sends Origin on it; cross-site it needs a CORS
    # preflight central never grants)
    bodiless = (scope["method"] == "DELETE" and not content_type and not _header(scope, b"transfer-encoding")
                and _header(scope, b"content-length") in ("", "0"))
    is_json = content_type == "application/json" or bodiless
    if origin:
        if origin != own:
            return 403, f"拒绝跨站请求：来源 {origin} 不是本站 {own}"
    else:
        site = _header(scope, b"sec-fetch-site").lower()
        if site and site not in ("same-origin", "none"):
            return 403, f"拒绝跨站请求（Sec-Fetch-Site: {site}）"
        basic = _header(scope, b"authorization").lower().startswith("basic ")
        if not (basic or is_json):
            return 403, "拒绝请求：缺少 Origin 请求头（浏览器表单须来自本站页面）"
    if scope["path"].startswith("/api/") and not is_json:
        return 415, f"请求内容须为 application/json，收到 {content_type or '（无）'}"
    return None


class SecurityMiddleware:
    """The ASGI middleware (wraps the litestar app; see module docstring)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = secrets.token_hex(6)
        scope.setdefault("state", {})[REQUEST_ID] = rid
        extra = [*HEADERS, (b"x-request-id", rid.encode())]
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", b"max-age=31536000"))

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers") or []}
                message = {**message, "headers": [*(message.get("headers") or []),
                                                  *((k, v) for k, v in extra if k not in present)]}
            await send(message)

        refused = refusal(scope)
        if refused is not None:
            status, detail = refused
            body = json.dumps(error_body(status, detail), ensure_ascii=False).encode()
            await send_with_headers({"type": "http.response.start", "status": status,
                                     "headers": [(b"content-type", b"application/json; charset=utf-8"),
                                                 (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send_with_headers)
