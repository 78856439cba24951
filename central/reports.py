"""The reports (docs/central.md gives every formula): attendance by month, satisfaction,
service, rankings. Each returns `{"columns": [(key, 中文标题)], "rows": [dict], …}` so the API
answers JSON or CSV (`to_csv`, UTF-8 with BOM for Excel) and the dashboard renders a table.

A `Scope` limits what a caller sees: central admin everything, a department head their
department (in every hall), a hall manager their hall. The hall limit goes into the SQL; the
department limit filters rows by the department owning them.

The figures come from the stored day facts as they are (central.facts: a background refresher
recomputes the dirty days; the rows are summed); `facts.sources.Raw(store)` in place of the store
computes the same figures from the events on request.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

from .facts.hist import hist_percentile
from .facts.sources import source
from .projections import Directory
from .errors import BadRequest
from .scope import ADMIN, Scope, parse_month, parse_period, parse_range
from .store.facttables import VISIT_COUNTS
from .supervision.followups import excluded_ratings


@dataclass(frozen=True)
class Weights:
    """Ranking score weights (config `[assessment]`); renormalised over the defined parts."""

    satisfaction: float = 0.5
    attendance: float = 0.3
    on_time: float = 0.2


# ---------------------------------------------------------------- helpers


def rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    if not values:
        return None
    s = sorted(values)
    return round(s[max(0, math.ceil(p / 100 * len(s)) - 1)], 1)


def labels(d: Directory, r: dict) -> dict:
    if "hall" in r:
        r["hall_name"] = d.hall_name(r["hall"])
        r["campus"] = d.campus_name(r["hall"])
    if r.get("department") is not None:
        r["department_name"] = d.department_name(r["department"])
    if r.get("window"):
        r["window_name"] = d.window_name(r["hall"], r["window"])
    if r.get("staff"):
        r["staff_name"] = d.staff_name(r["hall"], r["staff"])
    return r


# ---------------------------------------------------------------- attendance


ATTENDANCE_COLUMNS = [("hall_name", "大厅"), ("department_name", "部门"), ("staff", "工号"), ("staff_name", "姓名"),
                      ("present", "出勤天数"), ("late", "迟到"), ("early", "早退"), ("absent", "缺勤"),
                      ("missing", "缺卡"), ("leave_days", "请假天数"), ("step_aways", "暂离次数"),
                      ("violations", "擅自离岗")]


def attendance(store, d: Directory, month: str | None, hall: str | None = None, department: str | None = None,
               scope: Scope = ADMIN, today: date | None = None) -> dict:
    start, end = parse_month(month)
    rows = []
    halls = scope.halls(d, hall)
    for r in source(store, d, start, end, halls).attendance(today or date.today()):
        if not scope.department_ok(r.department) or (department and r.department != department):
            continue
        rows.append(labels(d, {"hall": r.hall, "department": r.department, "staff": r.staff, "present": r.present,
                                "late": r.late, "early": r.early, "absent": r.absent, "missing": r.missing,
                                "leave_days": r.leave_days, "step_aways": r.step_aways,
                                "violations": r.violations}))
    return {"report": "attendance", "month": month, "columns": ATTENDANCE_COLUMNS, "rows": rows}


# ---------------------------------------------------------------- satisfaction

LEVELS = {"hall": ("hall",), "department": ("department",), "window": ("hall", "window"),
          "staff": ("hall", "staff")}
LEVEL_NAMES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


def satisfaction(store, d: Directory, start: str | None, end: str | None, hall: str | None = None,
                 by: str = "window", scope: Scope = ADMIN) -> dict:
    """主动评价好评率 (`good_rate`) = ratings of level 4–5 / ratings the visitors gave; 未评价率 =
    completed services (service day in range) whose ticket got no rating from its service day to
    two days after / completed services; 好评率 (`overall_good_rate`) counts every unrated
    service as a default 满意 (默认好评, as the national 好差评 system does): (level 4–5 +
    unrated) / (ratings + unrated)."""
    s, e = parse_range(start, end)
    if by not in LEVELS:
        raise BadRequest(f"by must be one of {', '.join(LEVELS)}, got {by!r}")
    halls = scope.halls(d, hall)
    keys = LEVELS[by]
    groups: dict[tuple, dict] = defaultdict(lambda: {"levels": [0] * 6, "completed": 0, "unrated": 0})
    src = source(store, d, s, e, halls)
    for hall_, dept, window, staff, lv, n in src.rating_rows(excluded_ratings(store, d)):
        if scope.department_ok(dept):
            values = {"hall": hall_, "department": dept, "window": window, "staff": staff}
            groups[tuple(values[k] for k in keys)]["levels"][lv] += n
    for hall_, dept, window, staff, _visits, completed, _ns, _tr, unrated, *_o in src.visit_rows():
        if not completed or not scope.department_ok(dept):
            continue
        values = {"hall": hall_, "department": dept, "window": window, "staff": staff}
        g = groups[tuple(values[k] for k in keys)]
        g["completed"] += completed
        g["unrated"] += unrated
    rows = []
    for key, g in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        lv = g["levels"]
        n = sum(lv)
        row = dict(zip(keys, key))
        row.update({f"level{i}": lv[i] for i in range(5, 0, -1)})
        row.update({"ratings": n, "good_rate": rate(lv[4] + lv[5], n), "completed": g["completed"],
                    "unrated": g["unrated"], "unrated_rate": rate(g["unrated"], g["completed"]),
                    "overall_good_rate": rate(lv[4] + lv[5] + g["unrated"], n + g["unrated"])})
        rows.append(labels(d, row))
    label = {"hall": [("hall_name", "大厅")], "department": [("department_name", "部门")],
             "window": [("hall_name", "大厅"), ("window_name", "窗口")],
             "staff": [("hall_name", "大厅"), ("staff_name", "工作人员")]}[by]
    cols = label + [(f"level{i}", LEVEL_NAMES[i]) for i in range(5, 0, -1)] + [
        ("ratings", "评价数"), ("good_rate", "主动评价好评率"), ("completed", "办结数"), ("unrated", "未评价数"),
        ("unrated_rate", "未评价率"), ("overall_good_rate", "好评率（含默认好评）")]
    return {"report": "satisfaction", "start": s.isoformat(), "end": e.isoformat(), "by": by, "columns": cols,
            "rows": rows}


# ---------------------------------------------------------------- service

SERVICE_COLUMNS = [("hall_name", "大厅"), ("campus", "校区"), ("visits", "取号数"), ("completed", "办结数"),
                   ("no_show", "过号"), ("transferred", "转办"), ("wait_p50", "等候P50(秒)"), ("wait_p90", "等候P90(秒)"),
                   ("service_p50", "办理P50(秒)"), ("service_p90", "办理P90(秒)"), ("instant", "即办"),
                   ("promised", "承诺件"), ("joint", "联办"), ("notice", "一次性告知"), ("gaps", "容缺受理"),
                   ("refused", "不予办理"), ("cases", "承诺件总数"), ("cases_on_time", "按时办结"),
                   ("cases_late", "超时办结"), ("cases_overdue", "逾期未办结"), ("on_time_rate", "按时办结率")]


def _service_row(counts: dict, waits, services, cases: list[int]) -> dict:
    """counts: summed visit facts; waits/services: histograms (central.facts.hist.bucket);
    cases: [cases, on time, late, overdue]."""
    row = {k: counts.get(k, 0) for k in ("visits", "completed", "no_show", "transferred")}
    row.update({"wait_p50": hist_percentile(waits, 50), "wait_p90": hist_percentile(waits, 90),
                "service_p50": hist_percentile(services, 50),
                "service_p90": hist_percentile(services, 90)})
    for o in ("instant", "promised", "joint", "notice", "gaps", "refused"):
        row[o] = counts.get(o, 0)
    row.update({"cases": cases[0], "cases_on_time": cases[1], "cases_late": cases[2], "cases_overdue": cases[3]})
    row["on_time_rate"] = rate(row["cases_on_time"], row["cases_on_time"] + row["cases_late"] + row["cases_overdue"])
    return row


def service(store, d: Directory, start: str | None, end: str | None, hall: str | None = None,
            scope: Scope = ADMIN, today: date | None = None) -> dict:
    """Percentiles are nearest rank over histograms, given as the lower bound of the bucket
    (whole seconds under a minute, 5 s under 10 minutes, 30 s under an hour, 5 minutes beyond)."""
    s, e = parse_range(start, end)
    today = today or date.today()
    src = source(store, d, s, e, scope.halls(d, hall))
    per: dict[str, dict] = defaultdict(lambda: {"counts": Counter(), "wait": Counter(), "service": Counter(),
                                                "cases": [0, 0, 0, 0]})
    for h, dept, _w, _s, *c in src.visit_rows():
        if scope.department_ok(dept):
            per[h]["counts"].update(dict(zip(VISIT_COUNTS, c)))
    for (h, _dept), (wait, serv) in src.histograms(scope.department if scope.role == "department" else None).items():
        per[h]["wait"].update(wait)
        per[h]["service"].update(serv)
    for h, dept, _w, _s, *c in src.case_rows(today):
        if scope.department_ok(dept):
            per[h]["cases"] = [x + y for x, y in zip(per[h]["cases"], c)]
    rows = []
    tot = {"counts": Counter(), "wait": Counter(), "service": Counter(), "cases": [0, 0, 0, 0]}
    for h in sorted(h for h, p in per.items() if p["counts"]["visits"]):
        p = per[h]
        rows.append(labels(d, {"hall": h, **_service_row(p["counts"], p["wait"], p["service"], p["cases"])}))
        for k in ("counts", "wait", "service"):
            tot[k].update(p[k])
        tot["cases"] = [x + y for x, y in zip(tot["cases"], p["cases"])]
    total = {"hall_name": "合计", "campus": "", **_service_row(tot["counts"], tot["wait"], tot["service"],
                                                                tot["cases"])}
    return {"report": "service", "start": s.isoformat(), "end": e.isoformat(), "columns": SERVICE_COLUMNS,
            "rows": rows + [total] if rows else [], "total": total}


# ---------------------------------------------------------------- rankings

RANK_KEYS = {"window": ("hall", "window"), "staff": ("hall", "staff"), "department": ("department",),
             "hall": ("hall",)}


def rankings(store, d: Directory, period: str | None, level: str = "window", weights: Weights = Weights(),
             scope: Scope = ADMIN, today: date | None = None) -> dict:
    """score = 100 × Σ wᵢ·xᵢ / Σ wᵢ over the parts xᵢ that are defined for the entity:
    satisfaction = 好评率; attendance = 1 − incidents / expected days (incidents = late + early +
    absent + missing punches + step-away violations, floored at 0); on_time = 按时办结率."""
    s, e = parse_period(period)
    if level not in RANK_KEYS:
        raise BadRequest(f"level must be one of {', '.join(RANK_KEYS)}, got {level!r}")
    today = today or date.today()
    halls = scope.halls(d, None)
    keys = RANK_KEYS[level]
    acc: dict[tuple, dict] = defaultdict(lambda: {"good": 0, "ratings": 0, "incidents": 0, "expected": 0,
                                                  "on_time": 0, "due": 0})

    def key_of(hall, window, staff, department):
        values = {"hall": hall, "window": window, "staff": staff, "department": department}
        k = tuple(values[x] for x in keys)
        return None if any(x is None or x == "" for x in k) else k

    src = source(store, d, s, e, halls)
    for hall_, dept, window, staff, lv, n in src.rating_rows(excluded_ratings(store, d)):
        if scope.department_ok(dept) and (k := key_of(hall_, window, staff, dept)):
            acc[k]["ratings"] += n
            acc[k]["good"] += n if lv >= 4 else 0
    for m in src.attendance(today):
        if not scope.department_ok(m.department):
            continue
        st = d.staff(m.hall, m.staff)
        for window in (st.windows if st and level == "window" else [None]):
            if k := key_of(m.hall, window, m.staff, m.department):
                acc[k]["incidents"] += m.incidents
                acc[k]["expected"] += m.expected
    for hall_, dept, window, staff, _n, on_time, late, overdue in src.case_rows(today):
        if scope.department_ok(dept) and (k := key_of(hall_, window, staff, dept)) and on_time + late + overdue:
            acc[k]["due"] += on_time + late + overdue
            acc[k]["on_time"] += on_time
    rows = []
    for k, a in acc.items():
        parts = {"satisfaction": rate(a["good"], a["ratings"]),
                 "attendance": None if not a["expected"] else round(max(0.0, 1 - a["incidents"] / a["expected"]), 4),
                 "on_time": rate(a["on_time"], a["due"])}
        w = {"satisfaction": weights.satisfaction, "attendance": weights.attendance, "on_time": weights.on_time}
        total_w = sum(w[p] for p, x in parts.items() if x is not None)
        score = None if not total_w else round(100 * sum(w[p] * x for p, x in parts.items() if x is not None)
                                               / total_w, 2)
        rows.append(labels(d, {**dict(zip(keys, k)), **parts, "ratings": a["ratings"], "incidents": a["incidents"],
                                "cases": a["due"], "score": score}))
    rows.sort(key=lambda r: (r["score"] is None, -(r["score"] or 0), tuple(str(r[x]) for x in keys)))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    label = {"hall": [("hall_name", "大厅")], "department": [("department_name", "部门")],
             "window": [("hall_name", "大厅"), ("window_name", "窗口")],
             "staff": [("hall_name", "大厅"), ("staff_name", "工作人员")]}[level]
    cols = [("rank", "名次")] + label + [("score", "得分"), ("satisfaction", "好评率"), ("attendance", "考勤得分"),
                                         ("on_time", "按时办结率"), ("ratings", "评价数"), ("incidents", "考勤问题"),
                                         ("cases", "到期承诺件")]
    return {"report": "rankings", "period": period, "start": s.isoformat(), "end": e.isoformat(), "level": level,
            "weights": {"satisfaction": weights.satisfaction, "attendance": weights.attendance,
                        "on_time": weights.on_time}, "columns": cols, "rows": rows}


# ---------------------------------------------------------------- CSV


def to_csv(report: dict) -> bytes:
    """UTF-8 with a BOM (Excel then reads the Chinese headers right); rates as printed numbers."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([title for _k, title in report["columns"]])
    for r in report["rows"]:
        w.writerow(["" if r.get(k) is None else r.get(k) for k, _t in report["columns"]])
    return "\ufeff".encode() + buf.getvalue().encode("utf-8")
