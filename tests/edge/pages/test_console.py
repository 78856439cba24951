"""The window consoles (edge/pages/console.py): sign-on and its refusals, the console buttons,
transfer, pause timer, completing with an outcome, sign-off, the B role."""

from __future__ import annotations

import re

import pytest

from tests.conftest import EVENTS_TOKEN, HALL_TOML, PIN, edge_client, login_manager
from tests.edge.pages.helpers import flash, issue, kinds, sign_on, window


def test_console_wrong_pin_shows_error(client):
    r = client.post("/console/W1/sign-on", data={"staff": "s-li", "pin": "0000"})
    assert r.status_code == 200 and str(r.url).endswith("/console/W1")
    assert "工号或密码不正确" in flash(r.text)
    assert 'name="pin"' in r.text  # still the sign-on form
    assert window(client, "W1")["staff"] is None
    assert "window.signed_on" not in kinds(client)
    assert "亮身份" not in client.get("/console/W1").text


def test_console_sign_on_refusals(client):
    r = client.post("/console/W1/sign-on", data={"staff": "s-qian", "pin": PIN})
    assert "不是该窗口的A岗或B岗人员" in flash(r.text)
    r = client.post("/console/W4/sign-on", data={"staff": "s-sun", "pin": PIN})
    assert "该窗口今日不开放" in flash(r.text)
    assert window(client, "W4")["staff"] is None


def test_console_actions_need_sign_on(client):
    issue(client, "transcript")
    r = client.post("/console/W1/call")
    assert "请先在本窗口签到" in flash(r.text)
    assert window(client, "W1")["state"] == "closed"
    assert "ticket.called" not in kinds(client)


def test_console_call_start_complete(client):
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


def test_console_complete_refusals_are_shown(client):
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


def test_console_no_show_needs_recalls(client):
    sign_on(client)
    issue(client, "transcript")
    client.post("/console/W1/call")
    assert "请先重呼" in flash(client.post("/console/W1/no-show").text)
    client.post("/console/W1/recall")
    r = client.post("/console/W1/recall")
    assert "重呼（2）" in r.text
    assert "A001 已标记过号" in flash(client.post("/console/W1/no-show").text)
    assert window(client, "W1")["state"] == "idle"


def test_console_transfer(client):
    sign_on(client)
    issue(client, "transcript")
    html = client.post("/console/W1/call").text
    assert 'value="d:finance"' in html and 'value="i:reimburse"' in html
    assert 'value="d:academic"' not in html
    r = client.post("/console/W1/transfer", data={"target": "i:reimburse", "note": "报销事项"})
    assert "A001 已转至财务处" in flash(r.text)
    assert next(q for q in client.get("/api/queue").json() if q["department"] == "finance")["waiting"] == 1
    assert "请选择转办的部门或事项" in flash(client.post("/console/W1/transfer", data={"target": ""}).text)


def test_console_pause_timer_and_resume(client, clock):
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


def test_console_sign_off(client):
    sign_on(client)
    r = client.post("/console/W1/sign-off")
    assert "已签退" in flash(r.text)
    assert window(client, "W1")["staff"] is None
    assert 'name="pin"' in r.text
    assert "请先在本窗口签到" in flash(client.post("/console/W1/call").text)


def test_console_b_role(client):
    sign_on(client, "W2", "s-zhao")
    html = client.get("/console/W2").text
    assert "赵强" in html and "B岗（顶岗）" in html and "学生助理" in html


def test_console_item_chooser_and_outcome_inputs(client):
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


def _waiting_count(html: str) -> int | None:
    m = re.search(r'id="waiting-count">(\d+)<', html)
    return int(m.group(1)) if m else None


