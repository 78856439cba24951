"""Tickets and the per-department number counters: views, tables, projection rules, queries."""

from __future__ import annotations

import msgspec
import peewee as pw

from sync.contract import events as ev

from .log import get_view, row_view, table, update, view_or_none

OPEN_STATES = ("waiting", "called", "serving")


class TicketView(msgspec.Struct, kw_only=True):
    id: str
    number: str
    department: str
    item: str | None
    priority: bool
    state: str  # waiting | called | serving | done | no_show | expired
    service_date: str
    issued_at: int  # µs UTC
    queue_key: int  # place in the queue (µs); kept across a transfer
    window: str | None
    staff: str | None
    called_at: int | None
    started_at: int | None
    finished_at: int | None
    recalls: int
    rejoins: int
    transfers: int
    outcome: str | None
    case: str | None


def tables(Base: type) -> list[type]:
    Ticket = table(
        Base, "Ticket", TicketView, "tickets", key="id",
        big={"issued_at", "queue_key", "called_at", "started_at", "finished_at"},
        defaults={"recalls": 0, "rejoins": 0, "transfers": 0},
        indexes=(
            (("department", "state", "priority", "queue_key"), False),
            (("department", "service_date", "state"), False),  # a day's figures per department
            (("service_date",), False),
        ),
    )

    class Counter(Base):
        department = pw.TextField()
        service_date = pw.TextField()
        last = pw.IntegerField()

        class Meta:
            table_name = "counters"
            primary_key = pw.CompositeKey("department", "service_date")

    return [Ticket, Counter]


# ---------------------------------------------------------------------------- projection rules
# (the window's side of each ticket event is in edge.store.windows, the case's in edge.store.cases)


