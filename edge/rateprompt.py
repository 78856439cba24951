"""The prompt to rate (提醒评价): after a service ends, the window invites the visitor to rate it.

The rules say the staff reminds the visitor to rate after every service [J 23, U 19, B 23,
C 11(7)]; the hall helps: the window's rating lamps blink (edge.hardware), its console shows
请对本次服务进行评价 with the time left, and the display board shows and says it for that window.

A prompt is read from the committed state and the hall clock, never stored: window W prompts
while a rating button pressed at W would rate its last service (edge.ratings.press, whose
rules this mirrors without changing them): no ticket at W now, W's last service of the day
ended less than `rules.ratings.window_seconds` ago, and it has no rating yet. So the prompt
ends when a rating arrives (buttons, or any other way ratings.press's owner records one), when W
calls its next number, or when the rating window closes — then the service stays unrated, as
without a prompt.
"""

from __future__ import annotations

from sync.kernel.clock import from_micros, to_micros

from .context import Ctx
from .store.windows import WindowView

PROMPT_TEXT = "请对本次服务进行评价"


def spaced(number: str) -> str:
    """A ticket number as the announcements say it, one sign at a time: "A 0 0 1"."""
    return " ".join(number)


def rate_text(window_name: str, number: str) -> str:
    """What the display board says when window `window_name` prompts (a voice line)."""
    return f"{window_name} {spaced(number)} 号，{PROMPT_TEXT}"


def prompt(ctx: Ctx, window_id: str, w: WindowView | None = None) -> dict | None:
    """Window `window_id`'s prompt to rate, or None."""
    w = w if w is not None else ctx.store.window(window_id)
    if w is None or w.ticket is not None:
        return None
    t = ctx.store.last_done_at(window_id, ctx.service_date())
    if t is None or t.finished_at is None:
        return None
    ends = t.finished_at + ctx.catalog.rules.ratings.window_seconds * 1_000_000
    left = ends - to_micros(ctx.now())
    if left <= 0 or ctx.store.rating(t.id) is not None:
        return None
    cfg = ctx.catalog.windows.get(window_id)
    name = cfg.name if cfg else window_id
    return {"window": window_id, "window_name": name, "ticket": t.id, "number": t.number,
            "until": ctx.calendar.local(from_micros(ends)).isoformat(timespec="seconds"),
            "seconds_left": -(-left // 1_000_000), "text": PROMPT_TEXT, "voice": rate_text(name, t.number)}


def prompts(ctx: Ctx) -> dict[str, dict]:
    """Every window's prompt to rate, by window id."""
    out = {}
    for w in ctx.store.windows():
        p = prompt(ctx, w.id, w)
        if p is not None:
            out[w.id] = p
    return out
