"""Complaints taken at the hall (办不成事反映窗口) [J 35, U 33, B 41, C 19].

The hall manager records a complaint received at the hall's reflection window, on its complaint
phone or from its box, offline like everything at the hall: one `complaint.received` event,
replicated like any other. Central files it with the complaints typed there (central's
supervision.complaints imports them), routes it to the department owning the person, else the
window, else the item, sets the reply deadline by complexity and tracks the reply; the hall
keeps only the record of what it took. Nothing else here: replies and closing are central's.
"""

from __future__ import annotations

from datetime import timedelta

from sync.contract import events as ev
from sync.kernel.clock import from_micros, to_micros, uuid7

from .context import Ctx
from .workflow import Invalid, NotFound

CHANNELS = ("窗口", "电话", "信箱")
COMPLEXITIES = ("一般", "需调查", "复杂")  # central's default [supervision] reply_days keys [H 限时办结-3]
RECENT_DAYS = 30


def record(ctx: Ctx, by: str, content: str, channel: str = "窗口", complexity: str = "", window: str = "",
           staff: str = "", item: str = "", complainant: str = "") -> dict:
    """Record one complaint taken at the hall; refuses unknown windows, staff and items and an
    empty content (nothing is recorded then)."""
    content = content.strip()
    if len(content) < 2:
        raise Invalid("content-required", "请填写投诉内容")
    if channel not in CHANNELS:
        raise Invalid("bad-channel", f"受理渠道须为 {'、'.join(CHANNELS)}")
    if complexity and complexity not in COMPLEXITIES:
        raise Invalid("bad-complexity", f"复杂程度须为 {'、'.join(COMPLEXITIES)}")
    window, staff, item = window.strip(), staff.strip(), item.strip()
    if window and window not in ctx.catalog.windows:
        raise NotFound("unknown-window", f"没有编号为 {window} 的窗口")
    if staff and staff not in ctx.catalog.staff:
        raise NotFound("unknown-staff", f"没有工号为 {staff} 的工作人员")
    if item and item not in {i.id for i in ctx.catalog.business.catalog.items}:
        raise NotFound("unknown-item", f"没有编号为 {item} 的服务事项")
    cid = uuid7(ctx.clock)
    received = ctx.calendar.local(ctx.now()).strftime("%Y-%m-%dT%H:%M")
    ctx.store.append(ev.ComplaintReceived(complaint=cid, received=received, channel=channel, content=content[:4000],
                                          complexity=complexity, window=window, staff=staff, item=item,
                                          complainant=complainant.strip()[:200], by=by))
    return {"id": cid, "received": received}


def recent(ctx: Ctx, days: int = RECENT_DAYS) -> list[dict]:
    """The complaints taken here in the last `days` days, newest first, as the hall recorded them."""
    since = ctx.now() - timedelta(days=days)
    windows = ctx.catalog.windows
    items = {i.id: i.name for i in ctx.catalog.business.catalog.items}
    managers = {m.id: m.name for m in ctx.catalog.business.managers}
    out = []
    for e in ctx.store.recent_events(["complaint.received"], to_micros(since)):
        b = ev.decode_body(e.kind, bytes(e.body))
        s = ctx.catalog.staff.get(b.staff) if b.staff else None
        out.append({"id": b.complaint, "received": b.received.replace("T", " "), "channel": b.channel,
                    "content": b.content, "complexity": b.complexity or "—",
                    "window_name": windows[b.window].name if b.window in windows else b.window,
                    "staff_name": s.name if s else b.staff, "item_name": items.get(b.item, b.item),
                    "complainant": b.complainant, "by_name": managers.get(b.by, b.by),
                    "at": ctx.calendar.local(from_micros(e.ts)).isoformat(timespec="seconds")})
    out.reverse()
    return out
