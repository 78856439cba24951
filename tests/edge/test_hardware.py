"""The device coordinator through the real boundaries: card frames written into a pty and read
by pyserial, buttons pressed and lamps read on MockFactory pins, the simulation endpoints over
HTTP. Device timing runs on the test clock (no sleeping for debounce or held cards)."""

from __future__ import annotations

import msgspec

from tests.conftest import login_manager, wait_until
from tests.edge.mockpins import mock_pin

LI = "0A00C3D2F1"  # 李明, A at W1


def kinds(hall, after: int = 0) -> list[str]:
    return [e.kind for e in hall.store.events(after, 1000)]


def bodies(hall, kind: str) -> list[dict]:
    return [msgspec.json.decode(e.body) for e in hall.store.events(0, 1000) if e.kind == kind]


def tap(hw, reader: str, card: str, variant: str = "normal") -> None:
    """Write a frame into the reader's pty and wait until its command committed."""
    before = hw.readers[reader].frames
    hw.sim_badge(reader, card, variant)
    if variant in ("normal", "clone", "crlf", "garbage"):
        wait_until(lambda: hw.readers[reader].frames > before, what=f"{reader} to read {card}")
    hw.drain()


def lamp(hw, window: str):
    pin = mock_pin(hw, hw.lamp_of[window])
    return pin.state


def test_hardware_hall_reader_frame_becomes_a_punch(hardware, device_hall):
    tap(hardware, "hall-reader", LI)
    punches = bodies(device_hall, "attendance.punch")
    assert len(punches) == 1
    assert punches[0]["staff"] == "s-li" and punches[0]["reader"] == "hall-reader" and punches[0]["card"] == LI
    assert hardware.last_read["hall-reader"]["result"] == "punch"


def test_hardware_clone_and_crlf_frames_punch_like_standard_ones(hardware, device_hall, clock):
    tap(hardware, "hall-reader", LI, "clone")
    clock.advance(minutes=2)
    tap(hardware, "hall-reader", LI, "crlf")
    assert len(bodies(device_hall, "attendance.punch")) == 2


def test_hardware_bad_frames_change_nothing(hardware, device_hall):
    before = device_hall.store.last_seq
    hardware.sim_badge("hall-reader", LI, "corrupt")
    hardware.readers["hall-reader"]  # the reader keeps going: the next good frame counts
    tap(hardware, "hall-reader", "0A00C3D2F2", "garbage")
    wait_until(lambda: hardware.readers["hall-reader"].rejected >= 1)
    assert kinds(device_hall, before) == ["attendance.unknown_card"]


def test_hardware_unknown_card_is_recorded_and_shown_never_an_error(hardware, device_hall, device_client):
    tap(hardware, "hall-reader", "1122334455")
    assert bodies(device_hall, "attendance.unknown_card") == [{"card": "1122334455", "reader": "hall-reader"}]
    assert hardware.last_read["hall-reader"]["message"] == "未登记的卡：1122334455"
    board = device_client.get("/api/display").json()
    assert any(a["kind"] == "unknown_card" and a["card"] == "1122334455" for a in board["alerts"])
    assert device_client.get("/api/health").status_code == 200


def test_hardware_held_card_punches_once(hardware, device_hall):
    before = hardware.readers["hall-reader"].frames
    hardware.sim_badge("hall-reader", LI)
    for _ in range(6):
        hardware.sim_badge("hall-reader", LI)
    wait_until(lambda: hardware.readers["hall-reader"].frames == before + 7)
    hardware.drain()
    assert len(bodies(device_hall, "attendance.punch")) == 1


