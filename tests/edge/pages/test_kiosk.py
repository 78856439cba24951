"""The visitor kiosk (edge/pages/kiosk.py): taking a number by item, by department or as a priority
visitor, refusals shown once, rejoining after a missed call."""

from __future__ import annotations

import re
from datetime import datetime

from tests.conftest import SH
from tests.edge.pages.helpers import flash, issue, kinds, sign_on


def test_kiosk_item_tap_issues_ticket(client):
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


def test_kiosk_priority_and_by_department(client):
    client.post("/kiosk/tickets", data={"item": "transcript"})
    r = client.post("/kiosk/tickets", data={"item": "transcript", "priority": "1"})
    assert 'id="ticket-number">A002<' in r.text and "优先" in r.text
    assert re.search(r"前面还有 <b>0</b> 人", r.text)  # priority goes ahead of the first
    r = client.post("/kiosk/tickets", data={"department": "finance"})
    assert 'id="ticket-number">F001<' in r.text
    assert "财务处" in r.text


def test_kiosk_closed_hall_shows_refusal(client, clock):
    clock.set(datetime(2026, 11, 23, 20, 0, tzinfo=SH))
    assert "大厅当前不在服务时间" in client.get("/kiosk").text
    r = client.post("/kiosk/tickets", data={"item": "transcript"})
    assert r.status_code == 200 and str(r.url).endswith("/kiosk/items/transcript")
    assert "大厅当前不在服务时间，暂停取号" in flash(r.text)
    assert "ticket.issued" not in kinds(client)
    # the message is shown once
    assert "暂停取号" not in client.get("/kiosk/items/transcript").text


def test_kiosk_department_without_window_today_refused(client):
    r = client.post("/kiosk/tickets", data={"department": "security"})  # W4 opens Tue/Thu only
    assert "保卫处今日没有开放的窗口" in flash(r.text)


def test_kiosk_rejoin_after_no_show(client):
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


# ---------------------------------------------------------------------------- the kiosk never misleads


def _tile(html: str, dept: str) -> str:
    m = re.search(r'<(a|div) class="ktile dept-tile[^"]*"[^>]*data-dept="%s">(.*?)</\1>' % dept, html, re.S)
    assert m, dept
    return m.group(0)


def test_kiosk_department_without_open_window_not_offered(strict_client):
    """Only departments with a window open now can be tapped; the others say why and show no
    wait [J 22]; the API refuses them the same way, so a tap never fails two screens later."""
    c = strict_client
    assert c.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": "1234"}).status_code == 200
    html = c.get("/kiosk").text
    academic, finance, security = (_tile(html, d) for d in ("academic", "finance", "security"))
    assert academic.startswith('<a class="ktile dept-tile" href="/kiosk/departments/academic"')
    assert "无需等候" in academic
    assert finance.startswith("<div") and 'aria-disabled="true"' in finance and "href" not in finance
    assert "窗口暂未开放" in finance and "预计等候" not in finance
    assert "该部门窗口今日不开放" in security  # W4 opens Tue/Thu
    page = c.get("/kiosk/departments/finance").text
    assert "暂不能取号：窗口暂未开放" in page and 'href="/kiosk/items/reimburse"' not in page
    assert re.search(r'<button class="ktile item-tile by-dept" type="submit" disabled>', page)
    item = c.get("/kiosk/items/reimburse").text
    assert "暂不能取号：窗口暂未开放" in item and "预计等候" not in item
    assert len(re.findall(r'<button class="big (green|amber)" type="submit"[^>]* disabled>', item)) == 2
    r = c.post("/kiosk/tickets", data={"department": "finance"})
    assert str(r.url).endswith("/kiosk/departments/finance")
    assert "财务处窗口暂未开放，暂不能取号" in flash(r.text)
    assert "ticket.issued" not in kinds(c)


