"""The closing check on the injected clock with door contacts and power-sense inputs on
MockFactory pins: passes, alarms repeated until it passes, waits for the last service."""

from __future__ import annotations

from datetime import datetime

import msgspec

from edge import cases, presence, queue
from tests.conftest import SH, login_manager
from tests.edge.mockpins import mock_pin

DOORS = ("door-main", "door-back")


def at(h: int, m: int = 0) -> datetime:
    return datetime(2026, 11, 23, h, m, tzinfo=SH)


def bodies(hall, kind: str) -> list[dict]:
    return [msgspec.json.decode(e.body) for e in hall.store.events(0, 1000) if e.kind == kind]


def close_all(hw, clock) -> None:
    for d in DOORS:
        hw.sim_drive(d, "press")  # the contact closes
    clock.advance(seconds=1)  # settled (debounce)


def tick_at(hw, clock, when: datetime) -> dict:
    clock.set(when)
    return hw.tick()["closing"]


def test_closing_passes_once_everything_is_closed_after_the_service_ends(hardware, device_hall, clock):
    """At the end of the day doors are shut and power is off [J 42, U 31, B 39]."""
    device_hall.call(presence.sign_on, "W1", "s-li")
    close_all(hardware, clock)
    assert tick_at(hardware, clock, at(16, 0))["status"] == "waiting"  # still open: no check
    assert bodies(device_hall, "closing.checked") == []
    clock.set(at(16, 40))
    device_hall.call(presence.sign_off, "W1", "s-li")
    state = tick_at(hardware, clock, at(16, 41))
    assert state["status"] == "passed" and state["closer"] == "s-li" and state["closer_name"] == "李明"
    checked = bodies(device_hall, "closing.checked")
    assert checked == [{"service_date": "2026-11-23", "ok": True, "closer": "s-li"}]
    tick_at(hardware, clock, at(17, 30))
    assert len(bodies(device_hall, "closing.checked")) == 1  # done for the day


def test_closing_door_left_open_alarms_at_the_deadline_and_repeats_until_it_passes(hardware, device_hall, device_client, clock):
    """A door left open at closing alarms until it is shut [J 42, U 31, B 39]."""
    hardware.sim_drive("door-main", "press")  # the back door stays open
    clock.advance(seconds=1)
    assert tick_at(hardware, clock, at(16, 45))["status"] == "due"  # 30 minutes to close up
    assert bodies(device_hall, "closing.alarm") == []
    state = tick_at(hardware, clock, at(17, 0))
    assert state["status"] == "alarm"
    checked = bodies(device_hall, "closing.checked")
    assert checked[0]["ok"] is False
    assert checked[0]["failed"] == [{"name": "door-back", "role": "door", "label": "后门", "state": "open"}]
    assert [a["repeat"] for a in bodies(device_hall, "closing.alarm")] == [1]
    tick_at(hardware, clock, at(17, 3))
    assert len(bodies(device_hall, "closing.alarm")) == 1
    tick_at(hardware, clock, at(17, 5))
    tick_at(hardware, clock, at(17, 10))
    assert [a["repeat"] for a in bodies(device_hall, "closing.alarm")] == [1, 2, 3]
    board = device_client.get("/api/display").json()
    assert any(a["kind"] == "closing" and "后门未关闭" in a["text"] for a in board["alerts"])
    assert login_manager(device_client).get("/api/closing").json()["alarms"] == 3
    hardware.sim_drive("door-back", "press")
    clock.advance(seconds=1)
    state = tick_at(hardware, clock, at(17, 12))
    assert state["status"] == "passed"
    tick_at(hardware, clock, at(17, 30))
    assert len(bodies(device_hall, "closing.alarm")) == 3
    assert [c["ok"] for c in bodies(device_hall, "closing.checked")] == [False, True]
    assert not any(a["kind"] == "closing" for a in device_client.get("/api/display").json()["alerts"])


def test_closing_power_left_on_is_named(hardware, device_hall, clock):
    """Power left on at closing is named [J 42, U 31, B 39]."""
    close_all(hardware, clock)
    hardware.sim_drive("light-hall", "press")  # lights still on
    hardware.sim_drive("printers", "press")
    clock.advance(seconds=1)
    tick_at(hardware, clock, at(17, 0))
    failed = bodies(device_hall, "closing.checked")[0]["failed"]
    assert [(f["name"], f["state"]) for f in failed] == [("light-hall", "on"), ("printers", "on")]


