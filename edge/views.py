"""Read models shared by the JSON API and the pages: windows with who serves there (亮身份),
the display board, the queue. All run on the writer thread (via `Hall.run`) so they see one
consistent state."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sync.kernel.clock import from_micros, to_micros

from . import stepaway
from .cases import is_overdue
from .closing import STATE_LABELS
from .context import Ctx
from .queue import estimate_wait
from .windows import in_service
from .store.cases import CaseView
from .store.queue import TicketView
from .store.windows import WindowView
from .workflow import TICKET


def iso(ctx: Ctx, us: int | None) -> str | None:
    if us is None:
        return None
    return ctx.calendar.local(from_micros(us)).isoformat(timespec="seconds")


def hhmm(ctx: Ctx, us: int | None) -> str:
    return "" if us is None else ctx.calendar.local(from_micros(us)).strftime("%H:%M")


def staff_public(ctx: Ctx, staff_id: str | None) -> dict | None:
    """What a window shows about who serves there: department, name, phone (亮身份) [J 18]."""
    if staff_id is None:
        return None
    s = ctx.catalog.staff.get(staff_id)
    if s is None:
        return {"id": staff_id, "name": staff_id, "title": "", "phone": "", "department": ""}
    dept = ctx.catalog.departments.get(s.department)
    return {"id": s.id, "name": s.name, "title": s.title, "phone": s.phone or (dept.phone if dept else ""),
            "department": dept.name if dept else s.department, "kind": s.kind}


def ticket_brief(ctx: Ctx, t: TicketView | None) -> dict | None:
    if t is None:
        return None
    item = ctx.catalog.items.get(t.item) if t.item else None
    return {
        "id": t.id, "number": t.number, "state": t.state, "state_label": TICKET.labels.get(t.state, t.state),
        "department": t.department, "item": t.item, "item_name": item.name if item else None,
        "priority": t.priority, "issued_at": iso(ctx, t.issued_at), "called_at": iso(ctx, t.called_at),
        "started_at": iso(ctx, t.started_at), "finished_at": iso(ctx, t.finished_at),
        "recalls": t.recalls, "window": t.window, "outcome": t.outcome, "case": t.case,
    }


ROLE_LABELS = {"A": "A岗", "B": "B岗", "duty": "值班"}  # duty: vacation duty roster [J 29, U 22, B 29]


def window_brief(ctx: Ctx, w: WindowView) -> dict:
    cfg = ctx.catalog.windows.get(w.id)
    dept = ctx.catalog.departments.get(w.department)
    ticket = ctx.store.ticket(w.ticket) if w.ticket else None
    paused = stepaway.paused_seconds(ctx, w) if w.paused_at is not None else None
    limit = stepaway.limit_seconds(ctx)
    away = ctx.store.open_step_away(w.id) if w.paused_at is not None else None
    violation = bool(away is not None and away.violation)
    return {
        "id": w.id,
        "name": cfg.name if cfg else w.id,
        "kind": cfg.kind if cfg else "fixed",
        "department": w.department,
        "department_name": dept.name if dept else w.department,
        "staff": staff_public(ctx, w.staff),
        "role": w.role,
        "role_label": ROLE_LABELS.get(w.role or "", w.role or ""),
        "state": w.state,
        "lamp": ("blink" if violation else "on") if w.state == "paused" else "off",
        "ticket": ticket_brief(ctx, ticket),
        "paused_at": iso(ctx, w.paused_at),
        "paused_seconds": paused,
        "pause_reason": w.pause_reason,
        "over_limit": violation or (paused is not None and paused > limit),
        "violation": violation,
        "in_service": in_service(ctx, w.id, ctx.today()),
        "manual": w.manual,
    }


def windows(ctx: Ctx) -> list[dict]:
    """Every configured window, in the configuration's order."""
    rows = {w.id: w for w in ctx.store.windows()}
    return [window_brief(ctx, rows[w.id]) for w in ctx.catalog.business.windows if w.id in rows]


def queue_summary(ctx: Ctx) -> list[dict]:
    """Per department the waiting count and the estimated wait of a visitor taking a number
    now: a walk-in's figures, and those are exact in the call order too (edge.queue.call_order:
    a new walk-in is the last in order of arrival, so every waiting ticket — priority,
    appointment or earlier walk-in — is called before it). A ticket's own figure comes from
    queue.waiting_ahead."""
    counts = ctx.store.waiting_counts(ctx.service_date())
    out = []
    for d in ctx.catalog.hall_departments():
        n = counts.get(d.id, 0)
        out.append({"department": d.id, "name": d.name, "prefix": d.prefix, "waiting": n,
                    "estimated_wait_minutes": estimate_wait(ctx, d.id, n)})
    return out


def display(ctx: Ctx) -> dict:
    """The hall display board: current call per window, last calls, waiting counts, paused windows."""
    sdate = ctx.service_date()
    names = {w.id: w.name for w in ctx.catalog.business.windows}
    recent = [
        {"number": t.number, "window": t.window, "window_name": names.get(t.window or "", t.window),
         "at": hhmm(ctx, t.called_at)}
        for t in ctx.store.recent_calls(sdate, 10)
    ]
    ws = windows(ctx)
    return {
        "now": ctx.calendar.local(ctx.now()).isoformat(timespec="seconds"),
        "open": ctx.calendar.is_open(ctx.now()),
        "windows": ws,
        "recent": recent,
        "queues": queue_summary(ctx),
        "alerts": alerts(ctx, ws),
        "step_away_limit_seconds": stepaway.limit_seconds(ctx),
    }


