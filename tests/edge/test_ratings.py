"""Ratings at the window's five buttons (MockFactory pins): one per service, only right after
it, no visitor identity; bad ratings open a follow-up due in working days."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest

from edge import ratings
from edge.workflow import Invalid, Refused
from tests.conftest import login_manager
from tests.edge.mockpins import mock_pin


def bodies(hall, kind: str) -> list[dict]:
    return [msgspec.json.decode(e.body) for e in hall.store.events(0, 1000) if e.kind == kind]


@pytest.fixture
def served(device_client, hardware, device_hall):
    """W1 staffed; `serve()` runs one visitor through to the end of the service."""
    assert device_client.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": "1234"}).status_code == 200

    def serve() -> str:
        t = device_client.post("/api/tickets", json={"item": "transcript"}).json()
        assert device_client.post("/api/windows/W1/call").status_code == 200
        assert device_client.post("/api/windows/W1/complete", json={"outcome": "instant"}).status_code == 200
        return t["id"]

    return serve


def press(hw, clock, pin: str) -> None:
    clock.advance(seconds=1)  # apart from the previous press (debounce runs on the test clock)
    hw.sim_drive(pin, "press")
    clock.advance(seconds=1)
    hw.sim_drive(pin, "release")
    hw.drain()


def test_ratings_button_rates_the_service_that_just_ended(served, hardware, device_hall, clock):
    ticket = served()
    press(hardware, clock, "rate5-W1")
    given = bodies(device_hall, "rating.given")
    assert given == [{"window": "W1", "ticket": ticket, "level": 5, "staff": "s-li", "department": "academic"}]


def test_ratings_one_rating_per_service_later_presses_ignored(served, hardware, device_hall, clock):
    """One rating per service (一次一评) [J 23, U 19, B 23, C 11(7)]."""
    served()
    press(hardware, clock, "rate4-W1")
    press(hardware, clock, "rate1-W1")
    press(hardware, clock, "rate5-W1")
    assert [b["level"] for b in bodies(device_hall, "rating.given")] == [4]
    second = served()
    press(hardware, clock, "rate3-W1")
    assert [(b["ticket"], b["level"]) for b in bodies(device_hall, "rating.given")][-1] == (second, 3)


def test_ratings_presses_with_nothing_to_rate_are_ignored(served, hardware, device_hall, device_client, clock):
    before = device_hall.store.last_seq
    press(hardware, clock, "rate5-W1")  # nobody served yet
    assert device_hall.store.last_seq == before
    served()
    clock.advance(minutes=3)  # past the rating time (120 s)
    press(hardware, clock, "rate5-W1")
    device_client.post("/api/tickets", json={"item": "transcript"})
    served()
    device_client.post("/api/tickets", json={"item": "transcript"})
    device_client.post("/api/windows/W1/call")  # the next visitor is at the window
    press(hardware, clock, "rate2-W1")
    assert bodies(device_hall, "rating.given") == []


def test_ratings_bouncing_button_rates_once(served, hardware, device_hall, clock):
    served()
    pin = mock_pin(hardware, "rate2-W1")
    for _ in range(5):
        pin.drive_low()
        pin.drive_high()
    hardware.drain()
    assert len(bodies(device_hall, "rating.given")) == 1
    assert len(bodies(device_hall, "rating.followup_opened")) == 1


def test_ratings_no_visitor_identity_is_stored(served, hardware, device_hall, clock):
    """Ratings are anonymous: no visitor identity [J 23, U 19, B 23, C 11(7)]."""
    served()
    press(hardware, clock, "rate5-W1")
    raw = [e for e in device_hall.store.events(0, 1000) if e.kind == "rating.given"][0]
    assert set(msgspec.json.decode(raw.body)) == {"window", "ticket", "level", "staff", "department"}


@pytest.mark.parametrize("pin, level", [("rate2-W1", 2), ("rate1-W1", 1)])
def test_ratings_bad_rating_opens_a_followup_due_in_working_days(served, hardware, device_hall, device_client, clock, pin, level):
    """A bad rating is followed up within a deadline in working days [C 11(7)]."""
    served()
    press(hardware, clock, pin)
    f = bodies(device_hall, "rating.followup_opened")
    # Monday 23 Nov + 5 working days = Monday 30 Nov
    assert len(f) == 1 and f[0]["level"] == level and f[0]["due"] == "2026-11-30"
    open_ = device_client.get("/api/followups?state=open").json()
    assert open_[0]["label"] == {2: "不满意", 1: "非常不满意"}[level] and open_[0]["overdue"] is False
    login_manager(device_client)  # the rated staff member may not close it (separation of duties)
    r = device_client.post(f"/api/followups/{open_[0]['id']}/close", json={"result": "resolved", "note": "已电话回访致歉"})
    assert r.status_code == 200 and r.json()["state"] == "closed"
    assert device_client.post(f"/api/followups/{open_[0]['id']}/close", json={"note": "again"}).status_code == 409


def test_ratings_good_ratings_open_no_followup_and_summary_counts(served, hardware, device_hall, device_client, clock):
    for pin in ("rate5-W1", "rate3-W1", "rate1-W1"):
        served()
        press(hardware, clock, pin)
    assert len(bodies(device_hall, "rating.followup_opened")) == 1
    s = device_client.get("/api/ratings").json()
    assert s["count"] == 3 and s["levels"] == {"5": 1, "4": 0, "3": 1, "2": 0, "1": 1}
    assert s["satisfaction"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["by_window"]["W1"]["5"] == 1


def test_ratings_followup_days_follow_the_calendar_and_config(tmp_path, clock):
    from edge.config import load
    from edge.hall import Hall
    from edge import cases, presence, queue
    from tests.conftest import HALL_TOML

    p = tmp_path / "h.toml"
    p.write_text(HALL_TOML + "\n[business.rules.ratings]\nfollowup_days = 3\nwindow_seconds = 30\n")
    h = Hall(load(p), tmp_path / "d", clock)
    h.start()
    try:
        from datetime import datetime

        from tests.conftest import SH

        clock.set(datetime(2026, 9, 29, 10, 0, tzinfo=SH))  # Tuesday before the National Day holiday
        h.call(presence.sign_on, "W1", "s-li")
        h.call(queue.issue, "transcript")
        h.call(queue.call_next, "W1", "s-li")
        h.call(cases.complete, "W1", "s-li", "instant")
        clock.advance(seconds=20)
        res = h.call(ratings.press, "W1", 1)
        # 30 Sep, then 1–7 Oct holiday, Sat 10 Oct is a make-up working day: 30 Sep, 8 Oct, 9 Oct
        assert res["due"] == date(2026, 10, 9).isoformat()
        with pytest.raises(Invalid):
            h.call(ratings.press, "W1", 6)
        with pytest.raises(Refused):
            h.call(ratings.close_followup, res["followup"], "s-wang", "resolved", "")
    finally:
        h.stop()


def test_ratings_followup_separation_of_duties_over_http(hall, client, signed_on):
    """The rated staff member never closes their own bad rating's follow-up, and only the hall
    manager may find an appeal upheld (it takes the rating out of the assessment) [C 11(7)]."""
    li = signed_on("W1", "s-li")
    client.post("/api/tickets", json={"item": "transcript"})
    assert li.post("/api/windows/W1/call").status_code == 200
    assert li.post("/api/windows/W1/complete", json={"outcome": "instant"}).status_code == 200
    followup = hall.call(ratings.press, "W1", 1)["followup"]
    url = f"/api/followups/{followup}/close"
    r = li.post(url, json={"result": "appeal_upheld", "note": "访客误按"})
    assert r.status_code == 403 and r.json()["code"] == "own-rating"
    r = li.post(url, json={"result": "resolved", "note": "已回访"})
    assert r.status_code == 403 and r.json()["code"] == "own-rating"
    wang = signed_on("W2", "s-wang")
    r = wang.post(url, json={"result": "appeal_upheld", "note": "访客误按"})
    assert r.status_code == 403 and r.json()["code"] == "appeal-needs-manager"
    assert bodies(hall, "rating.followup_closed") == []  # nothing changed
    login_manager(client)
    r = client.post(url, json={"result": "appeal_upheld", "note": "核实为误评"})
    assert r.status_code == 200 and r.json()["result"] == "appeal_upheld"
    assert [b["by"] for b in bodies(hall, "rating.followup_closed")] == ["manager"]
