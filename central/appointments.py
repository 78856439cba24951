"""Appointments (预约) at central: slots, bookings, cancellation, and the bookings message each
hall gets [C 11(6), J 4(6)].

- Slots: every `[appointments] slot_minutes` of a hall's opening periods (its calendar), for the
  items of its catalog marked `appointment = true` whose department has a window there. A slot
  of one item at one hall takes `capacity` bookings (`items` override, else `departments`,
  else the default); bookable from today to `days_ahead` days on, never a slot already begun.
- A booking: a 6-character code (no 0/O/1/I: read over the phone without doubt), hall,
  department, item, slot start, phone (erased with the name `keep_phone_days` after the slot),
  name (optional), booked or cancelled. Its state as shown adds what the hall's events say:
  checked_in (on time), late (came after the window: served as a walk-in), no_show (the window
  ended without an on-time check-in), cancelled, booked.
- Capacity is counted under the hall's version row (central.store.appointments.bump): a full
  slot refuses with `Conflict` (HTTP 409), whoever asks.
- Every change adds 1 to the hall's version and publishes the hall's bookings of today and the
  next `days_ahead` days (wire.AppointmentsMessage, retained, signed like the config).
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Callable

from sync.contract import wire
from sync.kernel.clock import Clock, SystemClock, to_micros

from .config import Appointments
from .errors import BadRequest, Forbidden, NotFound
from .projections import Directory
from .scope import Scope
from .store import appointments as sa

log = logging.getLogger("onestop.central.appointments")

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, no 1/I (edge.appointments reads the same)
CODE_LENGTH = 6
DAY_US = 86_400_000_000
MINUTE_US = 60_000_000
STATE_NAMES = {"booked": "已预约", "checked_in": "已签到", "late": "迟到（按现场号办理）", "no_show": "未到（爽约）",
               "cancelled": "已取消"}


class Conflict(Exception):
    """The booking cannot be done in the state things are in (a full slot, a used booking): 409."""


def normalize_phone(phone: str) -> str:
    digits = re.sub(r"[\s\-()+]", "", phone or "")
    if not re.fullmatch(r"\d{7,15}", digits):
        raise BadRequest(f"手机号应为 7–15 位数字，收到 {phone!r}")
    return digits


def mask_name(name: str) -> str:
    """What the hall gets of a name: its first character and a star or two (张*, 欧阳**)."""
    name = name.strip()
    return f"{name[0]}{'*' * min(2, len(name) - 1)}" if name else ""


@dataclass
class AppointmentBook:
    store: object  # central.store.CentralStore
    directory: Directory
    clock: Clock = field(default_factory=SystemClock)
    settings: Appointments = field(default_factory=Appointments)
    publish: Callable[[wire.AppointmentsMessage], object] | None = None  # CentralService.publish_appointments

    # -------------------------------------------------------------- rules

    def policy(self) -> wire.AppointmentPolicy:
        s = self.settings
        return wire.AppointmentPolicy(slot_minutes=s.slot_minutes, before_minutes=s.before_minutes,
                                      after_minutes=s.after_minutes, max_in_row=s.max_in_row)

    def capacity(self, department: str, item: str) -> int:
        s = self.settings
        return s.items.get(item, s.departments.get(department, s.capacity))

    def today(self, hall: str) -> date:
        return self.clock.now().astimezone(self.directory.tz(hall)).date()

    def _hall(self, hall: str):
        entry = self.directory.halls.get(hall)
        if entry is None:
            raise NotFound(f"没有大厅 {hall!r}")
        return entry

    def bookable_items(self, hall: str) -> list:
        b = self._hall(hall).business
        present = {w.department for w in b.windows}
        return [i for i in b.catalog.items if i.appointment and i.department in present]

    def _item(self, hall: str, item: str):
        for i in self.bookable_items(hall):
            if i.id == item:
                return i
        raise BadRequest(f"事项 {item!r} 在大厅 {hall} 不可预约（须为本大厅办理、标记 appointment = true 的事项）")

    def _day(self, hall: str, day: date) -> None:
        today = self.today(hall)
        if not today <= day <= today + timedelta(days=self.settings.days_ahead):
            raise BadRequest(f"只能预约 {today} 至 {today + timedelta(days=self.settings.days_ahead)} 的时段，收到 {day}")

    def slot_starts(self, hall: str, day: date) -> list[datetime]:
        cal = self.directory.calendars[hall]
        step = timedelta(minutes=self.settings.slot_minutes)
        out = []
        for s, e in cal.periods_on(day):
            t = s
            while t + step <= e:
                out.append(t)
                t += step
        return out

    def slots(self, hall: str, item: str, day: date) -> list[dict]:
        """Every slot of `item` at `hall` on `day`: start, capacity, booked, free, bookable now."""
        it = self._item(hall, item)
        self._day(hall, day)
        starts = self.slot_starts(hall, day)
        cap = self.capacity(it.department, it.id)
        if not starts:
            return []
        lo = to_micros(starts[0])
        taken = sa.taken_on(self.store, hall, it.id, lo, to_micros(starts[-1]) + 1)
        now = self.clock.micros()
        return [{"start": t.isoformat(), "time": t.strftime("%H:%M"), "start_us": (us := to_micros(t)),
                 "capacity": cap, "booked": taken.get(us, 0), "free": max(0, cap - taken.get(us, 0)),
                 "open": us > now and taken.get(us, 0) < cap} for t in starts]

    # -------------------------------------------------------------- bookings

    def parse_start(self, hall: str, start: str) -> datetime:
        """An ISO date-time; without an offset it is the hall's local time."""
        try:
            t = datetime.fromisoformat(start.strip())
        except (ValueError, AttributeError):
            raise BadRequest(f"start 应为时段开始时间 YYYY-MM-DDTHH:MM，收到 {start!r}") from None
        if t.tzinfo is None:
            t = t.replace(tzinfo=self.directory.tz(hall))
        return t.astimezone(self.directory.tz(hall))

    def book(self, hall: str, item: str, start: str, phone: str, name: str = "", *, who: str, source: str,
             scope: Scope) -> dict:
        """Take one booking and publish the hall's bookings; `Conflict` when the slot is full."""
        with self.store.db.atomic():
            row = self._book(hall, item, start, phone, name, who=who, source=source, scope=scope)
        self.send(hall)
        return self.view(row)

    def _book(self, hall: str, item: str, start: str, phone: str, name: str, *, who: str, source: str,
              scope: Scope) -> dict:
        """One booking inside the caller's transaction (the CSV import books many in one)."""
        if scope.role == "department":
            raise Forbidden("部门负责人不能代为预约；请由中心或大厅管理员办理")
        if scope.role == "hall" and hall != scope.hall:
            raise Forbidden(f"大厅管理员只能为本大厅（{scope.hall}）预约")
        it = self._item(hall, item)
        t = self.parse_start(hall, start)
        self._day(hall, t.date())
        if t not in self.slot_starts(hall, t.date()):
            raise BadRequest(f"{t:%Y-%m-%d %H:%M} 不是大厅 {hall} 的预约时段开始时间（每 {self.settings.slot_minutes} 分钟一个时段，"
                             "仅在开放时间内）")
        us = to_micros(t)
        now = self.clock.micros()
        if us <= now:
            raise BadRequest(f"时段 {t:%Y-%m-%d %H:%M} 已开始，不能再预约")
        digits = normalize_phone(phone)
        name = (name or "").strip()
        if len(name) > 32:
            raise BadRequest("姓名最多 32 个字")
        sa.bump(self.store, hall)
        cap = self.capacity(it.department, it.id)
        if sa.taken(self.store, hall, it.id, us) >= cap:
            raise Conflict(f"{t:%m月%d日 %H:%M} 时段的「{it.name}」已约满（每时段 {cap} 人），请选择其他时段")
        row = {"id": uuid.uuid4().hex, "code": self._new_code(), "hall": hall, "department": it.department,
               "item": it.id, "slot_start": us, "day": t.date().isoformat(), "phone": digits, "name": name,
               "state": "booked", "source": source, "created_by": who, "created_at": now}
        sa.insert(self.store, **row)
        return row | {"cancelled_by": "", "cancelled_at": None, "erased_at": None}

    def _new_code(self) -> str:
        for _ in range(50):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if not sa.code_exists(self.store, code):
                return code
        raise RuntimeError("no free booking code after 50 tries")  # 32^6 codes: never in practice

    def _visible(self, row: dict | None, scope: Scope, code: str) -> dict:
        if row is None or (scope.role == "hall" and row["hall"] != scope.hall) or not scope.department_ok(
                row["department"]):
            raise NotFound(f"没有预约码为 {code} 的预约")
        return row

    def get(self, code: str, scope: Scope) -> dict:
        code = (code or "").strip().upper()
        row = self._visible(sa.by_code(self.store, code), scope, code)
        return self.view(row)

    def cancel(self, code: str, who: str, scope: Scope) -> dict:
        code = (code or "").strip().upper()
        if scope.role == "department":
            raise Forbidden("部门负责人不能取消预约")
        with self.store.db.atomic():
            row = self._visible(sa.by_code(self.store, code), scope, code)
            state = self.view(row)["state"]
            if state != "booked":
                raise Conflict(f"预约 {code} 当前为「{STATE_NAMES[state]}」，不能取消")
            sa.bump(self.store, row["hall"])
            sa.cancel(self.store, code, who, self.clock.micros())
        self.send(row["hall"])
        return self.get(code, scope)

    def listing(self, scope: Scope, hall: str | None = None, first_day: str | None = None,
                last_day: str | None = None) -> list[dict]:
        halls = scope.halls(self.directory, hall)
        rows = sa.listing(self.store, halls, first_day, last_day,
                          department=scope.department if scope.role == "department" else None)
        marks = self._checkins(halls, rows)
        return [self.view(r, marks) for r in rows]

    def _checkins(self, halls: list[str] | None, rows: list[dict]) -> dict[str, dict]:
        if not rows:
            return {}
        since = min(r["slot_start"] for r in rows) - DAY_US
        return sa.checkins(self.store, halls, since)

    def view(self, row: dict, marks: dict[str, dict] | None = None) -> dict:
        """A booking as the API and pages show it, with its state (see the module docstring)."""
        if marks is None:
            marks = sa.checkins(self.store, [row["hall"]], row["slot_start"] - DAY_US)
        mark = marks.get(row["id"])
        closes = row["slot_start"] + self.settings.after_minutes * MINUTE_US
        if row["state"] == "cancelled":
            state = "cancelled"
        elif mark is not None:
            state = "checked_in" if mark.get("status") == "on_time" else "late"
        elif self.clock.micros() > closes:
            state = "no_show"
        else:
            state = "booked"
        tz = self.directory.tz(row["hall"])
        start = datetime.fromtimestamp(row["slot_start"] / 1e6, tz)
        return {"code": row["code"], "hall": row["hall"], "department": row["department"], "item": row["item"],
                "start": start.isoformat(), "day": row["day"], "time": start.strftime("%H:%M"),
                "phone": row["phone"], "name": row["name"], "state": state, "state_name": STATE_NAMES[state],
                "ticket": mark.get("number") if mark else None, "source": row["source"],
                "created_by": row["created_by"], "created_at": row["created_at"],
                "cancelled_at": row["cancelled_at"], "erased": row["erased_at"] is not None}

    # -------------------------------------------------------------- to the halls

    def message(self, hall: str) -> wire.AppointmentsMessage:
        """The hall's bookings (not cancelled) of today and the next `days_ahead` days."""
        today = self.today(hall)
        last = today + timedelta(days=self.settings.days_ahead)
        rows = [r for r in sa.listing(self.store, [hall], today.isoformat(), last.isoformat())
                if r["state"] == "booked"]
        return wire.AppointmentsMessage(
            v=wire.V, hall=hall, version=sa.version(self.store, hall), first_day=today.isoformat(),
            last_day=last.isoformat(), policy=self.policy(), ts=self.clock.micros(),
            bookings=[wire.Booking(id=r["id"], code=r["code"], department=r["department"], item=r["item"],
                                   start=r["slot_start"], phone_tail=r["phone"][-4:], name=mask_name(r["name"]))
                      for r in rows])

    def messages(self) -> list[wire.AppointmentsMessage]:
        """Every hall's message (published again when central connects to the broker)."""
        return [self.message(h) for h in self.directory.halls]

    def send(self, hall: str) -> None:
        if self.publish is not None:
            try:
                self.publish(self.message(hall))
            except Exception:  # noqa: BLE001 - stored; it goes out again on the next change or reconnect
                log.exception("publishing the bookings of %s failed", hall)

    # -------------------------------------------------------------- personal data

    def erase_expired(self) -> int:
        """Erase phone and name of the bookings whose slot is `keep_phone_days` past."""
        now = self.clock.micros()
        n = sa.erase_personal(self.store, now - self.settings.keep_phone_days * DAY_US, now)
        if n:
            log.info("erased phone and name of %d bookings past the retention", n)
        return n

    def run_erasure(self, stop: threading.Event, interval: float = 3600.0) -> threading.Thread:
        """Erase expired personal data now and every `interval` seconds until `stop` is set."""
        def loop() -> None:
            while True:
                try:
                    self.erase_expired()
                except Exception:  # noqa: BLE001 - the database may be away; try again later
                    log.exception("erasing expired booking phones failed")
                if stop.wait(interval):
                    return

        t = threading.Thread(target=loop, name="central-appointments", daemon=True)
        t.start()
        return t
