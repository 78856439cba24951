"""Complaints (central.supervision) through the real HTTP app and JSON API; figures in supervision_data."""

from __future__ import annotations

import pytest

from central.supervision import complaints as cp
from tests.central.supervision_data import (ADMIN, FINANCE, HB, actions, api, app, client, count,  # noqa: F401 - fixtures
                                            login, parts)

# ---------------------------------------------------------------- complaints


def test_complaints_route_due_reply_overdue(client, api, parts):
    store = parts[0]
    login(client, ADMIN)
    r = client.post("/complaints", data={"received": "2026-11-02T10:30", "channel": "电话", "hall": "h-a",
                                         "staff": "s-qian", "complexity": "需调查", "content": "窗口态度生硬"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/complaints/")
    first = int(r.headers["location"].rsplit("/", 1)[1])
    second = api.post("/api/complaints", json={"received": "2026-11-03 09:00", "channel": "窗口", "hall": "h-a",
                                                  "window": "W1", "complexity": "复杂", "content": "材料被多次退回"},
                         auth=ADMIN)
    assert second.status_code == 201
    third = api.post("/api/complaints", json={"received": "2026-11-04", "channel": "信箱", "hall": "h-a",
                                                 "item": "hukou", "complexity": "一般", "content": "户籍材料不清楚"},
                        auth=ADMIN).json()
    c2 = second.json()
    # routing: staff s-qian → finance; window W1 → academic; item hukou → security
    got = {c["id"]: (c["department"], c["due"]) for c in api.get("/api/complaints", auth=ADMIN).json()}
    assert got == {first: ("finance", "2026-11-17"), c2["id"]: ("academic", "2026-12-03"),
                   third["id"]: ("security", "2026-11-04")}
    # overdue: no reply and the due day has passed
    on_17 = {c["id"]: c["overdue"] for c in api.get("/api/complaints?as_of=2026-11-17", auth=ADMIN).json()}
    on_18 = {c["id"]: c["overdue"] for c in api.get("/api/complaints?as_of=2026-11-18", auth=ADMIN).json()}
    assert on_17 == {first: False, c2["id"]: False, third["id"]: True}
    assert on_18 == {first: True, c2["id"]: False, third["id"]: True}
    page = client.get("/complaints?as_of=2026-11-18&state=overdue")
    assert page.status_code == 200 and "逾期未答复" in page.text and f'data-id="{first}"' in page.text
    assert f'data-id="{c2["id"]}"' not in page.text

    # the finance head sees and answers only finance's complaint
    client.post("/logout")
    login(client, FINANCE)
    assert [c["id"] for c in client.get("/api/complaints").json()] == [first]
    assert client.get(f"/api/complaints/{c2['id']}").status_code == 404
    assert client.post(f"/api/complaints/{c2['id']}", json={"action": "reply", "reply": "x",
                                                             "outcome": "属实"}).status_code == 404
    page = client.get(f"/complaints/{c2['id']}")
    assert page.status_code == 404 and "材料被多次退回" not in page.text
    assert "材料被多次退回" not in client.get("/complaints").text
    r = client.post(f"/complaints/{first}", data={"action": "reply", "reply": "已批评教育，向投诉人致歉",
                                                  "outcome": "属实"}, follow_redirects=False)
    assert r.status_code == 303
    assert client.post(f"/complaints/{first}", data={"action": "reroute", "department": "academic"}).status_code == 403
    c1 = client.get(f"/api/complaints/{first}?as_of=2026-11-30").json()
    assert (c1["reply"], c1["outcome"], c1["replied_by"], c1["overdue"], c1["state"]) == (
        "已批评教育，向投诉人致歉", "属实", "finance-head", False, "已答复")

    # the admin re-routes the academic complaint to finance: now the finance head sees it
    client.post("/logout")
    login(client, ADMIN)
    r = client.post(f"/complaints/{c2['id']}", data={"action": "reroute", "department": "finance",
                                                     "reason": "实为财务报销问题"}, follow_redirects=False)
    assert r.status_code == 303
    assert api.get(f"/api/complaints/{c2['id']}", auth=FINANCE).json()["routing"][0]["from"] == "academic"
    page = client.get(f"/complaints/{c2['id']}")
    assert page.status_code == 200 and "教务处 → 财务处" in page.text and "实为财务报销问题" in page.text
    assert api.post(f"/api/complaints/{c2['id']}", json={"action": "reply", "reply": "核实无此事",
                                                            "outcome": "不属实"}, auth=FINANCE).status_code == 200
    # closing: the hall's manager of another hall cannot even see it; the admin closes
    assert api.post(f"/api/complaints/{first}", json={"action": "close"}, auth=HB).status_code == 404
    assert api.post(f"/api/complaints/{third['id']}", json={"action": "close"}, auth=ADMIN).status_code == 400
    assert client.post(f"/complaints/{first}", data={"action": "close"}, follow_redirects=False).status_code == 303
    assert api.get(f"/api/complaints/{first}", auth=ADMIN).json()["closed"] is True
    assert api.post(f"/api/complaints/{first}", json={"action": "reply", "reply": "再答", "outcome": "属实"},
                       auth=ADMIN).status_code == 400

    # for the awards: upheld complaints (属实/部分属实) naming a staff member
    from datetime import date

    assert cp.upheld_complaints(store, date(2026, 11, 1), date(2026, 11, 30)) == {("h-a", "s-qian"): 1}
    assert cp.upheld_complaints(store, date(2026, 11, 3), date(2026, 11, 30)) == {}
    assert actions(store) == [("admin", "complaint.create")] * 3 + [
        ("finance-head", "complaint.reply"), ("admin", "complaint.reroute"), ("finance-head", "complaint.reply"),
        ("admin", "complaint.close")]


def test_complaints_hall_manager_limits(client, api, parts):
    store = parts[0]
    login(client, HB)
    r = client.post("/complaints", data={"received": "2026-11-02T10:30", "channel": "电话", "hall": "h-a",
                                         "staff": "s-qian", "complexity": "一般", "content": "x"})
    assert r.status_code == 403
    r = client.post("/api/complaints", json={"received": "2026-11-02", "channel": "电话", "hall": "h-b",
                                             "staff": "s-qian", "complexity": "一般", "content": "收费不明"})
    assert r.status_code == 201 and r.json()["department"] == "finance"
    cid = r.json()["id"]
    admin_c = api.post("/api/complaints", json={"received": "2026-11-02", "channel": "电话", "hall": "h-a",
                                                   "staff": "s-li", "complexity": "一般", "content": "甲"},
                          auth=ADMIN).json()
    assert [c["id"] for c in client.get("/api/complaints").json()] == [cid]
    assert client.get(f"/api/complaints/{admin_c['id']}").status_code == 404
    # the hall manager sees but does not answer
    assert client.post(f"/api/complaints/{cid}", json={"action": "reply", "reply": "x",
                                                       "outcome": "属实"}).status_code == 403
    # department heads do not record complaints or patrols
    assert api.post("/api/complaints", json={"received": "2026-11-02", "channel": "电话", "hall": "h-b",
                                                "staff": "s-qian", "complexity": "一般", "content": "x"},
                       auth=FINANCE).status_code == 403
    assert count(store, "Complaint") == 2


@pytest.mark.parametrize("field, value, message", [
    ("channel", "微信", "受理渠道"),
    ("complexity", "很复杂", "复杂程度"),
    ("received", "2026-13-02T10:00", "受理日期"),
    ("received", "yesterday", "受理时间"),
    ("received", "2099-01-01T10:00", "不能晚于今天"),
    ("staff", "s-nobody", "没有工作人员"),
    ("window", "W9", "没有窗口"),
    ("hall", "h-x", "没有编号为"),
    ("content", "  ", "投诉内容"),
])
def test_complaints_bad_input_400_nothing_stored(client, api, parts, field, value, message):
    store = parts[0]
    good = {"received": "2026-11-02T10:30", "channel": "电话", "hall": "h-a", "staff": "s-qian",
            "complexity": "需调查", "content": "窗口态度生硬"}
    login(client, ADMIN)
    r = client.post("/complaints", data=good | {field: value})
    assert r.status_code == 400 and message in r.text and 'class="error"' in r.text
    assert r.headers["content-type"].startswith("text/html")  # the page, not its source as text
    r = client.post("/api/complaints", json=good | {field: value})
    assert r.status_code == 400 and message in r.json()["detail"]
    assert count(store, "Complaint") == 0
    assert actions(store) == []


def test_complaints_needs_a_department(client, api, parts):
    login(client, ADMIN)
    r = client.post("/api/complaints", json={"received": "2026-11-02", "channel": "网上", "hall": "h-a",
                                             "complexity": "一般", "content": "无法办理"})
    assert r.status_code == 400 and "归口部门" in r.json()["detail"]
    r = client.post("/api/complaints", json={"received": "2026-11-02", "channel": "网上", "hall": "h-a",
                                             "complexity": "一般", "content": "无法办理", "department": "academic"})
    assert r.status_code == 201 and r.json()["department"] == "academic" and r.json()["due"] == "2026-11-02"
    r = client.post(f"/api/complaints/{r.json()['id']}", json={"action": "reply", "reply": "x", "outcome": "真的"})
    assert r.status_code == 400 and "调查结果" in r.json()["detail"]
    assert client.post("/api/complaints", json=["not", "an", "object"]).status_code == 400
    assert client.get("/api/complaints?state=late").status_code == 400
    assert client.get("/api/complaints?as_of=tomorrow").status_code == 400
    assert client.get("/api/complaints").status_code == 200



def test_complaints_need_login_and_nav(client):
    r = client.get("/complaints", follow_redirects=False)
    assert r.status_code in (301, 302, 303) and r.headers["location"] == "/login"
    assert client.get("/api/patrols").status_code == 401
    login(client, FINANCE)
    page = client.get("/complaints")
    assert page.status_code == 200 and 'href="/followups"' in page.text and 'href="/patrols"' in page.text
    assert 'id="new-complaint"' not in page.text  # department heads do not record complaints
    assert client.get("/patrols").status_code == 200 and client.get("/followups").status_code == 200


def test_complaints_reply_days_from_config(app, api, tmp_path):
    """H 限时办结-3: the reply deadline per complexity is configuration ([supervision] reply_days);
    a complexity the configuration does not name is refused with 400 and nothing stored."""
    from central.config import Supervision, load
    from tests.central.data import write_config

    conf = write_config(tmp_path / "cfg-reply")
    conf.write_text(conf.read_text(encoding="utf-8")
                    + '\n[supervision]\nreply_days = { "一般" = 1, "需调查" = 10 }\n', encoding="utf-8")
    cfg, _halls = load(conf)
    assert cfg.supervision.reply_days == {"一般": 1, "需调查": 10} and cfg.supervision.notice_bulletins == 2
    app.state.supervision = cfg.supervision
    try:
        r = api.post("/api/complaints", json={"received": "2026-11-02", "channel": "电话", "hall": "h-a",
                                              "staff": "s-qian", "complexity": "需调查", "content": "x"}, auth=ADMIN)
        assert r.status_code == 201 and r.json()["due"] == "2026-11-12"
        before = len(api.get("/api/complaints", auth=ADMIN).json())
        bad = api.post("/api/complaints", json={"received": "2026-11-02", "channel": "电话", "hall": "h-a",
                                                "staff": "s-qian", "complexity": "复杂", "content": "x"}, auth=ADMIN)
        assert bad.status_code == 400 and "复杂程度" in bad.text
        assert len(api.get("/api/complaints", auth=ADMIN).json()) == before
    finally:
        app.state.supervision = Supervision()
