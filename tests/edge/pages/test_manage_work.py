"""The hall manager's work pages (issue 13): the closing check with the manual check, today's
step-aways, bad-rating follow-ups, complaints taken at the hall; and the clerk's own leave at
the console. Each form records the event the JSON API would."""

from __future__ import annotations

from datetime import datetime

import msgspec
import pytest

from edge import leave, presence, ratings
from tests.conftest import MANAGER_PASSWORD, SH
from tests.edge.pages.helpers import flash, sign_on

NEW_PAGES = ("/manage/closing", "/manage/step-aways", "/manage/followups", "/manage/complaints")


def at(h: int, m: int = 0, day: int = 23) -> datetime:
    return datetime(2026, 11, day, h, m, tzinfo=SH)


def bodies(hall, kind: str) -> list[dict]:
    return [msgspec.json.decode(e.body) for e in hall.store.events(0, 1000) if e.kind == kind]


def login(client):
    r = client.post("/manage/login", data={"manager": "manager", "password": MANAGER_PASSWORD})
    assert str(r.url).endswith("/manage"), r.text
    return client


@pytest.mark.parametrize("path", NEW_PAGES)
def test_manage_work_pages_need_the_manager(client, hall, path):
    r = client.get(path)
    assert str(r.url).endswith("/manage/login")
    for post in {"/manage/closing": ["/manual", "/check"], "/manage/followups": ["/x/close"],
                 "/manage/complaints": ["/"], "/manage/step-aways": []}[path]:
        r = client.post(path.rstrip("/") + post.rstrip("/") if post != "/" else path,
                        data={"doors": "1", "power": "1", "content": "投诉内容", "note": "说明"})
        assert str(r.url).endswith("/manage/login")
    assert bodies(hall, "closing.checked") == [] and bodies(hall, "complaint.received") == []
    assert login(client).get(path).status_code == 200


def test_manage_closing_manual_check_is_recorded_as_manual_with_the_note(client, hall, clock):
    """The manager's own round at closing [J 42, U 31, B 39]: refused while the hall still
    serves; an item not confirmed needs a note and fails the check; both confirmed passes."""
    login(client)
    clock.set(at(15, 0))
    r = client.post("/manage/closing/manual", data={"doors": "1", "power": "1"})
    assert "今日服务尚未结束" in flash(r.text)
    assert bodies(hall, "closing.checked") == []
    clock.set(at(17, 0))
    r = client.post("/manage/closing/manual", data={"doors": "1"})
    assert "请在备注中说明" in flash(r.text) and bodies(hall, "closing.checked") == []
    r = client.post("/manage/closing/manual", data={"doors": "1", "note": "打印机无法关机，已报修"})
    assert "人工检查已记录：人工检查未通过" in flash(r.text)
    r = client.post("/manage/closing/manual", data={"doors": "1", "power": "1", "note": "已拔掉电源"})
    assert "人工确认通过" in flash(r.text)
    checked = bodies(hall, "closing.checked")
    assert [(b["ok"], b["manual"], b["by"]) for b in checked] == [(False, True, "manager"), (True, True, "manager")]
    assert checked[0]["failed"][0]["name"] == "power" and checked[1]["note"] == "已拔掉电源"
    page = client.get("/manage/closing").text
    assert "人工确认通过" in page and "已拔掉电源" in page and page.count("人工确认</td>") == 2
    assert client.post("/manage/closing/check").status_code == 200  # no inputs here: says so, records nothing
    assert len(bodies(hall, "closing.checked")) == 2


def test_manage_closing_manual_check_against_failing_inputs_needs_a_note(device_client, hardware, device_hall, clock):
    """Inputs read a door open, the manager confirms it shut: only with a note, and what the
    inputs read travels with the check [J 42]."""
    login(device_client)
    clock.set(at(17, 0))
    r = device_client.get("/manage/closing")
    assert "门磁与电源检测" in r.text and "未关闭" in r.text
    r = device_client.post("/manage/closing/manual", data={"doors": "1", "power": "1"})
    assert "如门磁故障" in flash(r.text) and bodies(device_hall, "closing.checked") == []
    r = device_client.post("/manage/closing/manual", data={"doors": "1", "power": "1", "note": "后门门磁松动，已人工锁门"})
    assert "人工确认通过" in flash(r.text)
    (b,) = bodies(device_hall, "closing.checked")
    assert b["ok"] and b["manual"] and {f["name"] for f in b["readings"]} == {"door-main", "door-back"}
    r = device_client.post("/manage/closing/check")  # the inputs' own check, recorded as before
    assert "已检查并记录" in flash(r.text)
    assert [x.get("manual", False) for x in bodies(device_hall, "closing.checked")] == [True, False]


def test_manage_step_aways_lists_today_with_minutes_and_violations(client, hall, clock):
    """A pause over the limit is 擅自离岗 [C 9(4)]; one within it is not."""
    sign_on(client, "W1", "s-li")
    client.post("/console/W1/pause", data={"reason": "取材料"})
    clock.advance(minutes=5)
    client.post("/console/W1/resume")
    client.post("/console/W1/pause")
    clock.advance(minutes=20)
    hall.call(presence.resume, "W1", "s-li")
    page = login(client).get("/manage/step-aways").text
    assert page.count("<tr><td><b>李明</b>") == 2 and "取材料" in page
    assert "擅自离岗</span>" in page and "未超时" in page and ">20.0<" in page and ">5.0<" in page