def test_hardware_window_reader_signs_on_pauses_resumes_and_signs_off(hardware, device_hall, clock):
    tap(hardware, "w1-reader", LI)
    assert device_hall.store.window("W1").staff == "s-li"
    assert bodies(device_hall, "window.signed_on")[0]["via"] == "badge"
    clock.advance(minutes=5)
    tap(hardware, "w1-reader", LI)
    assert device_hall.store.window("W1").state == "paused"
    assert lamp(hardware, "W1") is True
    clock.advance(minutes=3)
    tap(hardware, "w1-reader", LI)
    assert device_hall.store.window("W1").state == "idle"
    assert lamp(hardware, "W1") is False
    clock.advance(minutes=60)
    tap(hardware, "w1-reader", LI)  # pause…
    clock.advance(seconds=3)
    tap(hardware, "w1-reader", LI)  # …and a second tap within seconds: sign off
    assert device_hall.store.window("W1").staff is None
    assert hardware.last_read["w1-reader"]["result"] == "signed_off"
    assert lamp(hardware, "W1") is False


def test_hardware_window_reader_refusal_is_shown_not_raised(hardware, device_hall):
    device_hall.call(lambda ctx: __import__("edge.presence").presence.sign_on(ctx, "W1", "s-zhao"))
    tap(hardware, "w1-reader", LI)
    shown = hardware.last_read["w1-reader"]
    assert shown["ok"] is False and "赵强" in shown["message"]
    assert device_hall.store.window("W1").staff == "s-zhao"


def test_hardware_window_reader_messages_show_on_the_console(hardware, device_hall, device_client):
    tap(hardware, "w1-reader", "7777777777")  # a card nobody holds
    html = device_client.get("/console/W1").text
    assert "刷卡：" in html and "未登记的卡：7777777777" in html  # the window's own reader message
    board = device_client.get("/api/display").json()["alerts"]  # the public board: no card number
    assert any(a["text"] == "未登记的卡：1号窗口读卡器" for a in board)
    hardware.sim_plug("w1-reader", False)
    wait_until(lambda: "device.fault" in kinds(device_hall))
    html = device_client.get("/console/W1").text
    assert "设备故障：1号窗口读卡器" in html  # as people know it, not the configuration id "w1-reader"
    board = device_client.get("/api/display").json()["alerts"]
    assert any(a["kind"] == "device" and a["text"] == "设备故障：1号窗口读卡器" and a["device"] == "w1-reader" for a in board)


def test_hardware_pause_button_lights_the_lamp_and_resumes(hardware, device_hall, clock):
    device_hall.call(lambda ctx: __import__("edge.presence").presence.sign_on(ctx, "W1", "s-li"))
    hardware.sim_drive("pause-W1", "press")
    hardware.drain()
    w = device_hall.store.window("W1")
    assert w.state == "paused" and lamp(hardware, "W1") is True
    assert bodies(device_hall, "window.paused")[0]["via"] == "button"
    clock.advance(seconds=1)
    hardware.sim_drive("pause-W1", "release")
    clock.advance(minutes=4)
    hardware.sim_drive("pause-W1", "press")
    hardware.drain()
    assert device_hall.store.window("W1").state == "idle" and lamp(hardware, "W1") is False


def test_hardware_bouncing_pause_button_toggles_once(hardware, device_hall):
    device_hall.call(lambda ctx: __import__("edge.presence").presence.sign_on(ctx, "W1", "s-li"))
    pin = mock_pin(hardware, "pause-W1")
    for _ in range(4):  # chatter at one instant of the test clock
        pin.drive_low()
        pin.drive_high()
    pin.drive_low()
    hardware.drain()
    assert kinds(device_hall).count("window.paused") == 1
    assert "window.resumed" not in kinds(device_hall)
    assert device_hall.store.window("W1").state == "paused"


def test_hardware_pause_button_at_a_closed_window_changes_nothing(hardware, device_hall):
    before = device_hall.store.last_seq
    hardware.sim_drive("pause-W2", "press")
    hardware.drain()
    assert device_hall.store.last_seq == before
    assert lamp(hardware, "W2") is False


def test_hardware_lamp_follows_pauses_from_the_console(hardware, device_hall, device_client):
    r = device_client.post("/api/windows/W2/sign-on", json={"staff": "s-wang", "pin": "1234"})
    assert r.status_code == 200
    assert device_client.post("/api/windows/W2/pause", json={"reason": "取材料"}).json()["lamp"] == "on"
    hardware.drain()
    assert lamp(hardware, "W2") is True
    device_client.post("/api/windows/W2/resume")
    hardware.drain()
    assert lamp(hardware, "W2") is False


