"""The reports API and dashboard over HTTP: login, roles applied on the server, sessions that
expire, audit of logins, 400 on bad parameters, CSV."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest
from litestar.testing import TestClient

from central.app import create_app
from central.auth import Auth
from central.config import load
from central.projections import Directory
from sync.kernel.clock import ManualClock
from tests.central.data import Browser, ingest_all, three_halls, write_config


@pytest.fixture
def app_parts(store, tmp_path):
    cfg, halls = load(write_config(tmp_path))
    ingest_all(store, three_halls())
    clock = ManualClock(datetime(2026, 11, 2, tzinfo=timezone.utc))
    auth = Auth(cfg.users, session_minutes=30, clock=lambda: clock.monotonic() / 1e9)  # Auth counts seconds
    return store, Directory.of(halls), auth, clock


@pytest.fixture
def client(app_parts):
    store, directory, auth, _clock = app_parts
    # min_ratings=1: these tests check the rates of one or two ratings (the 数据不足 threshold
    # is tested on its own below)
    with Browser(create_app(store, None, directory, auth, min_ratings=1)) as c:
        yield c


def login(c: TestClient, name: str, password: str):
    return c.post("/login", data={"username": name, "password": password}, follow_redirects=False)


def test_dashboard_reports_api_requires_login(client):
    assert client.get("/api/reports/attendance?month=2026-11").status_code == 401


def test_dashboard_reports_api_department_head_sees_only_department(client):
    assert login(client, "finance-head", "finance123").status_code in (301, 302, 303)
    r = client.get("/api/reports/satisfaction?start=2026-11-01&end=2026-11-30")
    assert r.status_code == 200
    assert [(x["hall"], x["window"]) for x in r.json()["rows"]] == [("h-b", "W3")]
    r = client.get("/api/reports/attendance?month=2026-11")
    assert r.json()["rows"] and {x["department"] for x in r.json()["rows"]} == {"finance"}


def test_dashboard_reports_api_admin_sees_every_hall_via_basic_auth(client):
    r = client.get("/api/reports/service?start=2026-11-01&end=2026-11-30", auth=("admin", "admin123"))
    assert r.status_code == 200
    assert [x["hall"] for x in r.json()["rows"][:-1]] == ["h-a", "h-b", "h-c"]
    assert client.get("/api/reports/service?start=2026-11-01&end=2026-11-30",
                      auth=("admin", "wrong")).status_code == 401


@pytest.mark.parametrize("url", ["/api/reports/attendance?month=11-2026",
                                 "/api/reports/satisfaction?start=2026-11-01",
                                 "/api/reports/rankings?period=year:2026&level=moon",
                                 "/api/reports/service?start=2026-11-01&end=2026-11-02&format=xls"])
def test_dashboard_reports_api_bad_parameters_400(client, url):
    r = client.get(url, auth=("admin", "admin123"))
    assert r.status_code == 400 and r.json()["detail"]


def test_dashboard_reports_api_csv_with_bom(client):
    r = client.get("/api/reports/rankings?period=month:2026-11&level=hall&format=csv", auth=("admin", "admin123"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf") and "名次,大厅,得分" in r.content.decode("utf-8-sig")


def test_dashboard_login_audited_and_logout(app_parts):
    store, directory, auth, _clock = app_parts
    with Browser(create_app(store, None, directory, auth)) as c:
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
    with Browser(create_app(store, None, directory, auth)) as c:
        login(c, "admin", "admin123")
        clock.advance(minutes=29)
        assert c.get("/live", follow_redirects=False).status_code == 200  # sliding: renewed here
        clock.advance(minutes=31)
        assert c.get("/live", follow_redirects=False).status_code in (301, 302, 303)


def test_dashboard_hall_manager_pages_show_own_hall_only(client):
    login(client, "hb-manager", "hall123")
    live = client.get("/live").text
    assert "乙大厅" in live and "甲大厅" not in live.split("<main>")[1]
    sat = client.get("/reports/satisfaction?start=2026-11-01&end=2026-11-30&by=hall").text
    table = sat.split('<table class="report">')[1]
    assert "乙大厅" in table and "甲大厅" not in table
    assert client.get("/audit").status_code == 403


def _table(page: str) -> list[list[str]]:
    """The cells (text without tags) of the page's drill/report table, one list per row."""
    table = page.split('<table class="report')[1].split("</table>")[0]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)]