def test_console_sign_off_leaving_visitors_unserved_is_refused_until_the_manager_confirms(client):
    """Extended service [U 21, B 28, C 11(6)]: those who took a number are served before staff
    leave. With the department's only window on duty, 签退 is refused and nothing changes; the
    hall manager may confirm it on the manager page, and the event names the manager and how
    many were left waiting."""
    sign_on(client)
    for _ in range(3):
        issue(client, "transcript")
    for data in ({}, {"confirm": "3"}):  # a forged confirmation does not get past it either
        r = client.post("/console/W1/sign-off", data=data)
        assert "本部门还有 3 人在等候，且没有其他窗口在岗" in flash(r.text)
        assert window(client, "W1")["staff"]["id"] == "s-li"
    assert "window.signed_off" not in kinds(client)
    r = client.post("/manage/windows/W1/sign-off")  # no manager session: to the login page
    assert r.status_code == 200 and window(client, "W1")["staff"] is not None
    login_manager(client)
    r = client.post("/manage/windows/W1/sign-off")
    assert "已确认签退" in flash(r.text) and "仍有 3 人等候" in flash(r.text)
    assert window(client, "W1")["staff"] is None
    off = [e for e in client.get("/api/events", params={"limit": 1000}).json() if e["kind"] == "window.signed_off"]
    assert len(off) == 1 and off[0]["body"]["override_by"] == "manager" and off[0]["body"]["waiting"] == 3


def test_console_sign_off_leaving_the_queue_to_another_window_asks_to_confirm_first(client, signed_on):
    """With another window of the department on duty the waiting visitors are still served: 签退
    needs a confirmation stating how many wait, counted again when it arrives."""
    signed_on("W2", "s-zhao")  # B role of the same department, in another browser
    sign_on(client)
    for _ in range(3):
        issue(client, "transcript")
    r = client.post("/console/W1/sign-off")
    assert r.status_code == 200 and "确认签退" in r.text and _waiting_count(r.text) == 3
    assert "本部门仍在岗的窗口：2号窗口" in r.text and 'name="confirm" value="3"' in r.text
    assert window(client, "W1")["staff"]["id"] == "s-li" and "window.signed_off" not in kinds(client)
    # a fourth visitor arrived while the page was open: confirming 3 is not enough, it asks again
    issue(client, "transcript")
    r = client.post("/console/W1/sign-off", data={"confirm": "3"})
    assert _waiting_count(r.text) == 4 and window(client, "W1")["staff"] is not None
    for bad in ("", "x", "-4", "99999999"):
        r = client.post("/console/W1/sign-off", data={"confirm": bad})
        assert _waiting_count(r.text) == 4, bad
    assert "window.signed_off" not in kinds(client)
    r = client.post("/console/W1/sign-off", data={"confirm": "4"})
    assert "已签退" in flash(r.text) and 'name="pin"' in r.text
    assert window(client, "W1")["staff"] is None and kinds(client).count("window.signed_off") == 1


def test_console_sign_off_with_nobody_waiting_needs_no_confirmation(client):
    sign_on(client)
    issue(client, "reimburse")  # another department's queue does not count
    r = client.post("/console/W1/sign-off")
    assert "已签退" in flash(r.text) and window(client, "W1")["staff"] is None


def test_console_sign_off_while_serving_is_refused_without_confirmation(client):
    sign_on(client)
    issue(client, "transcript")
    issue(client, "transcript")
    client.post("/console/W1/call")
    r = client.post("/console/W1/sign-off", data={"confirm": "5"})
    assert "确认签退" not in r.text and flash(r.text).startswith("error:")
    assert window(client, "W1")["state"] == "serving"


def test_console_wrong_pin_keeps_the_typed_staff_id_once(client):
    r = client.post("/console/W1/sign-on", data={"staff": "s-li", "pin": "0000"})
    assert "工号或密码不正确" in flash(r.text)
    assert re.search(r'id="staff"[^>]*value="s-li"', r.text, re.S)
    assert re.search(r'id="pin"[^>]*autofocus', r.text, re.S)  # the PIN is asked again
    again = client.get("/console/W1").text  # shown once: a later visit starts empty
    assert re.search(r'id="staff"[^>]*value=""', again, re.S)
    # typed at another window: not shown here
    client.post("/console/W2/sign-on", data={"staff": "s-zhao", "pin": "0000"})
    assert re.search(r'id="staff"[^>]*value=""', client.get("/console/W1").text, re.S)
    # the typed text is escaped, never markup
    r = client.post("/console/W1/sign-on", data={"staff": '"><b>x', "pin": "0000"})
    assert 'value="&#34;&gt;&lt;b&gt;x"' in r.text and '<b>x' not in r.text


