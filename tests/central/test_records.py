"""Complaints, bad-rating follow-ups and patrol findings (central.records) through the real HTTP
app: dashboard forms (logged in via POST /login) and the JSON API, on SQLite and PostgreSQL.

Hand-computed figures (test hall calendar: weekends Sat/Sun, 国庆 2026-10-01..07 off, Saturday
2026-10-10 a make-up working day):
- complaint received 2026-11-02, 需调查 → due 2026-11-17 (15 days); 复杂 on 2026-11-03 → due
  2026-12-03 (30 days); 一般 on 2026-11-04 → due the same day.
- bad ratings: h-a T2 level 2 on Monday 2026-11-02 → fix by 5 open days → Tue 3, Wed 4, Thu 5,
  Fri 6, Mon 9 → 2026-11-09; h-b X1 level 1 on Tuesday 2026-09-29 → Wed 9-30 (1), 10-01..07
  holiday, Thu 10-08 (2), Fri 10-09 (3), Sat 10-10 make-up day (4), Mon 10-12 (5) → 2026-10-12;
  h-b X3 level 2 on Friday 2026-11-06 → Mon 9, 10, 11, 12, Fri 13 → 2026-11-13.
"""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from central import records as rc
from central.app import create_app
from central.auth import Auth
from central.config import load
from central.projections import Directory
from sync.contract import events as ev
from sync.contract import wire
from tests.central.data import HallLog, at, ingest_all, three_halls, write_config

ADMIN = ("admin", "admin123")
FINANCE = ("finance-head", "finance123")
HB = ("hb-manager", "hall123")


def extra_ratings() -> HallLog:
    """More ratings of hall h-b (a second epoch of its log)."""
    b = HallLog("h-b")
    b.add(ev.RatingGiven(window="W3", ticket="X1", level=1, staff="s-qian", department="finance"),
          at("2026-09-29", "10:00"))
    b.add(ev.RatingGiven(window="W3", ticket="X2", level=3, staff="s-qian", department="finance"),
          at("2026-11-05", "10:00"))
    b.add(ev.RatingGiven(window="W1", ticket="X3", level=2, staff="s-li", department="academic"),
          at("2026-11-06", "15:00"))
    return b


@pytest.fixture
def parts(store, tmp_path):
    cfg, halls = load(write_config(tmp_path))
    logs = three_halls()
    ingest_all(store, logs)
    extra = extra_ratings()
    store.ingest("h-b", wire.events_topic("h-b"), extra.payload(1, 10**6), 5)
    return store, Directory.of(halls), Auth(cfg.users), logs, extra


@pytest.fixture
def app(parts):
    store, directory, auth, _logs, _extra = parts
    return create_app(store, None, directory, auth)


@pytest.fixture
def client(app):
    """The browser: logs in through the form, keeps the session cookie."""
    with TestClient(app) as c:
        yield c


@pytest.fixture
def api(app):
    """A script: never logged in, sends HTTP Basic per request."""
    with TestClient(app) as c:
        yield c


def login(c: TestClient, who: tuple[str, str]) -> None:
    r = c.post("/login", data={"username": who[0], "password": who[1]}, follow_redirects=False)
    assert r.status_code in (302, 303)


def actions(store) -> list[tuple[str, str]]:
    return [(e["who"], e["action"]) for e in reversed(store.audit_log(1000)) if "." in e["action"]]


def count(store, model: str) -> int:
    return getattr(rc.models(store), model).select().count()


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

    assert rc.upheld_complaints(store, date(2026, 11, 1), date(2026, 11, 30)) == {("h-a", "s-qian"): 1}
    assert rc.upheld_complaints(store, date(2026, 11, 3), date(2026, 11, 30)) == {}
    assert actions(store) == [("admin", "complaint.create")] * 3 + [
        ("finance-head", "complaint.reply"), ("admin", "complaint.reroute"), ("finance-head", "complaint.reply"),
        ("admin", "complaint.close")]


def test_hall_manager_limits(client, api, parts):
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
def test_complaint_bad_input_400_nothing_stored(client, api, parts, field, value, message):
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


def test_complaint_needs_a_department(client, api, parts):
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


# ---------------------------------------------------------------- follow-ups


def bad_events(logs: dict[str, HallLog], extra: HallLog) -> dict[str, tuple[str, str]]:
    """ticket → (hall, event id) of every rating with level <= 2, from the raw logs."""
    out = {}
    for log in [*logs.values(), extra]:
        for e in log.events:
            if e.kind == "rating.given":
                body = msgspec_json(e.body)
                if body["level"] <= 2:
                    out[body["ticket"]] = (log.hall, e.id)
    return out


def msgspec_json(raw: bytes) -> dict:
    import json

    return json.loads(raw)


