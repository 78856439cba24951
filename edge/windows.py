"""The hall's windows (窗口): which are in service on a day, finding one, and the manager's
overrides of the schedule.

Rules: window kinds are fixed, periodic (open on some weekdays only, fixed per semester) and
flexible/tidal (机动窗口, opened for peaks) [B 7, B 10, J 9]; on a vacation duty day with a duty
roster only the rostered windows open [J 29, U 22, B 29] (sync.kernel.schedule decides all of
this); the hall manager may open a window outside its schedule or withdraw one [J 10]; a window
acts only for the staff member signed on there.
"""

from __future__ import annotations

from datetime import date

from sync.contract import events as ev
from sync.kernel.clock import from_micros
from sync.kernel.schedule import Schedule, overrides_of

from .context import Ctx
from .store.windows import WindowView
from .workflow import Forbidden, NotFound, Refused


def in_service(ctx: Ctx, window_id: str, day: date, row: WindowView | None = None) -> bool:
    """Whether a window is meant to be open on `day` (before any staff signs on). `row`: its
    projection, when the caller has read it already."""
    w = ctx.catalog.windows[window_id]
    row = row or ctx.store.window(window_id)
    manual = row.manual if row else None
    if manual == "withdrawn":
        return False
    if not ctx.calendar.is_open_day(day):
        return False
    if manual == "opened":
        return True
    return plan(ctx).planned(w.id, day)


def plan(ctx: Ctx) -> Schedule:
    """The schedule without the manager's overrides (kinds, semesters, rotations, duty rosters),
    kept while the business configuration stays the same."""
    b = ctx.catalog.business
    cached = getattr(ctx, "_plan", None)
    if cached is None or cached[0] is not b:
        cached = (b, Schedule(b, ctx.calendar))
        setattr(ctx, "_plan", cached)
    return cached[1]


def schedule(ctx: Ctx) -> Schedule:
    """Who is expected where on any day (sync.kernel.schedule), with the manager's overrides
    read from the hall's log: the same model central counts attendance with."""
    rows = [(from_micros(ts), w, action) for ts, w, action in ctx.store.window_overrides()]
    return Schedule(ctx.catalog.business, ctx.calendar, overrides_of(rows))


def get_window(ctx: Ctx, window_id: str) -> WindowView:
    w = ctx.store.window(window_id)
    if w is None or window_id not in ctx.catalog.windows:
        raise NotFound("unknown-window", f"没有编号为 {window_id} 的窗口")
    return w


def acting_window(ctx: Ctx, window_id: str, staff: str) -> WindowView:
    """The window, checked to be worked by `staff` (who must be signed on there)."""
    w = get_window(ctx, window_id)
    if w.staff is None:
        raise Refused("window-closed", "该窗口尚未签到开放")
    if w.staff != staff:
        raise Forbidden("not-your-window", "您未在该窗口签到")
    return w


# ---------------------------------------------------------------- the hall manager's overrides


def open_window(ctx: Ctx, window_id: str, manager: str) -> WindowView:
    """The hall manager opens a window outside its schedule (flexible window at a peak)."""
    w = get_window(ctx, window_id)
    if w.manual == "opened":
        return w
    ctx.store.append(ev.WindowOpened(window=window_id, by=manager))
    return ctx.store.window(window_id)  # type: ignore[return-value]


def withdraw_window(ctx: Ctx, window_id: str, manager: str) -> WindowView:
    """The hall manager takes a window out of service; it must have no staff signed on."""
    w = get_window(ctx, window_id)
    if w.staff is not None:
        raise Refused("window-staffed", "该窗口仍有工作人员签到，请先签退")
    if w.manual == "withdrawn":
        return w
    ctx.store.append(ev.WindowWithdrawn(window=window_id, by=manager))
    return ctx.store.window(window_id)  # type: ignore[return-value]