UNKNOWN_CARD_SHOWN_US = 120 * 1_000_000  # an unknown card shows on the board this long


def alerts(ctx: Ctx, ws: list[dict] | None = None) -> list[dict]:
    """What the board and the consoles warn about: device faults, step-away violations, the
    closing alarm, a card nobody holds read just now."""
    out: list[dict] = []
    for d in ctx.store.device_states():
        if d.state == "fault":
            # the screens name the device as people know it; the technical message is for staff
            out.append({"kind": "device", "device": d.name, "message": d.message,
                        "text": f"设备故障：{ctx.device_labels.get(d.name, d.name)}", "since": iso(ctx, d.since)})
    for w in ws if ws is not None else windows(ctx):
        if w["violation"]:
            who = w["staff"]["name"] if w["staff"] else ""
            out.append({"kind": "step_away", "window": w["id"],
                        "text": f"{w['name']} {who} 离岗超过 {stepaway.limit_minutes(ctx)} 分钟"})
    day = ctx.store.closing_day(ctx.service_date())
    if day is not None and day.alarms and day.passed_at is None:
        failed = "、".join(f"{f.get('label') or f.get('name')}{STATE_LABELS.get(f.get('state', ''), '')}"
                          for f in day.failed)
        out.append({"kind": "closing", "text": f"闭厅检查未通过：{failed}", "alarms": day.alarms})
    now = to_micros(ctx.now())
    for u in ctx.store.unknown_cards(since=now - UNKNOWN_CARD_SHOWN_US, limit=3):
        out.append({"kind": "unknown_card", "card": u.card, "reader": u.reader,
                    "text": f"未登记的卡：{ctx.device_labels.get(u.reader, u.reader)}",
                    "message": f"卡号 {u.card}", "at": iso(ctx, u.at)})  # the number for staff only
    return out


def case_brief(ctx: Ctx, c: CaseView) -> dict:
    item = ctx.catalog.items.get(c.item)
    mats = {m.id: m.name for m in item.materials} if item else {}
    depts = ctx.catalog.departments
    return {
        "id": c.id, "ticket": c.ticket, "number": c.number, "item": c.item,
        "item_name": item.name if item else c.item, "department": c.department,
        "department_name": depts[c.department].name if c.department in depts else c.department,
        "window": c.window, "staff": c.staff, "outcome": c.outcome, "state": c.state,
        "opened_at": iso(ctx, c.opened_at), "deadline": c.deadline, "supply_by": c.supply_by,
        "missing": [{"id": m, "name": mats.get(m, m), "supplied": m in c.supplied} for m in c.missing],
        "co_departments": [{"id": d, "name": depts[d].name if d in depts else d} for d in c.co_departments],
        "reason": c.reason, "note": c.note, "finished_at": iso(ctx, c.finished_at), "result": c.result,
        "overdue": is_overdue(c, ctx.today()),
        "handoffs": [
            {"at": iso(ctx, h.at), "from": h.from_department, "to": h.to_department,
             "from_name": depts[h.from_department].name if h.from_department in depts else h.from_department,
             "to_name": depts[h.to_department].name if h.to_department in depts else h.to_department,
             "materials": h.materials, "by": h.by, "note": h.note}
            for h in ctx.store.handoffs(c.id)
        ],
    }


def step_aways(ctx: Ctx, day: date | None) -> list[dict]:
    """The step-aways of `day` (default: today), oldest first."""
    d = day or ctx.today()
    lo = datetime.combine(d, time(0), tzinfo=ctx.calendar.tz)
    rows = ctx.store.step_aways(to_micros(lo), to_micros(lo + timedelta(days=1)))
    return [{"window": a.window, "staff": a.staff, "start": iso(ctx, a.start), "end": iso(ctx, a.end),
             "seconds": a.seconds, "over_limit": a.over_limit or a.violation, "violation": a.violation,
             "via": a.via, "reason": a.reason} for a in rows]


def devices(ctx: Ctx) -> list[dict]:
    """Device health as the log recorded it (faults and recoveries)."""
    return [{"name": d.name, "kind": d.kind, "state": d.state, "message": d.message, "since": iso(ctx, d.since),
             "faults": d.faults} for d in ctx.store.device_states()]


def health(ctx: Ctx) -> dict:
    return {
        "hall": ctx.hall_id,
        "status": "ok" if ctx.storage_error is None else "degraded",
        "storage": {"writable": ctx.storage_error is None, "error": ctx.storage_error},
        "epoch": ctx.store.epoch,
        "last_seq": ctx.store.last_seq,
        "epochs": [{"epoch": e, "last_seq": last} for e, last in ctx.store.epochs()],
        "business_version": ctx.catalog.business.version,
        # without a running replicator (tests, --no-sync) nothing is acked; see api.health
        "sync": {"pending": ctx.store.last_seq - ctx.store.acked_seq, "acked_seq": ctx.store.acked_seq,
                 "connected": False},
        "clock": {"now": ctx.now().isoformat(), "local": ctx.calendar.local(ctx.now()).isoformat(timespec="seconds"),
                  "quality": ctx.clock.quality, "boot": ctx.clock.boot, "micros": to_micros(ctx.now())},
    }
