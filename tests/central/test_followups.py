"""Bad-rating follow-ups (central.supervision) through the real HTTP app and JSON API; figures in supervision_data."""

from __future__ import annotations

import msgspec
import pytest
from litestar.testing import TestClient

from central.app import create_app
from central.config import ConfigError, load
from central.supervision import followups as fu
from sync.contract import events as ev
from sync.contract import wire
from tests.central.data import Browser, HallLog, at, write_config
from tests.central.supervision_data import (ADMIN, FINANCE, HB, actions, api, app, client, count,  # noqa: F401 - fixtures
                                            login, parts)

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


def test_followups_appeal_excludes_rating_from_good_rate(client, api, parts):
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
    assert fu.excluded_ratings(store) == set()
    r = api.post("/api/followups", json={"hall": hall, "event_id": eid, "action": "decide",
                                            "decision": "accepted", "note": "监控核实为误评"}, auth=ADMIN)
    assert r.status_code == 200 and r.json()["status"] == "申诉已采纳" and r.json()["overdue"] is False
    assert fu.excluded_ratings(store) == {("h-b", "X3")}
    assert hb_windows() == {"W3": (2, 0.5)}
    # a rejected appeal keeps the rating
    h1, e1 = bad["X1"]
    api.post("/api/followups", json={"hall": h1, "event_id": e1, "action": "appeal", "reason": "误评"}, auth=FINANCE)
    r = api.post("/api/followups", json={"hall": h1, "event_id": e1, "action": "decide", "decision": "rejected"},
                    auth=ADMIN)
    assert r.json()["appeal"] == "rejected" and fu.excluded_ratings(store) == {("h-b", "X3")}
    assert actions(store) == [("hb-manager", "followup.appeal"), ("admin", "followup.decide"),
                              ("finance-head", "followup.appeal"), ("admin", "followup.decide")]