def test_dashboard_drill_down_campus_hall_window_staff(client):
    login(client, "admin", "admin123")
    top = client.get("/drill?month=2026-11")
    assert top.status_code == 200 and 'data-level="campus"' in top.text
    rows = {r[0]: r[1:] for r in _table(top.text)[1:]}
    # east (h-a): T1, T2 issued, both completed, waits 120/600, ratings 5 and 2, both rated
    # south (h-c): T9 completed, wait 1800, never rated; west (h-b): T1 completed, T3 no-show, rating 4
    # (waits shown in minutes: 120 s = 2.0 分钟)
    assert rows == {"东校区": ["1", "2", "2", "2.0 分钟", "10.0 分钟", "2", "50.0%", "0.0%"],
                    "南校区": ["1", "1", "1", "30.0 分钟", "30.0 分钟", "0", "无评价", "100.0%"],
                    "西校区": ["1", "2", "1", "4.0 分钟", "5.0 分钟", "1", "100.0%", "0.0%"]}
    assert "/drill?month=2026-11&campus=east" in top.text.replace("&amp;", "&")
    campus = client.get("/drill?month=2026-11&campus=east").text.replace("&amp;", "&")
    assert [r[0] for r in _table(campus)[1:]] == ["甲大厅"] and "/drill?month=2026-11&hall=h-a" in campus
    hall = client.get("/drill?month=2026-11&hall=h-a").text.replace("&amp;", "&")
    assert [r[0] for r in _table(hall)[1:]] == ["1号窗口", "2号窗口", "3号窗口", "4号窗口", "5号机动窗口"]
    assert "hall=h-a&window=W2" in hall and "东校区" in hall.split('class="crumbs"')[1]
    staff = {r[0]: r[1:] for r in _table(client.get("/drill?month=2026-11&hall=h-a&window=W1").text)[1:]}
    # 李明 (A-role of W1): T1 rated 5; late 11-03; one missing out-punch; 赵强 is W1's B-role
    assert staff["李明"][:4] == ["A岗", "1", "100.0%", "1"] and staff["李明"][4] == "1"
    assert staff["赵强"][0] == "B岗"


@pytest.mark.parametrize("url", ["/drill?month=2026-13", "/drill?month=2026-11&campus=north",
                                 "/drill?month=2026-11&hall=h-x", "/drill?month=2026-11&hall=h-a&window=W9",
                                 "/drill?month=2026-11&window=W1"])
def test_dashboard_drill_down_bad_parameters_400(client, url):
    login(client, "admin", "admin123")
    r = client.get(url)
    assert r.status_code == 400 and 'class="error"' in r.text


def test_dashboard_drill_down_hall_manager_starts_at_own_hall(client):
    login(client, "hb-manager", "hall123")
    start = client.get("/drill?month=2026-11")
    assert start.status_code == 200 and 'data-level="window"' in start.text
    assert "乙大厅" in start.text.split('class="crumbs"')[1]
    rows = {r[0]: r[1:] for r in _table(start.text)[1:]}
    assert rows["3号窗口"][1:3] == ["1", "100.0%"]  # h-b T1 rated 4
    campus = client.get("/drill?month=2026-11&campus=west").text
    assert [r[0] for r in _table(campus)[1:]] == ["乙大厅"]
    for other in ("/drill?month=2026-11&hall=h-a", "/drill?month=2026-11&campus=east",
                  "/drill?month=2026-11&hall=h-a&window=W1"):
        assert client.get(other).status_code == 403


def test_dashboard_drill_down_department_head_own_windows_and_staff(client):
    login(client, "finance-head", "finance123")
    top = {r[0]: r[1:] for r in _table(client.get("/drill?month=2026-11").text)[1:]}
    assert top["东校区"][1:3] == ["0", "0"] and top["西校区"][1:3] == ["2", "1"]  # finance visits only
    hall = _table(client.get("/drill?month=2026-11&hall=h-a").text)[1:]
    assert [(r[0], r[1]) for r in hall] == [("3号窗口", "财务处")]
    assert client.get("/drill?month=2026-11&hall=h-a&window=W1").status_code == 403
    staff = [r[0] for r in _table(client.get("/drill?month=2026-11&hall=h-b&window=W3").text)[1:]]
    assert staff == ["钱红"]


def _svgs(page: str) -> list[ET.Element]:
    found = re.findall(r"<svg .*?</svg>", page, re.S)
    return [ET.fromstring(x) for x in found]


