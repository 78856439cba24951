"""Attendance (考勤): badge punches classified against the calendar, leave, and coverage.

Rules [J 27, B 28, C 7, C 9, U 21, U 23, B 30]:
- Staff clock in at the start of the morning and out at the end of the afternoon on every open
  day (`rules.attendance.punches_per_day = 2`), or in and out around both halves of the day
  (4: in at the first period's start, out at its end, in at the second period's start, out at
  the last period's end). Closures shorten the day (a Friday closing at 16:00 moves the last
  clock-out to 16:00).
- A punch counts for the slot nearest in time. An in-punch after the slot + `late_grace_minutes`
  is late; an out-punch before the slot − `early_grace_minutes` is early leave. The first punch
  fills an in-slot (later ones there are extra); the last punch of an out-slot counts.
- Repeated punches within `duplicate_window_seconds` count once (no new event). A card nobody
  holds is recorded (`attendance.unknown_card`) and shown, never an error.
- Leave (edge.leave: request, approval by kind, A→B hand-over, after the fact, 销假) covers
  halves of days: am = the first work period, pm = the rest; a punch slot in a half on leave is
  not counted (sync.kernel.leave, the arithmetic central counts with) [C 9, J 28].
- While A is on leave or absent, B is expected at A's window. Coverage of a window is time: its
  open time (so far), the time someone (A, B, duty) was signed on there, paused, beyond the
  step-away limit, and the uncovered intervals (sync.kernel.coverage, central's arithmetic too)
  [U 21, B 28, C 9(4)]. Services finished after closing are 延时服务 [U 21, B 28, C 11(6)].

Daily results (late, early leave, absent, missing punch, on leave) are computed from the punches,
the calendar and the approved leave whenever asked: nothing derived is stored.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sync.contract import events as ev
from sync.kernel import coverage as cov
from sync.kernel.business import Staff, Window
from sync.kernel.clock import from_micros, to_micros
from sync.kernel.leave import slot_halves

from . import leave, stepaway
from .context import Ctx
from .windows import schedule
from .store.attendance import LeaveView, PunchView

KIND_LABELS = {"in": "上班", "out": "下班", "extra": "重复"}
CLASS_LABELS = {"on_time": "正常", "late": "迟到", "early": "早退", "repeat": "重复打卡", "closed_day": "非工作日"}
STATUS_LABELS = {"normal": "正常", "late": "迟到", "early_leave": "早退", "absent": "缺勤",
                 "missing_punch": "缺卡", "leave": "请假", "closed": "休息日", "pending": "未到打卡时间",
                 "unscheduled": "本日无排班"}

Slot = tuple[str, datetime, str]  # (in|out, local time, half: am|pm)


# ---------------------------------------------------------------- cards


def _card_index(ctx: Ctx) -> dict[str, Staff]:
    """Card id → staff, with the decimal forms a `line` reader may print for a hex card (the
    whole 5-byte id, or the 4-byte tag as the common "10-digit decimal" USB readers do)."""
    b = ctx.catalog.business
    cached = getattr(ctx, "_card_index", None)
    if cached is not None and cached[0] is b:
        return cached[1]
    index: dict[str, Staff] = {}
    for s in b.staff:
        if not s.card:
            continue
        card = s.card.upper()
        if card.isdigit():
            index.setdefault(str(int(card)), s)
        index[card] = s
        if len(card) == 10 and all(c in "0123456789ABCDEF" for c in card):
            index.setdefault(str(int(card, 16)), s)
            index.setdefault(str(int(card[2:], 16)), s)
    setattr(ctx, "_card_index", (b, index))
    return index


def staff_by_card(ctx: Ctx, card: str) -> Staff | None:
    card = card.strip().upper()
    index = _card_index(ctx)
    if card in index:
        return index[card]
    if card.isdigit():
        return index.get(str(int(card)))
    return None


# ---------------------------------------------------------------- slots


def slots(ctx: Ctx, day: date) -> list[Slot]:
    """The punch slots of `day`: (kind, local time, half), empty on a closed day."""
    periods = ctx.calendar.periods_on(day)
    halves = slot_halves(len(periods), ctx.catalog.rules.attendance.punches_per_day)
    if len(halves) == 4:
        return [("in", periods[0][0], "am"), ("out", periods[0][1], "am"),
                ("in", periods[1][0], "pm"), ("out", periods[-1][1], "pm")]
    return [("in", periods[0][0], "am"), ("out", periods[-1][1], "pm")] if halves else []


def _nearest(sl: list[Slot], at: datetime) -> int:
    return min(range(len(sl)), key=lambda i: (abs((at - sl[i][1]).total_seconds()), i))


def _slot_end(ctx: Ctx, day: date, sl: list[Slot], i: int) -> datetime:
    """When slot i can no longer be punched: the midpoint to the next slot, or the day's end."""
    if i + 1 < len(sl):
        return sl[i][1] + (sl[i + 1][1] - sl[i][1]) / 2
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=ctx.calendar.tz)