def test_followups_from_bad_ratings(client, api, parts):
    store, _d, _auth, logs, extra = parts
    bad = bad_events(logs, extra)
    assert sorted(bad) == ["T2", "X1", "X3"]
    rows = api.get("/api/followups?as_of=2026-11-10", auth=ADMIN).json()
    assert {r["ticket"]: (r["hall"], r["event_id"]) for r in rows} == bad
    assert {r["ticket"]: r["fix_due"] for r in rows} == {"T2": "2026-11-09", "X1": "2026-10-12",
                                                         "X3": "2026-11-13"}
    assert {r["ticket"]: (r["status"], r["overdue"]) for r in rows} == {
        "T2": ("待回访", True), "X1": ("待回访", True), "X3": ("待回访", False)}
    # role limits: the finance head sees finance's rating; h-b's manager h-b's two
    assert [r["ticket"] for r in api.get("/api/followups", auth=FINANCE).json()] == ["X1"]
    assert sorted(r["ticket"] for r in api.get("/api/followups", auth=HB).json()) == ["X1", "X3"]
    hall, eid = bad["T2"]
    assert api.post("/api/followups", json={"hall": hall, "event_id": eid, "action": "callback", "note": "x"},
                       auth=FINANCE).status_code == 404
    # call-back, verification, fix by the admin through the form
    login(client, ADMIN)
    for form in ({"action": "callback", "note": "已电话回访，办事人反映等候太久"},
                 {"action": "verify", "verification": "属实", "note": "当天 2 号窗口积压"},
                 {"action": "fix", "fixed": "1", "note": "增开 1 个窗口"}):
        r = client.post("/followups", data={"hall": hall, "event_id": eid, **form}, follow_redirects=False)
        assert r.status_code == 303, r.text
    t2 = next(r for r in client.get("/api/followups?as_of=2026-11-20").json() if r["ticket"] == "T2")
    assert (t2["callback_by"], t2["callback_note"], t2["verification"], t2["fixed"], t2["status"],
            t2["overdue"]) == ("admin", "已电话回访，办事人反映等候太久", "属实", True, "已整改", False)
    page = client.get("/followups?as_of=2026-11-20")
    assert page.status_code == 200 and "已整改" in page.text and "2026-10-12" in page.text
    assert [r["ticket"] for r in client.get("/api/followups?status=overdue&as_of=2026-11-14").json()] == [
        "X3", "X1"]
    # bad input: nothing stored
    for bad_form in ({"action": "fix", "fixed": "maybe", "note": "x"}, {"action": "verify", "verification": "?"},
                     {"action": "callback", "note": ""}, {"action": "dance"}):
        r = client.post("/followups", data={"hall": "h-b", "event_id": bad["X1"][1], **bad_form})
        assert r.status_code == 400 and 'class="error"' in r.text
    r = client.post("/api/followups", json={"hall": "h-b", "event_id": "nope", "action": "callback", "note": "x"})
    assert r.status_code == 404
    assert count(store, "Followup") == 1
    assert actions(store) == [("admin", "followup.callback"), ("admin", "followup.verify"), ("admin", "followup.fix")]


def test_followup_appeal_excludes_rating_from_good_rate(client, api, parts):
    store, _d, _auth, logs, extra = parts
    bad = bad_events(logs, extra)
    hall, eid = bad["X3"]

    def hb_windows() -> dict:
        rows = api.get("/api/reports/satisfaction?start=2026-11-01&end=2026-11-30&hall=h-b&by=window",
                          auth=ADMIN).json()["rows"]
        return {r["window"]: (r["ratings"], r["good_rate"]) for r in rows}

    # h-b in November: W3 T1 level 4 + X2 level 3 → 1 good of 2; W1 X3 level 2 → 0 of 1
    assert hb_windows() == {"W3": (2, 0.5), "W1": (1, 0.0)}
    assert api.post("/api/followups", json={"hall": hall, "event_id": eid, "action": "appeal", "reason": ""},
                       auth=HB).status_code == 400
    r = api.post("/api/followups", json={"hall": hall, "event_id": eid, "action": "appeal",
                                            "reason": "办事人误按评价键，已当面确认"}, auth=HB)
    assert r.status_code == 200 and r.json()["status"] == "申诉待审"
    assert api.post("/api/followups", json={"hall": hall, "event_id": eid, "action": "appeal",
                                               "reason": "again"}, auth=HB).status_code == 400
    assert api.post("/api/followups", json={"hall": hall, "event_id": eid, "action": "decide",
                                               "decision": "accepted"}, auth=HB).status_code == 403
    assert rc.excluded_ratings(store) == set()
    r = api.post("/api/followups", json={"hall": hall, "event_id": eid, "action": "decide",
                                            "decision": "accepted", "note": "监控核实为误评"}, auth=ADMIN)
    assert r.status_code == 200 and r.json()["status"] == "申诉已采纳" and r.json()["overdue"] is False
    assert rc.excluded_ratings(store) == {("h-b", "X3")}
    assert hb_windows() == {"W3": (2, 0.5)}
    # a rejected appeal keeps the rating
    h1, e1 = bad["X1"]
    api.post("/api/followups", json={"hall": h1, "event_id": e1, "action": "appeal", "reason": "误评"}, auth=FINANCE)
    r = api.post("/api/followups", json={"hall": h1, "event_id": e1, "action": "decide", "decision": "rejected"},
                    auth=ADMIN)
    assert r.json()["appeal"] == "rejected" and rc.excluded_ratings(store) == {("h-b", "X3")}
    assert actions(store) == [("hb-manager", "followup.appeal"), ("admin", "followup.decide"),
                              ("finance-head", "followup.appeal"), ("admin", "followup.decide")]


