"""Leave (请假) as the seeds run it: request, approval by the kind's approver, the A→B hand-over,
after-the-fact leave and 销假. Every step is an event; what a day counts is derived from the
approved leaves whenever asked (edge.attendance, and central the same way through
sync.kernel.leave).

Rules:
- Kinds (公假, 病假, 事假, 年假 by default: `rules.attendance.leave_kinds`) are requested
  `advance_working_days` ahead (sick leave the same day) [C 9, U 23, B 30]; sick leave needs a
  certificate before approval [C 9(2)].
- Too late, or after it began, leave may still be requested within `leave_after_days` working
  days of its first day, with a reason (事后补办请假手续 [J 28]); it is marked after the fact.
  Beyond that it is refused (`too-late`).
- Approvers by kind (`approver`): "hall" — the chief representative / window head of the same
  department (`Staff.head`, not the requester) or a hall manager [C 9(1), C 9(2)];
  "department" — the home department (进驻部门) consents (annual leave [C 9(3)]): the hall has
  no department accounts, so the head or a hall manager records that consent and must name it
  in the note (`consent-required`); the approval carries `approver = "department"`.
- Approving an A-role staff member's leave names the B-role stand-in of each of their windows
  (a B not on leave then, first in configuration order) in the approval: the hand-over
  [C 7, H AB-2, H AB-5]; the stand-in's console shows it on those days.
- 销假 [C 9]: the staff member (or their head, or a hall manager) records the return; the leave
  ends the half before it (cancelled if they are back by its first half); days after the
  return count as normal days.
"""

from __future__ import annotations

from datetime import date, timedelta

from sync.contract import events as ev
from sync.kernel.clock import uuid7
from sync.kernel.leave import half_index, halves_on, shortened

from .context import Ctx
from .store.attendance import LeaveView
from .workflow import Forbidden, Invalid, NotFound, Refused

LEAVE_STATES = {"requested": "待审批", "approved": "已批准", "rejected": "已驳回", "cancelled": "已销假（未休）"}
HALF_LABELS = {"am": "上午", "pm": "下午"}
APPROVER_LABELS = {"hall": "首席代表（窗口负责人）或大厅管理员审批", "department": "须派出部门同意"}


def leave_kind(ctx: Ctx, kind: str):
    for k in ctx.catalog.rules.attendance.leave_kinds:
        if k.id == kind:
            return k
    names = "、".join(f"{k.id}（{k.name}）" for k in ctx.catalog.rules.attendance.leave_kinds)
    raise Invalid("unknown-leave-kind", f"未知的请假类别 {kind!r}，可选：{names}")


def kind_name(ctx: Ctx, kind: str) -> str:
    return next((k.name for k in ctx.catalog.rules.attendance.leave_kinds if k.id == kind), kind)


def _halves(lv: LeaveView, day: date) -> set[str]:
    return halves_on(date.fromisoformat(lv.start), lv.start_half, date.fromisoformat(lv.end), lv.end_half, day)


def leave_halves(ctx: Ctx, staff: str, day: date, leaves: list[LeaveView] | None = None) -> tuple[set[str], list[str]]:
    """Halves of `day` covered by approved leave of `staff`, and the kinds' names."""
    halves: set[str] = set()
    kinds: list[str] = []
    iso = day.isoformat()
    for lv in leaves if leaves is not None else ctx.store.leaves(state="approved", staff=staff, overlapping=(iso, iso)):
        if lv.staff != staff or lv.state != "approved":
            continue
        h = _halves(lv, day)
        if h:
            halves |= h
            kinds.append(kind_name(ctx, lv.kind))
    return halves, kinds


# ---------------------------------------------------------------- request