def classify(ctx: Ctx, staff: str, at: datetime, day: date) -> tuple[str, str, int | None]:
    """(kind, classification, slot) of a punch by `staff` at `at` on `day`."""
    sl = slots(ctx, day)
    if not sl:
        return "extra", "closed_day", None
    i = _nearest(sl, at)
    kind, when, _ = sl[i]
    rules = ctx.catalog.rules.attendance
    if kind == "in":
        if any(p.slot == i for p in ctx.store.punches(day.isoformat(), staff)):
            return "extra", "repeat", i
        late = at > when + timedelta(minutes=rules.late_grace_minutes)
        return "in", "late" if late else "on_time", i
    early = at < when - timedelta(minutes=rules.early_grace_minutes)
    return "out", "early" if early else "on_time", i


# ---------------------------------------------------------------- punching


def _duplicate(ctx: Ctx, last_at: int | None) -> bool:
    window = ctx.catalog.rules.attendance.duplicate_window_seconds
    return last_at is not None and to_micros(ctx.now()) - last_at < window * 1_000_000


def record_unknown(ctx: Ctx, reader: str, card: str) -> dict:
    last = ctx.store.last_unknown_card(card)
    if not _duplicate(ctx, last.at if last else None):
        ctx.store.append(ev.UnknownCard(card=card, reader=reader))
    return {"result": "unknown", "ok": False, "card": card, "message": f"未登记的卡：{card}"}


def punch(ctx: Ctx, reader: str, card: str) -> dict:
    """A badge at an attendance reader. Never raises for a bad card: the result says what happened."""
    card = card.strip().upper()
    s = staff_by_card(ctx, card)
    if s is None:
        return record_unknown(ctx, reader, card)
    last = ctx.store.last_punch(s.id)
    if _duplicate(ctx, last.at if last else None):
        return {"result": "duplicate", "ok": True, "staff": s.id, "name": s.name, "card": card,
                "message": f"{s.name}：已打卡（{ctx.catalog.rules.attendance.duplicate_window_seconds} 秒内重复刷卡只记一次）"}
    now = ctx.now()
    day = ctx.today()
    kind, cls, slot = classify(ctx, s.id, ctx.calendar.local(now), day)
    ctx.store.append(ev.AttendancePunch(staff=s.id, card=card, reader=reader, kind=kind, classification=cls,
                                        slot=slot, service_date=day.isoformat()))
    hhmm = ctx.calendar.local(now).strftime("%H:%M")
    return {"result": "punch", "ok": True, "staff": s.id, "name": s.name, "card": card, "kind": kind,
            "classification": cls,
            "message": f"{s.name} {hhmm} {KIND_LABELS[kind]}打卡：{CLASS_LABELS.get(cls, cls)}"}


# ---------------------------------------------------------------- leave (edge.leave; kept here for callers)

leave_kind, request_leave, approve_leave, reject_leave, end_leave, leave_brief, leave_halves = (
    leave.leave_kind, leave.request_leave, leave.approve_leave, leave.reject_leave, leave.end_leave,
    leave.leave_brief, leave.leave_halves)
LEAVE_STATES = leave.LEAVE_STATES


# ---------------------------------------------------------------- the day's results (derived)


