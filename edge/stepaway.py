"""Stepping away from a window (离岗): the one home of the step-away limit [C 9(4)].

A paused window counts as stepped away; longer than `rules.step_away_limit_minutes` is over the
limit, and the periodic check turns it into a `window.step_away_violation` (once per pause).
Ending a pause — back at the window, or signing off while paused — judges it by the same limit:
a pause found over the limit then gets its violation if the check has not recorded it yet, so
signing off never wipes out a step-away that was too long [C 9(4)].
Everything that needs the limit (presence, attendance coverage, the read models, the board via
its snapshot) asks `limit_seconds`.
"""

from __future__ import annotations

from sync.contract import events as ev
from sync.kernel.clock import to_micros

from .context import Ctx
from .store.windows import WindowView


def limit_minutes(ctx: Ctx) -> int:
    return ctx.catalog.rules.step_away_limit_minutes


def limit_seconds(ctx: Ctx) -> int:
    """The longest stepping away allowed, in seconds."""
    return limit_minutes(ctx) * 60


def paused_seconds(ctx: Ctx, w: WindowView) -> int:
    if w.paused_at is None:
        return 0
    return max(0, (to_micros(ctx.now()) - w.paused_at) // 1_000_000)


def check_step_aways(ctx: Ctx) -> int:
    """Tick: a pause that passed the limit becomes a violation (once per pause). Returns how many."""
    n = 0
    for w in ctx.store.windows():
        if w.paused_at is None or w.staff is None:
            continue
        if paused_seconds(ctx, w) <= limit_seconds(ctx):
            continue
        away = ctx.store.open_step_away(w.id)
        if away is not None and away.violation:
            continue
        ctx.store.append(ev.StepAwayViolation(window=w.id, staff=w.staff, paused_at=w.paused_at,
                                              limit_minutes=limit_minutes(ctx)))
        n += 1
    return n


def end_pause(ctx: Ctx, w: WindowView, staff: str, via: str) -> bool:
    """End the window's pause (resume, or sign-off while paused) and judge it by the limit
    [C 9(4)]: over the limit, the pause's violation is recorded now unless the periodic check
    already did. Returns whether it was over the limit."""
    seconds = paused_seconds(ctx, w)
    over = seconds > limit_seconds(ctx)
    if over and w.paused_at is not None:
        away = ctx.store.open_step_away(w.id)
        if away is None or not away.violation:
            ctx.store.append(ev.StepAwayViolation(window=w.id, staff=w.staff or staff, paused_at=w.paused_at,
                                                  limit_minutes=limit_minutes(ctx)))
    ctx.store.append(ev.WindowResumed(window=w.id, staff=staff, paused_seconds=seconds, over_limit=over, via=via))
    return over
