"""Every outcome of a service, the cases they open, hand-overs, and overdue tracking."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conftest import SH, login_manager


@pytest.fixture
def desk(client, signed_on):
    """W1 signed on by 李明 with one ticket called; returns the staff client."""
    w = signed_on("W1", "s-li")

    def serve(item="suspension"):
        r = client.post("/api/tickets", json={"item": item})
        assert r.status_code == 201, r.text
        r = w.post("/api/windows/W1/call")
        assert r.status_code == 200, r.text
        return r.json()["ticket"]

    w.serve = serve
    return w


def events(client, kind):
    return [e for e in client.get("/api/events?limit=1000").json() if e["kind"] == kind]


def complete(w, **body):
    return w.post("/api/windows/W1/complete", json=body)


def test_cases_instant_records_times(client, desk, clock):
    """Instant handling (即办) is done on the spot [J 24, U 20, B 25, C 11]."""
    t = desk.serve("transcript")
    clock.advance(minutes=1)
    desk.post("/api/windows/W1/start")
    clock.advance(minutes=4)
    r = complete(desk, outcome="instant")
    assert r.status_code == 200 and r.json()["state"] == "idle"
    done = client.get(f"/api/tickets/{t['id']}").json()
    assert done["state"] == "done" and done["outcome"] == "instant" and done["case"] is None
    assert (done["issued_at"], done["called_at"], done["started_at"], done["finished_at"]) == (
        "2026-11-23T09:00:00+08:00", "2026-11-23T09:00:00+08:00",
        "2026-11-23T09:01:00+08:00", "2026-11-23T09:05:00+08:00",
    )
    assert events(client, "ticket.completed")[0]["body"]["outcome"] == "instant"


def test_cases_promised_deadline_in_working_days_and_overdue(client, desk, clock):
    """Promised cases (承诺件) are due in working days; overdue is a breach [B 25, H 8]."""
    t = desk.serve("suspension")  # promise 3 working days
    r = complete(desk, outcome="promised")
    assert r.status_code == 200, r.text
    case_id = client.get(f"/api/tickets/{t['id']}").json()["case"]
    c = login_manager(client).get(f"/api/cases/{case_id}").json()
    assert c["deadline"] == "2026-11-26"  # Monday + 3 working days = Thursday
    assert c["state"] == "open" and not c["overdue"]
    clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=SH))
    c = login_manager(client).get(f"/api/cases/{case_id}").json()
    assert c["overdue"] is True
    r = desk.post(f"/api/cases/{case_id}/finish", json={"note": "已审批"})
    assert r.status_code == 200 and r.json()["state"] == "closed" and not r.json()["overdue"]
    assert desk.post(f"/api/cases/{case_id}/finish", json={}).status_code == 409


def test_cases_promised_deadline_skips_weekend(client, desk, clock):
    clock.set(datetime(2026, 11, 27, 10, 0, tzinfo=SH))  # Friday
    desk.serve("suspension")
    complete(desk, outcome="promised")
    c = login_manager(client).get("/api/cases?state=open").json()[0]
    assert c["deadline"] == "2026-12-02"  # Mon, Tue, Wed


def test_cases_promised_refused_for_instant_item(client, desk):
    desk.serve("transcript")
    r = complete(desk, outcome="promised")
    assert r.status_code == 400 and r.json()["code"] == "not-promised-item"


def test_cases_joint_with_handoffs(client, desk, clock):
    """Joint cases (联办) record every hand-over between windows [J 24, B 21]."""
    desk.serve("graduation")
    r = complete(desk, outcome="joint")
    assert r.status_code == 200, r.text
    c = login_manager(client).get("/api/cases?state=open").json()[0]
    assert [d["id"] for d in c["co_departments"]] == ["finance", "security"]
    assert c["deadline"] == "2026-11-25"
    clock.advance(minutes=30)
    r = desk.post(f"/api/cases/{c['id']}/handoffs", json={
        "from_department": "academic", "to_department": "finance", "materials": ["离校单", "欠费清单"]})
    assert r.status_code == 200, r.text
    clock.advance(hours=2)
    desk.post(f"/api/cases/{c['id']}/handoffs", json={
        "from_department": "finance", "to_department": "security", "materials": ["离校单"], "note": "已结清"})
    bad = desk.post(f"/api/cases/{c['id']}/handoffs", json={
        "from_department": "academic", "to_department": "elsewhere", "materials": ["离校单"]})
    assert bad.status_code == 400 and bad.json()["code"] == "department-not-involved"
    empty = desk.post(f"/api/cases/{c['id']}/handoffs", json={
        "from_department": "academic", "to_department": "finance", "materials": ["  "]})
    assert empty.status_code == 400
    hs = login_manager(client).get(f"/api/cases/{c['id']}").json()["handoffs"]
    assert [(h["from"], h["to"], h["materials"], h["at"]) for h in hs] == [
        ("academic", "finance", ["离校单", "欠费清单"], "2026-11-23T09:30:00+08:00"),
        ("finance", "security", ["离校单"], "2026-11-23T11:30:00+08:00"),
    ]
    assert all(h["by"] == "s-li" for h in hs)


def test_cases_notice_lists_all_missing(client, desk):
    """One-time notice (一次性告知): every missing material told at once, in writing [J 20, B 25, C 11]."""
    desk.serve("suspension")
    assert complete(desk, outcome="notice").json()["code"] == "missing-required"
    r = complete(desk, outcome="notice", missing=["application", "nope"])
    assert r.status_code == 400 and r.json()["code"] == "unknown-material"
    r = complete(desk, outcome="notice", missing=["application", "medical", "application"])
    assert r.status_code == 200
    c = login_manager(client).get("/api/cases").json()[0]
    assert c["outcome"] == "notice" and c["state"] == "closed"
    assert [m["id"] for m in c["missing"]] == ["application", "medical"]
    assert [m["name"] for m in c["missing"]] == ["休学申请表", "医院诊断证明"]


def test_cases_gaps_only_allowed_materials_then_supply(client, desk):
    """Accept with gaps (容缺受理) only for the listed materials [C 11]."""
    desk.serve("suspension")
    r = complete(desk, outcome="gaps", missing=["application"])
    assert r.status_code == 400 and r.json()["code"] == "gap-not-allowed"
    r = complete(desk, outcome="gaps", missing=["medical", "id-card"])
    assert r.status_code == 200, r.text
    c = login_manager(client).get("/api/cases?state=open").json()[0]
    assert c["supply_by"] == "2026-11-30"  # 5 working days after Monday 23rd
    assert c["deadline"] == "2026-11-26"
    r = desk.post(f"/api/cases/{c['id']}/finish", json={})
    assert r.status_code == 409 and r.json()["code"] == "materials-outstanding"
    assert desk.post(f"/api/cases/{c['id']}/supply", json={"materials": ["application"]}).status_code == 400
    desk.post(f"/api/cases/{c['id']}/supply", json={"materials": ["medical"]})
    r = desk.post(f"/api/cases/{c['id']}/supply", json={"materials": ["id-card"]})
    assert all(m["supplied"] for m in r.json()["missing"])
    assert desk.post(f"/api/cases/{c['id']}/finish", json={}).json()["state"] == "closed"


def test_cases_refused_needs_reason(client, desk):
    """A refusal (不予办理) states its reason in a written notice [J 25, B 25]."""
    desk.serve("suspension")
    r = complete(desk, outcome="refused", reason=" ")
    assert r.status_code == 400 and r.json()["code"] == "reason-required"
    r = complete(desk, outcome="refused", reason="不符合休学条件（未满一学期）")
    assert r.status_code == 200
    c = login_manager(client).get("/api/cases").json()[0]
    assert c["outcome"] == "refused" and c["reason"] == "不符合休学条件（未满一学期）"


def test_cases_item_of_other_department_refused(client, desk):
    desk.serve("transcript")
    before = len(client.get("/api/events?limit=1000").json())
    r = complete(desk, outcome="instant", item="reimburse")
    assert r.status_code == 400 and r.json()["code"] == "item-of-other-department"
    assert len(client.get("/api/events?limit=1000").json()) == before


def test_cases_department_ticket_needs_item(client, desk, signed_on):
    client.post("/api/tickets", json={"department": "academic"})
    desk.post("/api/windows/W1/call")
    r = complete(desk, outcome="instant")
    assert r.status_code == 400 and r.json()["code"] == "item-required"
    assert complete(desk, outcome="instant", item="transcript").status_code == 200
