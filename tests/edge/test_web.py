"""The hall's HTTP hardening (edge.web): every route has an owner, sessions, cross-site
requests, security headers, login throttling, bad parameters. Each test reproduces an attack
through the real app and shows it refused."""

from __future__ import annotations

import re
import time

import pytest
from litestar.testing import TestClient

from edge.app import create_app
from tests.conftest import EDGE_HEADERS, EVENTS_TOKEN, MANAGER_PASSWORD, PIN, edge_client, login_manager

ORIGIN = "http://testserver.local"
# Routes anyone may call without a session (docs/api.md); everything else must refuse.
PUBLIC = {
    "/", "/kiosk", "/kiosk/departments/{dept_id:str}", "/kiosk/items/{item_id:str}", "/kiosk/tickets", "/kiosk/rejoin",
    "/kiosk/checkin",
    "/kiosk/tickets/{ticket_id:str}",
    "/display", "/guide", "/guide/{item_id:str}", "/console", "/console/{window_id:str}",
    "/console/{window_id:str}/sign-on", "/manage/login", "/manage/logout",
    "/api/health", "/api/catalog", "/api/tickets", "/api/tickets/{ticket_id:str}", "/api/tickets/rejoin",
    "/api/queue", "/api/display", "/api/stream", "/api/windows", "/api/windows/{window_id:str}/sign-on",
    "/api/login", "/api/logout", "/api/appointments/checkin",
    # the visitor's phone page: public, its link's tag is the credential (tests/edge/test_phone_page.py)
    "/m/{ticket_id:str}/{tag:str}", "/m/{ticket_id:str}/{tag:str}/rating", "/api/phone/{ticket_id:str}/{tag:str}",
    "/api/phone/{ticket_id:str}/{tag:str}/stream",
    # the display board's prompts to rate, 亮身份 photos and offline voice (edge/pages/board.py)
    "/api/display/prompts", "/api/display/photos/{staff_id:str}", "/api/display/voice",
}
SIMULATE_ONLY = {"/sim", "/api/sim/pins", "/api/sim/pins/{name:str}", "/api/sim/readers", "/api/sim/badge",
                 "/api/sim/readers/{name:str}", "/api/sim/writer/hang", "/sim/printer", "/api/sim/printer"}


def events_len(hall) -> int:
    return hall.store.last_seq


def anonymous(app) -> TestClient:
    c = TestClient(app)
    c.headers["Origin"] = ORIGIN
    return c


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+):\w+\}", lambda m: "W1" if m.group(1) == "window_id" else "x1", path)


@pytest.mark.parametrize("simulate", [False, True])
def test_web_every_non_public_route_refuses_without_a_session(hall, device_hall, hardware, simulate):
    """Walk the app's route table: a route not declared public answers 401/403 (a page sends the
    browser to its sign-on page) and changes nothing; a new route without an owner fails here."""
    h = device_hall if simulate else hall
    app = create_app(h, tick_seconds=3600, simulate=simulate, hardware=hardware if simulate else None,
                     events_token=EVENTS_TOKEN)
    checked = 0
    with anonymous(app) as c:
        for route in app.routes:
            path = route.path
            if path.startswith(("/static", "/schema")):
                continue
            for method in sorted(getattr(route, "methods", set()) - {"HEAD", "OPTIONS"}):
                handler = route.route_handler_map[method][0] if hasattr(route, "route_handler_map") else None
                level = handler.opt.get("access") if handler else None
                if path in PUBLIC or (simulate and path in SIMULATE_ONLY):
                    assert level == "public", (method, path, level)
                    continue
                assert level != "public", f"{method} {path} is public but not listed in PUBLIC / docs/api.md"
                before = events_len(h)
                kwargs = {"json": {}} if method == "POST" and path.startswith("/api/") else {}
                r = c.request(method, concrete(path), follow_redirects=False, **kwargs)
                if path.startswith("/api/"):
                    assert r.status_code in (401, 403), (method, path, r.status_code, r.text)
                else:  # pages: back to the sign-on / login page, nothing done
                    assert r.status_code == 303 and r.headers["location"] in ("/manage/login", "/console/", "/console/W1"), (
                        method, path, r.status_code)
                assert events_len(h) == before, (method, path)
                checked += 1
    assert checked >= 30


def test_web_undeclared_route_is_denied(hall):
    """A handler without `opt["access"]` is refused (default deny)."""
    from litestar import get

    @get("/api/new-thing")
    async def new_thing() -> dict:
        return {"secret": 1}

    with anonymous(create_app(hall, tick_seconds=3600, extra_handlers=[new_thing])) as c:
        assert c.get("/api/new-thing").status_code == 401
        login_manager(c)
        assert c.get("/api/new-thing").status_code == 401  # not even the manager: nobody owns it


