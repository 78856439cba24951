"""Stepping away (离岗): the lamp, the 15-minute rule on the injected clock, every interval
recorded with its start, end and whether it broke the limit."""

from __future__ import annotations

import msgspec

from edge import presence
from edge.housekeeping import tick
from tests.conftest import login_manager
from tests.edge.mockpins import mock_pin


def bodies(hall, kind: str) -> list[dict]:
    return [msgspec.json.decode(e.body) for e in hall.store.events(0, 1000) if e.kind == kind]


def lamp_pin(hw, window: str):
    return mock_pin(hw, hw.lamp_of[window])


def test_stepaway_short_pause_is_no_violation(hall, clock):
    """Stepping away within the limit, sign shown, is allowed [C 9(4)]."""
    hall.call(presence.sign_on, "W1", "s-li")
    hall.call(presence.pause, "W1", "s-li", "取材料")
    clock.advance(minutes=14, seconds=59)
    assert hall.call(tick)["violations"] == 0
    hall.call(presence.resume, "W1", "s-li")
    assert bodies(hall, "window.step_away_violation") == []
    assert bodies(hall, "window.resumed")[0] | {"via": None} == {
        "window": "W1", "staff": "s-li", "paused_seconds": 899, "via": None}


def test_stepaway_past_the_limit_becomes_one_violation(hall, clock):
    """Away past the limit counts as leaving the post without permission (擅自离岗) [C 9(4)]."""
    hall.call(presence.sign_on, "W1", "s-li")
    hall.call(presence.pause, "W1", "s-li")
    clock.advance(minutes=15)
    assert hall.call(tick)["violations"] == 0  # exactly at the limit: still allowed
    clock.advance(seconds=1)
    assert hall.call(tick)["violations"] == 1
    clock.advance(minutes=10)
    assert hall.call(tick)["violations"] == 0  # once per pause
    v = bodies(hall, "window.step_away_violation")
    assert len(v) == 1 and v[0]["window"] == "W1" and v[0]["staff"] == "s-li" and v[0]["limit_minutes"] == 15
    hall.call(presence.resume, "W1", "s-li")
    assert bodies(hall, "window.resumed")[0]["over_limit"] is True


def test_stepaway_limit_is_configurable(tmp_path, clock):
    """The step-away limit (15 minutes by default) is configuration [C 9(4)]."""
    from edge.config import load
    from edge.hall import Hall
    from tests.conftest import HALL_TOML, login_manager

    p = tmp_path / "h.toml"
    p.write_text(HALL_TOML.replace("rejoin_limit = 1\n", "rejoin_limit = 1\nstep_away_limit_minutes = 5\n"))
    h = Hall(load(p), tmp_path / "d", clock)
    h.start()
    try:
        h.call(presence.sign_on, "W1", "s-li")
        h.call(presence.pause, "W1", "s-li")
        clock.advance(minutes=5, seconds=1)
        assert h.call(tick)["violations"] == 1
    finally:
        h.stop()


def test_stepaway_every_interval_is_recorded(hall, client, clock):
    hall.call(presence.sign_on, "W1", "s-li")
    hall.call(presence.pause, "W1", "s-li", "倒水")
    clock.advance(minutes=3)
    hall.call(presence.resume, "W1", "s-li")
    clock.advance(minutes=30)
    hall.call(presence.pause, "W1", "s-li")
    clock.advance(minutes=20)
    hall.call(tick)
    clock.advance(minutes=1)
    hall.call(presence.sign_off, "W1", "s-li")  # signing off ends the step-away too
    rows = login_manager(client).get("/api/step-aways").json()
    assert [(r["seconds"], r["over_limit"], r["violation"]) for r in rows] == [(180, False, False), (1260, True, True)]
    assert rows[0]["start"] == "2026-11-23T09:00:00+08:00" and rows[0]["end"] == "2026-11-23T09:03:00+08:00"
    assert rows[0]["reason"] == "倒水"


def test_stepaway_violation_blinks_the_lamp_and_shows_on_console_and_display(hardware, device_hall, device_client, clock):
    assert device_client.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": "1234"}).status_code == 200
    hardware.sim_drive("pause-W1", "press")  # the pause button
    hardware.drain()
    pin = lamp_pin(hardware, "W1")
    assert pin.state is True and hardware.board.lamp("lamp-W1") == "on"
    clock.advance(minutes=16)
    hardware.tick()
    assert hardware.board.lamp("lamp-W1") == "blink"
    w = device_client.get("/api/windows").json()[0]
    assert w["lamp"] == "blink" and w["violation"] is True and w["over_limit"] is True
    board = device_client.get("/api/display").json()
    assert any(a["kind"] == "step_away" and a["window"] == "W1" for a in board["alerts"])
    assert "离岗超过 15 分钟" in device_client.get("/display").text
    assert "离岗超时" in device_client.get("/console/W1").text
    clock.advance(seconds=1)
    hardware.sim_drive("pause-W1", "release")
    clock.advance(seconds=1)
    hardware.sim_drive("pause-W1", "press")  # back
    hardware.drain()
    assert hardware.board.lamp("lamp-W1") == "off" and pin.state is False
    assert device_client.get("/api/windows").json()[0]["lamp"] == "off"


def test_stepaway_pause_takes_the_window_out_of_calling(hardware, device_hall, device_client):
    device_client.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": "1234"})
    device_client.post("/api/tickets", json={"department": "academic"})
    hardware.sim_drive("pause-W1", "press")
    hardware.drain()
    r = device_client.post("/api/windows/W1/call")
    assert r.status_code == 409 and r.json()["code"] == "window-paused"


def test_stepaway_pause_refused_while_serving_keeps_the_lamp_off(hardware, device_hall, device_client):
    device_client.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": "1234"})
    device_client.post("/api/tickets", json={"department": "academic"})
    device_client.post("/api/windows/W1/call")
    hardware.sim_drive("pause-W1", "press")
    hardware.drain()
    assert device_hall.store.window("W1").state == "serving"
    assert hardware.board.lamp("lamp-W1") == "off"
