"""Ratings (评价) and the follow-ups a poor rating opens: views, tables, projection rules,
queries."""

from __future__ import annotations

import msgspec

from sync.contract import events as ev

from .log import between, get_view, row_view, table, update


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
    return [
        table(Base, "Rating", RatingView, "ratings", key="ticket", big={"at"}, index={"service_date"}),
        table(Base, "Followup", FollowupView, "followups", key="id", big={"opened_at", "closed_at"},
              defaults={"note": ""}),
    ]


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
        return get_view(RatingView, self.m.Rating, self.m.Rating.ticket == ticket)

    def ratings(self, service_date: str | None = None, start_date: str | None = None,
                end_date: str | None = None) -> list[RatingView]:
        R = self.m.Rating
        q = between(R.select(), R.service_date, start_date, end_date)
        if service_date is not None:
            q = q.where(R.service_date == service_date)
        return [row_view(RatingView, r) for r in q.order_by(R.at)]

    def followup(self, followup_id: str) -> FollowupView | None:
        return get_view(FollowupView, self.m.Followup, self.m.Followup.id == followup_id)

    def followups(self, state: str | None = None) -> list[FollowupView]:
        F = self.m.Followup
        q = F.select()
        if state is not None:
            q = q.where(F.state == state)
        return [row_view(FollowupView, r) for r in q.order_by(F.due, F.opened_at)]
