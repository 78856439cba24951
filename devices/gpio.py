"""The hall's GPIO lines (gpiozero): service-paused lamps, rating lamps, pause and rating
buttons, door contacts and power-sense inputs.

Devices are built over a pin factory as gpiozero does it: on a Raspberry Pi the default one
(`factory=None`), in tests and ``--simulate`` a `MockFactory`, whose input pins are driven with
`drive_low()`/`drive_high()` (see `GpioBoard.drive`) and whose output states can be read back.

Debounce is done here, the same for every factory (gpiozero's `MockPin` does not implement
`bounce_time`): an edge counts when the level before it had been stable for at least
`debounce` seconds, so the first edge of a press counts at once (no added latency) and the
contact's chatter that follows is ignored. Inputs (doors, power) read as their last level that
held for `debounce` seconds. Time comes from `ticks` (seconds, monotonic), injectable so tests
move it by hand.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

log = logging.getLogger("onestop.devices")

LAMP_MODES = ("off", "on", "blink")
OUTPUT_ROLES = ("lamp", "rating_lamp")  # lamps: LEDs driven by the hall
INPUT_ROLES = ("pause_button", "rating_button", "door", "power")
BUTTON_ROLES = ("pause_button", "rating_button")


@dataclass(frozen=True)
class PinDef:
    name: str
    pin: int | str
    role: str  # lamp | rating_lamp | pause_button | rating_button | door | power
    board: str = ""  # a remote board's name (GpioBoard's `boards`); "": the default factory
    pull_up: bool = True  # inputs: active LOW with the pull-up, else active HIGH with a pull-down
    active_high: bool = True  # lamps


class _Line:
    """Debounce state of one input line."""

    def __init__(self, active: bool) -> None:
        self.raw = active
        self.stable = active
        self.last_edge = float("-inf")

    def edge(self, active: bool, now: float, debounce: float) -> bool:
        """Record an edge; returns whether it counts (the previous level was stable)."""
        counts = now - self.last_edge >= debounce
        if counts:
            self.stable = self.raw
        self.raw = active
        self.last_edge = now
        return counts and active != self.stable

    def value(self, now: float, debounce: float) -> bool:
        return self.raw if now - self.last_edge >= debounce else self.stable


def mock_factory():
    """A gpiozero MockFactory (a Raspberry Pi 3B's header, pins GPIO0–27)."""
    from gpiozero.pins.mock import MockFactory

    return MockFactory()


# `[devices] pin_factory` (docs/configuration.md): the hall node's own header. "auto" is gpiozero's
# own choice (lgpio, then RPi.GPIO, pigpio, native; or $GPIOZERO_PIN_FACTORY). Each named one:
# (gpiozero module, class, the library it needs, how to install that library).
PIN_FACTORIES: dict[str, tuple[str, str, str, str]] = {
    "lgpio": ("gpiozero.pins.lgpio", "LGPIOFactory", "lgpio",
              "apt install python3-lgpio (or, in a venv without system packages, pip install lgpio)"),
    "rpigpio": ("gpiozero.pins.rpigpio", "RPiGPIOFactory", "RPi.GPIO",
                "apt install python3-rpi.gpio (or pip install RPi.GPIO); on a Pi 5 use pin_factory = \"lgpio\""),
    "native": ("gpiozero.pins.native", "NativeFactory", "", ""),
    "mock": ("gpiozero.pins.mock", "MockFactory", "", ""),
}
PIN_FACTORY_NAMES = ("auto", *PIN_FACTORIES)


class PinFactoryError(Exception):
    """A configured pin factory that cannot be made. `str()` is one line; `fix` says what to do."""

    def __init__(self, name: str, problem: str, fix: str) -> None:
        super().__init__(f"GPIO pin factory {name!r}: {problem}")
        self.name, self.problem, self.fix = name, problem, fix


def make_factory(name: str) -> Any:
    """The pin factory `name` of `PIN_FACTORY_NAMES`; None for "auto" (gpiozero makes its default
    one at the first device). Raises PinFactoryError (one line and the fix) when its library is
    missing or it cannot open the pins; never a traceback for that."""
    if name == "auto":
        return None
    if name not in PIN_FACTORIES:
        raise PinFactoryError(name, "unknown", f"pin_factory is one of {', '.join(PIN_FACTORY_NAMES)}")
    module, cls, library, fix = PIN_FACTORIES[name]
    try:
        factory_class = getattr(importlib.import_module(module), cls)
        return factory_class()
    except ImportError as e:  # the module imports its library at the top, some in __init__
        missing = library or getattr(e, "name", None) or str(e)
        raise PinFactoryError(name, f"the {missing} library is not installed ({e})",
                              fix or f"install {missing}") from None
    except Exception as e:  # noqa: BLE001 - gpiozero raises many kinds: no chip, no permission, not a Pi
        raise PinFactoryError(name, f"cannot open the GPIO pins: {type(e).__name__}: {e}",
                              "run on a Raspberry Pi as a member of the gpio group, or set [devices] "
                              "pin_factory = \"auto\"") from None


def remote_factory(host: str, port: int = 8888):
    """gpiozero's remote GPIO: the pins of a Raspberry Pi running `pigpiod` at host:port."""
    from gpiozero.pins.pigpio import PiGPIOFactory

    return PiGPIOFactory(host=host, port=port)


class GpioBoard:
    def __init__(
        self,
        pins: list[PinDef],
        *,
        factory: Any = None,
        debounce: float = 0.05,
        blink: float = 0.5,
        on_press: Callable[[str], None] | None = None,
        on_input: Callable[[str, bool], None] | None = None,
        on_fault: Callable[[str, str], None] | None = None,
        ticks: Callable[[], float] = time.monotonic,
        boards: dict[str, Callable[[], Any]] | None = None,
        pin_factory: str = "auto",
    ) -> None:
        """`boards`: name → a function making the pin factory of that board (e.g.
        `remote_factory`, or `mock_factory` in simulation), called once, in `open`.
        `pin_factory`: when `factory` is None, the one of `PIN_FACTORY_NAMES` to make in `open`
        for the node's own header ("auto": gpiozero's default)."""
        self.defs = {p.name: p for p in pins}
        self.factory = factory
        self.pin_factory = pin_factory
        self.factory_error: PinFactoryError | None = None  # the configured factory could not be made
        self._own_factory = False
        self.boards = dict(boards or {})
        self.factories: dict[str, Any] = {}  # the boards' factories, once made
        self._board_errors: dict[str, Exception] = {}
        self.debounce = debounce
        self.blink_seconds = blink
        self._on_press = on_press
        self._on_input = on_input
        self._on_fault = on_fault
        self._ticks = ticks
        self._lock = threading.RLock()
        self._devices: dict[str, Any] = {}
        self._lines: dict[str, _Line] = {}
        self._lamps: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self.presses = 0

    # ------------------------------------------------------------ lifecycle

    def open(self) -> None:
        """Build every device. A pin that cannot be set up is reported (fault) and left out;
        the others work."""
        from gpiozero import LED, DigitalInputDevice

        if self.factory is None and self.pin_factory != "auto" and self.factory_error is None:
            try:
                self.factory = make_factory(self.pin_factory)
                self._own_factory = True
            except PinFactoryError as e:  # one line (here and in the fault), the header's pins off
                self.factory_error = e
                log.error("gpio: %s; fix: %s", e, e.fix)
        for name, d in self.defs.items():
            if self.factory_error is not None and not d.board:
                self.errors[name] = str(self.factory_error)
                continue
            try:
                factory = self._factory(d.board)
                if d.role in OUTPUT_ROLES:
                    dev = LED(d.pin, active_high=d.active_high, initial_value=False, pin_factory=factory)
                    self._lamps[name] = "off"
                else:
                    # buttons too: gpiozero's Button adds a hold-polling thread per button (its
                    # close waits for that thread's poll; a hall has ~60 buttons) and nothing here
                    # uses hold; presses are the activation edges, debounced above
                    dev = DigitalInputDevice(d.pin, pull_up=d.pull_up, bounce_time=None, pin_factory=factory)
                    self._lines[name] = _Line(bool(dev.is_active))
                    dev.when_activated = self._edge_handler(name, True)
                    dev.when_deactivated = self._edge_handler(name, False)
            except Exception as e:  # noqa: BLE001 - gpiozero raises many kinds; all mean "no such line"
                self.errors[name] = f"{type(e).__name__}: {e}"
                log.error("gpio %s (%s) unavailable: %s", name, d.pin, e)
                continue
            self._devices[name] = dev
        if self.errors and self._on_fault is not None:
            lines = "; ".join(f"{n}: {m}" for n, m in self.errors.items() if n not in self._factory_failed())
            if self.factory_error is not None:
                lines = "; ".join(x for x in (f"{self.factory_error} ({self.factory_error.fix})", lines) if x)
            try:
                self._on_fault("gpio", f"GPIO 引脚不可用: {lines}")
            except Exception:  # noqa: BLE001
                log.exception("gpio fault callback failed")

    def _factory(self, board: str) -> Any:
        """The pin factory of `board` ("": the default one); a board that cannot be reached
        fails each of its pins with the same error (made once)."""
        if not board:
            return self.factory
        if board in self.factories:
            return self.factories[board]
        if board in self._board_errors:
            raise self._board_errors[board]
        make = self.boards.get(board)
        try:
            if make is None:
                raise KeyError(f"no GPIO board named {board!r}")
            self.factories[board] = make()
        except Exception as e:  # noqa: BLE001 - an unreachable board: its pins fault, the rest works
            self._board_errors[board] = e
            raise
        return self.factories[board]

    def _factory_failed(self) -> set[str]:
        """The pins that are off because the configured pin factory could not be made."""
        return {n for n, d in self.defs.items() if not d.board} if self.factory_error is not None else set()

    def close(self) -> None:
        with self._lock:
            devices, self._devices = self._devices, {}
            factories, self.factories = self.factories, {}
            if self._own_factory and self.factory is not None:
                factories[""], self.factory, self._own_factory = self.factory, None, False
        for dev in devices.values():
            try:
                dev.close()  # stops a blinking lamp's thread too
            except Exception:  # noqa: BLE001
                log.exception("closing a gpio device failed")
        for board, factory in factories.items():
            try:
                factory.close()  # a remote board's connection
            except Exception:  # noqa: BLE001
                log.exception("closing gpio board %s failed", board)

    @property
    def state(self) -> str:
        return "fault" if self.errors else "ok"

    def factory_name(self) -> str:
        """The class name of the pin factory the open devices use (e.g. "LGPIOFactory",
        "MockFactory"); "" when none could be made (onestop-edge doctor)."""
        with self._lock:
            found = next((getattr(d, "pin_factory", None) for d in self._devices.values()), None) or self.factory
        return type(found).__name__ if found is not None else ""

    # ------------------------------------------------------------ inputs

    def _edge_handler(self, name: str, active: bool) -> Callable[[], None]:
        def handle() -> None:
            self._edge(name, active)

        return handle

    def _edge(self, name: str, active: bool) -> None:
        role = self.defs[name].role
        with self._lock:
            line = self._lines.get(name)
            if line is None:
                return
            counts = line.edge(active, self._ticks(), self.debounce)
        if not counts:
            return
        try:
            if role in BUTTON_ROLES:
                if active:
                    self.presses += 1
                    if self._on_press is not None:
                        self._on_press(name)
            elif self._on_input is not None:
                self._on_input(name, active)
        except Exception:  # noqa: BLE001 - a callback never breaks the pin's thread
            log.exception("gpio callback for %s failed", name)

    def read(self, name: str) -> bool:
        """Whether input `name` is active (door closed / power on / button held), debounced."""
        with self._lock:
            line = self._lines.get(name)
            if line is None:
                raise KeyError(f"no working input named {name!r}")
            return line.value(self._ticks(), self.debounce)

    def inputs(self, roles: tuple[str, ...] = ("door", "power")) -> dict[str, bool]:
        """Debounced values of the working inputs with these roles."""
        return {n: self.read(n) for n, d in self.defs.items() if d.role in roles and n in self._lines}

    # ------------------------------------------------------------ lamps

    def set_lamp(self, name: str, mode: str) -> None:
        if mode not in LAMP_MODES:
            raise ValueError(f"lamp mode is one of {LAMP_MODES}, got {mode!r}")
        with self._lock:
            dev = self._devices.get(name)
            if dev is None or self.defs[name].role not in OUTPUT_ROLES:
                return
            if self._lamps.get(name) == mode:
                return
            if mode == "on":
                dev.on()
            elif mode == "off":
                dev.off()
            else:
                dev.blink(on_time=self.blink_seconds, off_time=self.blink_seconds, background=True)
            self._lamps[name] = mode

    def lamp(self, name: str) -> str:
        return self._lamps.get(name, "off")

    # ------------------------------------------------------------ simulation and health

    def drive(self, name: str, action: str) -> None:
        """Drive an input of a MockFactory pin: ``press``/``release`` (to the active/inactive
        level) or ``high``/``low`` (electrically). Raises KeyError, ValueError or TypeError."""
        d = self.defs.get(name)
        if d is None:
            raise KeyError(f"no pin named {name!r}")
        if d.role in OUTPUT_ROLES:
            raise ValueError(f"{name} is a lamp (an output): it cannot be driven")
        dev = self._devices.get(name)
        if dev is None:
            raise ValueError(f"{name} is not working: {self.errors.get(name, 'not set up')}")
        pin = dev.pin
        if not hasattr(pin, "drive_low"):
            raise TypeError("only simulated (MockFactory) pins can be driven")
        if action in ("press", "release"):
            active = action == "press"
            high = active != d.pull_up  # pull-up: active LOW
        elif action in ("high", "low"):
            high = action == "high"
        else:
            raise ValueError(f"action is press, release, high or low, got {action!r}")
        if high:
            pin.drive_high()
        else:
            pin.drive_low()

    def states(self) -> list[dict]:
        out = []
        for name, d in self.defs.items():
            dev = self._devices.get(name)
            row: dict[str, Any] = {"name": name, "pin": d.pin, "board": d.board or None, "role": d.role,
                                   "direction": "output" if d.role in OUTPUT_ROLES else "input",
                                   "ok": dev is not None, "error": self.errors.get(name, "")}
            if dev is not None:
                try:
                    row["level"] = "high" if dev.pin.state else "low"
                except Exception:  # noqa: BLE001
                    row["level"] = None
                if d.role in OUTPUT_ROLES:
                    row["lamp"] = self.lamp(name)
                    row["active"] = row["lamp"] != "off"
                    row["lit"] = bool(dev.value)
                else:
                    row["active"] = self.read(name)
            out.append(row)
        return out
