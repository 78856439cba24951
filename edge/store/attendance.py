"""Attendance: card punches, cards nobody holds, leave requests. Views, tables, projection
rules, queries."""

from __future__ import annotations

from datetime import date

import msgspec

from sync.contract import events as ev
from sync.kernel.leave import shortened

from .log import between, row_view, table, update, view_or_none


class PunchView(msgspec.Struct, kw_only=True):
    seq: int
    staff: str
    card: str
    reader: str
    at: int
    service_date: str
    kind: str
    classification: str
    slot: int | None


class UnknownCardView(msgspec.Struct, kw_only=True):
    card: str
    reader: str
    at: int


class LeaveView(msgspec.Struct, kw_only=True):
    id: str
    staff: str
    kind: str
    start: str
    end: str
    start_half: str
    end_half: str
    reason: str
    certificate: bool
    state: str  # requested | approved | rejected | cancelled (销假 before it began)
    requested_at: int
    requested_by: str
    decided_by: str | None
    decided_at: int | None
    note: str
    # from `leave_extras` (migration 4): 事后补办 [J 28]; who the kind needs [C 9(3)]; the A→B
    # hand-over [{"window", "stand_in"}] [C 7, H AB-2]; 销假: the planned end before it was
    # shortened, when the staff member is back, who recorded it [C 9]
    after_the_fact: bool | None = None
    approver: str | None = None
    handover: list | None = None
    planned_end: str | None = None
    planned_end_half: str | None = None
    returned: str | None = None  # "YYYY-MM-DD am|pm": back at work from this half
    returned_by: str | None = None
    returned_at: int | None = None


EXTRA_FIELDS = ("after_the_fact", "approver", "handover", "planned_end", "planned_end_half", "returned",
                "returned_by", "returned_at")


class LeaveExtraView(msgspec.Struct, kw_only=True):
    """What a leave has beyond its request and decision, only for leaves that have any (so a
    log from before migration 4 rebuilds to the same, empty, table)."""

    id: str
    after_the_fact: bool | None = None
    approver: str | None = None
    handover: list | None = None
    planned_end: str | None = None
    planned_end_half: str | None = None
    returned: str | None = None
    returned_by: str | None = None
    returned_at: int | None = None


def tables(Base: type) -> list[type]:
    return [
        table(Base, "Punch", PunchView, "punches", key="seq", big={"at"},
              indexes=((("service_date", "staff"), False), (("staff", "at"), False))),
        table(Base, "UnknownCard", UnknownCardView, "unknown_cards", auto="id", big={"at"}, index={"card"}),
        table(Base, "Leave", LeaveView, "leaves", key="id", big={"requested_at", "decided_at"},
              index={"staff"}, defaults={"reason": "", "note": ""}, skip=set(EXTRA_FIELDS)),
        table(Base, "LeaveExtra", LeaveExtraView, "leave_extras", key="id", big={"returned_at"}),
    ]


# ---------------------------------------------------------------------------- projection rules


def _punch(s, seq: int, ts: int, b: ev.AttendancePunch) -> None:
    s.m.Punch.insert(staff=b.staff, card=b.card, reader=b.reader, at=ts, service_date=b.service_date,
                     kind=b.kind, classification=b.classification, slot=b.slot).execute()


def _unknown_card(s, seq: int, ts: int, b: ev.UnknownCard) -> None:
    s.m.UnknownCard.insert(card=b.card, reader=b.reader, at=ts).execute()


def _leave_requested(s, seq: int, ts: int, b: ev.LeaveRequested) -> None:
    s.m.Leave.insert(
        id=b.leave, staff=b.staff, kind=b.leave_kind, start=b.start, end=b.end, start_half=b.start_half,
        end_half=b.end_half, reason=b.reason, certificate=b.certificate, state="requested", requested_at=ts,
        requested_by=b.by,
    ).execute()
    if b.after_the_fact:
        _extra(s, b.leave, after_the_fact=True)


def _extra(s, leave: str, **fields) -> None:
    X = s.m.LeaveExtra
    if X.get_or_none(X.id == leave) is None:
        X.insert(id=leave, **fields).execute()
    else:
        update(X, leave, **fields)


def _leave_approved(s, seq: int, ts: int, b: ev.LeaveApproved) -> None:
    update(s.m.Leave, b.leave, state="approved", decided_by=b.by, decided_at=ts, note=b.note)
    if b.approver != "hall" or b.handover:
        _extra(s, b.leave, approver=b.approver, handover=msgspec.json.encode(b.handover).decode())


