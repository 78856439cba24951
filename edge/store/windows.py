"""Windows: who is signed on, the ticket called there, a pause, the manager's override. Views,
table, projection rules (the window's side of ticket and window events), queries."""

from __future__ import annotations

import msgspec
import peewee as pw

from sync.contract import events as ev

from .log import get_view, table, update


class WindowView(msgspec.Struct, kw_only=True):
    id: str
    department: str
    staff: str | None
    role: str | None
    ticket: str | None
    paused_at: int | None
    pause_reason: str
    signed_on_at: int | None
    manual: str | None  # None | "opened" | "withdrawn" (hall manager's override)

    @property
    def state(self) -> str:
        if self.staff is None:
            return "closed"
        if self.paused_at is not None:
            return "paused"
        if self.ticket is not None:
            return "serving"
        return "idle"


def tables(Base: type) -> list[type]:
    return [table(Base, "Window", WindowView, "windows", key="id", big={"paused_at", "signed_on_at"},
                  defaults={"pause_reason": ""})]


# ---------------------------------------------------------------------------- projection rules


def _set(s, window: str, **fields) -> None:
    update(s.m.Window, window, **fields)


def _called(s, seq: int, ts: int, b: ev.TicketCalled) -> None:
    _set(s, b.window, ticket=b.ticket)


def _ticket_left(s, seq: int, ts: int, b: ev.TicketCompleted | ev.TicketNoShow | ev.TicketTransferred) -> None:
    _set(s, b.window, ticket=None)


def _expired(s, seq: int, ts: int, b: ev.TicketExpired) -> None:
    t = s.m.Ticket.get_by_id(b.ticket)
    if t.window:
        W = s.m.Window
        W.update(ticket=None).where((W.id == t.window) & (W.ticket == b.ticket)).execute()


def _signed_on(s, seq: int, ts: int, b: ev.WindowSignedOn) -> None:
    _set(s, b.window, staff=b.staff, role=b.role, signed_on_at=ts, paused_at=None, pause_reason="")


def _signed_off(s, seq: int, ts: int, b: ev.WindowSignedOff) -> None:
    _set(s, b.window, staff=None, role=None, signed_on_at=None, paused_at=None, pause_reason="")


def _paused(s, seq: int, ts: int, b: ev.WindowPaused) -> None:
    _set(s, b.window, paused_at=ts, pause_reason=b.reason)


def _resumed(s, seq: int, ts: int, b: ev.WindowResumed) -> None:
    _set(s, b.window, paused_at=None, pause_reason="")


def _opened(s, seq: int, ts: int, b: ev.WindowOpened) -> None:
    _set(s, b.window, manual="opened")


def _withdrawn(s, seq: int, ts: int, b: ev.WindowWithdrawn) -> None:
    _set(s, b.window, manual="withdrawn")


RULES = {
    "ticket.called": _called,
    "ticket.completed": _ticket_left,
    "ticket.no_show": _ticket_left,
    "ticket.transferred": _ticket_left,
    "ticket.expired": _expired,
    "window.signed_on": _signed_on,
    "window.signed_off": _signed_off,
    "window.paused": _paused,
    "window.resumed": _resumed,
    "window.opened": _opened,
    "window.withdrawn": _withdrawn,
}


# ---------------------------------------------------------------------------- queries


class WindowQueries:
    m: object
    db: pw.Database
    _windows: dict[str, str] = {}

    def ensure_windows(self, windows: dict[str, str]) -> None:
        """Make sure every configured window (id → department) has a projection row."""
        self._windows = dict(windows)
        W = self.m.Window
        existing = {w.id: w for w in W.select()}
        for wid, dept in windows.items():
            if wid not in existing:
                W.insert(id=wid, department=dept).execute()
            elif existing[wid].department != dept and existing[wid].staff is None:
                W.update(department=dept).where(W.id == wid).execute()

    def reseed(self) -> None:
        super().reseed()  # type: ignore[misc]
        self.ensure_windows(self._windows)

    def window(self, window_id: str) -> WindowView | None:
        return get_view(WindowView, self.m.Window, self.m.Window.id == window_id)

    def windows(self) -> list[WindowView]:
        cur = self.db.execute_sql(
            "SELECT id, department, staff, role, ticket, paused_at, pause_reason, signed_on_at, manual"
            " FROM windows ORDER BY id")
        return [
            WindowView(id=r[0], department=r[1], staff=r[2], role=r[3], ticket=r[4], paused_at=r[5],
                       pause_reason=r[6], signed_on_at=r[7], manual=r[8])
            for r in cur.fetchall()
        ]

    def window_overrides(self) -> list[tuple[int, str, str]]:
        """(ts, window, action) of every `window.opened` / `window.withdrawn` event in log order
        (the schedule's overrides, sync.kernel.schedule). Read from the log, incrementally: only
        events appended since the last call are scanned (by their `pos` key)."""
        last, rows = getattr(self, "_override_cache", (0, []))
        top = self.db.execute_sql("SELECT MAX(pos) FROM events").fetchone()[0] or 0
        if top > last:
            cur = self.db.execute_sql(
                "SELECT ts, kind, json_extract(body, '$.window') FROM events WHERE pos > ? AND pos <= ?"
                " AND kind IN ('window.opened', 'window.withdrawn') ORDER BY pos", (last, top))
            rows = rows + [(ts, w, "opened" if k == "window.opened" else "withdrawn") for ts, k, w in cur.fetchall()]
            self._override_cache = (top, rows)
        return list(rows)

    def window_of_staff(self, staff: str) -> WindowView | None:
        return get_view(WindowView, self.m.Window, self.m.Window.staff == staff)
