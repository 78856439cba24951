"""Figures the charts and the drill-down need that the four reports do not carry: visits and
waits by hour of day, the satisfaction distribution (five levels and unrated services),
attendance incidents month by month over a year, and month figures per campus or hall.

The hourly figures are read from the stored hourly facts (central.facts, like the reports);
the rest is computed from the public functions of central.projections and central.reports
(`attendance`, `percentile`, `rate`) and central.scope (`parse_range`, the `Scope`), with the same
definitions as the reports (docs/central.md, section Reports). Each
function returns a report dict (`{"report", "columns", "rows", …}`) so the dashboard renders,
and exports (CSV, XLSX), it like any other report.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from . import projections as pj
from . import reports as rp
from .errors import BadRequest
from .facts.hist import hist_percentile
from .facts.sources import source
from .projections import Directory
from .scope import ADMIN, Scope, parse_range

WAIT_BY_HOUR_COLUMNS = [("hour_label", "时段"), ("visits", "取号数"), ("called", "已叫号"),
                        ("wait_p50", "等候P50(秒)"), ("wait_p90", "等候P90(秒)")]


def _range(start, end) -> tuple[date, date]:
    as_text = [x.isoformat() if isinstance(x, date) else x for x in (start, end)]
    return parse_range(as_text[0], as_text[1])


def wait_by_hour(store, directory: Directory, start, end, hall: str | None = None, scope: Scope = ADMIN) -> dict:
    """Per hour of the hall's local day in which tickets were issued (service days start..end):
    tickets issued (取号数), of those called (已叫号), and the p50/p90 of their wait (called −
    issued) as in the service report: nearest rank over the wait histogram, the lower bound of
    the bucket (central.facts.hist.bucket). Read from the hourly facts (`facts.sources.Raw(store)`: from the
    events). Rows run without gaps from the first to the last busy hour."""
    s, e = _range(start, end)
    src = source(store, directory, s, e, scope.halls(directory, hall))
    per_hour = src.hour_rows(scope.department if scope.role == "department" else None)
    rows = []
    if per_hour:
        for h in range(min(per_hour), max(per_hour) + 1):
            n, called, waits = per_hour.get(h, (0, 0, Counter()))
            rows.append({"hour": h, "hour_label": f"{h:02d}:00–{h + 1:02d}:00", "visits": n, "called": called,
                         "wait_p50": hist_percentile(waits, 50), "wait_p90": hist_percentile(waits, 90)})
    return {"report": "wait_by_hour", "start": s.isoformat(), "end": e.isoformat(), "hall": hall,
            "columns": WAIT_BY_HOUR_COLUMNS, "rows": rows}


DISTRIBUTION_COLUMNS = [("label", "评价"), ("count", "数量")]


def _satisfaction_groups(store, d: Directory, s: date, e: date, hall: str | None, scope: Scope,
                         key) -> dict[str, dict]:
    """reports.satisfaction by window, summed per key(row): level counts, ratings, completed,
    unrated."""
    out: dict[str, dict] = {}
    for r in rp.satisfaction(store, d, s.isoformat(), e.isoformat(), hall, "window", scope=scope)["rows"]:
        g = out.setdefault(key(r), {"levels": [0] * 6, "ratings": 0, "completed": 0, "unrated": 0})
        for i in range(1, 6):
            g["levels"][i] += r[f"level{i}"]
        g["ratings"] += r["ratings"]
        g["completed"] += r["completed"]
        g["unrated"] += r["unrated"]
    return out


def satisfaction_distribution(store, directory: Directory, start, end, hall: str | None = None,
                              scope: Scope = ADMIN) -> dict:
    """The satisfaction report's figures summed over the caller's rows: ratings per level
    (非常满意 … 非常不满意; appeals accepted are left out as in the report) and completed
    services never rated (未评价) — the counts behind 好评率 and 未评价率."""
    s, e = _range(start, end)
    g = _satisfaction_groups(store, directory, s, e, hall, scope, lambda r: "all").get(
        "all", {"levels": [0] * 6, "ratings": 0, "completed": 0, "unrated": 0})
    levels = g["levels"]
    rows = [{"level": i, "label": rp.LEVEL_NAMES[i], "count": levels[i]} for i in range(5, 0, -1)]
    rows.append({"level": 0, "label": "未评价", "count": g["unrated"]})
    return {"report": "satisfaction_distribution", "start": s.isoformat(), "end": e.isoformat(), "hall": hall,
            "ratings": g["ratings"], "good_rate": rp.rate(levels[4] + levels[5], g["ratings"]),
            "completed": g["completed"], "unrated": g["unrated"],
            "unrated_rate": rp.rate(g["unrated"], g["completed"]), "columns": DISTRIBUTION_COLUMNS, "rows": rows}


ATTENDANCE_BY_MONTH_COLUMNS = [("month", "月份"), ("staff", "人数"), ("late", "迟到"), ("early", "早退"),
                               ("absent", "缺勤"), ("missing", "缺卡")]


def attendance_by_month(store, directory: Directory, year: int | str, hall: str | None = None,
                        department: str | None = None, scope: Scope = ADMIN, today: date | None = None) -> dict:
    """reports.attendance for each month of `year`, summed over its rows: late, early, absent
    (days) and missing punches, and the number of staff rows."""
    if not str(year).isdigit() or not 2000 <= int(year) <= 2999:
        raise BadRequest(f"year must be YYYY, got {year!r}")
    rows = []
    for m in range(1, 13):
        month = f"{int(year):04d}-{m:02d}"
        rep = rp.attendance(store, directory, month, hall, department, scope=scope, today=today)
        row = {"month": month, "staff": len(rep["rows"])}
        for k in ("late", "early", "absent", "missing"):
            row[k] = sum(r[k] for r in rep["rows"])
        rows.append(row)
    return {"report": "attendance_by_month", "year": int(year), "hall": hall, "department": department,
            "columns": ATTENDANCE_BY_MONTH_COLUMNS, "rows": rows}


DRILL_COLUMNS = {"campus": [("campus_name", "校区"), ("halls", "大厅数")], "hall": [("hall_name", "大厅")]}
FIGURE_COLUMNS = [("visits", "取号数"), ("completed", "办结数"), ("wait_p50", "等候P50(秒)"),
                  ("wait_p90", "等候P90(秒)"), ("ratings", "评价数"), ("good_rate", "好评率"),
                  ("unrated_rate", "未评价率")]


def area_figures(store, directory: Directory, start, end, by: str = "campus", campus: str | None = None,
                 scope: Scope = ADMIN) -> dict:
    """Per campus (by="campus") or per hall of one campus (by="hall", campus=…): visits
    (tickets of service days start..end) and the nearest-rank p50/p90 of their waits over the
    raw waits; ratings, 好评率, completed and 未评价率 summed from the satisfaction report. Every
    configured campus or hall the caller may see is listed, with or without data."""
    s, e = _range(start, end)
    if by not in DRILL_COLUMNS:
        raise BadRequest(f"by must be campus or hall, got {by!r}")
    campuses = {directory.campus(h) for h in directory.halls}
    if campus is not None and campus not in campuses:
        raise BadRequest(f"unknown campus {campus!r}")
    visible = scope.halls(directory, None)
    halls = [h for h in sorted(directory.halls) if (visible is None or h in visible)
             and (campus is None or directory.campus(h) == campus)]

    def key(hall: str) -> str:
        return directory.campus(hall) if by == "campus" else hall

    acc: dict[str, dict] = {key(h): {"halls": set(), "visits": 0, "waits": []} for h in halls}
    for h in halls:
        acc[key(h)]["halls"].add(h)
    sat: dict[str, dict] = {}
    if halls:
        for v in pj.visits(store, directory, s, e, halls):
            if scope.department_ok(v.department) and v.hall in halls:
                a = acc[key(v.hall)]
                a["visits"] += 1
                if (w := v.wait_seconds) is not None:
                    a["waits"].append(w)
        sat = _satisfaction_groups(store, directory, s, e, halls[0] if len(halls) == 1 else None, scope,
                                   lambda r: key(r["hall"]) if r["hall"] in halls else None)
    rows = []
    for k, a in sorted(acc.items()):
        some_hall = min(a["halls"])
        row = ({"campus": k, "campus_name": directory.campus_name(some_hall), "halls": len(a["halls"])}
               if by == "campus" else {"hall": k, "hall_name": directory.hall_name(k), "campus": directory.campus(k),
                                       "campus_name": directory.campus_name(k)})
        g = sat.get(k, {"levels": [0] * 6, "ratings": 0, "completed": 0, "unrated": 0})
        row.update({"visits": a["visits"], "completed": g["completed"], "wait_p50": rp.percentile(a["waits"], 50),
                    "wait_p90": rp.percentile(a["waits"], 90), "ratings": g["ratings"],
                    "good_rate": rp.rate(g["levels"][4] + g["levels"][5], g["ratings"]),
                    "unrated_rate": rp.rate(g["unrated"], g["completed"])})
        rows.append(row)
    return {"report": "area_figures", "by": by, "campus": campus, "start": s.isoformat(), "end": e.isoformat(),
            "columns": DRILL_COLUMNS[by] + FIGURE_COLUMNS, "rows": rows}
