"""A hall without a real-time clock never starts before the last time it knew (edge.timefloor,
fake-hwclock behaviour; docs/sync.md "Time")."""

from __future__ import annotations

from edge import timefloor
from edge.hall import Hall
from sync.contract import events as ev
from sync.kernel.clock import ManualClock, SystemClock

YEAR_US = 365 * 86_400_000_000


def fault(ctx) -> None:
    """Any event will do (a ticket would be refused at night by the real clock)."""
    ctx.store.append(ev.DeviceFault(device="reader-1", device_kind="reader", message="unplugged"))


def started(config, clock, data) -> Hall:
    h = Hall(config, data, clock)
    h.start()
    return h


def test_timefloor_a_clock_back_at_boot_is_held_at_the_last_known_time(config, tmp_path):
    data = tmp_path / "data"
    h = started(config, SystemClock(), data)
    try:
        h.call(fault)
    finally:
        h.stop()  # remembers the time on the way out
    # the Pi comes back after a power cut without network: its clock reads three years ago
    pi = SystemClock()
    pi.offset_us = -3 * YEAR_US
    h = started(config, pi, data)
    try:
        assert pi.offset_us > -60_000_000, "the clock was held at the last known time"
        assert pi.quality == "unverified"  # central re-bases these events once the beacon corrects it
        h.call(fault)
        first, second = [e for e in h.store.events(limit=1000) if e.kind == "device.fault"]
        assert second.ts >= first.ts  # never stamped before what the hall already recorded
    finally:
        h.stop()


def test_timefloor_a_clock_ahead_and_a_new_database_are_left_alone(config, tmp_path):
    ahead = SystemClock()
    ahead.offset_us = 3_600_000_000
    h = started(config, ahead, tmp_path / "data")
    try:
        assert ahead.offset_us == 3_600_000_000
        assert h.call(timefloor.last_known) > 0  # it remembered its start at once
    finally:
        h.stop()


def test_timefloor_remember_writes_at_most_every_ten_minutes_and_never_backwards(config, tmp_path):
    clock = SystemClock()
    h = started(config, clock, tmp_path / "data")
    try:
        h.call(timefloor.remember, True)
        assert not h.call(timefloor.remember)  # an idle writer asks twice a second: no write
        clock.offset_us += timefloor.REMEMBER_EVERY_US + 1_000_000
        assert h.call(timefloor.remember)
        seen = int(h.call(lambda ctx: ctx.store.meta(timefloor.LAST_SEEN_KEY)))
        clock.offset_us -= 2 * timefloor.REMEMBER_EVERY_US  # a clock set back while running
        assert not h.call(timefloor.remember, True)
        assert int(h.call(lambda ctx: ctx.store.meta(timefloor.LAST_SEEN_KEY))) == seen
    finally:
        h.stop()


def test_timefloor_simulated_clocks_are_neither_held_nor_remembered(config, clock, tmp_path):
    h = started(config, clock, tmp_path / "data")
    try:
        h.call(fault)
        assert not h.call(timefloor.remember, True)
    finally:
        h.stop()
    before = ManualClock(clock.now().replace(year=2020))
    h = started(config, before, tmp_path / "data")
    try:
        assert before.now().year == 2020  # a simulated day is not the real time: nothing held
    finally:
        h.stop()
