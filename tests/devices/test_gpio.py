"""GPIO lines on gpiozero's MockFactory: buttons pressed (and bouncing), lamps read back,
door and power inputs debounced."""

from __future__ import annotations

import pytest

from devices.gpio import GpioBoard, PinDef, mock_factory
from tests.conftest import wait_until


@pytest.fixture
def board(clock):
    """The board's debounce runs on the manual clock's monotonic seconds, as edge.hardware
    hands it the hall's clock; the test moves it with `clock.advance`."""
    presses: list[str] = []
    changes: list[tuple[str, bool]] = []
    faults: list[tuple[str, str]] = []
    b = GpioBoard(
        [PinDef("lamp", 17, "lamp"), PinDef("pause", "GPIO27", "pause_button"), PinDef("rate5", 5, "rating_button"),
         PinDef("door", 24, "door"), PinDef("light", 25, "power"), PinDef("sense", 16, "power", pull_up=False)],
        factory=mock_factory(), debounce=0.05, blink=0.01, ticks=lambda: clock.monotonic() / 1e9,
        on_press=presses.append, on_input=lambda n, v: changes.append((n, v)),
        on_fault=lambda d, m: faults.append((d, m)),
    )
    b.open()
    b.presses_seen, b.changes, b.faults = presses, changes, faults  # type: ignore[attr-defined]
    yield b
    b.close()


def test_gpio_button_press_calls_back_once(board, clock):
    pin = board.factory.pin(27)  # the MockPin of "GPIO27"
    board.drive("pause", "press")
    assert pin.state is False  # pressed: pulled LOW against the pull-up
    clock.advance(seconds=0.2)
    board.drive("pause", "release")
    assert board.presses_seen == ["pause"]
    assert pin.state is True  # released: HIGH again


def test_gpio_bouncing_button_counts_once(board, clock):
    pin = board.factory.pin(27)
    # contact chatter within a millisecond: low high low high low
    for _ in range(3):
        pin.drive_low()
        pin.drive_high()
    pin.drive_low()
    assert board.presses_seen == ["pause"]
    clock.advance(seconds=0.3)
    pin.drive_high()  # released…
    pin.drive_low()  # …release chatter: not a press
    pin.drive_high()
    assert board.presses_seen == ["pause"]
    clock.advance(seconds=0.5)
    pin.drive_low()  # a real second press
    assert board.presses_seen == ["pause", "pause"]


def test_gpio_short_tap_after_a_missed_release_still_counts(board, clock):
    board.drive("rate5", "press")
    clock.advance(seconds=0.01)
    board.drive("rate5", "release")  # released within the debounce time: ignored as chatter
    clock.advance(seconds=1.0)
    board.drive("rate5", "press")
    assert board.presses_seen == ["rate5", "rate5"]


def test_gpio_lamp_on_blink_off_is_read_on_the_mock_pin(board):
    pin = board.factory.pin(17)
    assert pin.state is False
    board.set_lamp("lamp", "on")
    assert pin.state is True and board.lamp("lamp") == "on"
    board.set_lamp("lamp", "blink")
    seen = set()
    wait_until(lambda: seen.add(pin.state) or len(seen) == 2, what="the lamp blinking")
    board.set_lamp("lamp", "off")
    assert pin.state is False and board.lamp("lamp") == "off"
    with pytest.raises(ValueError):
        board.set_lamp("lamp", "purple")


def test_gpio_door_and_power_read_their_settled_level(board, clock):
    assert board.inputs() == {"door": False, "light": False, "sense": False}
    board.drive("door", "press")  # contact closes (LOW with the pull-up): door closed
    board.drive("door", "release")  # chatter
    board.drive("door", "press")
    assert board.read("door") is False  # not settled yet
    clock.advance(seconds=0.1)
    assert board.read("door") is True
    board.drive("sense", "high")  # pull-down input: HIGH is active (power on)
    board.drive("light", "low")
    clock.advance(seconds=0.1)
    assert board.inputs() == {"door": True, "light": True, "sense": True}
    assert ("door", True) in board.changes


def test_gpio_lamps_cannot_be_driven_and_unknown_actions_are_refused(board):
    with pytest.raises(ValueError):
        board.drive("lamp", "press")
    with pytest.raises(ValueError):
        board.drive("door", "wiggle")
    with pytest.raises(KeyError):
        board.drive("nope", "press")


def test_gpio_states_list_every_pin_with_role_and_level(board):
    rows = {r["name"]: r for r in board.states()}
    assert set(rows) == {"lamp", "pause", "rate5", "door", "light", "sense"}
    assert rows["lamp"]["direction"] == "output" and rows["lamp"]["lamp"] == "off"
    assert rows["pause"]["level"] == "high" and rows["pause"]["active"] is False  # pull-up, not pressed
    assert rows["sense"]["level"] == "low"


def test_gpio_unusable_pin_is_a_fault_and_the_others_still_work():
    faults = []
    b = GpioBoard([PinDef("bad", "GPIO99", "door"), PinDef("lamp", 17, "lamp")], factory=mock_factory(),
                  on_fault=lambda d, m: faults.append((d, m)))
    b.open()
    try:
        assert b.state == "fault" and "bad" in b.errors
        assert faults and faults[0][0] == "gpio"
        b.set_lamp("lamp", "on")
        assert b.factory.pin(17).state is True
    finally:
        b.close()


def test_gpio_remote_boards_have_their_own_lines_and_an_unreachable_one_faults_alone():
    """Pins on `boards` (remote pigpio boards; MockFactory here) are separate lines from the
    node's header; a board that cannot be reached faults its pins only, and is tried once."""
    faults, attempts = [], []

    def unreachable():
        attempts.append(1)
        raise OSError("failed to connect to 10.0.0.9:8888")

    b = GpioBoard([PinDef("lamp", 17, "lamp"), PinDef("lamp-b", 17, "lamp", board="b"),
                   PinDef("pause-b", 27, "pause_button", board="b"),
                   PinDef("lamp-c", 17, "lamp", board="c"), PinDef("pause-c", 27, "pause_button", board="c")],
                  factory=mock_factory(), boards={"b": mock_factory, "c": unreachable},
                  on_fault=lambda d, m: faults.append((d, m)))
    b.open()
    try:
        assert set(b.errors) == {"lamp-c", "pause-c"} and "10.0.0.9:8888" in b.errors["lamp-c"]
        assert len(attempts) == 1 and len(faults) == 1
        b.set_lamp("lamp-b", "on")
        assert b.factories["b"].pin(17).state is True and b.factory.pin(17).state is False
        b.drive("pause-b", "press")
        assert b.factories["b"].pin(27).state is False  # active LOW on board b's own line
        assert {r["name"]: r["board"] for r in b.states()}["lamp-b"] == "b"
    finally:
        b.close()
