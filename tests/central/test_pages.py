"""Every central page route of the real app answers text/html (a browser renders it, never
shows its source), for a signed-in central admin; the JSON API stays JSON. The routes are taken
from the app itself, so a page added later is checked without touching this test."""

from __future__ import annotations

import re

import pytest

from central.app import create_app
from central.auth import Auth
from central.config import load
from central.projections import Directory
from tests.central.data import Browser, ingest_all, three_halls, write_config

# not pages: the JSON/CSV API, static files, the OpenAPI schema, downloads (PDFs: test_patrol_notice_pdf.py), event streams (tests/central/test_live.py)
NOT_PAGES = re.compile(r"^/(api|static|schema)(/|$)|^/reports/charts/data$|^/logout$|^/favicon\.ico$|/stream$|\.pdf$")
PATH_VALUES = {"hall": "h-a", "cid": "1"}


def page_routes(app, **values: str) -> list[tuple[str, str]]:
    """(method, path with its parameters filled: PATH_VALUES or `values`) of every page route of `app`."""
    values = PATH_VALUES | values
    out = []
    for route in app.routes:
        if NOT_PAGES.search(route.path):
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                path = re.sub(r"\{(\w+):\w+\}", lambda m: values[m.group(1)], route.path)
                out.append((method, path))
    return sorted(set(out))


@pytest.fixture
def client(store, tmp_path):
    cfg, halls = load(write_config(tmp_path))
    ingest_all(store, three_halls())
    app = create_app(store, None, Directory.of(halls), Auth(cfg.users))
    with Browser(app) as c:
        r = c.post("/login", data={"username": "admin", "password": "admin123"}, follow_redirects=False)
        assert r.status_code in (302, 303)
        r = c.post("/api/complaints", json={"received": "2026-11-02", "channel": "电话", "hall": "h-a",
                                           "window": "W1", "complexity": "一般", "content": "窗口人员态度差"})
        assert r.status_code == 201 and r.json()["id"] == 1, r.text
        c.app_ = app
        yield c


def test_pages_every_route_answers_html_for_admin(client):
    routes = page_routes(client.app_)
    gets = [p for m, p in routes if m == "GET"]
    # the pages are among those found (a broken route listing cannot pass silently)
    assert {"/config", "/config/h-a/items", "/config/h-a/staff", "/config/h-a/calendar", "/awards/year",
            "/complaints/1", "/reports/attendance"} <= set(gets)
    for path in gets:
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        assert r.headers["content-type"].startswith("text/html"), (path, r.headers["content-type"])
        assert r.text.lstrip().lower().startswith("<!doctype html>"), path
    # a form post with bad input re-renders the page: HTML with a 4xx, never JSON
    posts = [p for m, p in routes if m == "POST" and p != "/login"]
    assert {"/config/h-a/items", "/config/h-a/staff", "/config/h-a/calendar", "/complaints"} <= set(posts)
    for path in posts:
        r = client.post(path, data={"action": "nonsense"}, follow_redirects=False)
        assert 400 <= r.status_code < 500, (path, r.status_code)
        assert r.headers["content-type"].startswith("text/html"), (path, r.headers["content-type"])


def test_pages_api_stays_json(client):
    for path in ("/api/config", "/api/complaints", "/api/awards/year?year=2026"):
        r = client.get(path)
        assert r.status_code == 200, (path, r.text[:200])
        assert r.headers["content-type"].startswith("application/json"), path


def test_pages_periods_are_pickers_bad_values_400_page(client):
    """Periods are chosen, not typed as API syntax: month, semester, year and ranking-period
    selects with Chinese labels, hall and department selects; a hand-made bad value still
    answers a 400 page with the message, in HTML."""
    import re as _re

    rank = client.get("/reports/rankings").text
    assert _re.search(r'<option value="month:\d{4}-\d{2}"[^>]*>\d{4} 年 \d{1,2} 月</option>', rank)
    assert _re.search(r'<option value="semester:\d{4}-[12]"[^>]*>\d{4}–\d{4} 学年第[一二]学期', rank)
    assert _re.search(r'<option value="year:\d{4}"[^>]*>\d{4} 年</option>', rank)
    assert 'name="period"' in rank and '<input name="period"' not in rank
    red = client.get("/awards/redflag").text
    assert '<select name="semester">' in red and "学年第" in red and "YYYY" not in red
    att = client.get("/reports/attendance").text
    assert '<select name="month">' in att and '<select name="department">' in att and "财务处</option>" in att
    assert '<input name="department"' not in att
    assert 'type="date" name="start"' in client.get("/reports/service").text
    for url, message in (("/reports/rankings?period=month:2026-13", "period"),
                         ("/awards/redflag?semester=2026-3", "semester"),
                         ("/awards/year?year=20x6", "year"),
                         ("/reports/attendance?month=26-11", "month"),
                         ("/reports/satisfaction?start=2026-11-31", "start")):
        r = client.get(url)
        assert r.status_code == 400, url
        assert r.headers["content-type"].startswith("text/html") and 'class="error"' in r.text and message in r.text, url