def test_web_anonymous_reads_refused_and_token_or_manager_allowed(hall):
    app = create_app(hall, tick_seconds=3600, events_token=EVENTS_TOKEN)
    with anonymous(app) as c:
        for path in ("/api/leave", "/api/attendance", "/api/attendance/punches", "/api/events", "/api/followups",
                     "/api/cases", "/api/step-aways", "/api/devices", "/api/audit/logins"):
            assert c.get(path).status_code == 401, path
        assert c.get("/api/events", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/api/events", headers={"Authorization": f"Bearer {EVENTS_TOKEN}"}).status_code == 200
        # the token reads the log, nothing else
        assert c.get("/api/leave", headers={"Authorization": f"Bearer {EVENTS_TOKEN}"}).status_code == 401
        login_manager(c)
        for path in ("/api/leave", "/api/attendance", "/api/events", "/api/followups", "/api/cases"):
            assert c.get(path).status_code == 200, path
    with anonymous(create_app(hall, tick_seconds=3600, events_token="")) as c:
        assert c.get("/api/events", headers={"Authorization": "Bearer "}).status_code == 401


def test_web_health_has_no_personal_data(client, signed_on):
    signed_on("W1", "s-li")
    body = client.get("/api/health").text
    for secret in ("s-li", "pbkdf2", "李", "phone"):
        assert secret not in body


def _case_of(client, signed_on, item: str, outcome: str, **fields) -> tuple[TestClient, str]:
    t = client.post("/api/tickets", json={"item": item}).json()
    desk = signed_on("W1", "s-li")
    assert desk.post("/api/windows/W1/call").status_code == 200
    assert desk.post("/api/windows/W1/start").status_code == 200
    r = desk.post("/api/windows/W1/complete", json={"outcome": outcome, **fields})
    assert r.status_code == 200, r.text
    return desk, client.get(f"/api/tickets/{t['id']}").json()["case"]


def test_web_clerk_of_another_department_cannot_act_on_a_case(client, signed_on, hall):
    """The console's case page refuses another department's case; so does the JSON API."""
    desk, case_id = _case_of(client, signed_on, "suspension", "promised")
    finance = signed_on("W3", "s-qian")  # a finance clerk
    before = events_len(hall)
    for path, body in ((f"/api/cases/{case_id}/finish", {"result": "done"}),
                       (f"/api/cases/{case_id}/supply", {"materials": ["x"]}),
                       (f"/api/cases/{case_id}/handoffs", {"from_department": "academic", "to_department": "finance",
                                                           "materials": ["x"]})):
        r = finance.post(path, json=body)
        assert r.status_code == 403 and r.json()["code"] == "not-your-case", (path, r.text)
    assert finance.get(f"/api/cases/{case_id}").status_code == 403
    assert finance.get("/api/cases", params={"department": "academic"}).status_code == 403
    assert all(c["department"] == "finance" for c in finance.get("/api/cases").json())
    assert events_len(hall) == before
    assert desk.post(f"/api/cases/{case_id}/finish", json={"result": "done"}).status_code == 200


def test_web_staff_session_ends_with_the_sign_off(hall):
    """Sign on in browser A, sign off and on again in browser B: A's session is dead."""
    app = create_app(hall, tick_seconds=3600)
    with edge_client(app) as a, edge_client(app) as b:
        assert a.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": PIN}).status_code == 200
        assert b.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": PIN}).status_code == 200
        assert b.post("/api/windows/W1/sign-off").status_code == 200
        assert a.post("/api/windows/W1/pause").status_code == 401  # signed off elsewhere
        assert b.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": PIN}).status_code == 200
        before = events_len(hall)
        assert a.post("/api/windows/W1/pause").status_code == 401  # same person, a new sign-on: still dead
        assert a.post("/api/leave", json={"kind": "annual", "start": "2026-11-24", "end": "2026-11-24"}).status_code == 401
        assert events_len(hall) == before
        assert b.post("/api/windows/W1/pause").status_code == 200


def _cookie(r) -> str | None:
    m = re.search(r"session=([^;]*)", r.headers.get("set-cookie", ""))
    return m.group(1) if m else None


def test_web_session_fixation_refused_and_ids_rotate(hall):
    """A cookie the client chose is never adopted; sign-on and login issue a new id."""
    app = create_app(hall, tick_seconds=3600)
    with edge_client(app) as c:
        chosen = "a" * 64
        c.cookies.set("session", chosen)
        r = c.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": PIN})
        issued = _cookie(r)
        assert r.status_code == 200 and issued and issued != chosen
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
        with edge_client(app) as attacker:  # the attacker's planted id is not a session
            attacker.cookies.set("session", chosen)
            assert attacker.post("/api/windows/W1/pause").status_code == 401
        c.cookies.set("session", issued)
        r = c.post("/api/login", json={"manager": "manager", "password": MANAGER_PASSWORD})
        assert r.status_code == 200 and _cookie(r) not in (None, issued)  # rotated at login
        with edge_client(app) as old:  # the id before the login is gone
            old.cookies.set("session", issued)
            assert old.get("/api/leave").status_code == 401
    with TestClient(app, base_url="https://hall.example") as tls:
        tls.headers["Origin"] = "https://hall.example"
        r = tls.post("/api/windows/W2/sign-on", json={"staff": "s-wang", "pin": PIN})
        assert r.status_code == 200, r.text
        assert "secure" in r.headers["set-cookie"].lower()
        assert "max-age=31536000" in r.headers["strict-transport-security"]


def test_web_page_sign_on_rotates_the_session(hall):
    app = create_app(hall, tick_seconds=3600)
    with edge_client(app) as c:
        c.cookies.set("session", "b" * 64)
        r = c.post("/console/W1/sign-on", data={"staff": "s-li", "pin": PIN}, follow_redirects=False)
        assert r.status_code == 303 and _cookie(r) not in (None, "b" * 64)


def test_web_cross_site_requests_refused(client, hall):
    """CSRF: another origin, text/plain bodies and Origin-less forms are refused; nothing changes."""
    before = events_len(hall)
    evil = {"Origin": "http://evil.example"}
    assert client.post("/api/tickets", json={"item": "transcript"}, headers=evil).status_code == 403
    assert client.post("/api/tickets", content=b'{"item": "transcript"}',
                       headers={"Content-Type": "text/plain"}).status_code == 415
    assert client.post("/kiosk/tickets", data={"item": "transcript"}, headers=evil).status_code == 403
    assert client.post("/kiosk/tickets", data={"item": "transcript"},
                       headers={"Origin": "http://testserver.local:8080"}).status_code == 403  # another port
    assert client.post("/kiosk/tickets", data={"item": "transcript"}, headers={"Origin": "null"}).status_code == 403
    with TestClient(client.app) as bare:  # no Origin, no Referer: only JSON
        assert bare.post("/kiosk/tickets", data={"item": "transcript"}).status_code == 403
        assert bare.post("/api/tickets", content=b'{"item": "transcript"}',
                         headers={"Content-Type": "text/plain"}).status_code == 403
        assert bare.post("/kiosk/tickets", data={"item": "transcript"},
                         headers={"Referer": "http://evil.example/x"}).status_code == 403
        assert events_len(hall) == before
        assert bare.post("/api/tickets", json={"item": "transcript"}).status_code == 201  # a program
        assert bare.post("/kiosk/tickets", data={"item": "transcript"},
                         headers={"Referer": "http://testserver.local/kiosk"}).status_code == 200  # same-origin form
    assert client.post("/kiosk/tickets", data={"item": "transcript"}).status_code == 200  # same-origin form


def test_web_security_headers_on_every_response(client):
    for path in ("/", "/kiosk", "/api/health", "/static/hall.css", "/api/leave", "/nope"):
        h = client.get(path).headers
        assert "frame-ancestors 'none'" in h["content-security-policy"], path
        assert "default-src 'self'" in h["content-security-policy"]
        assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "same-origin" and h["x-request-id"]
    h = client.get("/display").headers
    assert "frame-ancestors 'self'" in h["content-security-policy"] and h["x-frame-options"] == "SAMEORIGIN"


def test_web_pages_have_no_inline_scripts(client):
    for path in ("/", "/kiosk", "/display", "/guide", "/console/W1", "/manage/login"):
        # a JSON data block (type="application/json", e.g. the board's texts) is not run: allowed
        assert not re.search(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", client.get(path).text), path


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_web_pin_guessing_is_throttled_and_audited(hall):
    app = create_app(hall, tick_seconds=3600)
    clock = FakeClock()
    app.state["throttle"].clock = clock
    with edge_client(app) as c:
        for _ in range(5):
            r = c.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": "0000"})
            assert r.status_code == 403
        r = c.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": PIN})  # right PIN, but locked
        assert r.status_code == 429 and r.json()["code"] == "too-many-attempts" and r.headers["retry-after"] == "60"
        clock.t += 61
        assert c.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": "0000"}).status_code == 403
        assert c.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": PIN}).status_code == 429  # doubled
        clock.t += 121
        assert c.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": PIN}).status_code == 200
        with edge_client(app) as m:
            login_manager(m)
            rows = m.get("/api/audit/logins").json()
        assert [r["reason"] for r in rows].count("bad-credentials") == 6
        assert {r["account"] for r in rows} == {"s-li"} and rows[0]["kind"] == "pin"
        assert rows[0]["at"].startswith("2026-11-23T01:00")  # the hall's clock (09:00 Shanghai), not the machine's


def test_web_source_is_throttled_across_accounts_and_pages(hall):
    """Spraying many accounts from one address locks the address; the manager page form too."""
    app = create_app(hall, tick_seconds=3600)
    with edge_client(app) as c:
        for i in range(10):
            assert c.post("/api/windows/W1/sign-on", json={"staff": f"nobody-{i}", "pin": "0"}).status_code == 403
        assert c.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": PIN}).status_code == 429
        for _ in range(5):
            c.post("/manage/login", data={"manager": "manager", "password": "x"})
        r = c.post("/manage/login", data={"manager": "manager", "password": MANAGER_PASSWORD})
        assert "尝试次数过多" in r.text
        assert c.get("/api/leave").status_code == 401


def test_web_unknown_account_costs_as_much_as_a_wrong_pin(hall):
    from edge.auth import verify_account
    from sync.kernel.passwords import hash_secret

    real = hash_secret("1234", iterations=20_000)
    t0 = time.perf_counter()
    for _ in range(5):
        verify_account(real, "0000", real)
    known = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(5):
        verify_account(None, "0000", real)
    unknown = time.perf_counter() - t0
    assert unknown > known * 0.5, (known, unknown)


@pytest.mark.parametrize("path", [
    "/api/events?after=1000000000000000000000", "/api/events?limit=100000000", "/api/events?limit=-5",
    "/api/attendance?date=0001-01-01", "/api/attendance?date=9999-12-31", "/api/step-aways?date=9999-12-31",
    "/api/ratings?start=0001-01-01&end=9999-12-31", "/api/attendance/punches?date=0001-01-01",
    "/api/tickets/" + "9" * 200, "/api/cases/" + "1" * 100, "/api/events?epoch=" + "e" * 300,
])
def test_web_bad_parameters_are_400(client, path):
    login_manager(client)
    r = client.get(path)
    assert r.status_code == 400, (path, r.status_code, r.text)
    body = r.json()
    assert body["detail"] and body["code"] == ("bad-date" if "date=" in path or "start=" in path else "invalid-request")


def test_web_validation_errors_carry_code_detail_and_extra(client, hall):
    """docs/api.md, "Errors": a request that fails validation answers 400 `invalid-request`, a
    Chinese detail naming the field and the validator's findings in `extra`; nothing changes."""
    before = events_len(hall)
    r = client.get("/api/events?limit=0")
    assert r.status_code == 400
    assert r.json() == {"status_code": 400, "code": "invalid-request", "detail": "请求参数不正确：limit（查询参数）",
                        "extra": [{"message": "Expected `int` >= 1", "key": "limit", "source": "query"}]}
    r = client.post("/api/tickets", json={"item": "transcript", "colour": "red"})
    body = r.json()
    assert r.status_code == 400 and body["code"] == "invalid-request" and body["detail"].startswith("请求参数不正确")
    assert "colour" in body["extra"][0]["message"]
    r = client.post("/api/tickets", content=b'{"item": ', headers={"Content-Type": "application/json"})
    body = r.json()
    assert r.status_code == 400 and body["code"] == "invalid-request" and body["detail"] == "请求内容无法解析（格式不正确）"
    assert body["extra"][0]["message"]
    r = client.get("/api/no-such-route")
    assert r.status_code == 404 and r.json()["code"] == "not-found" and r.json()["detail"] == "没有这个地址"
    assert events_len(hall) == before


def test_web_bad_bodies_are_4xx(client, hall, signed_on):
    w = signed_on("W1", "s-li")
    before = events_len(hall)
    deep = b"[" * 5000 + b"]" * 5000
    for body in (b'{"item": ' + deep + b"}", deep, b'{"item": "' + b"x" * 300 + b'"}'):
        r = client.post("/api/tickets", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, r.text
    r = client.post("/api/tickets", content=b"x" * (300 * 1024), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    r = w.post("/api/leave", json={"kind": "annual", "start": "0001-01-01", "end": "9999-12-31"})
    assert r.status_code == 400 and "超出" in r.json()["detail"]
    assert events_len(hall) == before


def test_web_unhandled_error_is_logged_with_a_request_id(hall):
    import logging

    from litestar import get

    from edge.web import PUBLIC, access

    @get("/api/boom", opt=access(PUBLIC))
    async def boom() -> dict:
        raise RuntimeError("secret internals")

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("onestop.edge.http")
    logger.addHandler(handler)
    try:
        with anonymous(create_app(hall, tick_seconds=3600, extra_handlers=[boom])) as c:
            r = c.get("/api/boom")
    finally:
        logger.removeHandler(handler)
    assert r.status_code == 500
    rid = r.json()["request_id"]
    assert rid and rid == r.headers["x-request-id"] and "secret internals" not in r.text and "Traceback" not in r.text
    assert any(rid in rec.getMessage() and rec.exc_info for rec in records)
