"""The live view of the halls (实时大厅, `/live`), pushed to the browser by server-sent events.

What central knows of a hall right now is its last status message (windows, queue per
department, the hall's event head and backlog, sent every `status_interval` seconds and
retained at the broker; an `offline` last will when its connection drops) and the events it
has merged. `LiveBoard` re-reads that at most every `refresh_seconds` (one read shared by
every open page) and after every read each page's stream (`/live/stream`) sends the hall
sections whose rendering changed for its user; `central/static/live.js` swaps them in place.

Per hall and in total the page shows: people waiting now (the hall's own count from its
status), the longest current wait (the oldest waiting ticket among the merged events: issued,
or rejoined after 过号, and not yet called; a transfer keeps its place in time), and today's
主动评价好评率 with its sample size (数据不足 below `min_ratings`).

A hall whose status is older than `stale_seconds`, or that said goodbye (last will), is stale:
greyed, 离线, 最后联系 HH:MM, and only what it said before it went quiet — its waiting count
and backlog labelled 离线前, never as current. The backlog shown is the larger of the hall's
own count at its last status and what its event numbers tell central: the last seq the hall
had written in its current epoch minus the seq central holds contiguously. Events the hall
wrote after its last status are unknown to central until it reconnects.

Scope as everywhere: a hall manager sees their hall only; a department head every hall, but
only their department's windows, queue, waits and ratings.

Every stream ends when the server begins to shut down (the app state's `stopping`, set by
`sync.kernel.serve`), when the board is closed, or when the user's session ends (logout,
expiry: an open stream does not keep a login alive), within one `TICK_SECONDS`.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, AsyncIterator

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Redirect, ServerSentEvent, ServerSentEventMessage, Template

from .. import projections as pj
from ..auth import COOKIE, scope_of
from ..scope import Scope
from .common import page_context, session

TICK_SECONDS = 0.25  # how often a stream looks at the stop flags between two reads
GOOD_LEVEL = 4  # ratings 4 and 5 are good (主动评价好评率, as central.reports.satisfaction)

WAIT_KINDS = ["ticket.issued", "ticket.called", "ticket.started", "ticket.completed", "ticket.no_show",
              "ticket.rejoined", "ticket.transferred", "ticket.expired"]
WAIT_FIELDS = ["ticket", "department", "service_date", "to_department"]


@dataclass
class LiveSettings:
    """`[dashboard]` of central.toml: `live_stale_seconds`, `live_refresh_seconds`,
    `min_ratings`."""

    # no status for longer than this: the hall is shown offline. Real seconds (halls report
    # every `status_interval` real seconds): on a simulated clock it scales with its speed
    stale_seconds: float = 60.0
    refresh_seconds: float = 2.0  # the board re-reads the store at most this often
    min_ratings: int = 5  # fewer ratings today: 数据不足 instead of a rate

    @classmethod
    def of(cls, dashboard) -> "LiveSettings":
        return cls(stale_seconds=dashboard.live_stale_seconds, refresh_seconds=dashboard.live_refresh_seconds,
                   min_ratings=dashboard.min_ratings)


@dataclass
class HallFigures:
    """What the merged events say of one hall today, per department."""

    oldest_wait: dict[str, int] = field(default_factory=dict)  # department → queue time (µs) of the oldest waiting
    good: dict[str, int] = field(default_factory=dict)  # department → good ratings today
    ratings: dict[str, int] = field(default_factory=dict)  # department → ratings today


@dataclass
class Snapshot:
    now: int  # central's clock, µs
    today: date
    halls: list[dict]  # central.store.halls() rows, plus configured halls never heard from
    figures: dict[str, HallFigures]
    quarantined: int
    speed: float = 1.0  # central's clock against real time (a simulated clock in the demo runs faster)


def waiting_tickets(rows) -> dict[str, dict[str, int]]:
    """hall → department → queue time (µs) of its oldest waiting ticket, from the ticket events
    of (hall, kind, ts, ticket, department, service_date, to_department) rows in time order of
    tickets of one service day. A ticket waits from `ticket.issued` (or `ticket.rejoined` after
    过号, from that moment) until it is called, served, marked 过号 or expired; a transfer moves
    it to the new department and keeps its place in time (the hall's queue does the same)."""
    tickets: dict[tuple[str, str], list] = {}  # (hall, ticket) → [department, queue time, waiting]
    for hall, kind, ts, ticket, dept, _sdate, to_dept in rows:
        key = (hall, ticket)
        if kind == "ticket.issued":
            tickets[key] = [dept, ts, True]
            continue
        t = tickets.get(key)
        if t is None:
            continue
        if kind == "ticket.rejoined":
            t[1], t[2] = ts, True
        elif kind == "ticket.transferred":
            t[0], t[2] = to_dept or t[0], True
        else:  # called, started, completed, no_show, expired
            t[2] = False
    out: dict[str, dict[str, int]] = {}
    for (hall, _ticket), (dept, queued, waiting) in tickets.items():
        if waiting:
            mine = out.setdefault(hall, {})
            mine[dept] = min(queued, mine.get(dept, queued))
    return out


class LiveBoard:
    """One read of the store shared by every open live page (at most every
    `settings.refresh_seconds`), and the scoped view of it each page shows."""

    def __init__(self, settings: LiveSettings | None = None) -> None:
        self.settings = settings or LiveSettings()
        self.closed = threading.Event()  # set: every stream ends (tests, embedding)
        self._lock = threading.Lock()
        self._snap: Snapshot | None = None
        self._read_at = 0.0

    def close(self) -> None:
        self.closed.set()

    # ---------------------------------------------------------------- reading the store

    def snapshot(self, ctx) -> Snapshot:
        with self._lock:
            if self._snap is None or time.monotonic() - self._read_at >= self.settings.refresh_seconds:
                self._snap = self._read(ctx)
                self._read_at = time.monotonic()
            return self._snap

    def _read(self, ctx) -> Snapshot:
        d = ctx.directory
        now, today = ctx.now_us(), ctx.today()
        known = {h["id"]: h for h in ctx.store.halls()}
        for hid, entry in d.halls.items():  # configured halls never heard from: offline
            known.setdefault(hid, {"id": hid, "campus": entry.campus, "online": False, "last_seen": None,
                                   "acked": {}, "events": 0, "status": {}})
        figures = {hid: HallFigures() for hid in known}
        lo, hi = pj.day_range_us(d, today, today)
        rows = [r for r in ctx.store.select_bodies(WAIT_KINDS, lo, hi, WAIT_FIELDS)
                if r[0] in figures and (r[1] != "ticket.issued" or r[5] == d.local_date(r[0], now).isoformat())]
        for hall, oldest in waiting_tickets(rows).items():
            figures[hall].oldest_wait = oldest
        for r in pj.ratings(ctx.store, d, today, today):
            f = figures.get(r.hall)
            if f is not None:
                f.ratings[r.department] = f.ratings.get(r.department, 0) + 1
                f.good[r.department] = f.good.get(r.department, 0) + (r.level >= GOOD_LEVEL)
        return Snapshot(now=now, today=today, halls=sorted(known.values(), key=lambda h: h["id"]),
                        figures=figures, quarantined=ctx.store.count_quarantined(),
                        speed=float(getattr(ctx.clock, "speed", 1.0)))

    # ---------------------------------------------------------------- one user's view

    def view(self, snap: Snapshot, scope: Scope, d) -> dict:
        """The halls `scope` may see, with their figures, and the totals over them."""
        s = self.settings
        halls = []
        for h in snap.halls:
            if scope.role == "hall" and h["id"] != scope.hall:
                continue
            halls.append(self._hall(snap, h, scope, d))
        fresh = [h for h in halls if not h["stale"]]
        longest = [h["longest_wait"] for h in fresh if h["longest_wait"] is not None]
        good, n = sum(h["good"] for h in halls), sum(h["ratings"] for h in halls)
        totals = {"waiting": sum(h["waiting"] for h in fresh), "longest_wait": max(longest) if longest else None,
                  "good": good, "ratings": n, "satisfaction": satisfaction(good, n, s.min_ratings),
                  "halls": len(halls), "stale": len(halls) - len(fresh)}
        return {"halls": halls, "totals": totals, "min_ratings": s.min_ratings,
                "quarantined": snap.quarantined if scope.role == "admin" else None}

    def _hall(self, snap: Snapshot, h: dict, scope: Scope, d) -> dict:
        st = h["status"] or {}
        windows = [w for w in st.get("windows", []) if scope.department_ok(w.get("department"))]
        queues = {k: v for k, v in (st.get("queues") or {}).items() if scope.department_ok(k)}
        f = snap.figures.get(h["id"], HallFigures())
        oldest = [t for dept, t in f.oldest_wait.items() if scope.department_ok(dept)]
        good = sum(n for dept, n in f.good.items() if scope.department_ok(dept))
        rated = sum(n for dept, n in f.ratings.items() if scope.department_ok(dept))
        last = h["last_seen"]
        stale = not h["online"] or last is None or snap.now - last > self.settings.stale_seconds * snap.speed * 1e6
        # events the hall had written (its head at the last status) that central does not hold
        unreceived = None
        if st.get("epoch"):
            unreceived = max(0, int(st.get("last_seq", 0)) - int(h["acked"].get(st["epoch"], 0)))
        # online: the hall's own count; stale: at least what central knows it still lacks
        backlog = None if st.get("backlog") is None else int(st["backlog"])
        if stale and unreceived is not None:
            backlog = max(backlog or 0, unreceived)
        return {
            "id": h["id"], "name": d.hall_name(h["id"]), "campus_name": d.campus_name(h["id"]) or h["campus"],
            "stale": stale, "said_offline": not h["online"] and last is not None, "last_seen": last,
            "last_seen_hhmm": hhmm(last, d.tz(h["id"])), "events": h["events"],
            "config_version": st.get("config_version"), "closing": st.get("closing") or {},
            "windows": windows, "queues": queues, "department_names": {k: d.department_name(k) for k in queues},
            "waiting": sum(int(v) for v in queues.values()),
            "longest_wait": None if stale or not oldest else max(0, (snap.now - min(oldest)) // 60_000_000),
            "good": good, "ratings": rated, "satisfaction": satisfaction(good, rated, self.settings.min_ratings),
            "backlog": backlog, "unreceived": unreceived, "has_status": bool(st),
        }


def satisfaction(good: int, n: int, min_ratings: int) -> str:
    """好评率 with its sample size, or 数据不足 below `min_ratings` ratings."""
    if n < max(1, min_ratings):
        return f"数据不足（{n} 条评价）"
    return f"{good * 100 / n:.0f}%（{n} 条评价）"


def hhmm(us: int | None, tz) -> str:
    return "—" if not us else datetime.fromtimestamp(us / 1e6, tz).strftime("%H:%M")


def board_of(request: Request) -> LiveBoard:
    board = request.app.state.get("live")
    if not isinstance(board, LiveBoard):
        board = request.app.state["live"] = LiveBoard()
    return board


def _stopped(request: Request, board: LiveBoard) -> bool:
    stopping = request.app.state.get("stopping")
    return board.closed.is_set() or (stopping is not None and stopping.is_set())


def _ended(request: Request, ctx, board: LiveBoard) -> bool:
    """The stream ends: the server stops, or the user's session ended (logout, expiry)."""
    return _stopped(request, board) or not ctx.auth.alive(request.cookies.get(COOKIE))


class LivePages(Controller):
    path = "/live"
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def live(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        s = session(request, ctx)
        if s is None:
            return Redirect(path="/login")
        board = board_of(request)
        view = board.view(board.snapshot(ctx), scope_of(s.user), ctx.directory)
        return Template(template_name="live.html", context=page_context(s.user, ctx, title="实时大厅", **view))

    @get("/stream")
    async def stream(self, request: Request, ctx: NamedDependency[Any]) -> ServerSentEvent | Redirect:
        """`event: live` after every read of the store (at most every `refresh_seconds`), data
        `{"halls": {id: section html}, "order": [ids], "totals": html, "at": "HH:MM:SS"}`: only
        the sections that changed since the last message (`totals` only when they changed), so
        a quiet hall costs a few bytes and the page knows how current it is. Ends at logout,
        session expiry or server shutdown."""
        s = session(request, ctx)
        if s is None:
            return Redirect(path="/login")
        return ServerSentEvent(self._messages(request, ctx, scope_of(s.user)),
                               headers={"cache-control": "no-store", "x-accel-buffering": "no"})

    async def _messages(self, request: Request, ctx, scope: Scope) -> AsyncIterator[ServerSentEventMessage]:
        board = board_of(request)
        engine = request.app.template_engine
        sent: dict[str, str] = {}
        totals_sent, order_sent, read = None, None, None
        loop = asyncio.get_running_loop()
        while not _ended(request, ctx, board):
            snap = await loop.run_in_executor(None, board.snapshot, ctx)
            view = board.view(snap, scope, ctx.directory)
            halls, order = {}, []
            for h in view["halls"]:
                order.append(h["id"])
                html = render(engine, "live_hall.html", hall=h, min_ratings=view["min_ratings"])
                if sent.get(h["id"]) != html:
                    halls[h["id"]] = sent[h["id"]] = html
            totals = render(engine, "live_totals.html", totals=view["totals"], quarantined=view["quarantined"],
                            min_ratings=view["min_ratings"])
            at = datetime.fromtimestamp(snap.now / 1e6, ctx.directory.tz("")).strftime("%H:%M:%S")
            if halls or totals != totals_sent or order != order_sent or snap is not read:
                msg = {"halls": halls, "order": order, "at": at}
                if totals != totals_sent:
                    msg["totals"] = totals_sent = totals
                order_sent, read = order, snap
                yield ServerSentEventMessage(event="live", data=json.dumps(msg, ensure_ascii=False))
            deadline = time.monotonic() + board.settings.refresh_seconds
            while not _ended(request, ctx, board) and time.monotonic() < deadline:
                await asyncio.sleep(min(TICK_SECONDS, max(0.0, deadline - time.monotonic())))


def render(engine, name: str, **context) -> str:
    return engine.get_template(name).render(**context)