def staff_day(ctx: Ctx, staff: Staff, day: date, punches: list[PunchView] | None = None,
              leaves: list[LeaveView] | None = None, expected: bool | None = None) -> dict:
    """One staff member's attendance on `day`, as of now. `expected`: whether the schedule
    (sync.kernel.schedule) expects them that day; a staff member not expected who did not punch
    is neither absent nor on leave (本日无排班) [B 7, B 10, J 9]."""
    sl = slots(ctx, day)
    base = {"staff": staff.id, "name": staff.name, "department": staff.department}
    if not sl:
        return {**base, "status": "closed", "status_label": STATUS_LABELS["closed"], "flags": [], "slots": [],
                "leave": [], "punches": 0}
    now = ctx.calendar.local(ctx.now())
    mine = [p for p in (punches if punches is not None else ctx.store.punches(day.isoformat(), staff.id))
            if p.staff == staff.id]
    halves, kinds = leave_halves(ctx, staff.id, day, leaves)
    if expected is None:
        expected = schedule(ctx).expected(staff.id, day)
    if not mine and not expected:
        return {**base, "status": "unscheduled", "status_label": STATUS_LABELS["unscheduled"], "flags": [],
                "flag_labels": [], "slots": [{"kind": k, "time": t.strftime("%H:%M"), "state": "unscheduled",
                                              "punched": None} for k, t, _ in sl],
                "leave": kinds, "punches": 0}
    rules = ctx.catalog.rules.attendance
    out_slots = []
    for i, (kind, when, half) in enumerate(sl):
        hits = [p for p in mine if p.slot == i and p.kind in ("in", "out")]
        p = (hits[0] if kind == "in" else hits[-1]) if hits else None
        if half in halves:
            state = "leave"
        elif p is not None:
            at = ctx.calendar.local(from_micros(p.at))
            if kind == "in":
                state = "late" if at > when + timedelta(minutes=rules.late_grace_minutes) else "ok"
            else:
                state = "early" if at < when - timedelta(minutes=rules.early_grace_minutes) else "ok"
        elif now < _slot_end(ctx, day, sl, i):
            state = "pending"
        else:
            state = "missing"
        out_slots.append({"kind": kind, "time": when.strftime("%H:%M"), "state": state,
                          "punched": ctx.calendar.local(from_micros(p.at)).strftime("%H:%M") if p else None})
    states = [x["state"] for x in out_slots]
    counted = [s for s in states if s != "leave"]
    flags = []
    if "late" in states:
        flags.append("late")
    if "early" in states:
        flags.append("early_leave")
    if "missing" in states:
        flags.append("missing_punch")
    if not counted:
        status = "leave"
    elif not mine and "missing" in counted:
        status, flags = "absent", ["absent"]
    elif not mine and all(s == "pending" for s in counted):
        status = "pending"
    else:
        status = flags[0] if flags else "normal"
    return {**base, "status": status, "status_label": STATUS_LABELS[status], "flags": flags,
            "flag_labels": [STATUS_LABELS[f] for f in flags], "slots": out_slots, "leave": kinds,
            "punches": len(mine)}


def _hms(ctx: Ctx, us: int) -> str:
    return ctx.calendar.local(from_micros(us)).strftime("%H:%M:%S")


