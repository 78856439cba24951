"""Appointments (预约) at the hall: the bookings central sent (downlink copy) and the check-ins
(projection of `appointment.checked_in`), with the queries the kiosk and the call order need.

- `appointments` holds the bookings of the newest `AppointmentsMessage` (sync.contract.wire).
  It is NOT a projection: it comes from central, not from the hall's log, so `rebuild()` keeps
  it (its model is bound beside the parts, created by migration 2). The message's version and
  central's policy numbers are kept in meta `appointments`.
- `appointment_checkins` is a projection: one row per booking checked in, with the ticket it
  got and whether it came inside its window (`on_time`: the ticket goes ahead of walk-ins) or
  after it (`late`: an ordinary walk-in).
"""

from __future__ import annotations

import json

import msgspec
import peewee as pw

from sync.contract import events as ev
from sync.contract import wire

from .log import get_view, row_view, table

META_KEY = "appointments"


class BookingView(msgspec.Struct, kw_only=True):
    id: str
    code: str
    department: str
    item: str
    slot_start: int  # µs UTC
    service_date: str  # the slot's local date
    phone_tail: str
    name: str


class CheckinView(msgspec.Struct, kw_only=True):
    booking: str
    ticket: str
    number: str
    department: str
    status: str  # on_time | late
    service_date: str
    checked_in_at: int  # µs UTC


def booking_table(db: pw.Database) -> type:
    """The downlink copy's model, bound to `db` (not a projection part: `rebuild` keeps it)."""

    class Base(pw.Model):
        class Meta:
            database = db

    return table(Base, "Booking", BookingView, "appointments", key="id", big={"slot_start"},
                 indexes=((("code",), False), (("service_date", "phone_tail"), False)))


def tables(Base: type) -> list[type]:
    Checkin = table(Base, "AppointmentCheckin", CheckinView, "appointment_checkins", key="booking",
                    big={"checked_in_at"}, index={"ticket"})
    return [Checkin]


# ---------------------------------------------------------------------------- projection rules


def _checked_in(s, seq: int, ts: int, b: ev.AppointmentCheckedIn) -> None:
    day = s.one("SELECT service_date FROM tickets WHERE id = ?", (b.ticket,))
    s.m.AppointmentCheckin.insert(
        booking=b.booking, ticket=b.ticket, number=b.number, department=b.department, status=b.status,
        service_date=day[0] if day else "", checked_in_at=ts,
    ).on_conflict_replace().execute()


RULES = {"appointment.checked_in": _checked_in}


# ---------------------------------------------------------------------------- queries


class AppointmentQueries:
    m: object
    db: pw.Database

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        self.m.Booking = booking_table(self.db)  # type: ignore[attr-defined]

    # -- the downlink copy

    def appointments_meta(self) -> dict:
        raw = self.meta(META_KEY)  # type: ignore[attr-defined]
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return {}

    def appointments_version(self) -> int:
        return int(self.appointments_meta().get("version", 0))

    def appointment_policy(self) -> wire.AppointmentPolicy:
        """Central's numbers from the newest message (defaults before any message came)."""
        try:
            return msgspec.convert(self.appointments_meta().get("policy", {}), wire.AppointmentPolicy)
        except msgspec.ValidationError:
            return wire.AppointmentPolicy()

    def store_bookings(self, msg: wire.AppointmentsMessage, rows: list[BookingView]) -> None:
        """Replace the bookings of the message's days by `rows` (its bookings with their local
        dates); bookings of earlier days are dropped. Check-ins (the projection) stay."""
        B = self.m.Booking  # type: ignore[attr-defined]
        B.delete().where((B.service_date < msg.first_day)
                         | ((B.service_date >= msg.first_day) & (B.service_date <= msg.last_day))).execute()
        for r in rows:
            B.insert(**msgspec.structs.asdict(r)).on_conflict_replace().execute()
        self.set_meta(META_KEY, json.dumps({  # type: ignore[attr-defined]
            "version": msg.version, "first_day": msg.first_day, "last_day": msg.last_day,
            "policy": msgspec.to_builtins(msg.policy), "received": msg.ts}))

    def booking_by_code(self, code: str) -> BookingView | None:
        B = self.m.Booking  # type: ignore[attr-defined]
        return get_view(BookingView, B, B.code == code)

    def bookings_by_tail(self, tail: str, service_date: str) -> list[BookingView]:
        B = self.m.Booking  # type: ignore[attr-defined]
        q = B.select().where((B.phone_tail == tail) & (B.service_date == service_date)).order_by(B.slot_start)
        return [row_view(BookingView, r) for r in q]

    def bookings_on(self, service_date: str) -> list[BookingView]:
        B = self.m.Booking  # type: ignore[attr-defined]
        return [row_view(BookingView, r) for r in B.select().where(B.service_date == service_date)
                .order_by(B.slot_start, B.code)]

    # -- check-ins and the call order

    def checkin_of(self, booking: str) -> CheckinView | None:
        C = self.m.AppointmentCheckin  # type: ignore[attr-defined]
        return get_view(CheckinView, C, C.booking == booking)

    def appointment_ticket_ids(self, service_date: str) -> set[str]:
        """Tickets of the day that go ahead of walk-ins (checked in on time)."""
        cur = self.db.execute_sql("SELECT ticket FROM appointment_checkins WHERE service_date = ? AND "
                                  "status = 'on_time'", (service_date,))
        return {r[0] for r in cur.fetchall()}

    def first_appointment_waiting(self, department: str, service_date: str) -> str | None:
        """The id of the department's first waiting on-time appointment ticket (queue order),
        priority tickets aside (they are ahead of everybody anyway)."""
        row = self.one(  # type: ignore[attr-defined]
            "SELECT t.id FROM tickets t JOIN appointment_checkins c ON c.ticket = t.id AND c.status = 'on_time'"
            " WHERE t.department = ? AND t.service_date = ? AND t.state = 'waiting' AND NOT t.priority"
            " ORDER BY t.queue_key, t.issued_at, t.number LIMIT 1", (department, service_date))
        return row[0] if row else None

    def appointment_calls_in_row(self, department: str, service_date: str, most: int) -> int:
        """How many of the department's latest calls today (up to `most`) were on-time
        appointment tickets, one after the other."""
        cur = self.db.execute_sql(
            "SELECT c.ticket IS NOT NULL FROM tickets t LEFT JOIN appointment_checkins c ON c.ticket = t.id"
            " AND c.status = 'on_time' WHERE t.department = ? AND t.service_date = ? AND t.called_at IS NOT NULL"
            " ORDER BY t.called_at DESC, t.number DESC LIMIT ?", (department, service_date, most))
        n = 0
        for (is_appointment,) in cur.fetchall():
            if not is_appointment:
                break
            n += 1
        return n