def request_leave(ctx: Ctx, staff: str, kind: str, start: date, end: date, start_half: str = "am",
                  end_half: str = "pm", reason: str = "", certificate: bool = False, by: str | None = None) -> LeaveView:
    s = ctx.catalog.staff.get(staff)
    if s is None:
        raise NotFound("unknown-staff", f"没有工号为 {staff} 的工作人员")
    k = leave_kind(ctx, kind)
    if start_half not in ("am", "pm") or end_half not in ("am", "pm"):
        raise Invalid("bad-half", "半天须为 am（上午）或 pm（下午）")
    if half_index(end, end_half) < half_index(start, start_half):
        raise Invalid("bad-range", "请假结束时间不能早于开始时间")
    today = ctx.today()
    earliest = ctx.calendar.add_working_days(today, k.advance_working_days)
    after_the_fact = start < today or start < earliest
    if after_the_fact:
        after_days = ctx.catalog.rules.attendance.leave_after_days
        late_by = ctx.calendar.working_days_between(start, today)
        if not after_days or late_by > after_days:
            ahead = (f"{k.name}须提前 {k.advance_working_days} 个工作日申请（最早可请 {earliest.isoformat()} 起）"
                     if k.advance_working_days else f"{k.name}最早可请今天起")
            raise Refused("too-late", ahead + (f"；事后补办须在请假首日后 {after_days} 个工作日内"
                                               f"（{start.isoformat()} 已过 {late_by} 个工作日）" if after_days else ""))
        if not reason.strip():
            raise Invalid("reason-required", "事后补办或未按时提前的请假须写明原因（特殊情况）")
    for other in ctx.store.leaves(staff=staff, overlapping=(start.isoformat(), end.isoformat())):
        if other.state in ("rejected", "cancelled"):
            continue
        d = max(start, date.fromisoformat(other.start))
        last = min(end, date.fromisoformat(other.end))
        while d <= last:
            if halves_on(start, start_half, end, end_half, d) & _halves(other, d):
                raise Refused("leave-overlap", f"与已有的请假（{other.start} 至 {other.end}）时间重叠")
            d += timedelta(days=1)
    leave_id = uuid7(ctx.clock)
    ctx.store.append(ev.LeaveRequested(
        leave=leave_id, staff=staff, leave_kind=kind, start=start.isoformat(), end=end.isoformat(),
        start_half=start_half, end_half=end_half, reason=reason.strip()[:200], certificate=certificate,  # type: ignore[arg-type]
        by=by or staff, after_the_fact=after_the_fact,
    ))
    return ctx.store.leave(leave_id)  # type: ignore[return-value]


# ---------------------------------------------------------------- decisions


def _approver(ctx: Ctx, lv: LeaveView, by: str, manager: bool, own: bool = False) -> None:
    """`by` may decide on `lv`: a hall manager, or a head of the requester's department (not
    for their own leave, unless `own` — recording one's own return)."""
    if manager:
        if not any(m.id == by for m in ctx.catalog.business.managers):
            raise Forbidden("not-a-manager", "无审批权限")
        return
    if own and by == lv.staff:
        return
    approver = ctx.catalog.staff.get(by)
    requester = ctx.catalog.staff.get(lv.staff)
    if approver is None or not approver.head:
        raise Forbidden("not-a-head", "只有窗口负责人（首席代表）或大厅管理员可以审批请假")
    if requester is not None and approver.department != requester.department:
        raise Forbidden("other-department", "只能审批本部门人员的请假")
    if approver.id == lv.staff:
        raise Forbidden("own-leave", "不能审批自己的请假")


def _pending(ctx: Ctx, leave_id: str) -> LeaveView:
    lv = ctx.store.leave(leave_id)
    if lv is None:
        raise NotFound("unknown-leave", f"没有编号为 {leave_id} 的请假申请")
    if lv.state != "requested":
        raise Refused("leave-decided", f"该请假申请已{LEAVE_STATES.get(lv.state, lv.state)}")
    return lv


def handover_for(ctx: Ctx, lv: LeaveView) -> list[ev.Handover]:
    """The B-role stand-in of each A-role window of the requester [C 7, H AB-2, H AB-5]: the
    first B (configuration order) with no approved leave overlapping this one; "" when none."""
    s = ctx.catalog.staff.get(lv.staff)
    if s is None:
        return []
    away = {o.staff for o in ctx.store.leaves(state="approved", overlapping=(lv.start, lv.end)) if o.id != lv.id}
    out = []
    for w in s.windows:
        bs = [b.id for b in ctx.catalog.business.staff if w in b.backup_for and b.id != s.id]
        free = [b for b in bs if b not in away]
        out.append(ev.Handover(window=w, stand_in=(free or [""])[0]))
    return out


def approve_leave(ctx: Ctx, leave_id: str, by: str, manager: bool = False, note: str = "") -> LeaveView:
    lv = _pending(ctx, leave_id)
    _approver(ctx, lv, by, manager)
    k = leave_kind(ctx, lv.kind)
    if k.certificate and not lv.certificate:
        raise Refused("certificate-required", f"{k.name}须附证明（如医院证明）后方可批准")
    if k.approver == "department" and not note.strip():
        raise Invalid("consent-required", f"{k.name}须经派出部门同意：请在备注中写明同意人及方式（如“人事处王某电话同意”）")
    ctx.store.append(ev.LeaveApproved(leave=leave_id, by=by, note=note.strip()[:200], approver=k.approver,
                                      handover=handover_for(ctx, lv)))
    return ctx.store.leave(leave_id)  # type: ignore[return-value]


def reject_leave(ctx: Ctx, leave_id: str, by: str, manager: bool = False, reason: str = "") -> LeaveView:
    lv = _pending(ctx, leave_id)
    _approver(ctx, lv, by, manager)
    ctx.store.append(ev.LeaveRejected(leave=leave_id, by=by, reason=reason.strip()[:200]))
    return ctx.store.leave(leave_id)  # type: ignore[return-value]


