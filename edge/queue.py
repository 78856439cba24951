"""Taking a number and calling it (取号 / 叫号).

Rules [J 22, J 19, U 21, C 11]: a visitor takes a number for the department that owns the
item; that department's windows call in order (priority tickets for elderly and disabled
visitors first, then appointment tickets checked in on time [C 11(6)], then order of
arrival); paused and closed windows call nothing; numbers restart
every day per department prefix; numbers taken before closing are still served after closing;
an item that belongs elsewhere is transferred to the right department keeping the visitor's
place in time (首问负责).
"""

from __future__ import annotations

import math
from collections import deque
from datetime import timedelta
from typing import Callable

from sync.contract import events as ev
from sync.kernel.clock import uuid7

from .context import Ctx
from .store.queue import TicketView
from .store.windows import WindowView
from .windows import acting_window, in_service
from .workflow import TICKET, WINDOW, Invalid, NotFound, Refused


# ---------------------------------------------------------------- taking a number


def issuing_refusal(ctx: Ctx) -> Refused | None:
    """Why no number may be taken in the hall now (None: numbers may be taken): only during the
    work periods [J 26], or `rules.issue_before_open_minutes` before one opens."""
    if ctx.catalog.rules.issue_outside_hours:
        return None
    now = ctx.now()
    cal = ctx.calendar
    if cal.is_open(now):
        return None
    nxt = cal.next_open(now)
    lead = timedelta(minutes=ctx.catalog.rules.issue_before_open_minutes)
    if nxt is not None and cal.local_date(nxt) == cal.local_date(now) and nxt - now <= lead:
        return None
    when = f"，下次开放时间：{cal.local(nxt):%m月%d日 %H:%M}" if nxt else ""
    return Refused("hall-closed", f"大厅当前不在服务时间，暂停取号{when}")


def department_refusal(ctx: Ctx, department: str, rows: dict[str, WindowView] | None = None) -> Refused | None:
    """Why no number may be taken for `department` now (None: it may). A number is given only
    for a department that can serve it [J 22]: one with a window in this hall, while the hall
    issues numbers, with a window in service today (periodic and flexible windows only on
    their days [B 7, B 10, J 9]) and, unless `rules.issue_without_open_window`, while the hall
    is open, a window open now (staff signed on; a paused window counts). Before opening (the
    `issue_before_open_minutes` lead) numbers are given without an estimate: staff sign on at
    the opening time. `rows`: the windows' projections, when the caller has read them."""
    cat = ctx.catalog
    dept = cat.departments[department]
    mine = [w for w in cat.business.windows if w.department == department]
    if not mine:
        return Refused("department-not-here", f"{dept.name}不在本大厅设窗口")
    refusal = issuing_refusal(ctx)
    if refusal is not None:
        return refusal
    today = ctx.today()
    rows = rows if rows is not None else {w.id: w for w in ctx.store.windows()}
    if not any(in_service(ctx, w.id, today, rows.get(w.id)) for w in mine):
        return Refused("no-window-today", f"{dept.name}今日没有开放的窗口")
    if not cat.rules.issue_without_open_window and ctx.calendar.is_open(ctx.now()) and not any(
            rows.get(w.id) is not None and rows[w.id].staff is not None for w in mine):
        return Refused("department-closed", f"{dept.name}窗口暂未开放，暂不能取号")
    return None


def working_windows(ctx: Ctx, department: str, windows: list[WindowView] | None = None) -> int:
    """How many of the department's windows serve now (staff signed on, not paused)."""
    return sum(
        1 for w in (windows if windows is not None else ctx.store.windows())
        if w.department == department and w.state in ("idle", "serving")
    )


def issue(ctx: Ctx, item: str | None = None, department: str | None = None, priority: bool = False) -> dict:
    """Issue a ticket; returns the ticket with how many wait ahead and the estimated wait."""
    cat = ctx.catalog
    if (item is None) == (department is None):
        raise Invalid("item-or-department", "请指定办理事项（item）或部门（department）之一")
    if item is not None:
        it = cat.items.get(item)
        if it is None:
            raise NotFound("unknown-item", f"没有编号为 {item} 的服务事项")
        department = it.department
    assert department is not None
    dept = cat.departments.get(department)
    if dept is None:
        raise NotFound("unknown-department", f"没有编号为 {department} 的部门")
    rows = {w.id: w for w in ctx.store.windows()}
    refusal = department_refusal(ctx, department, rows)
    if refusal is not None:
        raise refusal
    today = ctx.today()
    sdate = today.isoformat()
    ahead = ctx.store.waiting_count(department, sdate, priority_only=priority)
    number = f"{dept.prefix}{ctx.store.last_number(department, sdate) + 1:03d}"
    ticket_id = uuid7(ctx.clock)
    e = ctx.store.append(
        ev.TicketIssued(ticket=ticket_id, number=number, department=department, item=item,
                        priority=priority, service_date=sdate)
    )
    # what the projection just stored (read back only in tests: see test_queue)
    t = TicketView(id=ticket_id, number=number, department=department, item=item, priority=priority,
                   state="waiting", service_date=sdate, issued_at=e.ts, queue_key=e.ts, window=None, staff=None,
                   called_at=None, started_at=None, finished_at=None, recalls=0, rejoins=0, transfers=0,
                   outcome=None, case=None)
    wait = estimate_wait(ctx, department, ahead, list(rows.values()))
    return {"ticket": t, "waiting_ahead": ahead, "estimated_wait_minutes": wait}


