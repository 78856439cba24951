"""The cases of a window's department (edge/pages/console_cases.py): supplying materials, handoffs,
finishing, overdue marks."""

from __future__ import annotations

from tests.edge.pages.helpers import call_and_complete, case_link, flash, sign_on


def test_console_cases_gaps_notice_and_case_supply_finish(client):
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


def test_console_cases_joint_case_handoff_and_overdue(client, clock):
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


def test_console_cases_cases_page_needs_sign_on(client):
    r = client.get("/console/W1/cases")
    assert str(r.url).endswith("/console/W1") and "请先在本窗口签到" in flash(r.text)
