"""Case tracking and hall operations, merged from every hall's events.

- `cases`: every case with a promised deadline (承诺件, 联办, 容缺受理) opened on service days
  start..end: where and by whom it was accepted, its deadline in working days, when and how it
  was finished, its state on `today` (按时办结 / 超期办结 / 已超期 / 办理中), and for joint cases
  every hand-over of materials between departments (from, to, what, when, by whom) — the
  first-asked responsibility record [RULES: queue and handling].
- `coverage`: A/B coverage (AB岗) per window: the open days it should have been staffed (fixed
  windows every open day, periodic ones on their weekdays), the days its A-role staff member
  signed on, the days only a B-role colleague did, and the days nobody did.
- `operations`: per hall and service day, the closing check (闭厅检查: passed, failed inputs,
  alarms) and the device faults (reader unplugged, GPIO errors) with when they recovered.

Both read the events on request (their volume is small next to tickets); a range spans at most
92 days. Rows are limited by the caller's `Scope` like the other reports.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

from sync.kernel.schedule import Schedule

from . import projections as pj
from .projections import Directory
from .errors import BadRequest
from .reports import labels
from .scope import ADMIN, Scope, parse_range

MAX_DAYS = 92
STATE_NAMES = {"on_time": "按时办结", "late": "超期办结", "overdue": "已超期", "open": "办理中"}
OUTCOME_NAMES = {"promised": "承诺件", "joint": "联办", "gaps": "容缺受理"}
RESULT_NAMES = {"done": "办结", "refused": "不予办理", "withdrawn": "撤回"}

CASE_COLUMNS = [("hall_name", "大厅"), ("ticket", "号码"), ("case", "件号"), ("outcome_name", "办理方式"),
                ("department_name", "部门"), ("window_name", "受理窗口"), ("staff_name", "受理人"),
                ("day", "受理日"), ("deadline", "承诺期限"), ("finished", "办结日"), ("result_name", "结果"),
                ("state_name", "状态"), ("handoffs", "流转次数"), ("handoff_text", "材料流转")]
COVERAGE_COLUMNS = [("hall_name", "大厅"), ("window_name", "窗口"), ("department_name", "部门"),
                    ("kind_name", "窗口类型"), ("expected", "应开窗天数"), ("a_days", "A角在岗天数"),
                    ("b_days", "B角顶岗天数"), ("uncovered", "无人值守天数"), ("coverage_rate", "在岗率"),
                    ("b_staff", "顶岗人员")]
KIND_NAMES = {"fixed": "固定窗口", "periodic": "周期窗口", "flexible": "机动窗口"}
OPERATION_COLUMNS = [("hall_name", "大厅"), ("day", "日期"), ("closing_name", "闭厅检查"), ("failed", "未通过项"),
                     ("alarms", "报警次数"), ("faults", "设备故障"), ("fault_text", "故障详情")]


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
        return days.setdefault((h, day), {"hall": h, "day": day, "closing": None, "failed": "", "alarms": 0,
                                          "fault_list": []})

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
        r["closing_name"] = {None: "无记录", True: "通过", False: "未通过"}[r["closing"]]
        r["faults"] = len(r["fault_list"])
        r["fault_text"] = "；".join(
            f"{f['device']}：{f['message']}" + ("（已恢复）" if f["recovered"] else "（未恢复）") for f in r["fault_list"])
        out.append(labels(d, r))
    return {"report": "operations", "start": s.isoformat(), "end": e.isoformat(), "columns": OPERATION_COLUMNS,
            "rows": out}


def coverage(store, d: Directory, start: str | None, end: str | None, hall: str | None = None,
             scope: Scope = ADMIN, today: date | None = None) -> dict:
    """A/B coverage per window over the open days start..end before `today`, from the hall's
    first day with records on (see the module docstring). A day counts for A when a
    `window.signed_on` with role A was recorded for the window that day, for B when only B
    sign-ons were; `coverage_rate` = (A + B days) / expected days. Flexible windows are never
    expected: their staffed days are listed for information."""
    s, e = _range(start, end)
    today = today or date.today()
    halls = scope.halls(d, hall)
    hall_ids = halls if halls is not None else list(d.halls)
    since = pj.first_days(store, d, hall_ids)
    signed: dict[tuple[str, str, date], set[str]] = {}
    b_names: dict[tuple[str, str], set[str]] = {}
    lo, _hi = pj.day_range_us(d, s, e)
    for h, ts, b in _events(store, ["window.signed_on"], hall_ids, lo):
        day = d.local_date(h, ts)
        if not s <= day <= e:
            continue
        signed.setdefault((h, b["window"], day), set()).add(b.get("role", "A"))
        if b.get("role") == "B":
            b_names.setdefault((h, b["window"]), set()).add(d.staff_name(h, b["staff"]))
    out = []
    for h in sorted(hall_ids):
        entry, cal = d.halls.get(h), d.calendars.get(h)
        if entry is None or cal is None or h not in since:
            continue  # a hall with no records at central yet has nothing to show
        days = []
        day = max(s, since.get(h, e + timedelta(days=1)))
        while day <= e and day < today:
            if cal.is_open_day(day):
                days.append(day)
            day += timedelta(days=1)
        plan = Schedule(entry.business, cal)
        for w in entry.business.windows:
            if not scope.department_ok(w.department):
                continue
            expected = [x for x in days if w.kind != "flexible" and plan.planned(w.id, x)]  # sync.kernel.schedule
            roles = {x: signed.get((h, w.id, x), set()) for x in days}
            a_days = sum(1 for x in expected if "A" in roles[x])
            b_days = sum(1 for x in expected if roles[x] == {"B"})
            if w.kind == "flexible":
                a_days = sum(1 for x in days if "A" in roles[x])
                b_days = sum(1 for x in days if roles[x] == {"B"})
            out.append(labels(d, {
                "hall": h, "window": w.id, "department": w.department, "kind": w.kind,
                "kind_name": KIND_NAMES[w.kind], "expected": len(expected), "a_days": a_days, "b_days": b_days,
                "uncovered": len(expected) - sum(1 for x in expected if roles[x]),
                "coverage_rate": round(sum(1 for x in expected if roles[x]) / len(expected), 4) if expected else None,
                "b_staff": "、".join(sorted(b_names.get((h, w.id), set())))}))
    return {"report": "coverage", "start": s.isoformat(), "end": e.isoformat(), "columns": COVERAGE_COLUMNS,
            "rows": out}
