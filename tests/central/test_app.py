"""Every route of central's app has an owner: walked from the app's own route table, each
non-public route refuses a caller without credentials; the records API answers within the
caller's scope; bad parameters answer 400 with a message, never 500; an unhandled error is
logged with the request id it answers."""

from __future__ import annotations

import logging
import re

import pytest
from litestar import get
from litestar.testing import TestClient

from central.app import create_app
from central.auth import Auth
from central.config import load
from central.projections import Directory
from tests.central.data import Browser, ingest_all, three_halls, write_config

ADMIN, FINANCE, HB = ("admin", "admin123"), ("finance-head", "finance123"), ("hb-manager", "hall123")
PUBLIC = {("GET", "/"), ("GET", "/awards"), ("GET", "/login"), ("POST", "/login"), ("POST", "/logout"), ("GET", "/api/health")}
PUBLIC_PREFIXES = ("/static/", "/schema")  # files, the OpenAPI description (no data)
# "/" and "/awards" only redirect to a page (which itself needs the login)
PATH_VALUES = {"hall": "h-a", "cid": "1"}


@pytest.fixture
def app(store, tmp_path):
    cfg, halls = load(write_config(tmp_path))
    ingest_all(store, three_halls())
    for hall in ("h-a", "h-b", "h-c"):
        store.ensure_hall(hall, "")
    store.quarantine("h-a", "onestop/v1/h-a/events", b"junk", "undecodable", 1)
    return create_app(store, None, Directory.of(halls), Auth(cfg.users))


@pytest.fixture
def client(app):
    with Browser(app) as c:
        yield c


def routes(app) -> list[tuple[str, str]]:
    out = []
    for r in app.routes:
        path = re.sub(r"\{(\w+):\w+\}", lambda m: PATH_VALUES.get(m[1], "x"), r.path)
        for method in sorted(getattr(r, "methods", set()) - {"HEAD", "OPTIONS"}):
            out.append((method, path))
    return out


def test_app_every_non_public_route_refuses_anonymous_callers(app, client, store):
    table = routes(app)
    assert ("GET", "/api/events") in table and ("POST", "/config/h-a/calendar") in table and len(table) > 40
    before = (store.count_events(), len(store.audit_log(1000)))
    checked = 0
    for method, path in table:
        if (method, path) in PUBLIC or path.startswith(PUBLIC_PREFIXES):
            continue
        kw = {"json": {}} if path.startswith("/api/") and method == "POST" else (
            {"data": {"x": "1"}} if method == "POST" else {})
        r = client.request(method, path, follow_redirects=False, **kw)
        if path.startswith("/api/"):
            assert r.status_code == 401, (method, path, r.status_code, r.text[:200])
        else:  # a page sends the browser to the login form, showing nothing
            assert r.status_code in (302, 303) and r.headers["location"] == "/login", (method, path, r.status_code)
        checked += 1
    assert checked > 40
    assert (store.count_events(), len(store.audit_log(1000))) == before


def test_app_records_api_answers_within_scope(client):
    assert client.get("/api/events", auth=ADMIN).json()
    hb = client.get("/api/events?limit=5000", auth=HB).json()
    assert hb and {e["hall"] for e in hb} == {"h-b"}
    assert client.get("/api/events?hall=h-a", auth=HB).status_code == 403
    assert client.get("/api/events", auth=FINANCE).status_code == 403  # raw events carry every department
    assert [h["id"] for h in client.get("/api/halls", auth=HB).json()] == ["h-b"]
    assert len(client.get("/api/halls", auth=FINANCE).json()) == 3
    assert client.get("/api/quarantine", auth=FINANCE).status_code == 403
    assert client.get("/api/quarantine", auth=HB).json() == []
    assert [q["hall"] for q in client.get("/api/quarantine", auth=ADMIN).json()] == ["h-a"]