def test_manage_followups_records_a_followup_as_the_manager(client, hall, clock):
    """A bad rating's follow-up is due in `followup_days` working days; the manager closes it
    from the page (the same event as the API, with the manager as `by`)."""
    sign_on(client, "W1", "s-li")
    client.post("/api/tickets", json={"item": "transcript"})
    client.post("/console/W1/call")
    client.post("/console/W1/complete", data={"item": "transcript", "outcome": "instant"})
    fid = hall.call(ratings.press, "W1", 1)["followup"]
    page = login(client).get("/manage/followups").text
    assert f'data-followup="{fid}"' in page and "非常不满意" in page and "李明" in page
    r = client.post(f"/manage/followups/{fid}/close", data={"result": "resolved", "note": ""})
    assert "回访" in flash(r.text) and bodies(hall, "rating.followup_closed") == []
    r = client.post(f"/manage/followups/{fid}/close", data={"result": "appeal_upheld", "note": "核实为误评"})
    assert "已办结" in flash(r.text) and "申诉成立" in flash(r.text)
    assert [(b["by"], b["result"]) for b in bodies(hall, "rating.followup_closed")] == [("manager", "appeal_upheld")]
    assert "最近办结" in client.get("/manage/followups").text


def test_manage_followups_shows_overdue(client, hall, clock):
    """Past its due day an open follow-up is marked 已超期 and counted."""
    sign_on(client, "W1", "s-li")
    client.post("/api/tickets", json={"item": "transcript"})
    client.post("/console/W1/call")
    client.post("/console/W1/complete", data={"item": "transcript", "outcome": "instant"})
    hall.call(ratings.press, "W1", 2)
    clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=SH))  # past the 5 working days (due 11-30)
    page = login(client).get("/manage/followups").text
    assert '<span class="badge overdue">已超期</span>' in page and "不满意" in page


def test_manage_complaints_records_a_complaint_event_offline(client, hall):
    """办不成事反映 at the hall [J 35, U 33, B 41, C 19]: one `complaint.received` event, and
    bad input changes nothing."""
    login(client)
    r = client.post("/manage/complaints", data={"channel": "窗口", "content": " "})
    assert "请填写投诉内容" in flash(r.text)
    r = client.post("/manage/complaints", data={"channel": "窗口", "staff": "nobody", "content": "态度不好"})
    assert "没有工号为 nobody" in flash(r.text)
    r = client.post("/manage/complaints", data={"channel": "传真", "content": "态度不好"})
    assert "受理渠道须为" in flash(r.text)
    assert bodies(hall, "complaint.received") == []
    r = client.post("/manage/complaints", data={"channel": "电话", "staff": "s-li", "window": "W1",
                                                "complexity": "需调查", "complainant": "张同学 138",
                                                "content": "成绩单盖章要求反复跑三次"})
    assert "投诉已登记" in flash(r.text)
    (b,) = bodies(hall, "complaint.received")
    assert (b["channel"], b["staff"], b["window"], b["complexity"], b["by"]) == ("电话", "s-li", "W1", "需调查", "manager")
    assert b["received"] == "2026-11-23T09:00"
    page = client.get("/manage/complaints").text
    assert "成绩单盖章要求反复跑三次" in page and "李明" in page and "周主任" in page


def test_console_leave_request_after_the_fact_and_return(client, hall, clock):
    """A clerk asks for their own leave at the console: after the fact within
    `leave_after_days` with a reason [J 28], refused beyond; 销假 of their own approved leave [C 9]."""
    assert str(client.get("/console/W1/leave").url).endswith("/console/W1")  # not signed on
    sign_on(client, "W1", "s-li")
    page = client.get("/console/W1/leave").text
    assert "我的请假" in page and "申请请假" in page
    r = client.post("/console/W1/leave", data={"kind": "personal", "start": "2026-11-16", "end": "2026-11-16",
                                               "reason": "忘记请假"})
    assert "事后补办须在请假首日后" in flash(r.text)
    r = client.post("/console/W1/leave", data={"kind": "sick", "start": "2026-11-20", "end": "2026-11-20"})
    assert "须写明原因" in flash(r.text)
    assert bodies(hall, "leave.requested") == []
    r = client.post("/console/W1/leave", data={"kind": "sick", "start": "2026-11-20", "end": "2026-11-20",
                                               "reason": "发烧就医", "certificate": "1"})
    assert "已提交病假" in flash(r.text) and "事后补办" in flash(r.text)
    (req,) = bodies(hall, "leave.requested")
    assert (req["staff"], req["by"], req["after_the_fact"]) == ("s-li", "s-li", True)
    r = client.post("/console/W1/leave", data={"kind": "personal", "start": "2026-11-26", "end": "2026-11-27",
                                               "reason": "家中有事"})
    assert "已提交事假" in flash(r.text)
    leave_id = bodies(hall, "leave.requested")[1]["leave"]
    hall.call(leave.approve_leave, leave_id, "manager", True)
    page = client.get("/console/W1/leave").text
    assert f'action="/console/W1/leave/{leave_id}/return"' in page
    r = client.post(f"/console/W1/leave/{leave_id}/return", data={"returned": "2026-11-26", "returned_half": "am"})
    assert "未休，整体取消" in flash(r.text)
    assert [b["by"] for b in bodies(hall, "leave.ended")] == ["s-li"]
    r = client.post(f"/console/W1/leave/{req['leave']}/return", data={"returned": "2026-11-26"})
    assert "只能为已批准的请假销假" in flash(r.text)
