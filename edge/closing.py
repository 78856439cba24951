"""The end-of-day closing check (闭厅检查) [J 42, U 31, B 39].

After the day's last work period has ended and the last service is finished (extended service:
numbers taken before closing are still served), the staff have `rules.closing.check_within_minutes`
to close every door and switch off lights, air-conditioning, computers and printers. The
check reads the door contacts (closed = pass) and the power-sense inputs (off = pass):
- it passes as soon as everything reads right once the service has ended (`closing.checked`
  ok, with who closed: the last staff member to sign off);
- at the deadline a failing check is recorded (`closing.checked` not ok, naming every failing
  input) and raises an alarm (`closing.alarm`), repeated every `alarm_repeat_minutes` until a
  check passes;
- numbers still open `max_extension_minutes` after closing do not hold the check back.
A manual check (人工检查) records the hall manager's own round: doors and windows shut, power
off, each confirmed or not, with a note (`closing.checked` with `manual`, `by` the manager). It
is the check of a hall without door/power inputs, and the manager's word where the inputs
disagree (a stuck contact): what they read at that moment travels with it (`readings`), and a
disagreement needs a note. It is refused before the day's service ended (`service_end`).
The readings come from the caller (`Sensor`s read by edge.hardware): nothing here touches a pin
or reads the time other than through the hall's clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sync.contract import events as ev
from sync.kernel.clock import from_micros, to_micros

from .context import Ctx
from .workflow import Invalid, Refused


@dataclass(frozen=True)
class Sensor:
    """One closing input as read now. `active`: a door is closed / a power input is on."""

    name: str
    role: str  # door | power
    label: str
    active: bool

    @property
    def ok(self) -> bool:
        return self.active if self.role == "door" else not self.active

    @property
    def state(self) -> str:
        if self.role == "door":
            return "closed" if self.active else "open"
        return "on" if self.active else "off"


STATE_LABELS = {"closed": "已关闭", "open": "未关闭", "on": "未断电", "off": "已断电"}


def _failed(sensors: list[Sensor]) -> list[ev.FailedInput]:
    return [ev.FailedInput(name=s.name, role=s.role, label=s.label, state=s.state) for s in sensors if not s.ok]


def service_end(ctx: Ctx):
    """When today's service ended (the last period's end, or the last service's end if later),
    None while it has not (numbers still open, within the extension) or on a closed day."""
    today = ctx.today()
    close = ctx.calendar.closing_time(today)
    if close is None:
        return None
    now = ctx.now()
    if now < close:
        return None
    sdate = today.isoformat()
    rules = ctx.catalog.rules.closing
    if ctx.store.open_tickets(sdate) and now < close + timedelta(minutes=rules.max_extension_minutes):
        return None
    finished = [t.finished_at for t in ctx.store.tickets_on(sdate) if t.finished_at is not None]
    last = from_micros(max(finished)) if finished else None
    return max(close, last) if last is not None and last > close else close


def _closer(ctx: Ctx) -> str | None:
    today = ctx.today()
    opening = ctx.calendar.opening_time(today)
    if opening is None:
        return None
    start = to_micros(opening) - 6 * 3600 * 1_000_000
    s = ctx.store.last_sign_off(start, to_micros(ctx.now()) + 1)
    return s.staff if s else None


def check(ctx: Ctx, sensors: list[Sensor], by: str = "auto", force: bool = False) -> dict:
    """Tick (and the manual check): evaluate today's closing. Returns the day's state."""
    sdate = ctx.service_date()
    if not sensors:
        return {"service_date": sdate, "state": "no-sensors"}
    day = ctx.store.closing_day(sdate)
    failed = _failed(sensors)
    if force:
        ctx.store.append(ev.ClosingChecked(service_date=sdate, ok=not failed, failed=failed, by=by, closer=_closer(ctx)))
        return state(ctx)
    if day is not None and day.passed_at is not None:
        return state(ctx)
    ended = service_end(ctx)
    if ended is None:
        return state(ctx)
    rules = ctx.catalog.rules.closing
    now = ctx.now()
    if not failed:
        ctx.store.append(ev.ClosingChecked(service_date=sdate, ok=True, by=by, closer=_closer(ctx)))
        return state(ctx)
    if now < ended + timedelta(minutes=rules.check_within_minutes):
        return state(ctx)
    if day is None or day.alarms == 0:
        ctx.store.append(ev.ClosingChecked(service_date=sdate, ok=False, failed=failed, by=by, closer=_closer(ctx)))
        ctx.store.append(ev.ClosingAlarm(service_date=sdate, failed=failed, repeat=1))
    elif day.last_alarm_at is not None and to_micros(now) - day.last_alarm_at >= rules.alarm_repeat_minutes * 60_000_000:
        ctx.store.append(ev.ClosingAlarm(service_date=sdate, failed=failed, repeat=day.alarms + 1))
    return state(ctx)


MANUAL_ITEMS = (("doors", "door", "门窗已关闭"), ("power", "power", "灯光、空调、电脑、打印机已断电"))


def manual_check(ctx: Ctx, sensors: list[Sensor], by: str, doors: bool, power: bool, note: str = "") -> dict:
    """The manager's manual closing check [J 42, U 31, B 39]: `doors` / `power` what they
    confirmed. Passes when both are confirmed. Returns the day's state."""
    note = note.strip()[:500]
    today = ctx.today()
    if ctx.calendar.closing_time(today) is not None and service_end(ctx) is None:
        close = ctx.calendar.local(ctx.calendar.closing_time(today))
        raise Refused("service-not-ended", f"今日服务尚未结束（{close:%H:%M} 闭厅，仍有号码在办理时顺延），"
                                           "结束后再做闭厅检查")
    confirmed = {"doors": doors, "power": power}
    failed = [ev.FailedInput(name=key, role=role, label=label, state="open" if role == "door" else "on")
              for key, role, label in MANUAL_ITEMS if not confirmed[key]]
    readings = _failed(sensors)
    if readings and not failed and len(note) < 2:
        names = "、".join(f.label or f.name for f in readings)
        raise Invalid("note-required", f"检测显示 {names} 未关闭/未断电：确认已关闭的，请在备注中说明（如门磁故障）")
    if failed and len(note) < 2:
        raise Invalid("note-required", "有未确认的项目：请在备注中说明原因和处理")
    ctx.store.append(ev.ClosingChecked(service_date=ctx.service_date(), ok=not failed, failed=failed, by=by,
                                       closer=_closer(ctx), manual=True, note=note, readings=readings))
    return state(ctx, bool(sensors))


