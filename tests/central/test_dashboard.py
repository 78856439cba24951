"""The reports API and dashboard over HTTP: login, roles applied on the server, sessions that
expire, audit of logins, 400 on bad parameters, CSV."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from central.app import create_app
from central.auth import Auth
from central.config import load
from tests.central.data import ingest_all, three_halls, write_config


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def app_parts(store, tmp_path):
    from central.projections import Directory

    cfg, halls = load(write_config(tmp_path))
    ingest_all(store, three_halls())
    clock = FakeClock()
    auth = Auth(cfg.users, session_minutes=30, clock=clock)
    return store, Directory.of(halls), auth, clock


@pytest.fixture
def client(app_parts):
    store, directory, auth, _clock = app_parts
    with TestClient(create_app(store, None, directory, auth)) as c:
        yield c


def login(c: TestClient, name: str, password: str):
    return c.post("/login", data={"username": name, "password": password}, follow_redirects=False)


def test_reports_api_requires_login(client):
    assert client.get("/api/reports/attendance?month=2026-11").status_code == 401


def test_reports_api_department_head_sees_only_department(client):
    assert login(client, "finance-head", "finance123").status_code in (301, 302, 303)
    r = client.get("/api/reports/satisfaction?start=2026-11-01&end=2026-11-30")
    assert r.status_code == 200
    assert [(x["hall"], x["window"]) for x in r.json()["rows"]] == [("h-b", "W3")]
    r = client.get("/api/reports/attendance?month=2026-11")
    assert r.json()["rows"] and {x["department"] for x in r.json()["rows"]} == {"finance"}


def test_reports_api_admin_sees_every_hall_via_basic_auth(client):
    r = client.get("/api/reports/service?start=2026-11-01&end=2026-11-30", auth=("admin", "admin123"))
    assert r.status_code == 200
    assert [x["hall"] for x in r.json()["rows"][:-1]] == ["h-a", "h-b", "h-c"]
    assert client.get("/api/reports/service?start=2026-11-01&end=2026-11-30",
                      auth=("admin", "wrong")).status_code == 401


@pytest.mark.parametrize("url", ["/api/reports/attendance?month=11-2026",
                                 "/api/reports/satisfaction?start=2026-11-01",
                                 "/api/reports/rankings?period=year:2026&level=moon",
                                 "/api/reports/service?start=2026-11-01&end=2026-11-02&format=xls"])
def test_reports_api_bad_parameters_400(client, url):
    r = client.get(url, auth=("admin", "admin123"))
    assert r.status_code == 400 and r.json()["detail"]


def test_reports_api_csv_with_bom(client):
    r = client.get("/api/reports/rankings?period=month:2026-11&level=hall&format=csv", auth=("admin", "admin123"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf") and "名次,大厅,得分" in r.content.decode("utf-8-sig")


def test_dashboard_login_audited_and_logout(app_parts):
    store, directory, auth, _clock = app_parts
    with TestClient(create_app(store, None, directory, auth)) as c:
        assert login(c, "admin", "nope").status_code == 401
        assert login(c, "admin", "admin123").status_code in (301, 302, 303)
        page = c.get("/live")
        assert page.status_code == 200 and "甲大厅" in page.text and "丙大厅" in page.text
        c.post("/logout", follow_redirects=False)
        assert c.get("/live", follow_redirects=False).headers["location"] == "/login"
    actions = [(e["who"], e["action"]) for e in store.audit_log()]
    assert actions == [("admin", "logout"), ("admin", "login"), ("admin", "login_failed")]


def test_dashboard_session_expires(app_parts):
    store, directory, auth, clock = app_parts
    with TestClient(create_app(store, None, directory, auth)) as c:
        login(c, "admin", "admin123")
        clock.t += 29 * 60
        assert c.get("/live", follow_redirects=False).status_code == 200  # sliding: renewed here
        clock.t += 31 * 60
        assert c.get("/live", follow_redirects=False).status_code in (301, 302, 303)


def test_dashboard_hall_manager_pages_show_own_hall_only(client):
    login(client, "hb-manager", "hall123")
    live = client.get("/live").text
    assert "乙大厅" in live and "甲大厅" not in live.split("<main>")[1]
    sat = client.get("/reports/satisfaction?start=2026-11-01&end=2026-11-30&by=hall").text
    table = sat.split('<table class="report">')[1]
    assert "乙大厅" in table and "甲大厅" not in table
    assert client.get("/audit").status_code == 403


def test_dashboard_drill_down_hall_window_staff(client):
    login(client, "admin", "admin123")
    top = client.get("/drill?month=2026-11").text
    assert "/drill?month=2026-11&hall=h-a" in top
    halls = client.get("/drill?month=2026-11&hall=h-a").text
    assert "1号窗口" in halls and "hall=h-a&window=W2" in halls
    staff = client.get("/drill?month=2026-11&hall=h-a&window=W1").text
    assert "李明" in staff and "赵强" in staff  # A-role and the B-role backup of W1
