"""预约统计: appointments per hall, department and month — booked, cancelled, checked in on
time, late, no-shows and the punctuality rate (central.appointments; docs/central.md).

Definitions (the same numbers the halls' `appointment.checked_in` events give):
- a booking is due once its check-in window has closed (or it was checked in);
- punctual (`checked_in`): checked in inside the window (the event says on_time);
- no-show: not checked in by the end of its window — including those who came later (`late`,
  the event says late: they were served as walk-ins);
- punctuality rate = punctual / due.
Bookings whose window has not closed and that are not checked in yet are `pending`.
"""

from __future__ import annotations

from .appointments import DAY_US, AppointmentBook
from .scope import ADMIN, Scope, parse_month
from .store import appointments as sa

COLUMNS = [("hall_name", "大厅"), ("department_name", "部门"), ("month", "月份"), ("bookings", "预约数"),
           ("cancelled", "已取消"), ("due", "已到期"), ("checked_in", "按时签到"), ("late", "迟到"),
           ("no_show", "爽约（含迟到）"), ("pending", "未到期"), ("punctuality_rate", "守约率")]


def report(book: AppointmentBook, month: str | None, hall: str | None = None, department: str | None = None,
           scope: Scope = ADMIN) -> dict:
    first, last = parse_month(month)
    d = book.directory
    halls = scope.halls(d, hall)
    if scope.role == "department":
        department = scope.department
    rows = sa.listing(book.store, halls, first.isoformat(), last.isoformat(), department=department or None)
    marks = sa.checkins(book.store, halls, min((r["slot_start"] for r in rows), default=0) - DAY_US)
    groups: dict[tuple[str, str], dict] = {}
    for r in rows:
        state = book.view(r, marks)["state"]
        g = groups.setdefault((r["hall"], r["department"]), {
            "hall": r["hall"], "hall_name": d.hall_name(r["hall"]), "department": r["department"],
            "department_name": d.department_name(r["department"]), "month": first.strftime("%Y-%m"),
            "bookings": 0, "cancelled": 0, "due": 0, "checked_in": 0, "late": 0, "no_show": 0, "pending": 0})
        if state == "cancelled":
            g["cancelled"] += 1
            continue
        g["bookings"] += 1
        if state == "booked":
            g["pending"] += 1
            continue
        g["due"] += 1
        if state == "checked_in":
            g["checked_in"] += 1
        else:
            g["no_show"] += 1
            g["late"] += state == "late"
    out = []
    for key in sorted(groups):
        g = groups[key]
        g["punctuality_rate"] = round(g["checked_in"] / g["due"], 4) if g["due"] else None
        out.append(g)
    return {"report": "appointments", "month": first.strftime("%Y-%m"), "columns": COLUMNS, "rows": out}

