"""Presence: staffing intervals (sign-on to sign-off) and step-aways (pauses) per window.
Views, tables, projection rules (the staff's side of window events), queries."""

from __future__ import annotations

import msgspec

from sync.contract import events as ev

from .log import row_view, table, view_or_none


class SessionView(msgspec.Struct, kw_only=True):
    """A staffing interval: `staff` signed on at `window` from `start` to `end` (µs; None: still on)."""

    window: str
    staff: str
    role: str
    start: int
    end: int | None
    via: str


class StepAwayView(msgspec.Struct, kw_only=True):
    window: str
    staff: str
    start: int
    end: int | None
    seconds: int | None
    over_limit: bool
    violation: bool
    via: str
    reason: str


def tables(Base: type) -> list[type]:
    return [
        table(Base, "StaffSession", SessionView, "staff_sessions", auto="id", big={"start", "end"},
              defaults={"via": "pin"}, indexes=((("window", "start"), False), (("staff", "end"), False))),
        table(Base, "StepAway", StepAwayView, "step_aways", auto="id", big={"start", "end"},
              defaults={"via": "console", "reason": ""}, indexes=((("window", "end"), False), (("start",), False))),
    ]


# ---------------------------------------------------------------------------- projection rules


def _open_rows(model, window: str, *more):
    """The still-open interval rows of `window` (end not yet set)."""
    cond = (model.window == window) & model.end.is_null()
    for c in more:
        cond &= c
    return cond


def _signed_on(s, seq: int, ts: int, b: ev.WindowSignedOn) -> None:
    s.m.StaffSession.insert(window=b.window, staff=b.staff, role=b.role, start=ts, via=b.via).execute()


def _signed_off(s, seq: int, ts: int, b: ev.WindowSignedOff) -> None:
    S = s.m.StaffSession
    S.update(end=ts).where(_open_rows(S, b.window, S.staff == b.staff)).execute()


def _paused(s, seq: int, ts: int, b: ev.WindowPaused) -> None:
    s.m.StepAway.insert(window=b.window, staff=b.staff, start=ts, via=b.via, reason=b.reason).execute()


def _resumed(s, seq: int, ts: int, b: ev.WindowResumed) -> None:
    A = s.m.StepAway
    A.update(end=ts, seconds=b.paused_seconds, over_limit=b.over_limit).where(_open_rows(A, b.window)).execute()


def _violation(s, seq: int, ts: int, b: ev.StepAwayViolation) -> None:
    A = s.m.StepAway
    A.update(violation=True).where(_open_rows(A, b.window)).execute()


RULES = {
    "window.signed_on": _signed_on,
    "window.signed_off": _signed_off,
    "window.paused": _paused,
    "window.resumed": _resumed,
    "window.step_away_violation": _violation,
}


# ---------------------------------------------------------------------------- queries


def _overlapping(model, start: int, end: int, window: str | None):
    q = model.select().where((model.start < end) & (model.end.is_null() | (model.end > start)))
    if window is not None:
        q = q.where(model.window == window)
    return q.order_by(model.start)


class PresenceQueries:
    m: object

    def sessions(self, start: int, end: int, window: str | None = None) -> list[SessionView]:
        """Staffing intervals overlapping [start, end) (µs)."""
        return [row_view(SessionView, r) for r in _overlapping(self.m.StaffSession, start, end, window)]

    def step_aways(self, start: int, end: int, window: str | None = None) -> list[StepAwayView]:
        return [row_view(StepAwayView, r) for r in _overlapping(self.m.StepAway, start, end, window)]

    def open_step_away(self, window: str) -> StepAwayView | None:
        A = self.m.StepAway
        return view_or_none(StepAwayView, A.select().where(_open_rows(A, window)).order_by(A.id.desc()).first())

    def last_sign_off(self, start: int, end: int) -> SessionView | None:
        S = self.m.StaffSession
        return view_or_none(SessionView, S.select().where(S.end.is_null(False) & (S.end >= start) & (S.end < end))
                            .order_by(S.end.desc()).first())