def test_hardware_lamp_state_is_restored_from_the_log_at_start(device_hall):
    from edge import presence
    from edge.hardware import Hardware

    device_hall.call(lambda ctx: presence.sign_on(ctx, "W1", "s-li"))
    device_hall.call(lambda ctx: presence.pause(ctx, "W1", "s-li"))
    with Hardware(device_hall, simulate=True) as hw:
        assert mock_pin(hw, "lamp-W1").state is True


def test_hardware_unplugged_reader_is_a_fault_event_then_recovered(hardware, device_hall, device_client):
    hardware.sim_plug("hall-reader", False)
    wait_until(lambda: "device.fault" in kinds(device_hall), what="device.fault")
    fault = bodies(device_hall, "device.fault")[0]
    assert fault["device"] == "hall-reader" and fault["device_kind"] == "reader"
    board = device_client.get("/api/display").json()
    assert any(a["kind"] == "device" and a["device"] == "hall-reader" for a in board["alerts"])
    # the rest of the hall goes on: a pause button still works
    device_hall.call(lambda ctx: __import__("edge.presence").presence.sign_on(ctx, "W1", "s-li"))
    hardware.sim_drive("pause-W1", "press")
    hardware.drain()
    assert device_hall.store.window("W1").state == "paused"
    hardware.sim_plug("hall-reader", True)
    wait_until(lambda: "device.recovered" in kinds(device_hall), what="device.recovered")
    assert kinds(device_hall).count("device.fault") == 1
    tap(hardware, "hall-reader", LI)
    assert bodies(device_hall, "attendance.punch")
    devices = login_manager(device_client).get("/api/devices").json()
    assert {d["name"]: d["state"] for d in devices["recorded"]} == {"hall-reader": "ok"}
    assert any(d["name"] == "hall-reader" and d["state"] == "ok" for d in devices["live"])


def test_hardware_configured_port_is_opened_as_given(device_hall, tmp_path):
    """Outside simulation the reader opens the configured port: here a pty at that path."""
    from devices.frames import rdm6300_frame
    from devices.ptyport import PtyPort
    from edge.config import Devices, Reader
    from edge.hardware import Hardware

    port = PtyPort(tmp_path / "ttyUSB0")
    cfg = Devices(readers=[Reader(name="hall-reader", port=port.path)])
    try:
        with Hardware(device_hall, cfg) as hw:
            assert hw.wait_ready() and hw.readers["hall-reader"].state == "ok"
            port.write(rdm6300_frame(LI))
            wait_until(lambda: hw.readers["hall-reader"].cards == 1)
            hw.drain()
        assert bodies(device_hall, "attendance.punch")[0]["reader"] == "hall-reader"
    finally:
        port.close()


def test_hardware_missing_gpio_is_a_fault_and_readers_still_work(device_hall):
    from edge.hardware import Hardware

    with Hardware(device_hall, simulate=True, factory=_BrokenFactory()) as hw:
        hw.wait_ready()
        wait_until(lambda: "device.fault" in kinds(device_hall))
        assert bodies(device_hall, "device.fault")[0]["device"] == "gpio"
        tap(hw, "hall-reader", LI)
        assert bodies(device_hall, "attendance.punch")


class _BrokenFactory:
    """Stands in for a board without GPIO (gpiozero raises when a device asks for a pin)."""

    def reserve_pins(self, *a, **k):
        raise RuntimeError("no GPIO on this machine")

    def pin(self, *a, **k):
        raise RuntimeError("no GPIO on this machine")


# ---------------------------------------------------------------- the --simulate endpoints


