"""GPIO simulator: drives the MockFactory pins of a hall in simulation.

Two drivers with one interface (`pins()`, `drive(name, action)`):
- `HardwareDriver(hardware)`: in process, on an `edge.hardware.Hardware` built with
  ``simulate=True``;
- `HttpDriver(base_url)`: a separate ``onestop-edge --simulate`` process, through
  ``GET /api/sim/pins`` and ``POST /api/sim/pins/{name}`` (INTERFACES.md). Any client with
  httpx's ``get``/``post`` may be passed (a Litestar TestClient in tests).

`GpioSimulator` speaks the hall's language on top: press a pause or rating button (by window
and level), open/close a door, switch a power input, read the lamps.
"""

from __future__ import annotations

from typing import Any

RATING_LEVELS = {"非常满意": 5, "满意": 4, "基本满意": 3, "不满意": 2, "非常不满意": 1}


class HardwareDriver:
    def __init__(self, hardware: Any) -> None:
        self.hw = hardware

    def pins(self) -> list[dict]:
        return self.hw.sim_pins()

    def drive(self, name: str, action: str) -> None:
        self.hw.sim_drive(name, action)
        self.hw.drain()


class HttpDriver:
    def __init__(self, base_url: str = "http://127.0.0.1:8100", client: Any = None) -> None:
        if client is None:
            import httpx

            client = httpx.Client(base_url=base_url, timeout=5.0)
        self.client = client

    def pins(self) -> list[dict]:
        r = self.client.get("/api/sim/pins")
        r.raise_for_status()
        return r.json()

    def drive(self, name: str, action: str) -> None:
        r = self.client.post(f"/api/sim/pins/{name}", json={"action": action})
        if r.status_code >= 400:
            raise ValueError(f"{name} {action}: {r.json().get('detail', r.status_code)}")


class GpioSimulator:
    def __init__(self, driver: HardwareDriver | HttpDriver, advance: Any = None) -> None:
        """`advance(seconds)`, when given, moves the hall's clock between a press and its
        release (in-process simulation on a manual clock: debounce runs on that clock)."""
        self.driver = driver
        self.advance = advance

    def _pin(self, role: str, window: str | None = None, level: int | None = None, name: str | None = None) -> str:
        for p in self.driver.pins():
            if name is not None and p["name"] == name:
                return p["name"]
            if name is None and p["role"] == role and p.get("window") == window and \
                    (level is None or p.get("rating") == level):
                return p["name"]
        raise KeyError(f"no {role} pin for window {window} level {level} name {name}")

    def press(self, name: str) -> None:
        self.driver.drive(name, "press")
        if self.advance:
            self.advance(0.2)
        self.driver.drive(name, "release")
        if self.advance:
            self.advance(0.2)

    def pause_button(self, window: str) -> None:
        self.press(self._pin("pause_button", window))

    def rate(self, window: str, level: int | str) -> None:
        lv = RATING_LEVELS[level] if isinstance(level, str) else level
        self.press(self._pin("rating_button", window, lv))

    def bounce(self, name: str, times: int = 5) -> None:
        """Contact chatter: press and release `times` times at once, ending pressed, then released."""
        for _ in range(times):
            self.driver.drive(name, "press")
            self.driver.drive(name, "release")
        self.driver.drive(name, "press")
        if self.advance:
            self.advance(0.5)
        self.driver.drive(name, "release")
        if self.advance:
            self.advance(0.5)

    def door(self, name: str, closed: bool) -> None:
        self.driver.drive(name, "press" if closed else "release")
        if self.advance:
            self.advance(0.2)

    def power(self, name: str, on: bool) -> None:
        self.driver.drive(name, "press" if on else "release")
        if self.advance:
            self.advance(0.2)

    def lamps(self) -> dict[str, str]:
        """Window → lamp mode (off, on, blink)."""
        return {p["window"]: p.get("lamp", "off") for p in self.driver.pins() if p["role"] == "lamp"}