def test_closing_waits_for_the_last_service(hardware, device_hall, clock):
    clock.set(at(16, 20))
    device_hall.call(presence.sign_on, "W1", "s-li")
    device_hall.call(queue.issue, "transcript")
    device_hall.call(queue.call_next, "W1", "s-li")
    assert tick_at(hardware, clock, at(17, 5))["status"] == "waiting"  # extended service (延时服务)
    assert bodies(device_hall, "closing.checked") == []
    clock.set(at(17, 10))
    device_hall.call(cases.complete, "W1", "s-li", "instant")
    assert tick_at(hardware, clock, at(17, 30))["status"] == "due"  # 30 minutes after the last service
    assert tick_at(hardware, clock, at(17, 40))["status"] == "alarm"


def test_closing_open_numbers_do_not_hold_it_back_forever(hardware, device_hall, clock):
    clock.set(at(16, 20))
    device_hall.call(queue.issue, "transcript")  # a visitor who left without being served
    assert tick_at(hardware, clock, at(18, 0))["status"] == "waiting"
    assert tick_at(hardware, clock, at(18, 31))["status"] == "alarm"  # 120 min extension + 30


def test_closing_bouncing_door_contact_reads_its_settled_state(hardware, device_hall, clock):
    close_all(hardware, clock)
    pin = mock_pin(hardware, "door-back")
    clock.set(at(16, 59))
    pin.drive_high()  # the door swings: the contact chatters and ends open
    pin.drive_low()
    pin.drive_high()
    assert [s.active for s in hardware.sensors() if s.name == "door-back"] == [True]  # not settled yet
    clock.advance(seconds=1)
    tick_at(hardware, clock, at(17, 1))
    assert bodies(device_hall, "closing.checked")[0]["failed"][0]["name"] == "door-back"


def test_closing_manual_check_over_http_records_who_asked(device_client, hardware, device_hall, clock):
    clock.set(at(15, 0))
    assert device_client.post("/api/closing/check").status_code == 401
    device_client.post("/manage/login", data={"manager": "manager", "password": "admin123"})
    r = device_client.post("/api/closing/check")
    assert r.status_code == 200 and r.json()["status"] == "failed"
    checked = bodies(device_hall, "closing.checked")[0]
    assert checked["by"] == "manager" and {f["name"] for f in checked["failed"]} == set(DOORS)


def test_closing_without_sensors_checks_nothing(hall, clock):
    from edge.housekeeping import tick

    clock.set(at(18, 0))
    assert hall.call(tick)["closing"]["state"] == "no-sensors"
    assert [e.kind for e in hall.store.events(0, 100)] == []


def test_closing_without_sensors_asks_for_a_manual_check(client, clock):
    """A hall with no door/power inputs never shows an automatic check as pending forever."""
    clock.set(at(17, 30))
    body = login_manager(client).get("/api/closing").json()
    assert body["status"] == "manual" and "人工检查" in body["status_label"]


def test_closing_state_with_sensors_is_pending_until_checked(device_client, hardware, clock):
    clock.set(at(16, 35))
    assert login_manager(device_client).get("/api/closing").json()["status"] in ("due", "waiting")


def test_closing_state_goes_into_the_status_central_shows(hardware, device_hall, clock, hall):
    """The status the hall publishes (edge.syncing.HallSource.status) carries today's closing
    check: alarming with the door named; a hall without door/power inputs says manual."""
    from edge.syncing import HallSource

    clock.set(at(16, 0))
    hardware.sim_drive("door-main", "press")  # the main door is shut, the back door left open
    clock.advance(seconds=1)
    tick_at(hardware, clock, at(17, 30))
    st = HallSource(device_hall).status()["closing"]
    assert (st["service_date"], st["status"], st["alarms"]) == ("2026-11-23", "alarm", 1)
    assert st["failed"] == ["后门"] and st["label"] == "报警中"
    assert HallSource(hall).status()["closing"]["status"] == "manual"