def end_leave(ctx: Ctx, leave_id: str, returned: date, returned_half: str, by: str, manager: bool = False) -> LeaveView:
    """销假 [C 9]: `by` records that the staff member is back at work from `returned`
    (`returned_half`); the leave ends the half before, or is cancelled if nothing of it is left."""
    lv = ctx.store.leave(leave_id)
    if lv is None:
        raise NotFound("unknown-leave", f"没有编号为 {leave_id} 的请假申请")
    if lv.state != "approved":
        raise Refused("leave-not-approved", f"只能为已批准的请假销假（该请假{LEAVE_STATES.get(lv.state, lv.state)}）")
    if returned_half not in ("am", "pm"):
        raise Invalid("bad-half", "半天须为 am（上午）或 pm（下午）")
    _approver(ctx, lv, by, manager, own=True)
    start, end = date.fromisoformat(lv.start), date.fromisoformat(lv.end)
    cut = shortened(start, lv.start_half, end, lv.end_half, returned, returned_half)
    if cut is not None and returned > ctx.today():
        raise Refused("return-in-future", "销假须在返岗当天或之后办理（未开始的请假可整体销假）")
    if half_index(returned, returned_half) > half_index(end, lv.end_half) + 1:
        raise Refused("return-after-end", f"返岗时间晚于请假结束（{lv.end} {HALF_LABELS[lv.end_half]}），超出部分须另行请假")
    ctx.store.append(ev.LeaveEnded(leave=leave_id, returned=returned.isoformat(), returned_half=returned_half,  # type: ignore[arg-type]
                                   by=by))
    return ctx.store.leave(leave_id)  # type: ignore[return-value]


# ---------------------------------------------------------------- read models


def span(lv: LeaveView) -> str:
    return f"{lv.start} {HALF_LABELS[lv.start_half]} 至 {lv.end} {HALF_LABELS[lv.end_half]}"


def _name(ctx: Ctx, staff: str | None) -> str:
    if not staff:
        return ""
    s = ctx.catalog.staff.get(staff)
    if s is not None:
        return s.name
    return next((m.name for m in ctx.catalog.business.managers if m.id == staff), staff)


def leave_brief(ctx: Ctx, lv: LeaveView) -> dict:
    k = next((k for k in ctx.catalog.rules.attendance.leave_kinds if k.id == lv.kind), None)
    approver = lv.approver or (k.approver if k else "hall")
    returned = lv.returned.split(" ") if lv.returned else None
    return {"id": lv.id, "staff": lv.staff, "name": _name(ctx, lv.staff), "kind": lv.kind,
            "kind_name": kind_name(ctx, lv.kind), "start": lv.start, "end": lv.end, "start_half": lv.start_half,
            "end_half": lv.end_half, "span": span(lv), "reason": lv.reason, "certificate": lv.certificate,
            "state": lv.state, "state_label": LEAVE_STATES.get(lv.state, lv.state), "requested_by": lv.requested_by,
            "decided_by": lv.decided_by, "decided_by_name": _name(ctx, lv.decided_by), "note": lv.note,
            "after_the_fact": bool(lv.after_the_fact), "approver": approver,
            "approver_label": APPROVER_LABELS.get(approver, approver),
            "handover": [{"window": h["window"], "window_name": _window_name(ctx, h["window"]),
                          "stand_in": h["stand_in"], "stand_in_name": _name(ctx, h["stand_in"]) or "无 B 角，须安排替补"}
                         for h in (lv.handover or [])],
            "planned_end": lv.planned_end, "planned_end_half": lv.planned_end_half,
            "returned": {"date": returned[0], "half": returned[1],
                         "label": f"{returned[0]} {HALF_LABELS.get(returned[1], returned[1])}起返岗"} if returned else None,
            "returned_by": lv.returned_by}


def _window_name(ctx: Ctx, window: str) -> str:
    w = ctx.catalog.windows.get(window)
    return w.name if w else window


def standing_in(ctx: Ctx, staff: str, day: date) -> list[dict]:
    """The hand-overs naming `staff` as stand-in on `day` (shown on their console): 「X 请假（日期），由您顶岗」."""
    iso = day.isoformat()
    out = []
    for lv in ctx.store.leaves(state="approved", overlapping=(iso, iso)):
        if not _halves(lv, day):
            continue
        for h in lv.handover or []:
            if h.get("stand_in") == staff:
                out.append({"leave": lv.id, "name": _name(ctx, lv.staff), "window": h["window"],
                            "window_name": _window_name(ctx, h["window"]), "span": span(lv),
                            "text": f"{_name(ctx, lv.staff)} 请假（{span(lv)}），由您顶岗（{_window_name(ctx, h['window'])}）"})
    return out
