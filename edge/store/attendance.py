"""Attendance: card punches, cards nobody holds, leave requests. Views, tables, projection
rules, queries."""

from __future__ import annotations

import msgspec

from sync.contract import events as ev

from .log import between, get_view, row_view, table, update, view_or_none


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
    state: str  # requested | approved | rejected
    requested_at: int
    requested_by: str
    decided_by: str | None
    decided_at: int | None
    note: str


def tables(Base: type) -> list[type]:
    return [
        table(Base, "Punch", PunchView, "punches", key="seq", big={"at"},
              indexes=((("service_date", "staff"), False), (("staff", "at"), False))),
        table(Base, "UnknownCard", UnknownCardView, "unknown_cards", auto="id", big={"at"}, index={"card"}),
        table(Base, "Leave", LeaveView, "leaves", key="id", big={"requested_at", "decided_at"}, index={"staff"},
              defaults={"reason": "", "note": ""}),
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


def _leave_approved(s, seq: int, ts: int, b: ev.LeaveApproved) -> None:
    update(s.m.Leave, b.leave, state="approved", decided_by=b.by, decided_at=ts, note=b.note)


def _leave_rejected(s, seq: int, ts: int, b: ev.LeaveRejected) -> None:
    update(s.m.Leave, b.leave, state="rejected", decided_by=b.by, decided_at=ts, note=b.reason)


RULES = {
    "attendance.punch": _punch,
    "attendance.unknown_card": _unknown_card,
    "leave.requested": _leave_requested,
    "leave.approved": _leave_approved,
    "leave.rejected": _leave_rejected,
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
        return get_view(LeaveView, self.m.Leave, self.m.Leave.id == leave_id)

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
        return [row_view(LeaveView, r) for r in q.order_by(L.start, L.requested_at)]
