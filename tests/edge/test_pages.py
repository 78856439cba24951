"""The hall's pages (edge/pages.py) through the real app: every page renders in Chinese, forms
post and redirect, refusals show as a visible message, and the effects are visible through the
JSON API."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from tests.conftest import MANAGER_PASSWORD, PIN, SH


# ------------------------------------------------------------------ helpers


def sign_on(client, window: str = "W1", staff: str = "s-li"):
    r = client.post(f"/console/{window}/sign-on", data={"staff": staff, "pin": PIN})
    assert r.status_code == 200, r.text
    assert "签到成功" in r.text
    return r


def issue(client, item: str | None = None, department: str | None = None) -> dict:
    body = {"item": item} if item else {"department": department}
    r = client.post("/api/tickets", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def window(client, wid: str) -> dict:
    return next(w for w in client.get("/api/windows").json() if w["id"] == wid)


def kinds(client) -> list[str]:
    return [e["kind"] for e in client.get("/api/events", params={"limit": 1000}).json()]


def flash(html: str) -> str:
    m = re.search(r'<div class="flash flash-(\w+)" role="alert">(.*?)</div>', html, re.S)
    return f"{m.group(1)}: {m.group(2)}" if m else ""


def call_and_complete(client, item: str, outcome: str, **fields) -> str:
    """Issue a ticket for `item`, call it at W1 (signed on) and complete it; returns the page."""
    issue(client, item)
    r = client.post("/console/W1/call")
    assert "已叫号" in r.text, flash(r.text)
    return client.post("/console/W1/complete", data={"item": item, "outcome": outcome, **fields}).text


def case_link(html: str) -> str:
    m = re.search(r'href="(/notices/[0-9a-f-]+)"', html)
    assert m, flash(html)
    return m.group(1)


# ------------------------------------------------------------------ every page renders


@pytest.mark.parametrize(
    "url, texts",
    [
        ("/", ["测试校区学生事务大厅", "自助取号", "叫号屏", "窗口工作台", "办事指南", "大厅管理", "正在服务"]),
        ("/kiosk", ["请选择要办理的事项", "教务处", "成绩单打印", "按部门取号", "今日无开放窗口"]),
        ("/kiosk/items/suspension", ["休学办理", "休学申请表", "3 个工作日", "取号", "优先（老年人/残障人士）"]),
        ("/console", ["1号窗口", "教务处", "未开放", "机动窗口"]),
        ("/console/W1", ["1号窗口", "签到", "工号", "密码", "李明", "赵强"]),
        ("/display", ["1号窗口", "最近叫号", "各部门等候", "/static/display.js"]),
        ("/guide", ["办事指南", "教务处", "休学办理", "报销"]),
        ("/guide/suspension", ["学籍管理规定第二十条", "提交申请", "医院诊断证明", "可容缺", "0000-1234567"]),
        ("/manage/login", ["大厅管理登录", "账号", "密码"]),
    ],
)
def test_pages_every_page_renders(client, url, texts):
    r = client.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    for t in texts:
        assert t in r.text, (url, t)


def test_pages_use_only_local_assets(client):
    for url in ("/", "/kiosk", "/display", "/guide", "/console/W1", "/manage/login"):
        html = client.get(url).text
        assert not re.search(r'(src|href)="(https?:)?//', html), url
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
            assert client.get(asset).status_code == 200, asset
    assert "/static/hall.css" in client.get("/").text


def test_pages_home_shows_closed_state(client, clock):
    clock.set(datetime(2026, 11, 23, 20, 0, tzinfo=SH))
    html = client.get("/").text
    assert "暂停服务时间" in html
    assert "下次开放：11月24日 08:00" in html


def test_pages_unknown_item_and_ticket_are_404_pages(client):
    for url in ("/kiosk/items/nope", "/guide/nope", "/kiosk/tickets/nope", "/notices/nope", "/console/W9"):
        r = client.get(url)
        assert r.status_code == 404, url
        assert "无法完成" in r.text and "Traceback" not in r.text


# ------------------------------------------------------------------ kiosk


def test_pages_kiosk_item_tap_issues_ticket(client):
    r = client.post("/kiosk/tickets", data={"item": "suspension"})
    assert r.status_code == 200
    ticket_id = str(r.url).rsplit("/", 1)[1]
    assert "/kiosk/tickets/" in str(r.url)
    assert 'id="ticket-number">A001<' in r.text
    assert "教务处" in r.text and "休学办理" in r.text
    assert "医院诊断证明" in r.text  # what to bring
    assert "前面还有" in r.text and "打印号码条" in r.text
    assert client.get(f"/api/tickets/{ticket_id}").json()["number"] == "A001"
    assert next(q for q in client.get("/api/queue").json() if q["department"] == "academic")["waiting"] == 1
    assert kinds(client).count("ticket.issued") == 1


def test_pages_kiosk_priority_and_by_department(client):
    client.post("/kiosk/tickets", data={"item": "transcript"})
    r = client.post("/kiosk/tickets", data={"item": "transcript", "priority": "1"})
    assert 'id="ticket-number">A002<' in r.text and "优先" in r.text
    assert re.search(r"前面还有 <b>0</b> 人", r.text)  # priority goes ahead of the first
    r = client.post("/kiosk/tickets", data={"department": "finance"})
    assert 'id="ticket-number">F001<' in r.text
    assert "财务处" in r.text


def test_pages_kiosk_closed_hall_shows_refusal(client, clock):
    clock.set(datetime(2026, 11, 23, 20, 0, tzinfo=SH))
    assert "大厅当前不在服务时间" in client.get("/kiosk").text
    r = client.post("/kiosk/tickets", data={"item": "transcript"})
    assert r.status_code == 200 and str(r.url).endswith("/kiosk/items/transcript")
    assert "大厅当前不在服务时间，暂停取号" in flash(r.text)
    assert "ticket.issued" not in kinds(client)
    # the message is shown once
    assert "暂停取号" not in client.get("/kiosk/items/transcript").text


def test_pages_kiosk_department_without_window_today_refused(client):
    r = client.post("/kiosk/tickets", data={"department": "security"})  # W4 opens Tue/Thu only
    assert "保卫处今日没有开放的窗口" in flash(r.text)


def test_pages_kiosk_rejoin_after_no_show(client):
    sign_on(client)
    issue(client, "transcript")
    client.post("/console/W1/call")
    client.post("/console/W1/recall")
    client.post("/console/W1/recall")
    assert "已标记过号" in flash(client.post("/console/W1/no-show").text)
    r = client.post("/kiosk/rejoin", data={"number": "a001"})
    assert 'id="ticket-number">A001<' in r.text and "前面还有" in r.text
    r = client.post("/kiosk/rejoin", data={"number": "A001"})
    assert "不是过号状态" in flash(r.text)


# ------------------------------------------------------------------ console


def test_pages_console_wrong_pin_shows_error(client):
    r = client.post("/console/W1/sign-on", data={"staff": "s-li", "pin": "0000"})
    assert r.status_code == 200 and str(r.url).endswith("/console/W1")
    assert "工号或密码不正确" in flash(r.text)
    assert 'name="pin"' in r.text  # still the sign-on form
    assert window(client, "W1")["staff"] is None
    assert "window.signed_on" not in kinds(client)
    assert "亮身份" not in client.get("/console/W1").text


def test_pages_console_sign_on_refusals(client):
    r = client.post("/console/W1/sign-on", data={"staff": "s-qian", "pin": PIN})
    assert "不是该窗口的A岗或B岗人员" in flash(r.text)
    r = client.post("/console/W4/sign-on", data={"staff": "s-sun", "pin": PIN})
    assert "该窗口今日不开放" in flash(r.text)
    assert window(client, "W4")["staff"] is None


def test_pages_console_actions_need_sign_on(client):
    issue(client, "transcript")
    r = client.post("/console/W1/call")
    assert "请先在本窗口签到" in flash(r.text)
    assert window(client, "W1")["state"] == "closed"
    assert "ticket.called" not in kinds(client)


def test_pages_console_call_start_complete(client):
    sign_on(client)
    html = client.get("/console/W1").text
    assert "亮身份" in html and "李明" in html and "0000-1111-01" in html and "A岗" in html
    assert "暂无办理中的号码" in html
    assert "当前没有等候的号码" in flash(client.post("/console/W1/call").text)
    issue(client, "transcript")
    issue(client, "suspension")
    r = client.post("/console/W1/call")
    assert "已叫号：A001" in flash(r.text)
    w = window(client, "W1")
    assert w["state"] == "serving" and w["ticket"]["number"] == "A001" and w["ticket"]["state"] == "called"
    assert 'id="current-number">A001<' in r.text
    assert "A002" in r.text  # the waiting queue
    assert "已重呼：A001（第 1 次）" in flash(client.post("/console/W1/recall").text)
    assert "A001 开始办理" in flash(client.post("/console/W1/start").text)
    assert window(client, "W1")["ticket"]["state"] == "serving"
    r = client.post("/console/W1/complete", data={"item": "transcript", "outcome": "instant"})
    assert "A001 已办结：即办件（当场办结）" in flash(r.text)
    w = window(client, "W1")
    assert w["state"] == "idle" and w["ticket"] is None
    assert '<span id="done-count">1</span>' in r.text


def test_pages_console_complete_refusals_are_shown(client):
    sign_on(client)
    issue(client, department="academic")
    client.post("/console/W1/call")
    r = client.post("/console/W1/complete", data={"outcome": "instant"})
    assert "请选择本次办理的服务事项" in flash(r.text)
    r = client.post("/console/W1/complete", data={"item": "transcript"})
    assert "请选择办理结果" in flash(r.text)
    r = client.post("/console/W1/complete", data={"item": "transcript", "outcome": "promised"})
    assert "即办事项，没有承诺时限" in flash(r.text)
    r = client.post("/console/W1/complete", data={"item": "suspension", "outcome": "notice"})
    assert "请勾选所缺的全部材料" in flash(r.text)
    r = client.post("/console/W1/complete", data={"item": "suspension", "outcome": "refused", "reason": " "})
    assert "不予办理须写明理由" in flash(r.text)
    assert window(client, "W1")["state"] == "serving"  # nothing changed


def test_pages_console_no_show_needs_recalls(client):
    sign_on(client)
    issue(client, "transcript")
    client.post("/console/W1/call")
    assert "请先重呼" in flash(client.post("/console/W1/no-show").text)
    client.post("/console/W1/recall")
    r = client.post("/console/W1/recall")
    assert "重呼（2）" in r.text
    assert "A001 已标记过号" in flash(client.post("/console/W1/no-show").text)
    assert window(client, "W1")["state"] == "idle"


def test_pages_console_transfer(client):
    sign_on(client)
    issue(client, "transcript")
    html = client.post("/console/W1/call").text
    assert 'value="d:finance"' in html and 'value="i:reimburse"' in html
    assert 'value="d:academic"' not in html
    r = client.post("/console/W1/transfer", data={"target": "i:reimburse", "note": "报销事项"})
    assert "A001 已转至财务处" in flash(r.text)
    assert next(q for q in client.get("/api/queue").json() if q["department"] == "finance")["waiting"] == 1
    assert "请选择转办的部门或事项" in flash(client.post("/console/W1/transfer", data={"target": ""}).text)


def test_pages_console_pause_timer_and_resume(client, clock):
    sign_on(client)
    r = client.post("/console/W1/pause", data={"reason": "取材料"})
    assert "已暂停服务" in flash(r.text)
    assert window(client, "W1")["state"] == "paused"
    assert 'id="pause-timer">00:00<' in r.text and "取材料" in r.text
    clock.advance(minutes=16)
    html = client.get("/console/W1").text
    assert 'class="timer over" id="pause-timer">16:00<' in html
    assert 'data-limit="900"' in html
    board = client.get("/display").text
    assert "暂停服务" in board and re.search(r'class="win paused over" data-window="W1"', board)
    assert "离岗超时" in client.get("/console").text
    assert "窗口暂停服务中" in flash(client.post("/console/W1/call").text)
    assert "已恢复服务" in flash(client.post("/console/W1/resume").text)
    assert window(client, "W1")["state"] == "idle"


def test_pages_console_sign_off(client):
    sign_on(client)
    r = client.post("/console/W1/sign-off")
    assert "已签退" in flash(r.text)
    assert window(client, "W1")["staff"] is None
    assert 'name="pin"' in r.text
    assert "请先在本窗口签到" in flash(client.post("/console/W1/call").text)


def test_pages_console_b_role(client):
    sign_on(client, "W2", "s-zhao")
    html = client.get("/console/W2").text
    assert "赵强" in html and "B岗（顶岗）" in html and "学生助理" in html


def test_pages_console_item_chooser_and_outcome_inputs(client):
    sign_on(client)
    issue(client, "graduation")
    html = client.post("/console/W1/call").text
    # the ticket's item is preselected, the outcome follows its mode, its co-departments are ticked
    assert re.search(r'value="graduation"[^>]*data-mode="joint"[^>]*checked', html, re.S)
    assert re.search(r'name="outcome" value="joint" required checked', html)
    assert re.search(r'name="co_departments" value="finance" checked', html)
    assert re.search(r'name="co_departments" value="security" checked', html)
    # gaps: only gap_allowed materials are selectable
    assert 'name="missing_gaps" value="suspension:medical"' in html
    assert 'name="missing_gaps" value="suspension:application"' not in html
    assert 'name="missing_notice" value="suspension:application"' in html
    for label in ("即办件（当场办结）", "承诺件", "联办件", "一次性告知", "容缺受理", "不予办理"):
        assert label in html
    assert "2026-11-30" in html  # default supply-by: 5 working days


# ------------------------------------------------------------------ notices


def test_pages_notice_lists_every_missing_material(client):
    sign_on(client)
    html = call_and_complete(client, "suspension", "notice",
                             missing_notice=["suspension:application", "suspension:medical", "suspension:id-card"])
    assert "已办结：一次性告知" in flash(html) and "打印一次性告知书" in html
    notice = client.get(case_link(html))
    assert notice.status_code == 200
    for text in ("一次性告知书", "休学申请表", "医院诊断证明", "身份证复印件", "测试校区学生事务大厅", "休学办理",
                 "A001", "1号窗口", "李明", "2026年11月23日", "经办人签字", "申请人签收"):
        assert text in notice.text, text
    assert "@page" not in notice.text and "/static/hall.css" in notice.text  # print CSS lives in the stylesheet


def test_pages_gaps_notice_and_case_supply_finish(client):
    sign_on(client)
    html = call_and_complete(client, "suspension", "gaps", missing_gaps="suspension:application")
    assert "以下材料不可容缺：休学申请表" in flash(html)
    r = client.post("/console/W1/complete", data={"item": "suspension", "outcome": "gaps",
                                                  "missing_gaps": ["suspension:medical", "suspension:id-card"],
                                                  "supply_by": "2026-11-27"})
    notice = client.get(case_link(r.text)).text
    assert "容缺受理通知书" in notice and "2026年11月27日" in notice
    assert "医院诊断证明" in notice and "身份证复印件" in notice and "休学申请表" not in notice
    case_id = case_link(r.text).rsplit("/", 1)[1]

    r = client.get("/console/W1/cases")
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "A001" in page and "容缺受理" in page and "待补交" in page
    r = client.post(f"/console/W1/cases/{case_id}/finish", data={"result": "done"})
    assert "尚有容缺材料未补交" in flash(r.text)
    r = client.post(f"/console/W1/cases/{case_id}/supply", data={"materials": "medical"})
    assert "补交材料已登记" in flash(r.text) and "已补交" in r.text
    client.post(f"/console/W1/cases/{case_id}/supply", data={"materials": ["id-card"]})
    r = client.post(f"/console/W1/cases/{case_id}/finish", data={"result": "done", "note": "已办结"})
    assert "办件已办结" in flash(r.text)
    assert client.get(f"/api/cases/{case_id}").json()["state"] == "closed"


def test_pages_refused_notice_shows_reason(client):
    sign_on(client)
    html = call_and_complete(client, "suspension", "refused", reason="不符合休学条件：未满一学期")
    notice = client.get(case_link(html)).text
    assert "不予受理（退件）通知书" in notice and "不符合休学条件：未满一学期" in notice


def test_pages_joint_case_handoff_and_overdue(client, clock):
    sign_on(client)
    html = call_and_complete(client, "graduation", "joint", co_departments=["finance", "security"])
    assert "已办结：联办件" in flash(html) and "打印受理回执" in html
    case_id = case_link(html).rsplit("/", 1)[1]
    page = client.get("/console/W1/cases").text
    assert "毕业离校手续" in page and "财务处" in page and "保卫处" in page and "登记材料移交" in page
    r = client.post(f"/console/W1/cases/{case_id}/handoff",
                    data={"from_department": "academic", "to_department": "finance", "materials": "离校单、成绩证明"})
    assert "材料移交已登记" in flash(r.text)
    handoffs = client.get(f"/api/cases/{case_id}").json()["handoffs"]
    assert handoffs[0]["materials"] == ["离校单", "成绩证明"] and handoffs[0]["to"] == "finance"
    r = client.post(f"/console/W1/cases/{case_id}/handoff",
                    data={"from_department": "academic", "to_department": "elsewhere", "materials": "x"})
    assert "不是该办件的主办或协办部门" in flash(r.text)
    # the promise is 2 working days; a week later it is overdue and marked red
    clock.advance(days=7)
    page = client.get("/console/W1/cases").text
    assert "已超期" in page and 'class="card case overdue"' in page
    assert "受理回执（联办件）" in client.get(f"/notices/{case_id}").text


def test_pages_cases_page_needs_sign_on(client):
    r = client.get("/console/W1/cases")
    assert str(r.url).endswith("/console/W1") and "请先在本窗口签到" in flash(r.text)


# ------------------------------------------------------------------ display


def test_pages_display_shows_calls_and_queues(client):
    sign_on(client)
    issue(client, "transcript")
    issue(client, "reimburse")
    html = client.get("/display").text
    assert re.search(r"<span>教务处</span><span><b>1</b> 人</span>", html)
    client.post("/console/W1/call")
    html = client.get("/display").text
    assert re.search(r'data-window="W1".*?<div class="wnum">A001</div>.*?李明', html, re.S)
    assert re.search(r"<li><b>A001</b><span>1号窗口</span>", html)
    assert 'data-window="W4"' not in html  # periodic window not open today is not shown
    assert "speechSynthesis" in client.get("/static/display.js").text


# ------------------------------------------------------------------ guide


def test_pages_guide_item_full(client):
    html = client.get("/guide/graduation").text
    for text in ("毕业离校手续", "应届毕业生", "离校工作通知", "联办件", "财务处", "保卫处", "离校单",
                 "2 个工作日", "不收费", "0000-1111", "办不成事反映", "0000-1234567"):
        assert text in html, text
    assert html.count('<div class="box">') == 3  # the process as a flow of steps
    index = client.get("/guide").text
    assert 'data-search="休学办理' in index
    assert "/static/guide.js" in index


# ------------------------------------------------------------------ manager


def test_pages_manage_requires_login(client):
    r = client.get("/manage")
    assert str(r.url).endswith("/manage/login") and "大厅管理登录" in r.text
    r = client.post("/manage/windows/W5/open")
    assert str(r.url).endswith("/manage/login")
    assert "window.opened" not in kinds(client)
    r = client.post("/manage/login", data={"manager": "manager", "password": "wrong"})
    assert "账号或密码不正确" in flash(r.text)
    assert str(client.get("/manage").url).endswith("/manage/login")


def test_pages_manage_open_withdraw_logout(client):
    r = client.post("/manage/login", data={"manager": "manager", "password": MANAGER_PASSWORD})
    assert str(r.url).endswith("/manage") and "周主任" in r.text and "5号机动窗口" in r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "今日排队" in r.text
    r = client.post("/manage/windows/W5/open")
    assert "5号机动窗口 已开放" in flash(r.text)
    assert window(client, "W5")["manual"] == "opened" and window(client, "W5")["in_service"]
    sign_on(client, "W5", "s-zhao")  # the flexible window can now be worked (by its B-role)
    r = client.post("/manage/windows/W5/withdraw")
    assert "仍有工作人员签到" in flash(r.text)
    r = client.post("/manage/windows/W2/withdraw")
    assert "2号窗口 已撤回" in flash(r.text)
    assert not window(client, "W2")["in_service"]
    r = client.post("/manage/logout")
    assert str(r.url).endswith("/manage/login")
    assert str(client.get("/manage").url).endswith("/manage/login")
    assert client.get("/console/W5").status_code == 200  # the staff session survives the logout
    assert "亮身份" in client.get("/console/W5").text


def test_pages_bad_form_is_a_page_not_a_trace(client):
    r = client.post("/kiosk/tickets", content=b"priority=maybe",
                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and "无法完成" in r.text and "Traceback" not in r.text