DEEP = "[" * 5000 + "]" * 5000
BAD = [
    ("GET", "/api/events?after=" + str(10**21), None),
    ("GET", "/api/events?limit=0", None),
    ("GET", "/api/complaints/" + "9" * 20, None),
    ("POST", "/api/complaints/" + "9" * 20, {"action": "close"}),
    ("POST", "/api/complaints", DEEP),
    ("POST", "/api/followups", DEEP),
    ("POST", "/api/patrols", DEEP),
    ("GET", "/api/complaints?as_of=0001-01-01", None),
    ("GET", "/api/followups?as_of=9999-12-31", None),
    ("GET", "/api/reports/attendance?month=0001-01", None),
    ("GET", "/api/reports/attendance?month=9999-12", None),
    ("GET", "/api/reports/service?start=9999-12-30&end=9999-12-31", None),
    ("GET", "/api/reports/satisfaction?start=0001-01-01&end=0001-01-02", None),
    ("GET", "/api/reports/cases?start=0001-01-01&end=0001-01-02", None),
    ("GET", "/api/reports/coverage?start=9999-12-30&end=9999-12-31", None),
    ("GET", "/api/reports/coverage?month=2026-11&group=staff", None),
    ("GET", "/api/reports/extended?month=2026-13", None),
    ("GET", "/api/reports/extended?start=0001-01-01&end=0001-01-02", None),
    ("GET", "/api/reports/operations?start=0001-01-01&end=0001-01-02", None),
    ("GET", "/api/reports/rankings?period=year:0001", None),
    ("GET", "/api/reports/rankings?period=year:9999", None),
    ("GET", "/api/reports/cases?start=2026-11-01&end=2026-11-02&today=9999-12-31", None),
    ("GET", "/api/awards/redflag?semester=9999-2", None),
    ("GET", "/api/awards/redflag?semester=0000-1", None),
    ("GET", "/api/awards/bulletin?month=9999-12", None),
    ("GET", "/api/awards/year?year=0001", None),
    ("GET", "/api/patrols/bulletin?month=9999-12", None),
    ("GET", "/reports/attendance?month=0001-01", None),
    ("GET", "/reports/service?start=9999-12-30&end=9999-12-31", None),
    ("GET", "/complaints/" + "9" * 20, None),
    ("GET", "/followups?as_of=9999-12-31", None),
]


@pytest.mark.parametrize("method,url,body", BAD, ids=[f"{m} {u[:60]}" for m, u, _b in BAD])
def test_app_bad_parameters_answer_400_with_a_message(client, method, url, body):
    if not url.startswith("/api/"):
        client.post("/login", data={"username": "admin", "password": "admin123"})
    kw: dict = {"auth": ADMIN} if url.startswith("/api/") else {}
    if isinstance(body, str):
        kw |= {"content": body, "headers": {"content-type": "application/json"}}
    elif body is not None:
        kw["json"] = body
    r = client.request(method, url, **kw)
    assert r.status_code in (400, 404), (r.status_code, r.text[:300])
    if url.startswith("/api/"):
        body = r.json()
        assert body["detail"] and body["code"] == {400: "invalid-request", 404: "not-found"}[r.status_code]


def test_app_validation_errors_carry_code_detail_and_extra(client):
    """docs/central.md, "Errors": a parameter that fails validation answers 400
    `invalid-request`, a Chinese detail naming it and the validator's findings in `extra`."""
    r = client.get("/api/events?after=-1", auth=ADMIN)
    assert r.status_code == 400
    assert r.json() == {"status_code": 400, "code": "invalid-request", "detail": "请求参数不正确：after（查询参数）",
                        "extra": [{"message": "Expected `int` >= 0", "key": "after", "source": "query"}]}
    r = client.get("/api/reports/attendance?month=13", auth=ADMIN)  # the report's own check
    assert r.status_code == 400 and r.json()["code"] == "invalid-request" and "extra" not in r.json()
    r = client.get("/api/events")
    assert r.status_code == 401 and r.json()["code"] == "not-authorized"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_app_unhandled_error_is_logged_with_its_request_id(store, tmp_path):
    @get("/api/boom", sync_to_thread=False)
    def boom() -> dict:
        raise RuntimeError("disk on fire")

    app = create_app(store, None, None, Auth([]))
    app.register(boom)
    seen = Records()
    logger = logging.getLogger("onestop.central.app")
    logger.addHandler(seen)
    try:
        with TestClient(app) as c:
            r = c.get("/api/boom")
    finally:
        logger.removeHandler(seen)
    rid = r.headers["x-request-id"]
    assert r.status_code == 500 and r.json()["request_id"] == rid and "disk on fire" not in r.text
    assert any(rid in rec.getMessage() and "disk on fire" in rec.getMessage() and rec.exc_info for rec in seen.records)