def test_followup_fix_days_from_config(parts, tmp_path):
    store, directory, auth, _logs, _extra = parts
    conf = write_config(tmp_path / "three")
    conf.write_text(conf.read_text(encoding="utf-8") + "\n[followups]\nfix_days = 3\n", encoding="utf-8")
    cfg, _halls = load(conf)
    assert cfg.followups.fix_days == 3
    app = create_app(store, None, directory, auth)
    app.state.followup_fix_days = cfg.followups.fix_days
    with TestClient(app) as c:
        rows = c.get("/api/followups", auth=ADMIN).json()
    # T2 Monday 11-02 + 3 open days → Thu 11-05; X3 Friday 11-06 → Mon 9, Tue 10, Wed 11
    assert {r["ticket"]: r["fix_due"] for r in rows} == {"T2": "2026-11-05", "X1": "2026-10-09",
                                                         "X3": "2026-11-11"}


# ---------------------------------------------------------------- patrols


def test_patrol_bulletin_flags_two_findings(client, api, parts):
    store = parts[0]
    login(client, ADMIN)
    findings = [("2026-11-03", "h-a", "W1", "s-li", "纪律", "现场巡查", "上班时间玩手机"),
                ("2026-11-10", "h-a", "W1", "s-li", "态度", "电子监察", "对办事人语气生硬"),
                ("2026-11-12", "h-a", "W2", "s-wang", "效率", "现场巡查", "窗口积压无人处理"),
                ("2026-10-30", "h-a", "W1", "s-li", "纪律", "现场巡查", "离岗未挂牌"),  # October
                ("2026-11-05", "h-c", "W1", "s-li", "其他", "现场巡查", "桌面杂乱")]  # another hall
    for day, hall, window, staff, cat, kind, note in findings:
        r = client.post("/patrols", data={"day": day, "hall": hall, "window": window, "staff": staff,
                                          "category": cat, "kind": kind, "note": note, "inspector": "督查组"},
                        follow_redirects=False)
        assert r.status_code == 303, r.text
    b = client.get("/api/patrols/bulletin?month=2026-11").json()
    assert len(b["findings"]) == 4
    assert {(r["hall"], r["staff"]): (r["findings"], r["notice"]) for r in b["staff"]} == {
        ("h-a", "s-li"): (2, True), ("h-a", "s-wang"): (1, False), ("h-c", "s-li"): (1, False)}
    assert [(r["hall"], r["staff"], r["department"]) for r in b["notices"]] == [("h-a", "s-li", "academic")]
    page = client.get("/patrols/bulletin?month=2026-11")
    assert page.status_code == 200
    notices = page.text.split('class="report notices"')[1].split("</table>")[0]
    assert "李明" in notices and "教务处" in notices
    assert "王芳" not in notices
    assert "书面通报派驻部门" in page.text
    assert client.get("/patrols/bulletin?month=2026-13").status_code == 400
    october = client.get("/api/patrols/bulletin?month=2026-10").json()
    assert [(r["staff"], r["findings"], r["notice"]) for r in october["staff"]] == [("s-li", 1, False)]
    from datetime import date

    assert rc.patrol_findings(store, date(2026, 11, 1), date(2026, 11, 30)) == {
        ("h-a", "s-li"): 2, ("h-a", "s-wang"): 1, ("h-c", "s-li"): 1}
    assert actions(store) == [("admin", "patrol.create")] * 5
    # roles: department heads see their department's findings and record none; hall managers their hall
    assert api.get("/api/patrols?month=2026-11", auth=FINANCE).json() == []
    assert api.post("/api/patrols", json={"day": "2026-11-03", "hall": "h-b", "staff": "s-qian",
                                             "category": "纪律", "kind": "现场巡查", "note": "x"},
                       auth=FINANCE).status_code == 403
    assert api.post("/api/patrols", json={"day": "2026-11-03", "hall": "h-a", "staff": "s-li",
                                             "category": "纪律", "kind": "现场巡查", "note": "x"},
                       auth=HB).status_code == 403
    r = api.post("/api/patrols", json={"day": "2026-11-03", "hall": "h-b", "staff": "s-qian",
                                          "category": "纪律", "kind": "电子监察", "note": "迟到"}, auth=HB)
    assert r.status_code == 201 and r.json()["department"] == "finance"
    assert [p["staff"] for p in api.get("/api/patrols?month=2026-11", auth=FINANCE).json()] == ["s-qian"]
    assert [p["hall"] for p in api.get("/api/patrols", auth=HB).json()] == ["h-b"]
    assert count(store, "Patrol") == 6


