"""Ratings (评价) and the follow-ups a poor rating opens: views, tables, projection rules,
queries."""

from __future__ import annotations

import msgspec
import peewee as pw

from sync.contract import events as ev

from .log import row_view, update


class RatingView(msgspec.Struct, kw_only=True):
    ticket: str
    window: str
    staff: str | None
    department: str | None
    level: int
    at: int
    service_date: str


class FollowupView(msgspec.Struct, kw_only=True):
    id: str
    ticket: str
    window: str
    staff: str | None
    department: str | None
    level: int
    opened_at: int
    due: str
    state: str  # open | closed
    closed_by: str | None
    closed_at: int | None
    result: str | None
    note: str


def tables(Base: type) -> list[type]:
    class Rating(Base):
        ticket = pw.TextField(primary_key=True)
        window = pw.TextField()
        staff = pw.TextField(null=True)
        department = pw.TextField(null=True)
        level = pw.IntegerField()
        at = pw.BigIntegerField()
        service_date = pw.TextField(index=True)

        class Meta:
            table_name = "ratings"

    class Followup(Base):
        id = pw.TextField(primary_key=True)
        ticket = pw.TextField()
        window = pw.TextField()
        staff = pw.TextField(null=True)
        department = pw.TextField(null=True)
        level = pw.IntegerField()
        opened_at = pw.BigIntegerField()
        due = pw.TextField()
        state = pw.TextField()
        closed_by = pw.TextField(null=True)
        closed_at = pw.BigIntegerField(null=True)
        result = pw.TextField(null=True)
        note = pw.TextField(default="")

        class Meta:
            table_name = "followups"

    return [Rating, Followup]


# ---------------------------------------------------------------------------- projection rules


def _rating(s, seq: int, ts: int, b: ev.RatingGiven) -> None:
    t = s.m.Ticket.get_or_none(s.m.Ticket.id == b.ticket)
    s.m.Rating.insert(ticket=b.ticket, window=b.window, staff=b.staff, department=b.department, level=b.level,
                      at=ts, service_date=t.service_date if t else "").on_conflict_ignore().execute()


def _followup_opened(s, seq: int, ts: int, b: ev.FollowupOpened) -> None:
    s.m.Followup.insert(id=b.followup, ticket=b.ticket, window=b.window, staff=b.staff, department=b.department,
                        level=b.level, opened_at=ts, due=b.due, state="open").execute()


def _followup_closed(s, seq: int, ts: int, b: ev.FollowupClosed) -> None:
    update(s.m.Followup, b.followup, state="closed", closed_by=b.by, closed_at=ts, result=b.result, note=b.note)


RULES = {
    "rating.given": _rating,
    "rating.followup_opened": _followup_opened,
    "rating.followup_closed": _followup_closed,
}


# ---------------------------------------------------------------------------- queries


class RatingQueries:
    m: object

    def rating(self, ticket: str) -> RatingView | None:
        row = self.m.Rating.get_or_none(self.m.Rating.ticket == ticket)
        return row_view(RatingView, row) if row else None

    def ratings(self, service_date: str | None = None, start_date: str | None = None,
                end_date: str | None = None) -> list[RatingView]:
        R = self.m.Rating
        q = R.select()
        if service_date is not None:
            q = q.where(R.service_date == service_date)
        if start_date is not None:
            q = q.where(R.service_date >= start_date)
        if end_date is not None:
            q = q.where(R.service_date <= end_date)
        return [row_view(RatingView, r) for r in q.order_by(R.at)]

    def followup(self, followup_id: str) -> FollowupView | None:
        row = self.m.Followup.get_or_none(self.m.Followup.id == followup_id)
        return row_view(FollowupView, row) if row else None

    def followups(self, state: str | None = None) -> list[FollowupView]:
        F = self.m.Followup
        q = F.select()
        if state is not None:
            q = q.where(F.state == state)
        return [row_view(FollowupView, r) for r in q.order_by(F.due, F.opened_at)]