def test_dashboard_report_pages_draw_charts(client):
    login(client, "admin", "admin123")
    svg_ns = "{http://www.w3.org/2000/svg}"
    sat = _svgs(client.get("/reports/satisfaction?start=2026-11-01&end=2026-11-30").text)
    assert len(sat) == 1 and sat[0].find(f"{svg_ns}title").text.startswith("满意度分布")
    counts = {b.get("data-label"): b.get("data-value") for b in sat[0].iter(f"{svg_ns}rect") if b.get("data-label")}
    assert counts == {"非常满意": "1", "满意": "1", "基本满意": "0", "不满意": "1", "非常不满意": "0", "未评价": "1"}
    svc = _svgs(client.get("/reports/service?start=2026-11-01&end=2026-11-30").text)
    assert [s.find(f"{svg_ns}title").text.split("（")[0] for s in svc] == ["各时段等候时间", "各时段取号数"]
    p90 = {c.get("data-label"): c.get("data-value") for c in svc[0].iter(f"{svg_ns}circle")
           if c.get("data-series") == "P90"}
    assert p90 == {"9时": "10", "10时": "5", "14时": "30"}  # minutes (600 s, 300 s, 1800 s)
    att = _svgs(client.get("/reports/attendance?month=2026-11&hall=h-b").text)
    late = {b.get("data-label"): b.get("data-value") for b in att[0].iter(f"{svg_ns}rect")
            if b.get("data-series") == "迟到"}
    assert late["11月"] == "1" and "9月" not in late  # s-qian late 11-03; months without any problem: not drawn
    ranks = _svgs(client.get("/reports/rankings?period=month:2026-11&level=hall").text)
    assert len([b for b in ranks[0].iter(f"{svg_ns}rect") if b.get("class") == "bar"]) == 3
    page = client.get("/reports/satisfaction?start=2026-11-01&end=2026-11-30")
    assert "format=xlsx" in page.text and "format=csv" in page.text


def test_dashboard_charts_page_and_bad_month(client):
    login(client, "admin", "admin123")
    page = client.get("/reports/charts?month=2026-11&hall=h-a")
    assert page.status_code == 200
    titles = [s.find("{http://www.w3.org/2000/svg}title").text.split("（")[0] for s in _svgs(page.text)]
    assert titles == ["各时段等候时间", "各时段取号数", "满意度分布", "2026年各月考勤问题", "考核得分排名"]
    assert "/reports/charts/data?chart=wait_by_hour&amp;month=2026-11&amp;hall=h-a" in page.text
    bad = client.get("/reports/charts?month=2026-99")
    assert bad.status_code == 400 and "month must be YYYY-MM" in bad.text
    assert client.get("/reports/satisfaction?start=2026-11-30&end=2026-11-01").status_code == 400


def test_dashboard_satisfaction_below_min_ratings_shows_insufficient_data(app_parts, tmp_path):
    """A good rate from fewer than `[dashboard] min_ratings` ratings (default 5) is shown as
    数据不足 with the number of ratings, in the table and in the chart's title; at or above it,
    the rate."""
    from tests.central.data import USERS_TOML  # noqa: PLC0415

    store, directory, auth, _clock = app_parts
    assert load(write_config(tmp_path))[0].dashboard.min_ratings == 5  # the default
    url = "/reports/satisfaction?start=2026-11-01&end=2026-11-30&by=hall"
    with Browser(create_app(store, None, directory, auth, min_ratings=5)) as c:
        login(c, "admin", "admin123")
        page = c.get(url).text
        rows = {r[0]: r for r in _table(page)[1:]}
        assert "数据不足（2 条评价）" in rows["甲大厅"] and "50.0%" not in rows["甲大厅"]
        assert "数据不足（1 条评价）" in rows["乙大厅"]
        assert "好评率 数据不足（3 条评价）" in page and "66.7%" not in page
    with Browser(create_app(store, None, directory, auth, min_ratings=2)) as c:
        login(c, "admin", "admin123")
        rows = {r[0]: r for r in _table(c.get(url).text)[1:]}
        assert "50.0%" in rows["甲大厅"] and "数据不足（1 条评价）" in rows["乙大厅"]
    # the setting is read from central.toml and checked
    (tmp_path / "b").mkdir()
    central = write_config(tmp_path / "b")
    central.write_text(USERS_TOML.replace("[central]", "[dashboard]\nmin_ratings = 12\n\n[central]"), encoding="utf-8")
    assert load(central)[0].dashboard.min_ratings == 12
    central.write_text(USERS_TOML.replace("[central]", "[dashboard]\nmin_ratings = 0\n\n[central]"), encoding="utf-8")
    with pytest.raises(Exception, match="min_ratings"):
        load(central)


def test_dashboard_reports_with_no_data_say_so(client):
    """A month before any hall used the system: no empty charts (暂无数据), no ranking bars of
    "—" (数据不足 with the counts)."""
    login(client, "admin", "admin123")
    page = client.get("/reports/charts?month=2025-11").text
    assert page.count("chart-empty") == 5 and "<svg" not in page
    assert "暂无数据" in page and "2025 年暂无考勤问题记录" in page
    assert "数据不足：12 个参评对象中 0 个有考核数据" in page
    ranks = client.get("/reports/rankings?period=month:2025-11&level=window").text
    assert "数据不足" in ranks and "<svg" not in ranks