def estimate_wait(ctx: Ctx, department: str, ahead: int, windows: list[WindowView] | None = None) -> int | None:
    """Minutes until a ticket with `ahead` tickets before it is called: the department's mean
    service time today (or its items' typical time before any service finished), shared over
    the windows working now (`windows`: their projections, when the caller has them). None
    while none of them is working: no estimate is better than a made-up one."""
    working = working_windows(ctx, department, windows)
    if working == 0:
        return None
    mean = ctx.store.mean_service_seconds(department, ctx.service_date())
    if mean is None:
        minutes = [i.service_minutes for i in ctx.catalog.items.values() if i.department == department]
        mean = 60.0 * (sum(minutes) / len(minutes) if minutes else 8)
    return math.ceil(ahead * mean / working / 60)


# ---------------------------------------------------------------- calling


def current_ticket(ctx: Ctx, w: WindowView) -> TicketView:
    """The ticket the window is calling or serving now (refused when there is none)."""
    if w.ticket is None:
        raise Refused("no-current-ticket", "该窗口当前没有正在办理的号码")
    t = ctx.store.ticket(w.ticket)
    assert t is not None
    return t


def _appointment_goes_first(head: TicketView, first: str | None, bound_reached: Callable[[], bool]) -> bool:
    """The call-order rule, shared by the next call (next_waiting) and the whole order the
    figures are read from (call_order): whether the call takes the department's first waiting
    on-time appointment ticket `first` (its id) instead of `head`, the first waiting ticket in
    order of arrival (priority tickets first). Priority tickets (elderly, disabled) go first
    [J 22]; then an appointment ticket checked in on time goes ahead of earlier walk-ins
    [C 11(6)] — unless `bound_reached()`: the department's last `max_in_row` calls (central's
    `[appointments] max_in_row`, 0: no bound) were all appointment tickets, then the head (a
    walk-in) is called."""
    if head.priority or first is None or first == head.id:
        return False
    return not bound_reached()


def next_waiting(ctx: Ctx, department: str) -> TicketView | None:
    """The ticket the department's next call takes (deterministic: the store's state alone
    decides; the rule: _appointment_goes_first)."""
    sdate = ctx.service_date()
    head = ctx.store.waiting(department, sdate, limit=1)
    if not head:
        return None
    first = None if head[0].priority else ctx.store.first_appointment_waiting(department, sdate)

    def bound_reached() -> bool:
        most = ctx.store.appointment_policy().max_in_row
        return bool(most) and ctx.store.appointment_calls_in_row(department, sdate, most) >= most

    if _appointment_goes_first(head[0], first, bound_reached):
        return ctx.store.ticket(first)  # type: ignore[arg-type]
    return head[0]


def call_order(ctx: Ctx, department: str, service_date: str | None = None) -> list[TicketView]:
    """The department's waiting tickets in the order the next calls take them if nobody new
    comes: next_waiting's rule applied call after call (the appointment calls in a row counted
    on). What "waiting ahead" and the estimated wait are read from, so an appointment ticket is
    told it is near the front and a walk-in that it waits for the appointments too. A fixed
    number of queries whatever the queue's length (the waiting tickets, the on-time appointment
    tickets, the calls in a row), none when no appointment ticket waits beyond the first."""
    sdate = service_date or ctx.service_date()
    waiting = ctx.store.waiting(department, sdate)
    if len(waiting) < 2:
        return waiting
    booked = ctx.store.appointment_ticket_ids(sdate)
    if not any(t.id in booked for t in waiting):
        return waiting  # walk-ins only: order of arrival (priority first) is the call order
    most = ctx.store.appointment_policy().max_in_row
    in_row = ctx.store.appointment_calls_in_row(department, sdate, most) if most else 0
    place = {t.id: i for i, t in enumerate(waiting)}
    rest = deque(t for t in waiting if t.priority)  # ahead of everybody, in their order
    appts = deque(t for t in waiting if not t.priority and t.id in booked)
    walks = deque(t for t in waiting if not t.priority and t.id not in booked)
    order: list[TicketView] = []
    while rest or appts or walks:
        if rest:
            head = rest[0]
        elif appts and (not walks or place[appts[0].id] < place[walks[0].id]):
            head = appts[0]
        else:
            head = walks[0]
        first = appts[0].id if appts else None
        reached = bool(most) and in_row >= most
        if _appointment_goes_first(head, first, lambda r=reached: r):
            pick = appts.popleft()
        else:
            pick = head
            (rest if head.priority else appts if head.id in booked else walks).popleft()
        order.append(pick)
        in_row = in_row + 1 if pick.id in booked else 0
    return order