def test_kiosk_before_opening_says_when_service_starts(strict_client, clock):
    c = strict_client
    clock.set(datetime(2026, 11, 23, 7, 0, tzinfo=SH))
    html = c.get("/kiosk").text
    assert "大厅当前不在服务时间：08:00 开始办理，07:30 起可取号" in html
    assert "08:00 开始办理，07:30 起可取号" in _tile(html, "academic")
    clock.set(datetime(2026, 11, 23, 7, 40, tzinfo=SH))  # early numbers [J 26]: nobody is there yet
    assert "08:00 开始办理，可先取号" in _tile(c.get("/kiosk").text, "academic")
    clock.set(datetime(2026, 11, 23, 8, 3, tzinfo=SH))  # open, but nobody signed on: refused, says why
    assert "窗口暂未开放" in _tile(c.get("/kiosk").text, "academic")
    clock.set(datetime(2026, 11, 23, 17, 0, tzinfo=SH))
    assert "今日已停止取号" in _tile(c.get("/kiosk").text, "academic")


def test_kiosk_slip_names_the_window_not_the_halls(strict_client):
    c = strict_client
    c.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": "1234"})
    r = c.post("/kiosk/tickets", data={"item": "transcript"})
    slip = re.search(r'<section class="slip.*?</section>', r.text, re.S).group(0)
    assert "办理窗口：<b>1号窗口、2号窗口</b>" in slip  # this hall's windows of 教务处 today
    assert slip.count("测试校区学生事务大厅") == 1
    assert "预计等候约" in slip
    c.post("/api/windows/W1/call")
    ticket = str(r.url)
    assert "请到 <b>1号窗口</b>" in c.get(ticket).text


def test_kiosk_no_estimated_wait_while_no_window_serves(client):
    """With `issue_without_open_window` a number may wait for its window: no estimate is shown
    until a window of the department serves."""
    r = client.post("/kiosk/tickets", data={"item": "transcript"})
    assert "前面还有" in r.text and "预计等候" not in r.text and "窗口开放后按顺序叫号" in r.text
    assert "预计等候" not in _tile(client.get("/kiosk").text, "academic")


def test_kiosk_rejoin_keypad_offers_the_hall_prefixes(client):
    html = client.get("/kiosk/rejoin").text
    letters = re.findall(r'<button class="key letter" type="button" data-key="(\w)">', html)
    assert letters == ["A", "F", "S"]  # 后勤处 (L) has no window here
    assert all(f'data-key="{d}"' in html for d in "0123456789")
    assert 'inputmode="none"' in html and "/static/kiosk.js" in html


def test_kiosk_public_pages_link_to_no_staff_page(client):
    for path in ("/kiosk", "/kiosk/departments/academic", "/kiosk/items/transcript", "/kiosk/rejoin",
                 "/guide", "/guide/transcript", "/display"):
        html = client.get(path).text
        hrefs = re.findall(r'href="([^"]*)"', html)
        staff = [h for h in hrefs if h == "/" or h.startswith(("/console", "/manage"))]
        assert not staff, (path, staff)


def test_kiosk_error_page_stays_public(client):
    """A refusal on a public screen (an unknown item, a bad form) keeps the public layout: no
    link to the staff pages, the way back leads to the kiosk. A staff page keeps its own."""
    for path, status in (("/kiosk/items/no-such-item", 404), ("/kiosk/departments/nowhere", 404),
                         ("/guide/no-such-item", 404)):
        r = client.get(path)
        assert r.status_code == status and "text/html" in r.headers["content-type"], path
        hrefs = re.findall(r'href="([^"]*)"', r.text)
        assert not [h for h in hrefs if h == "/" or h.startswith(("/console", "/manage"))], (path, hrefs)
        assert 'href="/kiosk"' in r.text and "返回自助取号" in r.text
    r = client.post("/kiosk/tickets", data={"priority": "maybe"})
    assert 400 <= r.status_code < 500 and 'href="/console' not in r.text
    staff = client.get("/console/NOPE")
    assert staff.status_code == 404 and "回到首页" in staff.text
