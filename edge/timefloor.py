"""The hall never starts before the last time it knew (what fake-hwclock does for a Pi).

A Raspberry Pi has no real-time clock: after a power cut without network it boots at the time
its image was made, or at 1970. Tickets stamped then would sort before yesterday's, the day's
figures would land on a day long gone, and the display would show a wrong date until central's
beacon arrives (docs/sync.md, "Time").

So the hall keeps the latest time it has seen in its own database, and at start holds its clock
at that time when the machine's clock reads earlier:

- the last known time is the latest of: the trusted time floor (`edge.syncing.FLOOR_KEY`, set by
  central's beacons), the wall time the hall last remembered (meta `clock_last_seen`, written at
  most every `REMEMBER_EVERY_US` while it runs and when it stops) and the time of its last event;
- a `SystemClock` reading earlier than that is moved forward to it (an offset, as a beacon's
  correction is); its quality stays `unverified`, so central re-bases these events once the
  beacon's correction arrives, exactly as for any unverified boot;
- simulated and manual clocks are left alone.
"""

from __future__ import annotations

import logging

from sync.kernel.clock import SystemClock, from_micros

from .context import Ctx

log = logging.getLogger("onestop.edge.clock")

FLOOR_KEY = "time_floor"  # store meta: the latest trusted time (µs UTC), from central's beacons (edge.syncing)
LAST_SEEN_KEY = "clock_last_seen"  # store meta: the latest wall time (µs UTC) the hall has read
REMEMBER_EVERY_US = 600_000_000  # ten minutes: at most six small writes an hour to the SD card
TOLERANCE_US = 2_000_000


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def last_known(ctx: Ctx) -> int:
    """The latest time (µs UTC) this hall knows it has seen, 0 for a new database."""
    # events of a simulated clock (a demo run on this data dir) say nothing about the real time
    row = ctx.store.one("SELECT ts FROM events WHERE clock != 'simulated' ORDER BY pos DESC LIMIT 1", ())
    return max(_int(ctx.store.meta(FLOOR_KEY)), _int(ctx.store.meta(LAST_SEEN_KEY)), row[0] if row else 0)


def hold(ctx: Ctx) -> int:
    """At start: move a system clock that reads before the last known time up to it. Returns the
    offset applied (µs), 0 when the clock was fine or is not the machine's."""
    clock = ctx.clock
    if not isinstance(clock, SystemClock):
        return 0
    known, now = last_known(ctx), clock.micros()
    if not known or now >= known - TOLERANCE_US:
        return 0
    offset = known - now
    clock.offset_us += offset
    log.warning("the machine's clock reads %s, before the last time this hall knew (%s): the hall runs from "
                "that time (clock unverified) until central's time beacon corrects it",
                from_micros(now).isoformat(timespec="seconds"), from_micros(known).isoformat(timespec="seconds"))
    return offset


def remember(ctx: Ctx, force: bool = False) -> bool:
    """Keep the current wall time as the last seen one: at most every REMEMBER_EVERY_US, or now
    when `force` (the hall stopping). Never moves it backwards; only the machine's clock counts
    (a simulated one is not the real time). Returns whether it wrote."""
    if not isinstance(ctx.clock, SystemClock):
        return False
    now = ctx.clock.micros()
    seen = _int(ctx.store.meta(LAST_SEEN_KEY))
    if now <= seen or (not force and now - seen < REMEMBER_EVERY_US):
        return False
    ctx.store.set_meta(LAST_SEEN_KEY, str(now))
    return True
