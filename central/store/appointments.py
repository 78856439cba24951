"""Appointment bookings (预约) at central: the tables and their queries (central.appointments
decides; this module only stores).

- `appointments`: one row per booking (code, hall, department, item, slot start, phone, name,
  booked/cancelled, who and how it was taken). The phone and name are erased `keep_phone_days`
  after the slot (`erase_personal`).
- `appointment_versions`: per hall the version of its bookings message; every change adds 1,
  in the change's transaction (`bump`): that row is also the per-hall lock under which a
  slot's capacity is counted, so two bookings never both take a slot's last place.
- Check-ins are not stored here: they are the halls' `appointment.checked_in` events
  (`checkins` reads them from the merged events).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import peewee as pw

CHECKED_IN = "appointment.checked_in"


@dataclass
class AppointmentModels:
    Booking: type
    Version: type

    def all(self) -> list[type]:
        return [self.Booking, self.Version]


def bind_appointments(db: pw.Database) -> AppointmentModels:
    class Base(pw.Model):
        class Meta:
            database = db

    class Booking(Base):
        id = pw.TextField(primary_key=True)
        code = pw.TextField(unique=True)
        hall = pw.TextField()
        department = pw.TextField()
        item = pw.TextField()
        slot_start = pw.BigIntegerField()  # µs UTC
        day = pw.TextField()  # the slot's local date, YYYY-MM-DD
        phone = pw.TextField(default="")
        name = pw.TextField(default="")
        state = pw.TextField(default="booked")  # booked | cancelled
        source = pw.TextField(default="api")  # page | api | csv
        created_by = pw.TextField(default="")
        created_at = pw.BigIntegerField()
        cancelled_by = pw.TextField(default="")
        cancelled_at = pw.BigIntegerField(null=True)
        erased_at = pw.BigIntegerField(null=True)  # when phone and name were erased

        class Meta:
            table_name = "appointments"
            indexes = ((("hall", "day"), False), (("hall", "item", "slot_start"), False), (("slot_start",), False))

    class Version(Base):
        hall = pw.TextField(primary_key=True)
        version = pw.BigIntegerField(default=0)

        class Meta:
            table_name = "appointment_versions"

    return AppointmentModels(Booking, Version)


def as_dict(r) -> dict:
    return {"id": r.id, "code": r.code, "hall": r.hall, "department": r.department, "item": r.item,
            "slot_start": r.slot_start, "day": r.day, "phone": r.phone, "name": r.name, "state": r.state,
            "source": r.source, "created_by": r.created_by, "created_at": r.created_at,
            "cancelled_by": r.cancelled_by, "cancelled_at": r.cancelled_at, "erased_at": r.erased_at}


def bump(store, hall: str) -> int:
    """Add 1 to the hall's bookings version (inside the caller's transaction) and return it.
    The row stays locked to the end of the transaction (PostgreSQL: the row; SQLite: the
    database), so what the caller counts next is not changed under it."""
    V = store.appointments.Version
    p = store.db.param
    store.db.execute_sql(f"INSERT INTO appointment_versions (hall, version) VALUES ({p}, 0) ON CONFLICT DO NOTHING",
                         [hall])
    V.update(version=V.version + 1).where(V.hall == hall).execute()
    return V.get_by_id(hall).version


def version(store, hall: str) -> int:
    V = store.appointments.Version
    row = V.get_or_none(V.hall == hall)
    return row.version if row else 0


def taken(store, hall: str, item: str, slot_start: int) -> int:
    """Bookings (not cancelled) of one slot of one item at one hall."""
    B = store.appointments.Booking
    return B.select().where((B.hall == hall) & (B.item == item) & (B.slot_start == slot_start)
                            & (B.state == "booked")).count()


def taken_on(store, hall: str, item: str, lo: int, hi: int) -> dict[int, int]:
    """slot start → bookings (not cancelled) of an item at a hall with lo <= start < hi."""
    B = store.appointments.Booking
    q = (B.select(B.slot_start, pw.fn.COUNT(B.id)).where(
        (B.hall == hall) & (B.item == item) & (B.state == "booked") & (B.slot_start >= lo) & (B.slot_start < hi))
        .group_by(B.slot_start).tuples())
    return dict(q)


def code_exists(store, code: str) -> bool:
    B = store.appointments.Booking
    return B.select().where(B.code == code).exists()


def insert(store, **row) -> None:
    store.appointments.Booking.insert(**row).execute()


def by_code(store, code: str) -> dict | None:
    B = store.appointments.Booking
    r = B.get_or_none(B.code == code)
    return as_dict(r) if r else None


def cancel(store, code: str, who: str, at: int) -> None:
    B = store.appointments.Booking
    B.update(state="cancelled", cancelled_by=who, cancelled_at=at).where(B.code == code).execute()


def listing(store, halls: list[str] | None, first_day: str | None = None, last_day: str | None = None,
            department: str | None = None, limit: int = 5000) -> list[dict]:
    B = store.appointments.Booking
    q = B.select()
    if halls is not None:
        q = q.where(B.hall.in_(halls))
    if first_day:
        q = q.where(B.day >= first_day)
    if last_day:
        q = q.where(B.day <= last_day)
    if department:
        q = q.where(B.department == department)
    return [as_dict(r) for r in q.order_by(B.slot_start, B.hall, B.code).limit(limit)]


def erase_personal(store, before_us: int, at: int) -> int:
    """Erase phone and name of every booking whose slot started before `before_us`."""
    B = store.appointments.Booking
    return B.update(phone="", name="", erased_at=at).where(
        (B.slot_start < before_us) & B.erased_at.is_null()).execute()


def checkins(store, halls: list[str] | None, since_us: int) -> dict[str, dict]:
    """booking id → the body of its `appointment.checked_in` event (the first one), from the
    merged events of `halls` (None: all) stored since `since_us` (hall time)."""
    E = store.m.Event
    q = E.select(E.hall, E.body, E.ts_true).where((E.kind == CHECKED_IN) & (E.ts_true >= since_us))
    if halls is not None:
        q = q.where(E.hall.in_(halls))
    out: dict[str, dict] = {}
    for hall, body, ts in q.order_by(E.ts_true).tuples():
        try:
            b = json.loads(body)
        except ValueError:
            continue
        out.setdefault(b.get("booking", ""), {**b, "hall": hall, "at": ts})
    return out