def test_hardware_sim_pins_lists_every_pin_with_role_and_state(device_client):
    pins = {p["name"]: p for p in device_client.get("/api/sim/pins").json()}
    assert len(pins) == 15
    assert pins["lamp-W1"]["role"] == "lamp" and pins["lamp-W1"]["lamp"] == "off"
    assert pins["rate1-W1"]["role"] == "rating_button" and pins["rate1-W1"]["rating"] == 1
    assert pins["door-main"]["role"] == "door" and pins["door-main"]["active"] is False


def test_hardware_sim_press_over_http_lights_the_lamp(device_client, device_hall):
    device_client.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": "1234"})
    r = device_client.post("/api/sim/pins/pause-W1", json={"action": "press"})
    assert r.status_code == 200
    lamp_row = next(p for p in device_client.get("/api/sim/pins").json() if p["name"] == "lamp-W1")
    assert lamp_row["lamp"] == "on" and lamp_row["level"] == "high"
    assert device_client.get("/api/windows").json()[0]["lamp"] == "on"


def test_hardware_sim_bad_requests_are_refused_and_change_nothing(device_client, device_hall):
    before = device_hall.store.last_seq
    assert device_client.post("/api/sim/pins/nope", json={"action": "press"}).status_code == 404
    assert device_client.post("/api/sim/pins/pause-W1", json={"action": "wiggle"}).status_code == 400
    assert device_client.post("/api/sim/pins/lamp-W1", json={"action": "high"}).status_code == 409
    assert device_client.post("/api/sim/badge", json={"reader": "hall-reader", "card": "xyz"}).status_code == 400
    assert device_client.post("/api/sim/badge", json={"reader": "nope", "card": LI}).status_code == 404
    assert device_hall.store.last_seq == before


def test_hardware_sim_badge_endpoint_writes_a_frame_the_reader_reads(device_client, device_hall, hardware):
    r = device_client.post("/api/sim/badge", json={"reader": "hall-reader", "card": LI})
    assert r.status_code == 200 and r.json()["written"].startswith("02 30 41")
    wait_until(lambda: hardware.readers["hall-reader"].cards == 1)
    hardware.drain()
    assert bodies(device_hall, "attendance.punch")


def test_hardware_sim_endpoints_exist_only_with_simulate(client):
    assert client.get("/api/sim/pins").status_code == 404
    assert client.get("/sim").status_code == 404


# ---------------------------------------------------------------- the [devices] configuration


def _load(tmp_path, devices: str):
    from edge.config import load
    from tests.conftest import HALL_TOML

    p = tmp_path / "bad.toml"
    p.write_text(HALL_TOML + devices, encoding="utf-8")
    return load(p), p


import pytest  # noqa: E402


