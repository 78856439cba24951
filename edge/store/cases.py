"""Cases (办件: promised, joint, gaps, …) and their hand-overs between departments: views,
tables, projection rules, queries."""

from __future__ import annotations

import json

import msgspec

from sync.contract import events as ev

from .log import dumps, get_view, row_view, table, update

OPEN_OUTCOMES = ("promised", "joint", "gaps")  # a case with these stays open until finished
CASE_JSON = ("missing", "supplied", "co_departments")


class CaseView(msgspec.Struct, kw_only=True):
    id: str
    ticket: str
    number: str
    item: str
    department: str
    window: str
    staff: str
    outcome: str
    state: str  # open | closed
    opened_at: int
    deadline: str | None
    supply_by: str | None
    missing: list[str]
    supplied: list[str]
    co_departments: list[str]
    reason: str
    note: str
    finished_at: int | None
    result: str | None


class HandoffView(msgspec.Struct, kw_only=True):
    case: str
    seq: int
    at: int
    from_department: str
    to_department: str
    materials: list[str]
    by: str
    note: str


def tables(Base: type) -> list[type]:
    return [
        table(Base, "Case", CaseView, "cases", key="id", big={"opened_at", "finished_at"},
              defaults={"missing": "[]", "supplied": "[]", "co_departments": "[]", "reason": "", "note": ""},
              indexes=((("state", "deadline"), False),)),
        table(Base, "Handoff", HandoffView, "handoffs", auto="id", big={"at"}, index={"case"},
              defaults={"note": ""},  # seq: the event's seq (within its epoch)
              order=("seq", "case", "at", "from_department", "to_department", "materials", "by", "note")),
    ]


# ---------------------------------------------------------------------------- projection rules


def _completed(s, seq: int, ts: int, b: ev.TicketCompleted) -> None:
    if not b.case:
        return
    t = s.m.Ticket.get_by_id(b.ticket)
    s.m.Case.insert(
        id=b.case, ticket=b.ticket, number=t.number, item=b.item, department=t.department,
        window=b.window, staff=b.staff, outcome=b.outcome,
        state="open" if b.outcome in OPEN_OUTCOMES else "closed",
        opened_at=ts, deadline=b.deadline, supply_by=b.supply_by, missing=json.dumps(b.missing),
        co_departments=json.dumps(b.co_departments), reason=b.reason, note=b.note,
    ).execute()


def _handoff(s, seq: int, ts: int, b: ev.CaseHandoff) -> None:
    s.m.Handoff.insert(
        seq=seq, case=b.case, at=ts, from_department=b.from_department, to_department=b.to_department,
        materials=dumps(b.materials), by=b.by, note=b.note,
    ).execute()


def _supplied(s, seq: int, ts: int, b: ev.CaseSupplied) -> None:
    C = s.m.Case
    done = json.loads(C.get_by_id(b.case).supplied)
    done += [m for m in b.materials if m not in done]
    update(C, b.case, supplied=json.dumps(done))


def _finished(s, seq: int, ts: int, b: ev.CaseFinished) -> None:
    C = s.m.Case
    update(C, b.case, state="closed", finished_at=ts, result=b.result, note=b.note or C.note)


RULES = {
    "ticket.completed": _completed,
    "case.handoff": _handoff,
    "case.supplied": _supplied,
    "case.finished": _finished,
}


# ---------------------------------------------------------------------------- queries


class CaseQueries:
    m: object

    def case(self, case_id: str) -> CaseView | None:
        return get_view(CaseView, self.m.Case, self.m.Case.id == case_id, CASE_JSON)

    def cases(self, state: str | None = None, department: str | None = None, limit: int = 200) -> list[CaseView]:
        C = self.m.Case
        q = C.select()
        if state:
            q = q.where(C.state == state)
        if department:
            q = q.where((C.department == department) | C.co_departments.contains(f'"{department}"'))
        return [row_view(CaseView, r, CASE_JSON) for r in q.order_by(C.opened_at.desc()).limit(limit)]

    def handoffs(self, case_id: str) -> list[HandoffView]:
        H = self.m.Handoff
        return [row_view(HandoffView, r, ["materials"]) for r in H.select().where(H.case == case_id).order_by(H.id)]
