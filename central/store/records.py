"""Queries of the supervision records (central.supervision) that need peewee's SQL functions."""

from __future__ import annotations

from datetime import date

import peewee as pw


def upheld_complaint_counts(store, start: date, end: date, upheld: tuple[str, ...]) -> dict[tuple[str, str], int]:
    """(hall, staff) → complaints about that staff member received on days start..end with an
    outcome in `upheld`; complaints naming no staff member are not counted."""
    C = store.records.Complaint
    q = (C.select(C.hall, C.staff, pw.fn.COUNT(C.id))
         .where((C.received_day >= start.isoformat()) & (C.received_day <= end.isoformat())
                & C.outcome.in_(list(upheld)) & (C.staff != ""))
         .group_by(C.hall, C.staff))
    return {(hall, staff): n for hall, staff, n in q.tuples()}


def patrol_counts(store, start: date, end: date) -> dict[tuple[str, str], int]:
    """(hall, staff) → patrol findings about that staff member dated start..end."""
    P = store.records.Patrol
    q = (P.select(P.hall, P.staff, pw.fn.COUNT(P.id))
         .where((P.day >= start.isoformat()) & (P.day <= end.isoformat()) & (P.staff != ""))
         .group_by(P.hall, P.staff))
    return {(hall, staff): n for hall, staff, n in q.tuples()}
