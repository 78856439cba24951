"""Injected clocks.

Domain code never reads the time itself: it is handed a `Clock`. Three kinds exist:

- `SystemClock`: the machine's wall clock (freezegun can freeze it in tests);
- `SimClock`: a simulated clock starting at any instant and running `speed` times faster than
  real time (``--clock-start`` / ``--clock-speed``);
- `ManualClock`: a clock that only moves when told to (unit tests).

Every clock also answers `monotonic()` (nanoseconds, for event ordering within one boot), a
`boot` id (a new random id each time the process starts) and `quality`, which says whether the
wall time can be trusted: ``synced`` (NTP or central's beacon confirmed it), ``unverified``
(nothing has confirmed it yet: a Pi without an RTC after a power cut), or ``simulated``.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

UTC = timezone.utc


def _new_boot_id() -> str:
    return uuid.uuid4().hex[:16]


class Clock:
    """Base clock: subclasses provide `now()`; everything else derives from it."""

    quality: str = "unverified"

    def __init__(self) -> None:
        self.boot = _new_boot_id()

    def now(self) -> datetime:  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must implement now()")

    def monotonic(self) -> int:
        """Nanoseconds since an arbitrary point, never going backwards within one boot."""
        return time.monotonic_ns()

    def micros(self) -> int:
        """Wall time as integer microseconds since the Unix epoch (UTC)."""
        return to_micros(self.now())

    def describe(self) -> dict:
        return {"now": self.now().isoformat(), "quality": self.quality, "boot": self.boot}


class SystemClock(Clock):
    """The machine's clock. `quality` starts as configured (``unverified`` on a Pi without RTC)."""

    def __init__(self, quality: str = "unverified") -> None:
        super().__init__()
        self.quality = quality
        self.offset_us = 0  # added to the machine's clock once the true time is known

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(microseconds=self.offset_us)

    def correct(self, offset_us: int) -> None:
        """The true time is now + offset: from here on the clock reads true and is `synced`."""
        self.offset_us += offset_us
        self.quality = "synced"


class SimClock(Clock):
    """Simulated time: starts at `start` and runs `speed` times real time."""

    quality = "simulated"

    def __init__(self, start: datetime, speed: float = 1.0) -> None:
        super().__init__()
        if start.tzinfo is None:
            raise ValueError("simulated clock start needs a UTC offset, e.g. 2026-09-01T08:00+08:00")
        if speed <= 0:
            raise ValueError("clock speed must be positive")
        self._start = start.astimezone(UTC)
        self._speed = speed
        self._t0 = time.monotonic_ns()
        self._lock = threading.Lock()

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        elapsed_ns = (time.monotonic_ns() - self._t0) * self._speed
        return self._start + timedelta(microseconds=elapsed_ns / 1000)

    def monotonic(self) -> int:
        return int((time.monotonic_ns() - self._t0) * self._speed)

    def jump(self, delta: timedelta) -> None:
        """Move simulated time (simulator use: skip a night)."""
        with self._lock:
            self._start += delta


class ManualClock(Clock):
    """A clock that moves only when `advance` or `set` is called."""

    quality = "simulated"

    def __init__(self, start: datetime) -> None:
        super().__init__()
        if start.tzinfo is None:
            raise ValueError("manual clock start needs a UTC offset")
        self._now = start.astimezone(UTC)
        self._mono = 0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> int:
        return self._mono

    def advance(self, **kwargs: float) -> datetime:
        delta = timedelta(**kwargs)
        self._now += delta
        self._mono += int(delta.total_seconds() * 1e9)
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)


def to_micros(dt: datetime) -> int:
    delta = dt.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def uuid7(clock: Clock) -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds from `clock`, then random bits."""
    ms = clock.micros() // 1000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 68) & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b
    return str(uuid.UUID(int=value))


def make_clock(start: str | None, speed: float | None, quality: str = "unverified",
               skew_seconds: float = 0.0) -> Clock:
    """Build the clock for a command line: simulated when a start or a speed is given.
    `skew_seconds` (fault injection) makes the machine clock read that far off, as a Pi without
    a real-time clock does after a power cut offline."""
    if start is None and speed is None:
        clock = SystemClock(quality)
        clock.offset_us = int(skew_seconds * 1e6)
        return clock
    begin = datetime.fromisoformat(start) if start else SystemClock().now()
    return SimClock(begin, speed or 1.0)
