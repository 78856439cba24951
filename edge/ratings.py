"""Ratings (好差评): the five buttons at a window rate the service that just ended there; the
visitor's phone page (edge.pages.phone) rates the service of its own ticket.

Rules [J 23, U 19, B 23, C 11(7)]: after a service ends, the window's buttons rate it for
`rules.ratings.window_seconds` (until the window calls its next number); the phone page rates
its ticket's finished service within the same `window_seconds` (the next call at the window
does not end it: the phone names its ticket). One rating per service (一次一评), whichever
comes first: later presses are ignored, and a later rating from the phone is refused with a
message, changing nothing; presses with no service to rate are ignored. Nothing about the
visitor is stored. A rating at a level in `rules.ratings.followup_levels` (不满意,
非常不满意) opens a follow-up (call-back, verification, fix) due in `followup_days` working days.
Levels: 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意.
"""

from __future__ import annotations

from sync.contract import events as ev
from sync.kernel.business import RATING_LABELS
from sync.kernel.clock import from_micros, to_micros, uuid7

from .context import Ctx
from .store.queue import TicketView
from .store.ratings import FollowupView
from .workflow import Forbidden, Invalid, NotFound, Refused

RESULT_LABELS = {"resolved": "已整改/已回访", "appeal_upheld": "申诉成立（误评）", "unreachable": "无法联系"}


def press(ctx: Ctx, window_id: str, level: int) -> dict:
    """A rating button at `window_id`. Never raises for a press that cannot count: the result
    says why it was ignored."""
    if level not in RATING_LABELS:
        raise Invalid("bad-level", "评价等级须为 1–5")
    w = ctx.store.window(window_id)
    if w is None:
        return {"result": "ignored", "reason": "unknown-window"}
    if w.ticket is not None:
        return {"result": "ignored", "reason": "serving"}  # the next service has begun
    t = ctx.store.last_done_at(window_id, ctx.service_date())
    if t is None or t.finished_at is None:
        return {"result": "ignored", "reason": "nothing-to-rate"}
    if to_micros(ctx.now()) - t.finished_at > ctx.catalog.rules.ratings.window_seconds * 1_000_000:
        return {"result": "ignored", "reason": "too-late"}
    if ctx.store.rating(t.id) is not None:
        return {"result": "ignored", "reason": "already-rated"}
    return _record(ctx, t, level, "buttons")


def phone_rating(ctx: Ctx, t: TicketView) -> dict:
    """Whether the phone page may rate ticket `t` now: {"state": "open" | "rated" | "closed" |
    "none", "level", "label", "seconds_left"}. "none": no finished service to rate (yet)."""
    r = ctx.store.rating(t.id)
    if r is not None:
        return {"state": "rated", "level": r.level, "label": RATING_LABELS.get(r.level, str(r.level)),
                "seconds_left": 0}
    if t.state != "done" or t.finished_at is None or t.window is None:
        return {"state": "none", "level": None, "label": "", "seconds_left": 0}
    left = ctx.catalog.rules.ratings.window_seconds - (to_micros(ctx.now()) - t.finished_at) / 1_000_000
    if left <= 0:
        return {"state": "closed", "level": None, "label": "", "seconds_left": 0}
    return {"state": "open", "level": None, "label": "", "seconds_left": int(left + 0.999)}


def rate_from_phone(ctx: Ctx, ticket_id: str, level: int) -> dict:
    """The visitor rates the finished service of their own ticket from its phone page (the
    caller checked the page's tag). Refused, changing nothing, when the service is not finished,
    the rating window has passed or the service is already rated (by the buttons or the phone)."""
    if level not in RATING_LABELS:
        raise Invalid("bad-level", "评价等级须为 1–5")
    t = ctx.store.ticket(ticket_id)
    if t is None:
        raise NotFound("unknown-ticket", "没有这个号码")
    state = phone_rating(ctx, t)["state"]
    if state == "rated":
        raise Refused("already-rated", "本次服务已评价过，每次服务只能评价一次")
    if state == "none":
        raise Refused("nothing-to-rate", "本次服务尚未办结，办结后即可评价")
    if state == "closed":
        raise Refused("too-late", "评价时间已过，感谢您的支持")
    return _record(ctx, t, level, "phone")