@pytest.mark.parametrize("field, value, message", [
    ("category", "卫生", "问题类别"), ("kind", "暗访", "巡查方式"), ("day", "2026/11/03", "巡查日期"),
    ("staff", "s-nobody", "没有工作人员"), ("note", "", "巡查发现"), ("day", "2099-01-01", "不能晚于今天")])
def test_patrol_bad_input_400_nothing_stored(client, api, parts, field, value, message):
    store = parts[0]
    good = {"day": "2026-11-03", "hall": "h-a", "window": "W1", "staff": "s-li", "category": "纪律",
            "kind": "现场巡查", "note": "上班时间玩手机"}
    login(client, ADMIN)
    r = client.post("/patrols", data=good | {field: value})
    assert r.status_code == 400 and message in r.text and r.headers["content-type"].startswith("text/html")
    r = client.post("/api/patrols", json=good | {field: value})
    assert r.status_code == 400 and message in r.json()["detail"]
    assert count(store, "Patrol") == 0 and actions(store) == []


def test_pages_need_login_and_nav(client):
    r = client.get("/complaints", follow_redirects=False)
    assert r.status_code in (301, 302, 303) and r.headers["location"] == "/login"
    assert client.get("/api/patrols").status_code == 401
    login(client, FINANCE)
    page = client.get("/complaints")
    assert page.status_code == 200 and 'href="/followups"' in page.text and 'href="/patrols"' in page.text
    assert 'id="new-complaint"' not in page.text  # department heads do not record complaints
    assert client.get("/patrols").status_code == 200 and client.get("/followups").status_code == 200


def test_followups_show_the_halls_own_follow_up(api, parts):
    """Halls follow bad ratings up at their console (rating.followup_opened/_closed): central
    shows that, counts a follow-up closed at the hall as done, and an appeal upheld at the hall
    leaves the rating out of 好评率 like one accepted here."""
    store = parts[0]
    hb = HallLog("h-b")  # a third epoch of h-b's log: the hall's follow-ups of X1 and X3
    hb.add(ev.FollowupOpened(followup="F1", ticket="X1", window="W3", level=1, due="2026-10-12"),
           at("2026-09-29", "10:01"))
    hb.add(ev.FollowupOpened(followup="F3", ticket="X3", window="W1", level=2, due="2026-11-13"),
           at("2026-11-06", "15:01"))
    hb.add(ev.FollowupClosed(followup="F3", by="s-zhao", result="appeal_upheld", note="误按"),
           at("2026-11-09", "09:00"))
    before = {r["window"]: r["good_rate"] for r in api.get(
        "/api/reports/satisfaction?start=2026-11-01&end=2026-11-30&hall=h-b", auth=ADMIN).json()["rows"]}
    store.ingest("h-b", wire.events_topic("h-b"), hb.payload(1, 10), 6)
    rows = {r["ticket"]: r for r in api.get("/api/followups?as_of=2026-11-20", auth=ADMIN).json()}
    assert (rows["X1"]["hall_followup"], rows["X1"]["hall_due"], rows["X1"]["hall_result"]) == ("F1", "2026-10-12", "")
    assert (rows["X1"]["status"], rows["X1"]["overdue"]) == ("待回访", True)
    assert (rows["X3"]["hall_result"], rows["X3"]["hall_by"], rows["X3"]["status"], rows["X3"]["overdue"]) == (
        "appeal_upheld", "s-zhao", "申诉已采纳", False)
    assert ("h-b", "X3") in rc.excluded_ratings(store)
    after = {r["window"]: r["good_rate"] for r in api.get(
        "/api/reports/satisfaction?start=2026-11-01&end=2026-11-30&hall=h-b", auth=ADMIN).json()["rows"]}
    assert "W1" in before and "W1" not in after  # X3 was W1's only November rating in h-b
    assert [r["ticket"] for r in api.get("/api/followups?status=done&as_of=2026-11-20", auth=ADMIN).json()] == ["X3"]
