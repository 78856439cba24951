"""The hall's periodic checks (services layer): one command on the writer thread, on the
injected clock. The web app's ticker runs it every few seconds; `edge.hardware.Hardware.tick`
runs it on demand (tests and tools)."""

from __future__ import annotations

from . import closing, queue, stepaway
from .context import Ctx


def tick(ctx: Ctx, sensors: list | None = None) -> dict:
    """Expire yesterday's unfinished numbers, turn over-long step-aways into violations, and run
    the closing check with the door/power readings `sensors` (`edge.closing.Sensor`, from
    `edge.hardware.Hardware.sensors`; none: no closing check)."""
    expired = queue.expire_stale(ctx)
    violations = stepaway.check_step_aways(ctx)
    closed = closing.check(ctx, list(sensors or []))
    return {"expired": expired, "violations": violations, "closing": closed}