def _record(ctx: Ctx, t: TicketView, level: int, source: str) -> dict:
    """One rating of the service of ticket `t` (done at its window), and the follow-up a bad
    one opens."""
    window_id = t.window or ""
    ctx.store.append(ev.RatingGiven(window=window_id, ticket=t.id, level=level, staff=t.staff,
                                    department=t.department, source=source))  # type: ignore[arg-type]
    out = {"result": "rated", "ticket": t.id, "number": t.number, "level": level, "label": RATING_LABELS[level],
           "source": source}
    rules = ctx.catalog.rules.ratings
    if level in rules.followup_levels:
        fid = uuid7(ctx.clock)
        due = ctx.calendar.add_working_days(ctx.today(), rules.followup_days)
        ctx.store.append(ev.FollowupOpened(followup=fid, ticket=t.id, window=window_id, level=level,
                                           due=due.isoformat(), staff=t.staff, department=t.department))
        out["followup"] = fid
        out["due"] = due.isoformat()
    return out


def close_followup(ctx: Ctx, followup_id: str, by: str, result: str = "resolved", note: str = "",
                   manager: bool = False) -> FollowupView:
    """Close a bad rating's follow-up. Separation of duties: the rated staff member never closes
    their own, and only the hall manager (`manager`) may find an appeal upheld — that result
    takes the rating out of satisfaction, rankings, awards and allowance at central."""
    f = ctx.store.followup(followup_id)
    if f is None:
        raise NotFound("unknown-followup", f"没有编号为 {followup_id} 的差评回访")
    if f.state != "open":
        raise Refused("followup-closed", "该差评回访已办结")
    if f.staff is not None and by == f.staff:
        raise Forbidden("own-rating", "不能办结针对本人的差评回访，请由同事或大厅管理员办理")
    if result == "appeal_upheld" and not manager:
        raise Forbidden("appeal-needs-manager", "申诉成立须由大厅管理员认定")
    if result not in RESULT_LABELS:
        raise Invalid("bad-result", f"结果须为 {', '.join(RESULT_LABELS)}")
    if len(note.strip()) < 2:
        raise Invalid("note-required", "请填写回访/核实情况")
    ctx.store.append(ev.FollowupClosed(followup=followup_id, by=by, result=result, note=note.strip()[:500]))  # type: ignore[arg-type]
    return ctx.store.followup(followup_id)  # type: ignore[return-value]


def followup_brief(ctx: Ctx, f: FollowupView) -> dict:
    t = ctx.store.ticket(f.ticket)
    s = ctx.catalog.staff.get(f.staff or "")
    return {"id": f.id, "ticket": f.ticket, "number": t.number if t else "", "window": f.window,
            "staff": f.staff, "staff_name": s.name if s else f.staff, "department": f.department,
            "level": f.level, "label": RATING_LABELS.get(f.level, str(f.level)),
            "opened_at": ctx.calendar.local(from_micros(f.opened_at)).isoformat(timespec="seconds"),
            "due": f.due, "overdue": f.state == "open" and f.due < ctx.service_date(), "state": f.state,
            "result": f.result, "result_label": RESULT_LABELS.get(f.result or "", ""), "note": f.note}


def summary(ctx: Ctx, start: str | None = None, end: str | None = None) -> dict:
    """Counts per level, per window and per department over service dates [start, end]."""
    start = start or ctx.service_date()
    end = end or start
    rows = ctx.store.ratings(start_date=start, end_date=end)
    def tally(key) -> dict:
        out: dict = {}
        for r in rows:
            k = key(r)
            d = out.setdefault(k, {str(lv): 0 for lv in RATING_LABELS})
            d[str(r.level)] += 1
        return out
    levels = {str(lv): sum(1 for r in rows if r.level == lv) for lv in RATING_LABELS}
    n = len(rows)
    satisfied = sum(1 for r in rows if r.level >= 3)
    return {"start": start, "end": end, "count": n, "levels": levels,
            "labels": {str(k): v for k, v in RATING_LABELS.items()},
            "satisfaction": round(satisfied / n, 4) if n else None,
            "by_window": tally(lambda r: r.window), "by_department": tally(lambda r: r.department or "")}
