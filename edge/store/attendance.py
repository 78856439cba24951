"""Attendance: card punches, cards nobody holds, leave requests. Views, tables, projection
rules, queries."""

from __future__ import annotations

import msgspec
import peewee as pw

from sync.contract import events as ev

from .log import row_view, update


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
    class Punch(Base):
        seq = pw.AutoField()
        staff = pw.TextField()
        card = pw.TextField()
        reader = pw.TextField()
        at = pw.BigIntegerField()
        service_date = pw.TextField()
        kind = pw.TextField()
        classification = pw.TextField()
        slot = pw.IntegerField(null=True)

        class Meta:
            table_name = "punches"
            indexes = ((("service_date", "staff"), False), (("staff", "at"), False))

    class UnknownCard(Base):
        id = pw.AutoField()
        card = pw.TextField(index=True)
        reader = pw.TextField()
        at = pw.BigIntegerField()

        class Meta:
            table_name = "unknown_cards"

    class Leave(Base):
        id = pw.TextField(primary_key=True)
        staff = pw.TextField(index=True)
        kind = pw.TextField()
        start = pw.TextField()
        end = pw.TextField()
        start_half = pw.TextField()
        end_half = pw.TextField()
        reason = pw.TextField(default="")
        certificate = pw.BooleanField(default=False)
        state = pw.TextField()
        requested_at = pw.BigIntegerField()
        requested_by = pw.TextField()
        decided_by = pw.TextField(null=True)
        decided_at = pw.BigIntegerField(null=True)
        note = pw.TextField(default="")

        class Meta:
            table_name = "leaves"

    return [Punch, UnknownCard, Leave]


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


def _between(q, column, start_date: str | None, end_date: str | None):
    if start_date is not None:
        q = q.where(column >= start_date)
    if end_date is not None:
        q = q.where(column <= end_date)
    return q


class AttendanceQueries:
    m: object

    def last_punch(self, staff: str) -> PunchView | None:
        P = self.m.Punch
        row = P.select().where(P.staff == staff).order_by(P.at.desc(), P.seq.desc()).first()
        return row_view(PunchView, row) if row else None

    def punches(self, service_date: str | None = None, staff: str | None = None,
                start_date: str | None = None, end_date: str | None = None) -> list[PunchView]:
        P = self.m.Punch
        q = _between(P.select(), P.service_date, start_date, end_date)
        if service_date is not None:
            q = q.where(P.service_date == service_date)
        if staff is not None:
            q = q.where(P.staff == staff)
        return [row_view(PunchView, r) for r in q.order_by(P.at, P.seq)]

    def last_unknown_card(self, card: str) -> UnknownCardView | None:
        U = self.m.UnknownCard
        row = U.select().where(U.card == card).order_by(U.id.desc()).first()
        return row_view(UnknownCardView, row) if row else None

    def unknown_cards(self, since: int = 0, limit: int = 20) -> list[UnknownCardView]:
        U = self.m.UnknownCard
        q = U.select().where(U.at >= since).order_by(U.id.desc()).limit(limit)
        return [row_view(UnknownCardView, r) for r in q]

    def leave(self, leave_id: str) -> LeaveView | None:
        row = self.m.Leave.get_or_none(self.m.Leave.id == leave_id)
        return row_view(LeaveView, row) if row else None

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