def coverage_row(ctx: Ctx, fig: cov.WindowDay) -> dict:
    """A window-day's figures (sync.kernel.coverage) as the pages and the API show them."""
    return {
        "open_seconds": fig.open_seconds, "staffed_seconds": fig.staffed_seconds,
        "a_seconds": fig.by_role.get("A", 0), "b_seconds": fig.by_role.get("B", 0),
        "duty_seconds": fig.by_role.get("duty", 0), "by_role": fig.by_role,
        "paused_seconds": fig.paused_seconds, "over_limit_seconds": fig.over_limit_seconds,
        "covered_seconds": fig.covered_seconds, "uncovered_seconds": fig.uncovered_seconds,
        "uncovered": [{"start": _hms(ctx, s), "end": _hms(ctx, e), "seconds": (e - s) // 1_000_000}
                      for s, e in fig.uncovered],
        "coverage": fig.rate, "by_staff": fig.by_staff,
    }


def window_figures(ctx: Ctx, day: date, sched=None) -> list[tuple[Window, cov.WindowDay]]:
    """Each window the schedule (sync.kernel.schedule) opens on `day`, with its coverage so far
    by sync.kernel.coverage — the arithmetic central counts with [U 21, B 28, C 9(4)]."""
    sched = sched or schedule(ctx)
    now = to_micros(ctx.now())
    open_iv = [(to_micros(s), to_micros(e)) for s, e in ctx.calendar.periods_on(day)]
    if not open_iv:
        return []
    lo, hi = open_iv[0][0], open_iv[-1][1]
    limit = stepaway.limit_seconds(ctx)
    out = []
    for w in ctx.catalog.business.windows:
        if not sched.window_open(w.id, day):
            continue
        stints = [cov.Stint(s.staff, s.role, s.start, s.end) for s in ctx.store.sessions(lo, hi, window=w.id)]
        pauses = [cov.Pause(a.start, a.end) for a in ctx.store.step_aways(lo, hi, window=w.id)]
        out.append((w, cov.window_day(open_iv, stints, pauses, limit, now)))
    return out


def window_coverage(ctx: Ctx, day: date, people: dict[str, dict], sched=None) -> list[dict]:
    """Per window open on `day`: its A and B staff, who is expected (B while A is on leave or
    absent), and its coverage as time so far — open, staffed (by role and staff), paused, over
    the step-away limit, uncovered intervals (`window_figures`)."""
    out = []
    for w, fig in window_figures(ctx, day, sched):
        a_staff = [s for s in ctx.catalog.business.staff if w.id in s.windows]
        b_staff = [s for s in ctx.catalog.business.staff if w.id in s.backup_for]
        a_away = [s.id for s in a_staff if people.get(s.id, {}).get("status") in ("leave", "absent")]
        out.append({
            "window": w.id, "name": w.name, "department": w.department,
            "a": [{"id": s.id, "name": s.name, "status": people.get(s.id, {}).get("status")} for s in a_staff],
            "b": [{"id": s.id, "name": s.name} for s in b_staff],
            "b_expected": bool(a_staff) and len(a_away) == len(a_staff),
            **coverage_row(ctx, fig),
        })
    return out


def extended_services(ctx: Ctx, day: date) -> list[dict]:
    """延时服务 on `day`: the services of that service day completed after its closing time, with
    who, where and the minutes past closing (sync.kernel.coverage.after_closing, as central
    counts them) [U 21, B 28, C 11(6)]."""
    close = ctx.calendar.closing_time(day)
    tickets = ctx.store.tickets_on(day.isoformat())
    done = [(t.id, t.window, t.staff, t.finished_at) for t in tickets if t.state == "done" and t.finished_at is not None]
    numbers = {t.id: t.number for t in tickets}
    out = []
    for a in cov.after_closing(to_micros(close) if close else None, done):
        s = ctx.catalog.staff.get(a.staff or "")
        out.append({"ticket": a.ticket, "number": numbers.get(a.ticket, ""), "window": a.window, "staff": a.staff,
                    "name": s.name if s else (a.staff or ""), "completed": _hms(ctx, a.completed),
                    "seconds": a.seconds, "minutes": a.minutes})
    return out


def day_report(ctx: Ctx, day: date | None = None) -> dict:
    """The attendance of every staff member on `day` (default today) and each window's coverage."""
    day = day or ctx.today()
    iso = day.isoformat()
    punches = ctx.store.punches(iso)
    leaves = ctx.store.leaves(state="approved", overlapping=(iso, iso))
    sched = schedule(ctx)
    expected = sched.expected_staff(day)
    people = {s.id: staff_day(ctx, s, day, punches, leaves, s.id in expected) for s in ctx.catalog.business.staff}
    return {"date": iso, "open": ctx.calendar.is_open_day(day),
            "slots": [{"kind": k, "time": t.strftime("%H:%M")} for k, t, _ in slots(ctx, day)],
            "staff": list(people.values()), "windows": window_coverage(ctx, day, people, sched),
            "extended": extended_services(ctx, day),
            "unknown_cards": [{"card": u.card, "reader": u.reader, "at": ctx.calendar.local(from_micros(u.at)).isoformat(timespec="seconds")}
                              for u in ctx.store.unknown_cards(since=to_micros(datetime.combine(day, time(0), tzinfo=ctx.calendar.tz)))]}