def checks_today(ctx: Ctx) -> list[dict]:
    """Today's closing checks, oldest first: automatic and manual, with who, the note and what
    the inputs read (from the log: the day's row keeps only the latest)."""
    sdate = ctx.service_date()
    opening = ctx.calendar.opening_time(ctx.today())
    since = to_micros(opening) - 12 * 3600 * 1_000_000 if opening else to_micros(ctx.now()) - 24 * 3600 * 1_000_000
    out = []
    for e in ctx.store.recent_events(["closing.checked"], since):
        b = ev.decode_body(e.kind, bytes(e.body))
        if b.service_date != sdate:
            continue
        who = ctx.catalog.staff.get(b.by)
        manager = next((m for m in ctx.catalog.business.managers if m.id == b.by), None)
        out.append({"at": ctx.calendar.local(from_micros(e.ts)).strftime("%H:%M:%S"), "ok": b.ok, "manual": b.manual,
                    "by": b.by, "by_name": manager.name if manager else (who.name if who else b.by),
                    "note": b.note, "failed": [f.label or f.name for f in b.failed],
                    "readings": [f"{f.label or f.name}{STATE_LABELS.get(f.state, '')}" for f in b.readings]})
    return out


def state(ctx: Ctx, has_sensors: bool = True) -> dict:
    """Today's closing check as the pages show it. A hall without door/power inputs has no
    automatic check (`manual`: the closing staff check by hand)."""
    sdate = ctx.service_date()
    day = ctx.store.closing_day(sdate)
    ended = service_end(ctx)
    due = ended + timedelta(minutes=ctx.catalog.rules.closing.check_within_minutes) if ended else None
    closer = ctx.catalog.staff.get(day.closer) if day and day.closer else None
    if day is None and not has_sensors:
        status = "manual"
    elif day is None:
        status = "waiting" if ended is None else "due"
    elif day.passed_at is not None:
        status = "passed"
    elif day.alarms:
        status = "alarm"
    else:
        status = "failed" if day.checks else "due"
    label = {"waiting": "未到检查时间", "due": "待检查", "passed": "检查通过", "alarm": "报警中",
             "failed": "未通过", "manual": "未配置门磁/电源检测，请人工检查"}[status]
    manual = bool(day and day.by != "auto" and (last := checks_today(ctx)) and last[-1]["manual"])
    if manual and status in ("passed", "failed"):
        label = "人工确认通过" if day and day.ok else "人工检查未通过"
    return {
        "service_date": sdate, "status": status, "status_label": label, "manual": manual,
        "service_ended": ctx.calendar.local(ended).isoformat(timespec="seconds") if ended else None,
        "due": ctx.calendar.local(due).isoformat(timespec="seconds") if due else None,
        "failed": [{**f, "state_label": STATE_LABELS.get(f.get("state", ""), "")} for f in (day.failed if day else [])],
        "alarms": day.alarms if day else 0, "checks": day.checks if day else 0,
        "passed_at": ctx.calendar.local(from_micros(day.passed_at)).isoformat(timespec="seconds")
        if day and day.passed_at else None,
        "by": day.by if day else None, "closer": day.closer if day else None,
        "closer_name": closer.name if closer else (day.closer if day else None),
    }
