"""Electronic supervision (电子监察 [C 20]): findings raised at central from what the halls
already recorded, next to the patrol findings people enter (现场巡查).

Nothing is stored: every call derives the findings of a date range from the merged events, so
asking again never duplicates one, and a hall's late events change the findings they touch
the next time they are asked for. Each finding has a stable id (`auto:<rule>:<hall>:<key>`) and
the shape of a patrol finding (`patrols.patrol_dict`) plus `auto = True` and `rule`.
Each rule is switched and tuned in `[supervision.auto]` (central.config.SupervisionAuto):

- step_away / late / early / absent — per staff member and month, one finding when the month's
  count reaches `<rule>_min`: step-aways over the hall's limit (`window.step_away_violation`,
  擅自离岗 [C 9(4)]); late arrivals and early leaves as the hall classified the punches (its
  `late_grace_minutes` / `early_grace_minutes`); days absent as the attendance report counts
  them (expected by the schedule, no punch, no approved leave [J 27, J 28, B 28]). Same figures
  as the attendance report (central.facts `attendance`). Dated the month's last day, or
  `today` while the month runs.
- overdue_case — a promised, joint or 容缺 case not finished by its deadline +
  `overdue_case_days` calendar days (承诺件逾期 [B 25(2), H 8]); dated the day after, once that
  day has come. A case finished late keeps its finding (the breach happened).
- overdue_supply — a 容缺 case whose missing materials were not all supplied by `supply_by` +
  `overdue_supply_days` and which was not finished by then [C 11(4)].
- followup — a bad rating not followed up by its fix deadline (`[followups] fix_days` open days,
  the one the hall counts too) + `followup_late_days`: done = fixed or appeal accepted at
  central, or closed at the hall (a closing central honours). About the window and its
  department, not a person (the follow-up is the hall's duty, not the rated staff member's).

Cases and supply dates are looked for among services completed up to `LOOKBACK_DAYS` before
the range.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

from ..config import SupervisionAuto
from ..facts.sources import source
from ..projections import Directory, day_range_us
from ..scope import Scope
from . import followups as fu

INSPECTOR = "电子监察系统"
LOOKBACK_DAYS = 400
RULES = {"step_away": "擅自离岗", "late": "迟到", "early": "早退", "absent": "缺勤",
         "overdue_case": "办件逾期", "overdue_supply": "容缺补正逾期", "followup": "差评回访逾期"}
CASE_NAMES = {"promised": "承诺件", "joint": "联办件", "gaps": "容缺受理件"}


@dataclass(frozen=True)
class AutoRun:
    """What the automatic findings depend on besides the events: the rules, the day they are
    judged on (a finding exists once its day has come), the follow-up deadline."""

    rules: SupervisionAuto
    today: date
    fix_days: int = fu.DEFAULT_FIX_DAYS


def _finding(d: Directory, rule: str, key: str, day: date, hall: str, window: str, staff: str, department: str,
             category: str, note: str, count: int = 1) -> dict:
    dep = department or d.staff_department(hall, staff) or d.window_department(hall, window)
    return {"id": f"auto:{rule}:{hall}:{key}", "day": day.isoformat(), "hall": hall, "hall_name": d.hall_name(hall),
            "window": window, "window_name": d.window_name(hall, window) if window else "", "staff": staff,
            "staff_name": d.staff_name(hall, staff) if staff else "", "department": dep,
            "department_name": d.department_name(dep) if dep else "", "category": category, "kind": "电子监察",
            "note": note, "inspector": INSPECTOR, "created_by": "", "created_at": None, "auto": True, "rule": rule,
            "count": count}


def _visible(scope: Scope, f: dict) -> bool:
    if scope.role == "department":
        return f["department"] == scope.department
    if scope.role == "hall":
        return f["hall"] == scope.hall
    return True


def _months(start: date, end: date):
    m = start.replace(day=1)
    while m <= end:
        nxt = (m + timedelta(days=32)).replace(day=1)
        yield m, nxt - timedelta(days=1)
        m = nxt


def attendance_findings(store, d: Directory, halls, start: date, end: date, run: AutoRun) -> list[dict]:
    """One finding per (hall, staff, month, rule) whose month count reaches the rule's minimum."""
    r = run.rules
    wanted = [(k, getattr(r, f"{k}_min"), attr) for k, attr in
              (("step_away", "violations"), ("late", "late"), ("early", "early"), ("absent", "absent"))
              if getattr(r, k)]
    out = []
    for ms, me in _months(start, end):
        if ms > run.today or not wanted:
            continue
        day = min(me, run.today)
        for m in source(store, d, ms, me, halls).attendance(run.today):
            for rule, least, attr in wanted:
                n, unit = getattr(m, attr), "天" if rule == "absent" else "次"
                if n >= least and start <= day <= end:
                    out.append(_finding(d, rule, f"{m.staff}:{ms:%Y-%m}", day, m.hall, "", m.staff, m.department,
                                        "纪律", f"{ms.year}年{ms.month}月{RULES[rule]} {n} {unit}（达到 {least} {unit}即通报）",
                                        n))
    return out


def _completed_cases(store, d: Directory, halls, start: date, end: date) -> list[tuple]:
    """(hall, case, outcome, window, staff, deadline, supply_by, missing) of services completed
    from LOOKBACK_DAYS before `start` to `end` with a case."""
    lo, hi = day_range_us(d, start - timedelta(days=LOOKBACK_DAYS), end)
    rows = store.select_bodies(["ticket.completed"], lo, hi,
                               ["outcome", "case", "window", "staff", "deadline", "supply_by", "missing"], halls)
    out = []
    for hall, _k, _ts, outcome, case, window, staff, deadline, supply_by, missing in rows:
        if case and outcome in CASE_NAMES:
            items = json.loads(missing) if isinstance(missing, str) and missing.startswith("[") else (missing or [])
            out.append((hall, case, outcome, window or "", staff or "", deadline, supply_by, list(items)))
    return out