def test_followups_fix_days_from_config(parts, tmp_path):
    """The follow-up deadline is configuration, one number for the hall and central: central
    refuses a hall file whose rules.ratings.followup_days differs from [followups] fix_days."""
    store, directory, auth, _logs, _extra = parts
    conf = write_config(tmp_path / "three")
    conf.write_text(conf.read_text(encoding="utf-8") + "\n[followups]\nfix_days = 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"h-a\.toml: field \$\.business\.rules\.ratings\.followup_days: 5 differs"):
        load(conf)
    for hall in (tmp_path / "three" / "cfg" / "halls").glob("*.toml"):
        hall.write_text(hall.read_text(encoding="utf-8") + "\n[business.rules.ratings]\nfollowup_days = 3\n",
                        encoding="utf-8")
    cfg, halls = load(conf)
    assert cfg.followups.fix_days == 3 and {h.business.rules.ratings.followup_days for h in halls} == {3}
    app = create_app(store, None, directory, auth)
    app.state.followup_fix_days = cfg.followups.fix_days
    with Browser(app) as c:
        rows = c.get("/api/followups", auth=ADMIN).json()
    # T2 Monday 11-02 + 3 open days → Thu 11-05; X3 Friday 11-06 → Mon 9, Tue 10, Wed 11
    assert {r["ticket"]: r["fix_due"] for r in rows} == {"T2": "2026-11-05", "X1": "2026-10-09",
                                                         "X3": "2026-11-11"}



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
    hb.add(ev.FollowupClosed(followup="F3", by="manager", result="appeal_upheld", note="误按"),
           at("2026-11-09", "09:00"))
    before = {r["window"]: r["good_rate"] for r in api.get(
        "/api/reports/satisfaction?start=2026-11-01&end=2026-11-30&hall=h-b", auth=ADMIN).json()["rows"]}
    store.ingest("h-b", wire.events_topic("h-b"), hb.payload(1, 10), 6)
    rows = {r["ticket"]: r for r in api.get("/api/followups?as_of=2026-11-20", auth=ADMIN).json()}
    assert (rows["X1"]["hall_followup"], rows["X1"]["hall_due"], rows["X1"]["hall_result"]) == ("F1", "2026-10-12", "")
    assert (rows["X1"]["status"], rows["X1"]["overdue"]) == ("待回访", True)
    assert (rows["X3"]["hall_result"], rows["X3"]["hall_by"], rows["X3"]["status"], rows["X3"]["overdue"]) == (
        "appeal_upheld", "manager", "申诉已采纳", False)
    assert ("h-b", "X3") in fu.excluded_ratings(store)
    after = {r["window"]: r["good_rate"] for r in api.get(
        "/api/reports/satisfaction?start=2026-11-01&end=2026-11-30&hall=h-b", auth=ADMIN).json()["rows"]}
    assert "W1" in before and "W1" not in after  # X3 was W1's only November rating in h-b
    assert [r["ticket"] for r in api.get("/api/followups?status=done&as_of=2026-11-20", auth=ADMIN).json()] == ["X3"]


def test_followups_rated_staff_never_handles_their_own(parts):
    """A login that is also the rated staff member (`[[users]] staff`) may appeal their bad
    rating but not call back, verify, fix or decide it; nobody decides their own appeal."""
    store, directory, auth, logs, extra = parts
    auth.users["finance-head"] = msgspec.structs.replace(auth.users["finance-head"], staff="s-qian")
    hall, eid = bad_events(logs, extra)["X1"]  # X1: s-qian's level-1 rating at W3 (finance)
    with Browser(create_app(store, None, directory, auth)) as api:
        for action in ({"action": "callback", "note": "已回访"}, {"action": "verify", "verification": "不属实"},
                       {"action": "fix", "fixed": "1", "note": "已整改"}):
            r = api.post("/api/followups", json={"hall": hall, "event_id": eid, **action}, auth=FINANCE)
            assert r.status_code == 403 and "本人" in r.json()["detail"], action
        assert api.post("/api/followups", json={"hall": hall, "event_id": eid, "action": "appeal", "reason": "误评"},
                        auth=FINANCE).status_code == 200
        row = next(r for r in api.get("/api/followups", auth=ADMIN).json() if r["ticket"] == "X1")
        assert row["status"] == "申诉待审" and row["callback_at"] is None and row["fixed"] is None
        # the admin who files an appeal does not decide it
        h3, e3 = bad_events(logs, extra)["X3"]
        api.post("/api/followups", json={"hall": h3, "event_id": e3, "action": "appeal", "reason": "误评"}, auth=ADMIN)
        r = api.post("/api/followups", json={"hall": h3, "event_id": e3, "action": "decide", "decision": "accepted"},
                     auth=ADMIN)
        assert r.status_code == 403 and fu.excluded_ratings(store, directory) == set()
    assert ("finance-head", "followup.callback") not in actions(store)


def test_followups_hall_closing_by_the_rated_or_not_by_a_manager_not_honoured(api, parts):
    """At the hall the rated staff member closes their own follow-up, and a colleague (not a
    manager) upholds an appeal: central counts neither; the rating stays in 好评率."""
    store, directory = parts[0], parts[1]
    hb = HallLog("h-b")
    hb.add(ev.FollowupOpened(followup="F1", ticket="X1", window="W3", level=1, due="2026-10-12", staff="s-qian"),
           at("2026-09-29", "10:01"))
    hb.add(ev.FollowupOpened(followup="F3", ticket="X3", window="W1", level=2, due="2026-11-13", staff="s-li"),
           at("2026-11-06", "15:01"))
    hb.add(ev.FollowupClosed(followup="F1", by="s-qian", result="resolved", note="已处理"), at("2026-09-30", "09:00"))
    hb.add(ev.FollowupClosed(followup="F3", by="s-zhao", result="appeal_upheld", note="误按"),
           at("2026-11-09", "09:00"))
    before = api.get("/api/reports/satisfaction?start=2026-11-01&end=2026-11-30&hall=h-b", auth=ADMIN).json()["rows"]
    store.ingest("h-b", wire.events_topic("h-b"), hb.payload(1, 10), 6)
    rows = {r["ticket"]: r for r in api.get("/api/followups?as_of=2026-11-20", auth=ADMIN).json()}
    assert (rows["X1"]["status"], rows["X1"]["hall_result"], rows["X1"]["hall_refused"]) == (
        "待回访", "", fu.SELF_CLOSED)
    assert (rows["X3"]["status"], rows["X3"]["hall_result"], rows["X3"]["hall_refused"]) == (
        "待回访", "", fu.NOT_MANAGER)
    assert fu.excluded_ratings(store, directory) == set()
    after = api.get("/api/reports/satisfaction?start=2026-11-01&end=2026-11-30&hall=h-b", auth=ADMIN).json()["rows"]
    assert after == before
    assert api.get("/api/followups?status=done&as_of=2026-11-20", auth=ADMIN).json() == []
