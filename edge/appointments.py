"""Appointments (预约) at the hall: checking in a booking at the kiosk [C 11(6), J 4(6)].

Central books the slots and sends the hall its bookings (sync.contract.wire
`AppointmentsMessage`, kept by edge.syncing); the hall works on the last message it has, online
or not. A visitor checks in with the booking's 6-character code or the last 4 digits of the
phone it was booked with:

- before the window opens (`before_minutes` ahead of the slot start) nothing is issued: the
  kiosk says from when to come back;
- inside the window (up to `after_minutes` after the slot start) a ticket is issued for the
  booked item and recorded as an on-time appointment ticket: edge.queue calls it ahead of
  walk-ins (central's `max_in_row` bounds how many in a row);
- after the window the visitor gets an ordinary walk-in ticket and the booking is recorded late
  (central counts it as missed).

Every check-in is an `appointment.checked_in` event, so central learns it from the log.
"""

from __future__ import annotations

from sync.contract import events as ev
from sync.contract import wire
from sync.kernel.clock import from_micros

from . import queue
from .context import Ctx
from .store.appointments import BookingView
from .workflow import Invalid, NotFound, Refused

# What a booking code is made of: no 0/O and no 1/I, so a code read aloud over the phone or
# typed on the kiosk's keypad cannot be mistaken (central.appointments makes them).
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 6
TAIL_LENGTH = 4
MINUTE_US = 60_000_000


def local_day(ctx: Ctx, us: int) -> str:
    return ctx.calendar.local_date(from_micros(us)).isoformat()


def hhmm(ctx: Ctx, us: int) -> str:
    return ctx.calendar.local(from_micros(us)).strftime("%H:%M")


def store_message(ctx: Ctx, msg: wire.AppointmentsMessage) -> None:
    """Keep central's bookings (the caller checked the version)."""
    rows = [BookingView(id=b.id, code=b.code.upper(), department=b.department, item=b.item, slot_start=b.start,
                        service_date=local_day(ctx, b.start), phone_tail=b.phone_tail, name=b.name)
            for b in msg.bookings]
    ctx.store.store_bookings(msg, rows)


def check_window(policy: wire.AppointmentPolicy, slot_start: int) -> tuple[int, int]:
    """(opens, closes) of a slot's check-in window, µs UTC."""
    return slot_start - policy.before_minutes * MINUTE_US, slot_start + policy.after_minutes * MINUTE_US


def normalize(entry: str) -> str:
    return "".join(ch for ch in (entry or "").upper() if ch.isalnum())


def find(ctx: Ctx, entry: str) -> BookingView:
    """The booking a visitor means by `entry` (a code, or a phone's last 4 digits: today's
    booking of that phone that is not checked in yet; inside its window first)."""
    text = normalize(entry)
    if len(text) == TAIL_LENGTH and text.isdigit():
        found = [b for b in ctx.store.bookings_by_tail(text, ctx.service_date()) if ctx.store.checkin_of(b.id) is None]
        if not found:
            raise NotFound("no-booking", f"今日没有手机尾号 {text} 的待签到预约，请核对或输入预约码")
        if len(found) > 1:
            policy, now = ctx.store.appointment_policy(), ctx.clock.micros()
            inside = [b for b in found if check_window(policy, b.slot_start)[0] <= now <= check_window(
                policy, b.slot_start)[1]]
            if len(inside) != 1:
                raise Refused("several-bookings", f"手机尾号 {text} 今日有多个预约，请输入预约码")
            found = inside
        return found[0]
    if len(text) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in text):
        b = ctx.store.booking_by_code(text)
        if b is None:
            raise NotFound("no-booking", f"没有预约码为 {text} 的预约，请核对后重新输入")
        return b
    raise Invalid("bad-entry", "请输入 6 位预约码，或预约时所留手机号的后 4 位")


def check_in(ctx: Ctx, entry: str) -> dict:
    """Check a booking in: an appointment ticket inside the window, a walk-in ticket after it,
    nothing before it (refused with the time to come back). Returns the ticket id and status."""
    b = find(ctx, entry)
    today = ctx.service_date()
    if b.service_date != today:
        d = b.service_date
        raise Refused("not-today", f"您的预约日期是 {int(d[5:7])}月{int(d[8:10])}日 {hhmm(ctx, b.slot_start)}，"
                                   "请在预约当天前来签到")
    done = ctx.store.checkin_of(b.id)
    if done is not None:
        raise Refused("already-checked-in", f"该预约已签到，您的号码是 {done.number}")
    policy = ctx.store.appointment_policy()
    opens, closes = check_window(policy, b.slot_start)
    now = ctx.clock.micros()
    if now < opens:
        raise Refused("too-early", f"您预约的时段 {hhmm(ctx, b.slot_start)} 开始，请于 {hhmm(ctx, opens)} 后再来签到，"
                                   "现在不出号")
    status = "on_time" if now <= closes else "late"
    t = queue.issue(ctx, item=b.item)["ticket"]
    ctx.store.append(ev.AppointmentCheckedIn(
        booking=b.id, code=b.code, department=t.department, item=b.item, slot_start=b.slot_start,
        window_start=opens, window_end=closes, status=status, ticket=t.id, number=t.number))
    return {"ticket": t.id, "number": t.number, "status": status}