def test_console_queue_shows_minutes_waited_on_the_hall_clock(client, clock):
    sign_on(client)
    issue(client, "transcript")
    clock.advance(minutes=12, seconds=30)
    issue(client, "suspension")
    html = client.get("/console/W1").text
    waits = re.findall(r'data-waited="(\d+)">\s*<b>(\w+)</b>.*?class="waited-min">(\d+)<', html, re.S)
    assert waits == [("750", "A001", "12"), ("0", "A002", "0")]


def test_console_action_bar_holds_every_window_action(client):
    sign_on(client)
    issue(client, "transcript")
    client.post("/console/W1/call")
    html = client.get("/console/W1").text
    bar = html[html.index('<nav class="actionbar"'):html.index("</nav>", html.index('<nav class="actionbar"'))]
    for label in ("叫号", "重呼", "开始办理", "过号", "办结", "暂停服务", "签退"):
        assert f">{label}" in bar, label
    assert 'form="complete-form"' in bar and 'id="complete-form"' in html
    # each action once on the page (the bar is the only place)
    assert html.count(">叫号</button>") == 1 and html.count(">办结</button>") == 1


# ---------------------------------------------------------------------------- the applicant's phone (办结通知)

NOTIFY_TOML = '\n[notify]\ngateway = "file"\n'


@pytest.fixture
def notify_client(tmp_path, clock):
    """A client of the test hall with result notices on (`[notify] gateway = "file"`)."""
    from edge.app import create_app
    from edge.config import load
    from edge.hall import Hall

    p = tmp_path / "notify-hall.toml"
    p.write_text(HALL_TOML + NOTIFY_TOML, encoding="utf-8")
    h = Hall(load(p), tmp_path / "notify-data", clock)
    h.start()
    try:
        with edge_client(create_app(h, tick_seconds=3600, events_token=EVENTS_TOKEN)) as c:
            yield c
    finally:
        h.stop()


def test_console_complete_form_takes_the_applicants_phone_for_notice_outcomes(notify_client):
    """The 办结 form's phone field, shown for promised, joint and 容缺 outcomes, reaches the case
    as the JSON API's `phone` does [J 24(2), B 25(2)]."""
    c = notify_client
    sign_on(c)
    issue(c, "suspension")
    html = c.post("/console/W1/call").text
    assert re.search(r'<div class="extra" data-for="promised joint gaps">\s*<div class="field"[^>]*>'
                     r'<label for="phone">申请人电话', html)
    r = c.post("/console/W1/complete", data={"item": "suspension", "outcome": "promised", "phone": "138 1234 5678"})
    assert "A001 已办结：承诺件" in flash(r.text)
    assert kinds(c).count("case.phone_recorded") == 1
    assert "138****5678" in c.get("/console/W1/cases").text


def test_console_complete_with_a_bad_phone_is_refused_and_changes_nothing(notify_client):
    c = notify_client
    sign_on(c)
    issue(c, "suspension")
    c.post("/console/W1/call")
    r = c.post("/console/W1/complete", data={"item": "suspension", "outcome": "gaps",
                                             "missing_gaps": "suspension:medical", "phone": "12345"})
    assert "电话号码格式不正确" in flash(r.text)
    assert window(c, "W1")["state"] == "serving" and window(c, "W1")["ticket"]["number"] == "A001"
    assert "ticket.completed" not in kinds(c) and "case.phone_recorded" not in kinds(c)
    # a phone typed before switching to an outcome without a result notice is not taken
    r = c.post("/console/W1/complete", data={"item": "suspension", "outcome": "refused", "reason": "不符合条件",
                                             "phone": "13812345678"})
    assert "A001 已办结：不予办理" in flash(r.text)
    assert "case.phone_recorded" not in kinds(c)


def test_console_complete_form_has_no_phone_field_when_the_hall_sends_no_notices(client):
    sign_on(client)
    issue(client, "suspension")
    assert 'name="phone"' not in client.post("/console/W1/call").text
