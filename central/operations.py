"""Case tracking and hall operations, merged from every hall's events.

- `cases`: every case with a promised deadline (承诺件, 联办, 容缺受理) opened on service days
  start..end: where and by whom it was accepted, its deadline in working days, when and how it
  was finished, its state on `today` (按时办结 / 超期办结 / 已超期 / 办理中), and for joint cases
  every hand-over of materials between departments (from, to, what, when, by whom) — the
  first-asked responsibility record [RULES: queue and handling].
- `coverage`: A/B coverage (AB岗) per window as time — open, staffed by A / B / duty, paused,
  over the step-away limit, uncovered (with the intervals per day) — summed per window,
  department or hall (central.coverage: the hall's arithmetic) [U 21, B 28, C 9(4)].
- `extended`: 延时服务 per staff member: services completed after closing [U 21, B 28, C 11(6)].
- `operations`: per hall and service day, the closing check (闭厅检查: passed, failed inputs,
  alarms; the hall manager's manual check shown as 人工确认 with who, the note and what the inputs read) and the device faults (reader unplugged, GPIO errors) with when they recovered.

Both read the events on request (their volume is small next to tickets); a range spans at most
92 days. Rows are limited by the caller's `Scope` like the other reports.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sync.kernel import coverage as cov

from . import coverage as cv
from . import projections as pj
from .projections import Directory
from .errors import BadRequest
from .reports import labels
from .scope import ADMIN, Scope, parse_month, parse_range

MAX_DAYS = 92
STATE_NAMES = {"on_time": "按时办结", "late": "超期办结", "overdue": "已超期", "open": "办理中"}
OUTCOME_NAMES = {"promised": "承诺件", "joint": "联办", "gaps": "容缺受理"}
RESULT_NAMES = {"done": "办结", "refused": "不予办理", "withdrawn": "撤回"}

CASE_COLUMNS = [("hall_name", "大厅"), ("ticket", "号码"), ("case", "件号"), ("outcome_name", "办理方式"),
                ("department_name", "部门"), ("window_name", "受理窗口"), ("staff_name", "受理人"),
                ("day", "受理日"), ("deadline", "承诺期限"), ("finished", "办结日"), ("result_name", "结果"),
                ("state_name", "状态"), ("handoffs", "流转次数"), ("handoff_text", "材料流转")]
_TIME = [("open_hours", "开放(小时)"), ("a_hours", "A角(小时)"), ("b_hours", "B角(小时)"),
         ("duty_hours", "值班(小时)"), ("paused_hours", "暂停(小时)"), ("over_limit_hours", "超时离岗(小时)"),
         ("uncovered_hours", "无人值守(小时)"), ("coverage_rate", "覆盖率")]
COVERAGE_COLUMNS = {
    "day": [("hall_name", "大厅"), ("day", "日期"), ("window_name", "窗口"), ("department_name", "部门"), *_TIME,
            ("uncovered_text", "无人值守时段")],
    "window": [("hall_name", "大厅"), ("window_name", "窗口"), ("department_name", "部门"), ("kind_name", "窗口类型"),
               ("days", "开放天数"), *_TIME],
    "department": [("hall_name", "大厅"), ("department_name", "部门"), ("days", "窗口·天"), *_TIME],
    "hall": [("hall_name", "大厅"), ("days", "窗口·天"), *_TIME],
}
COVERAGE_GROUPS = tuple(COVERAGE_COLUMNS)
EXTENDED_COLUMNS = [("hall_name", "大厅"), ("department_name", "部门"), ("staff", "工号"), ("staff_name", "姓名"),
                    ("services", "延时服务次数"), ("minutes", "超出闭厅分钟数"), ("days", "天数"), ("windows", "窗口")]
KIND_NAMES = {"fixed": "固定窗口", "periodic": "周期窗口", "flexible": "机动窗口"}
OPERATION_COLUMNS = [("hall_name", "大厅"), ("day", "日期"), ("closing_name", "闭厅检查"), ("failed", "未通过项"),
                     ("closing_note", "人工检查说明"), ("alarms", "报警次数"), ("faults", "设备故障"),
                     ("fault_text", "故障详情")]
STATE_NAMES_INPUT = {"open": "未关闭", "on": "未断电"}


def _manager_name(d: Directory, hall: str, who: str) -> str:
    entry = d.halls.get(hall)
    managers = {m.id: m.name for m in entry.business.managers} if entry is not None else {}
    return managers.get(who) or d.staff_name(hall, who) or who


def _range(start: str | None, end: str | None) -> tuple[date, date]:
    s, e = parse_range(start, end)
    if (e - s).days >= MAX_DAYS:
        raise BadRequest(f"a range spans at most {MAX_DAYS} days")
    return s, e


def _events(store, kinds: list[str], halls: list[str] | None, lo: int) -> list[tuple[str, int, dict]]:
    """(hall, ts_true, body) of `kinds` from `lo` on, oldest first (handoffs, finishes and
    faults come after the day they belong to, so no upper bound)."""
    if halls is not None and not halls:
        return []
    p = store.db.param
    sql = f"SELECT hall, ts_true, body FROM events WHERE kind IN ({', '.join([p] * len(kinds))}) AND ts_true >= {p}"
    args: list = [*kinds, lo]
    if halls is not None:
        sql += f" AND hall IN ({', '.join([p] * len(halls))})"
        args += list(halls)
    rows = store.db.execute_sql(sql + " ORDER BY ts_true, hall, seq", args).fetchall()
    return [(h, int(ts), json.loads(b)) for h, ts, b in rows]


def cases(store, d: Directory, start: str | None, end: str | None, hall: str | None = None,
          scope: Scope = ADMIN, today: date | None = None, state: str | None = None) -> dict:
    """Cases opened on service days start..end (see the module docstring). `state` filters:
    open | overdue | on_time | late."""
    s, e = _range(start, end)
    if state not in (None, "", *STATE_NAMES):
        raise BadRequest(f"state must be one of {', '.join(STATE_NAMES)}, got {state!r}")
    today = today or date.today()
    halls = scope.halls(d, hall)
    visits = [v for v in pj.visits(store, d, s, e, halls)
              if v.outcome in pj.CASE_OUTCOMES and v.case and v.deadline]
    by_case = {(v.hall, v.case): v for v in visits}
    rows: dict[tuple[str, str], dict] = {}
    for c in pj.cases(store, d, visits):
        v = by_case[(c.hall, c.case)]
        involved = {c.department}
        rows[(c.hall, c.case)] = {"hall": c.hall, "ticket": v.ticket, "case": c.case, "outcome": v.outcome,
                                  "outcome_name": OUTCOME_NAMES.get(v.outcome or "", v.outcome),
                                  "department": c.department, "window": c.window, "staff": c.staff,
                                  "day": v.day.isoformat(), "deadline": c.deadline.isoformat(),
                                  "finished": c.finished.isoformat() if c.finished else None,
                                  "result": c.result, "result_name": RESULT_NAMES.get(c.result or "", ""),
                                  "state": c.state(today), "state_name": STATE_NAMES[c.state(today)],
                                  "handoff_list": [], "_involved": involved}
    if rows:
        lo = min(v.issued for v in visits)
        for h, ts, b in _events(store, ["case.handoff"], sorted({h for h, _ in rows}), lo):
            r = rows.get((h, b.get("case")))
            if r is None:
                continue
            r["handoff_list"].append({"at": d.local_date(h, ts).isoformat(), "from": b["from_department"],
                                      "to": b["to_department"], "materials": b.get("materials", []),
                                      "by": b.get("by", ""), "note": b.get("note", "")})
            r["_involved"] |= {b["from_department"], b["to_department"]}
    out = []
    for key in sorted(rows, key=lambda k: (rows[k]["day"], k)):
        r = rows[key]
        involved = r.pop("_involved")
        # a department head sees the cases their department accepted or took part in
        if scope.role == "department" and scope.department not in involved:
            continue
        if state and r["state"] != state:
            continue
        r["handoffs"] = len(r["handoff_list"])
        r["handoff_text"] = "；".join(
            f"{x['at']} {d.department_name(x['from'])}→{d.department_name(x['to'])}：{'、'.join(x['materials'])}"
            for x in r["handoff_list"])
        out.append(labels(d, r))
    counts = {k: sum(1 for r in out if r["state"] == k) for k in STATE_NAMES}
    return {"report": "cases", "start": s.isoformat(), "end": e.isoformat(), "columns": CASE_COLUMNS,
            "rows": out, "counts": counts}


def operations(store, d: Directory, start: str | None, end: str | None, hall: str | None = None,
               scope: Scope = ADMIN) -> dict:
    """Per hall and service day start..end with a closing check or a device fault (see the module
    docstring). Department heads see nothing here (halls' premises are the halls' business)."""
    s, e = _range(start, end)
    if scope.role == "department":
        halls: list[str] | None = []
    else:
        halls = scope.halls(d, hall)
    days: dict[tuple[str, str], dict] = {}

    def day_row(h: str, day: str) -> dict:
        return days.setdefault((h, day), {"hall": h, "day": day, "closing": None, "manual": False, "failed": "",
                                          "closing_note": "", "alarms": 0, "fault_list": []})

    lo, _hi = pj.day_range_us(d, s, e)
    for h, ts, b in _events(store, ["closing.checked", "closing.alarm"], halls, lo):
        day = b.get("service_date", "")
        if not s.isoformat() <= day <= e.isoformat():
            continue
        r = day_row(h, day)
        if "repeat" in b:  # closing.alarm
            r["alarms"] += 1
        else:
            r["closing"] = bool(b.get("ok"))
            r["failed"] = "、".join(f.get("label") or f.get("name", "") for f in b.get("failed", []))
            r["manual"] = bool(b.get("manual"))  # the hall manager's own round (edge.closing.manual_check)
            r["closing_note"] = ""
            if r["manual"]:
                read = "、".join((f.get("label") or f.get("name", "")) + STATE_NAMES_INPUT.get(f.get("state", ""), "")
                                for f in b.get("readings", []))
                r["closing_note"] = (f"{_manager_name(d, h, b.get('by', ''))}：{b.get('note', '')}"
                                     + (f"（检测显示：{read}）" if read else ""))
    open_faults: dict[tuple[str, str], dict] = {}
    for h, ts, b in _events(store, ["device.fault", "device.recovered"], halls, lo):
        key = (h, b.get("device", ""))
        if "message" in b:  # device.fault
            day = d.local_date(h, ts)
            if not s <= day <= e:
                continue
            f = {"device": b.get("device", ""), "kind": b.get("device_kind", ""), "message": b.get("message", ""),
                 "at": ts, "recovered": None}
            day_row(h, day.isoformat())["fault_list"].append(f)
            open_faults[key] = f
        elif key in open_faults:
            open_faults.pop(key)["recovered"] = ts
    out = []
    for key in sorted(days):
        r = days[key]
        r["closing_name"] = ({True: "人工确认通过", False: "人工检查未通过"}[r["closing"]] if r["manual"]
                             else {None: "无记录", True: "通过", False: "未通过"}[r["closing"]])
        r["faults"] = len(r["fault_list"])
        r["fault_text"] = "；".join(
            f"{f['device']}：{f['message']}" + ("（已恢复）" if f["recovered"] else "（未恢复）") for f in r["fault_list"])
        out.append(labels(d, r))
    return {"report": "operations", "start": s.isoformat(), "end": e.isoformat(), "columns": OPERATION_COLUMNS,
            "rows": out}


def _period(start: str | None, end: str | None, month: str | None) -> tuple[date, date]:
    return parse_month(month) if month else _range(start, end)


def _hours(seconds: int) -> float:
    return round(seconds / 3600, 2)


def _hm(d: Directory, hall: str, us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, d.tz(hall)).strftime("%H:%M:%S")


def _time_row(r: dict, t: dict) -> dict:
    """A coverage row's figures: seconds (the API, equal to the hall's) and hours (the table)."""
    roles = t.pop("by_role")
    r.update(t, a_seconds=roles.get("A", 0), b_seconds=roles.get("B", 0), duty_seconds=roles.get("duty", 0),
             by_role=roles)
    for k in ("open", "staffed", "a", "b", "duty", "paused", "over_limit", "covered", "uncovered"):
        r[f"{k}_hours"] = _hours(r[f"{k}_seconds"])
    return r


def coverage(store, d: Directory, start: str | None, end: str | None, hall: str | None = None,
             scope: Scope = ADMIN, today: date | None = None, group: str | None = None,
             month: str | None = None) -> dict:
    """A/B coverage as time (central.coverage, the hall's arithmetic) over the days start..end
    (or `month`) before `today`, from the hall's first day with records on [U 21, B 28, C 9(4)].
    `group`: day (one row per window and day, with its uncovered intervals), window (default:
    the range summed per window), department, hall. coverage_rate = covered / open."""
    s, e = _period(start, end, month)
    group = group or "window"
    if group not in COVERAGE_GROUPS:
        raise BadRequest(f"group must be one of {', '.join(COVERAGE_GROUPS)}, got {group!r}")
    today = today or date.today()
    halls = scope.halls(d, hall)
    hall_ids = halls if halls is not None else list(d.halls)
    rows = [x for x in cv.window_days(store, d, s, e, hall_ids, today) if scope.department_ok(x.department)]
    out = []
    if group == "day":
        for x in rows:
            r = {"hall": x.hall, "window": x.window, "department": x.department, "day": x.day.isoformat(),
                 "uncovered_intervals": [[_hm(d, x.hall, a), _hm(d, x.hall, b)] for a, b in x.fig.uncovered]}
            r["uncovered_text"] = "、".join(f"{a}–{b}" for a, b in r["uncovered_intervals"])
            out.append(labels(d, _time_row(r, cov.total([x.fig]))))
    else:
        keys = {"window": lambda x: (x.hall, x.department, x.window), "department": lambda x: (x.hall, x.department),
                "hall": lambda x: (x.hall,)}[group]
        groups: dict[tuple, list] = {}
        for x in rows:
            groups.setdefault(keys(x), []).append(x)
        for key in sorted(groups):
            r = dict(zip(("hall", "department", "window"), key))
            if group == "window":
                w = d.window(key[0], key[2])
                r["kind_name"] = KIND_NAMES.get(w.kind, w.kind) if w else ""
            out.append(labels(d, _time_row(r, cov.total([x.fig for x in groups[key]]))))
    return {"report": "coverage", "start": s.isoformat(), "end": e.isoformat(), "group": group,
            "columns": COVERAGE_COLUMNS[group], "rows": out}


def extended(store, d: Directory, start: str | None, end: str | None, hall: str | None = None,
             scope: Scope = ADMIN, month: str | None = None) -> dict:
    """延时服务 per hall and staff member over service days start..end (or `month`): services
    completed after the day's closing time, their number, minutes past closing (each rounded
    up), windows and days (central.coverage.extended_services, the hall's arithmetic)
    [U 21, B 28, C 11(6)]. `services` lists each one."""
    s, e = _period(start, end, month)
    halls = scope.halls(d, hall)
    found = [x for x in cv.extended_services(store, d, s, e, halls if halls is not None else list(d.halls))
             if scope.department_ok(d.window_department(x.hall, x.service.window))]
    per: dict[tuple[str, str], dict] = {}
    services = []
    for x in found:
        a = x.service
        r = per.setdefault((x.hall, a.staff or ""), {"hall": x.hall, "staff": a.staff or "", "services": 0,
                                                     "minutes": 0, "_windows": set(), "_days": set()})
        r["services"] += 1
        r["minutes"] += a.minutes
        r["_windows"].add(a.window or "")
        r["_days"].add(x.day.isoformat())
        services.append(labels(d, {"hall": x.hall, "day": x.day.isoformat(), "ticket": a.ticket, "window": a.window,
                                   "staff": a.staff, "completed": _hm(d, x.hall, a.completed),
                                   "seconds": a.seconds, "minutes": a.minutes}))
    out = []
    for key in sorted(per):
        r = per[key]
        r["department"] = d.staff_department(r["hall"], r["staff"])
        r["windows"] = "、".join(d.window_name(r["hall"], w) for w in sorted(r.pop("_windows")) if w)
        r["days"] = len(r.pop("_days"))
        out.append(labels(d, r))
    return {"report": "extended", "start": s.isoformat(), "end": e.isoformat(), "columns": EXTENDED_COLUMNS,
            "rows": out, "services": services,
            "totals": {"services": sum(r["services"] for r in out), "minutes": sum(r["minutes"] for r in out)}}