@pytest.mark.parametrize("devices, field, words", [
    ('[[devices.readers]]\nname = "r"\nport = "/dev/x"\nrole = "window"\n', "$.devices.readers[0].window", "needs"),
    ('[[devices.readers]]\nname = "r"\nport = "/dev/x"\nrole = "window"\nwindow = "W9"\n', "$.devices.readers[0].window", "unknown window"),
    ('[[devices.readers]]\nname = "r"\nport = "/dev/x"\nprotocol = "wiegand"\n', "$.devices.readers[0].protocol", "Invalid enum value"),
    ('[[devices.readers]]\nname = "r"\nport = "/dev/x"\n[[devices.readers]]\nname = "s"\nport = "/dev/x"\n', "$.devices.readers[1].port", "used by"),
    ('[devices.pins]\nl = { pin = 99, role = "lamp", window = "W1" }\n', "$.devices.pins.l.pin", "not a GPIO pin"),
    ('[devices.pins]\nl = { pin = "GPIO17", role = "lamp", window = "W1" }\nm = { pin = 17, role = "door" }\n', "$.devices.pins.m.pin", "already used"),
    ('[devices.pins]\nr = { pin = 5, role = "rating_button", window = "W1" }\n', "$.devices.pins.r.level", "needs its level"),
    ('[devices.pins]\nr = { pin = 5, role = "rating_button", window = "W1", level = 6 }\n', "$.devices.pins.r.level", "<= 5"),
    ('[devices.pins]\nd = { pin = 5, role = "door", window = "W1" }\n', "$.devices.pins.d.window", "belongs to the hall"),
    ('[devices.pins]\nl = { pin = 5, role = "lamp" }\n', "$.devices.pins.l.window", "belongs to a window"),
    ('[devices.pins]\na = { pin = 5, role = "lamp", window = "W1" }\nb = { pin = 6, role = "lamp", window = "W1" }\n', "$.devices.pins.b", "already has"),
    ('[devices.pins]\nl = { pin = 5, role = "siren" }\n', "$.devices.pins.l.role", "Invalid enum value"),
    ('[devices]\ndebounce = 5\n', "$.devices", "unknown field"),
    ('[devices.pins]\nl = { pin = 5, role = "lamp", window = "W1", board = "b1" }\n', "$.devices.pins.l.board",
     "unknown board"),
    ('[devices.boards.b1]\nhost = "10.0.0.9"\n[devices.pins]\nl = { pin = 5, role = "lamp", window = "W1", board = "b1" }\n'
     'p = { pin = "GPIO5", role = "pause_button", window = "W1", board = "b1" }\n', "$.devices.pins.p.pin",
     "of board 'b1' is already used"),
    ('[devices.boards.b1]\nhost = ""\n', "$.devices.boards", "length"),
])
def test_hardware_config_errors_name_the_file_and_the_field(tmp_path, devices, field, words):
    from edge.config import ConfigError

    with pytest.raises(ConfigError) as e:
        _load(tmp_path, "\n" + devices)
    text = str(e.value)
    assert str(tmp_path / "bad.toml") in text and field in text and words in text, text


def test_hardware_config_example_hall_has_devices():
    """config/halls/north-student.toml carries a complete [devices] section, and it loads."""
    from pathlib import Path

    from edge.config import load

    cfg = load(Path(__file__).parents[2] / "config" / "halls" / "north-student.toml")
    # a hall reader and one per window (9); 7 lines per window plus 2 doors and 4 power inputs
    assert len(cfg.devices.readers) == 10 and len(cfg.devices.pins) == 9 * 7 + 6
    assert set(cfg.devices.boards) == {"counter-a", "counter-b", "counter-c"}


def test_hardware_projections_rebuild_from_the_log(hardware, device_hall, clock):
    """Punches, leave, sessions, step-aways, ratings, follow-ups, closing and device states are
    derived state: replaying the log gives them back."""
    from edge import attendance, cases, closing, presence, queue, ratings
    from edge import views

    tap(hardware, "hall-reader", LI)
    tap(hardware, "hall-reader", "FFFFFFFFFF")
    device_hall.call(attendance.request_leave, "s-wang", "sick", device_hall.ctx.today(), device_hall.ctx.today(),
                     "pm", "pm", "发烧", True)
    tap(hardware, "w1-reader", LI)
    device_hall.call(queue.issue, "transcript")
    device_hall.call(queue.call_next, "W1", "s-li")
    device_hall.call(cases.complete, "W1", "s-li", "instant")
    device_hall.call(ratings.press, "W1", 1)
    device_hall.call(presence.pause, "W1", "s-li")
    clock.advance(minutes=20)
    hardware.tick()
    hardware.sim_plug("hall-reader", False)
    wait_until(lambda: "device.fault" in kinds(device_hall))
    device_hall.call(closing.check, hardware.sensors(), "manager", True)

    def snapshot(ctx):
        return (attendance.day_report(ctx), views.step_aways(ctx, None), ratings.summary(ctx),
                [ratings.followup_brief(ctx, f) for f in ctx.store.followups()], closing.state(ctx), views.devices(ctx),
                [attendance.leave_brief(ctx, lv) for lv in ctx.store.leaves()],
                ctx.store.sessions(0, 2**62))

    before = device_hall.call(snapshot)
    device_hall.call(lambda ctx: ctx.store.rebuild())
    assert device_hall.call(snapshot) == before