def _issued(s, seq: int, ts: int, b: ev.TicketIssued) -> None:
    # the hottest write of a hall: plain SQL (see edge.store.log.INSERT_EVENT)
    s.db.execute_sql(
        "INSERT INTO tickets (id, number, department, item, priority, state, service_date, issued_at, queue_key,"
        " recalls, rejoins, transfers) VALUES (?, ?, ?, ?, ?, 'waiting', ?, ?, ?, 0, 0, 0)",
        (b.ticket, b.number, b.department, b.item, b.priority, b.service_date, ts, ts))
    n = int(b.number.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ") or 0)
    s.db.execute_sql(
        "INSERT INTO counters (department, service_date, last) VALUES (?, ?, ?)"
        " ON CONFLICT (department, service_date) DO UPDATE SET last = MAX(last, excluded.last)",
        (b.department, b.service_date, n))


def _called(s, seq: int, ts: int, b: ev.TicketCalled) -> None:
    update(s.m.Ticket, b.ticket, state="called", window=b.window, staff=b.staff, called_at=ts, recalls=0)


def _recalled(s, seq: int, ts: int, b: ev.TicketRecalled) -> None:
    update(s.m.Ticket, b.ticket, recalls=b.recalls, called_at=ts)


def _started(s, seq: int, ts: int, b: ev.TicketStarted) -> None:
    update(s.m.Ticket, b.ticket, state="serving", started_at=ts)


def _completed(s, seq: int, ts: int, b: ev.TicketCompleted) -> None:
    T = s.m.Ticket
    t = T.get_by_id(b.ticket)
    update(T, b.ticket, state="done", finished_at=ts, started_at=t.started_at or ts, item=b.item,
           outcome=b.outcome, case=b.case)


def _no_show(s, seq: int, ts: int, b: ev.TicketNoShow) -> None:
    update(s.m.Ticket, b.ticket, state="no_show", finished_at=ts)


def _rejoined(s, seq: int, ts: int, b: ev.TicketRejoined) -> None:
    T = s.m.Ticket
    update(T, b.ticket, state="waiting", queue_key=ts, rejoins=T.rejoins + 1, window=None, staff=None,
           called_at=None, finished_at=None, recalls=0)


def _transferred(s, seq: int, ts: int, b: ev.TicketTransferred) -> None:
    T = s.m.Ticket
    update(T, b.ticket, state="waiting", department=b.to_department, item=b.item, window=None, staff=None,
           called_at=None, started_at=None, recalls=0, transfers=T.transfers + 1)


def _expired(s, seq: int, ts: int, b: ev.TicketExpired) -> None:
    update(s.m.Ticket, b.ticket, state="expired", finished_at=ts)


RULES = {
    "ticket.issued": _issued,
    "ticket.called": _called,
    "ticket.recalled": _recalled,
    "ticket.started": _started,
    "ticket.completed": _completed,
    "ticket.no_show": _no_show,
    "ticket.rejoined": _rejoined,
    "ticket.transferred": _transferred,
    "ticket.expired": _expired,
}


# ---------------------------------------------------------------------------- queries


class QueueQueries:
    m: object
    db: pw.Database

    def ticket(self, ticket_id: str) -> TicketView | None:
        return get_view(TicketView, self.m.Ticket, self.m.Ticket.id == ticket_id)

    def ticket_by_number(self, number: str, service_date: str) -> TicketView | None:
        T = self.m.Ticket
        return get_view(TicketView, T, (T.number == number) & (T.service_date == service_date))

    def waiting(self, department: str | None, service_date: str, limit: int | None = None) -> list[TicketView]:
        """Waiting tickets in calling order: priority first, then place in time."""
        T = self.m.Ticket
        q = T.select().where((T.state == "waiting") & (T.service_date == service_date))
        if department is not None:
            q = q.where(T.department == department)
        q = q.order_by(T.priority.desc(), T.queue_key, T.issued_at, T.number)
        if limit:
            q = q.limit(limit)
        return [row_view(TicketView, r) for r in q]

    def waiting_count(self, department: str, service_date: str, priority_only: bool = False) -> int:
        sql = ("SELECT COUNT(*) FROM tickets WHERE department = ? AND service_date = ? AND state = 'waiting'"
               + (" AND priority" if priority_only else ""))
        return self.one(sql, (department, service_date))[0]

    def waiting_counts(self, service_date: str) -> dict[str, int]:
        T = self.m.Ticket
        q = (
            T.select(T.department, pw.fn.COUNT(T.id))
            .where((T.state == "waiting") & (T.service_date == service_date))
            .group_by(T.department)
            .tuples()
        )
        return dict(q)

    def stale_tickets(self, before_date: str) -> list[TicketView]:
        T = self.m.Ticket
        q = T.select().where(T.state.in_([*OPEN_STATES, "no_show"]) & (T.service_date < before_date))
        return [row_view(TicketView, r) for r in q]

    def tickets_on(self, service_date: str) -> list[TicketView]:
        T = self.m.Ticket
        return [row_view(TicketView, r) for r in T.select().where(T.service_date == service_date).order_by(T.issued_at)]

    def recent_calls(self, service_date: str, limit: int = 8) -> list[TicketView]:
        T = self.m.Ticket
        q = (
            T.select()
            .where((T.service_date == service_date) & T.called_at.is_null(False))
            .order_by(T.called_at.desc())
            .limit(limit)
        )
        return [row_view(TicketView, r) for r in q]

    def mean_service_seconds(self, department: str, service_date: str) -> float | None:
        """Mean of start→finish over today's finished services at this department."""
        (val,) = self.one(
            "SELECT AVG(finished_at - started_at) FROM tickets WHERE department = ? AND service_date = ?"
            " AND state = 'done' AND started_at IS NOT NULL", (department, service_date))
        return None if val is None else float(val) / 1e6

    def last_number(self, department: str, service_date: str) -> int:
        row = self.one("SELECT last FROM counters WHERE department = ? AND service_date = ?",
                       (department, service_date))
        return row[0] if row else 0

    def last_done_at(self, window: str, service_date: str) -> TicketView | None:
        """The service that ended last at `window` on `service_date`."""
        T = self.m.Ticket
        return view_or_none(TicketView, T.select().where(
            (T.window == window) & (T.service_date == service_date) & (T.state == "done"))
            .order_by(T.finished_at.desc()).first())

    def open_tickets(self, service_date: str) -> int:
        T = self.m.Ticket
        return T.select().where((T.service_date == service_date) & T.state.in_(OPEN_STATES)).count()
