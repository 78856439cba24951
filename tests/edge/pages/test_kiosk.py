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