def case_findings(store, d: Directory, halls, start: date, end: date, run: AutoRun) -> list[dict]:
    r = run.rules
    if not (r.overdue_cases or r.overdue_supply):
        return []
    cases = _completed_cases(store, d, halls, start, end)
    if not cases:
        return []
    lo, _hi = day_range_us(d, start - timedelta(days=LOOKBACK_DAYS), end)
    finished: dict[tuple[str, str], date] = {}
    supplied: dict[tuple[str, str], list[tuple[date, list]]] = {}
    for hall, kind, ts, case, materials in store.select_bodies(["case.finished", "case.supplied"], lo, 2 ** 62,
                                                               ["case", "materials"], halls):
        day = d.local_date(hall, ts)
        if kind == "case.finished":
            finished.setdefault((hall, case), day)
        else:
            supplied.setdefault((hall, case), []).append((day, json.loads(materials) if materials else []))
    out = []
    for hall, case, outcome, window, staff, deadline, supply_by, missing in cases:
        done = finished.get((hall, case))
        if r.overdue_cases and deadline:
            due = date.fromisoformat(deadline) + timedelta(days=r.overdue_case_days)
            day = due + timedelta(days=1)
            if start <= day <= min(end, run.today) and (done is None or done > due):
                out.append(_finding(d, "overdue_case", case, day, hall, window, staff, "", "效率",
                                    f"{CASE_NAMES[outcome]}承诺 {deadline} 办结，"
                                    + (f"{done.isoformat()} 才办结" if done else "逾期未办结")))
        if r.overdue_supply and outcome == "gaps" and supply_by and missing:
            due = date.fromisoformat(supply_by) + timedelta(days=r.overdue_supply_days)
            day = due + timedelta(days=1)
            got = {m for when, ms in supplied.get((hall, case), []) if when <= due for m in ms}
            left = [m for m in missing if m not in got]
            if start <= day <= min(end, run.today) and left and (done is None or done > due):
                out.append(_finding(d, "overdue_supply", case, day, hall, window, staff, "", "效率",
                                    f"容缺受理件应于 {supply_by} 前补正，逾期仍缺 {len(left)} 项材料（{'、'.join(left)}）"))
    return out


def _hall_closed_days(store, d: Directory, halls) -> dict[tuple[str, str], date]:
    """(hall, ticket) → local day a hall closed the follow-up of that rating, when central
    honours the closing (followups.hall_closing_refusal)."""
    opened: dict[tuple[str, str], tuple[str, str]] = {}
    out: dict[tuple[str, str], date] = {}
    for hall, kind, ts, fid, ticket, staff, result, by in store.select_bodies(
            ["rating.followup_opened", "rating.followup_closed"], 0, 2 ** 62,
            ["followup", "ticket", "staff", "result", "by"], halls):
        if kind == "rating.followup_opened":
            opened[(hall, fid)] = (ticket, staff or "")
        elif (hall, fid) in opened:
            ticket, rated = opened[(hall, fid)]
            if not fu.hall_closing_refusal(d, hall, rated, by or "", result or "resolved"):
                out.setdefault((hall, ticket), d.local_date(hall, ts))
    return out


def followup_findings(store, d: Directory, halls, start: date, end: date, run: AutoRun) -> list[dict]:
    if not run.rules.followups:
        return []
    rs = fu.bad_ratings(store, d, halls)
    if not rs:
        return []
    F = store.records.Followup
    state = {(f.hall, f.event_id): f for f in F.select().where(F.hall.in_(sorted({r.hall for r in rs})))}
    at_hall = _hall_closed_days(store, d, sorted({r.hall for r in rs}))
    out = []
    for r in rs:
        due = fu.fix_due(d, r, run.fix_days) + timedelta(days=run.rules.followup_late_days)
        day = due + timedelta(days=1)
        if not start <= day <= min(end, run.today):
            continue
        f = state.get((r.hall, r.event_id))
        done = [x for x in (f.fixed_at if f and f.fixed else None,
                            f.decided_at if f and f.appeal == "accepted" else None) if x]
        days = [d.local_date(r.hall, x) for x in done]
        if (r.hall, r.ticket) in at_hall:
            days.append(at_hall[(r.hall, r.ticket)])
        if days and min(days) <= due:
            continue
        out.append(_finding(d, "followup", r.event_id, day, r.hall, r.window, "", r.department, "态度",
                            f"{fu.LEVEL_NAMES.get(r.level, '差评')}评价（{r.day.isoformat()}，号 {r.ticket}）"
                            f"未在 {fu.fix_due(d, r, run.fix_days).isoformat()} 前回访整改"))
    return out


def auto_findings(store, d: Directory, scope: Scope, start: date, end: date, run: AutoRun,
                  hall: str = "") -> list[dict]:
    """Every automatic finding dated start..end that `scope` may see (optionally of one hall),
    oldest first."""
    halls = scope.halls(d, hall or None)
    out = (attendance_findings(store, d, halls, start, end, run) + case_findings(store, d, halls, start, end, run)
           + followup_findings(store, d, halls, start, end, run))
    return sorted((f for f in out if _visible(scope, f)), key=lambda f: (f["day"], f["id"]))