def waiting_ahead(ctx: Ctx, t: TicketView) -> int | None:
    """How many tickets the next calls take before `t` (call_order); None unless it waits."""
    if t.state != "waiting":
        return None
    return next((i for i, x in enumerate(call_order(ctx, t.department, t.service_date)) if x.id == t.id), 0)


def call_next(ctx: Ctx, window_id: str, staff: str) -> TicketView:
    w = acting_window(ctx, window_id, staff)
    if w.state == "paused":
        raise Refused("window-paused", "窗口暂停服务中，请先恢复服务再叫号")
    if w.state == "serving":
        raise Refused("window-busy", "请先办结、转办或标记过号当前号码")
    WINDOW.next(w.state, "call", "窗口")
    t = next_waiting(ctx, w.department)
    if t is None:
        raise Refused("queue-empty", "当前没有等候的号码")
    ctx.store.append(ev.TicketCalled(ticket=t.id, window=window_id, staff=staff))
    return ctx.store.ticket(t.id)  # type: ignore[return-value]


def recall(ctx: Ctx, window_id: str, staff: str) -> TicketView:
    w = acting_window(ctx, window_id, staff)
    t = current_ticket(ctx, w)
    if t.state != "called":
        raise Refused("already-started", "该号码已开始办理，无需重呼")
    TICKET.next(t.state, "recall", "号码")
    ctx.store.append(ev.TicketRecalled(ticket=t.id, window=window_id, staff=staff, recalls=t.recalls + 1))
    return ctx.store.ticket(t.id)  # type: ignore[return-value]


def start(ctx: Ctx, window_id: str, staff: str) -> TicketView:
    w = acting_window(ctx, window_id, staff)
    t = current_ticket(ctx, w)
    TICKET.next(t.state, "start", "号码")
    ctx.store.append(ev.TicketStarted(ticket=t.id, window=window_id, staff=staff))
    return ctx.store.ticket(t.id)  # type: ignore[return-value]


def no_show(ctx: Ctx, window_id: str, staff: str) -> TicketView:
    w = acting_window(ctx, window_id, staff)
    t = current_ticket(ctx, w)
    TICKET.next(t.state, "no_show", "号码")
    need = ctx.catalog.rules.no_show_after_recalls
    if t.recalls < need:
        raise Refused("recall-first", f"请先重呼：已重呼 {t.recalls} 次，需重呼 {need} 次后才能标记过号")
    ctx.store.append(ev.TicketNoShow(ticket=t.id, window=window_id, staff=staff, recalls=t.recalls))
    return ctx.store.ticket(t.id)  # type: ignore[return-value]


def rejoin(ctx: Ctx, number: str) -> TicketView:
    """A visitor who missed their call comes back: the ticket rejoins at the end of the queue."""
    t = ctx.store.ticket_by_number(number.strip().upper(), ctx.service_date())
    if t is None:
        raise NotFound("unknown-ticket", f"今日没有号码 {number}")
    if t.state != "no_show":
        raise Refused("not-missed", f"号码 {t.number} 不是过号状态，无需重新排队")
    if t.rejoins >= ctx.catalog.rules.rejoin_limit:
        raise Refused("rejoin-limit", f"号码 {t.number} 已重新排队 {t.rejoins} 次，请重新取号")
    TICKET.next(t.state, "rejoin", "号码")
    ctx.store.append(ev.TicketRejoined(ticket=t.id))
    return ctx.store.ticket(t.id)  # type: ignore[return-value]


def transfer(ctx: Ctx, window_id: str, staff: str, department: str | None = None,
             item: str | None = None, note: str = "") -> TicketView:
    """首问负责: send the visitor to the department that owns the matter, keeping their place."""
    w = acting_window(ctx, window_id, staff)
    t = current_ticket(ctx, w)
    cat = ctx.catalog
    if item is not None:
        it = cat.items.get(item)
        if it is None:
            raise NotFound("unknown-item", f"没有编号为 {item} 的服务事项")
        if department is not None and department != it.department:
            raise Invalid("item-department-mismatch", "事项不属于所选部门")
        department = it.department
    if department is None:
        raise Invalid("target-required", "请选择转办的部门或事项")
    if department not in cat.departments:
        raise NotFound("unknown-department", f"没有编号为 {department} 的部门")
    if department == t.department:
        raise Invalid("same-department", "不能转给本部门，请直接办理")
    if all(x.department != department for x in cat.business.windows):
        raise Refused("department-not-here", f"{cat.departments[department].name}不在本大厅设窗口")
    TICKET.next(t.state, "transfer", "号码")
    ctx.store.append(
        ev.TicketTransferred(ticket=t.id, window=window_id, staff=staff, from_department=t.department,
                             to_department=department, item=item, note=note.strip()[:200])
    )
    return ctx.store.ticket(t.id)  # type: ignore[return-value]


def expire_stale(ctx: Ctx) -> int:
    """Tickets of earlier days that were never finished are closed as expired (day rollover)."""
    n = 0
    for t in ctx.store.stale_tickets(ctx.service_date()):
        ctx.store.append(ev.TicketExpired(ticket=t.id, state=t.state))
        n += 1
    return n