def _leave_ended(s, seq: int, ts: int, b: ev.LeaveEnded) -> None:
    """销假 [C 9]: the leave now ends the half before the return, or is cancelled."""
    row = s.m.Leave.get_or_none(s.m.Leave.id == b.leave)
    if row is None:
        return
    start, end = date.fromisoformat(row.start), date.fromisoformat(row.end)
    cut = shortened(start, row.start_half, end, row.end_half, date.fromisoformat(b.returned), b.returned_half)
    X = s.m.LeaveExtra
    extra = X.get_or_none(X.id == b.leave)
    planned = (extra.planned_end, extra.planned_end_half) if extra is not None and extra.planned_end else (
        row.end, row.end_half)
    _extra(s, b.leave, returned=f"{b.returned} {b.returned_half}", returned_by=b.by, returned_at=ts,
           planned_end=planned[0], planned_end_half=planned[1])
    if cut is None:
        update(s.m.Leave, b.leave, state="cancelled")
    else:
        update(s.m.Leave, b.leave, end=cut[0].isoformat(), end_half=cut[1])


def _leave_rejected(s, seq: int, ts: int, b: ev.LeaveRejected) -> None:
    update(s.m.Leave, b.leave, state="rejected", decided_by=b.by, decided_at=ts, note=b.reason)


RULES = {
    "attendance.punch": _punch,
    "attendance.unknown_card": _unknown_card,
    "leave.requested": _leave_requested,
    "leave.approved": _leave_approved,
    "leave.rejected": _leave_rejected,
    "leave.ended": _leave_ended,
}


# ---------------------------------------------------------------------------- queries


class AttendanceQueries:
    m: object

    def last_punch(self, staff: str) -> PunchView | None:
        P = self.m.Punch
        return view_or_none(PunchView, P.select().where(P.staff == staff).order_by(P.at.desc(), P.seq.desc()).first())

    def punches(self, service_date: str | None = None, staff: str | None = None,
                start_date: str | None = None, end_date: str | None = None) -> list[PunchView]:
        P = self.m.Punch
        q = between(P.select(), P.service_date, start_date, end_date)
        if service_date is not None:
            q = q.where(P.service_date == service_date)
        if staff is not None:
            q = q.where(P.staff == staff)
        return [row_view(PunchView, r) for r in q.order_by(P.at, P.seq)]

    def last_unknown_card(self, card: str) -> UnknownCardView | None:
        U = self.m.UnknownCard
        return view_or_none(UnknownCardView, U.select().where(U.card == card).order_by(U.id.desc()).first())

    def unknown_cards(self, since: int = 0, limit: int = 20) -> list[UnknownCardView]:
        U = self.m.UnknownCard
        q = U.select().where(U.at >= since).order_by(U.id.desc()).limit(limit)
        return [row_view(UnknownCardView, r) for r in q]

    def leave(self, leave_id: str) -> LeaveView | None:
        return _leave_view(self.m.Leave.get_or_none(self.m.Leave.id == leave_id),
                           self.m.LeaveExtra.get_or_none(self.m.LeaveExtra.id == leave_id))

    def leaves(self, state: str | None = None, staff: str | None = None,
               overlapping: tuple[str, str] | None = None) -> list[LeaveView]:
        L = self.m.Leave
        q = L.select()
        if state is not None:
            q = q.where(L.state == state)
        if staff is not None:
            q = q.where(L.staff == staff)
        if overlapping is not None:
            q = q.where((L.start <= overlapping[1]) & (L.end >= overlapping[0]))
        rows = list(q.order_by(L.start, L.requested_at))
        X = self.m.LeaveExtra
        extras = {x.id: x for x in X.select().where(X.id.in_([r.id for r in rows]))} if rows else {}
        return [_leave_view(r, extras.get(r.id)) for r in rows]  # type: ignore[misc]


def _leave_view(row, extra=None) -> LeaveView | None:
    if row is None:
        return None
    values = {f: getattr(row, f) for f in LeaveView.__struct_fields__ if f not in EXTRA_FIELDS}
    if extra is not None:
        values.update({f: getattr(extra, f) for f in EXTRA_FIELDS})
        if isinstance(values["handover"], str):
            values["handover"] = msgspec.json.decode(values["handover"])
    return LeaveView(**values)
