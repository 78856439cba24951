"""Assessment outcomes (docs/central.md, section awards): the monthly attendance bulletin
(考勤按月公布 [U 25, B 32]), the mobile red flag windows of a semester (流动红旗服务窗口), the
yearly five-star windows (五星级服务窗口), service models (服务标兵) and advanced individuals
(先进个人) [J 32], and the performance allowance (绩效奖励津贴: 4,800 yuan per stationed staff
member per year, paid by grade [J 33], results per home department [J 34]).

Scores are the public output of `central.reports.rankings` (好评率, attendance, 按时办结率,
weighted by `[assessment]`) minus `[awards] complaint_points` per upheld complaint and
`patrol_points` per patrol finding (`central.supervision`), floored at 0. Winners are chosen over
the whole centre (admin scope); the caller's scope only limits which rows they are shown.

Ordering (ranks, winners, grades, who gets a leftover yuan), best first: adjusted score,
ranking score, 好评率, number of ratings (more first), attendance incidents (fewer first),
then hall id and window id / staff id (ascending) — deterministic for equal figures.

A staff member is a person identified by their staff id (工号) across halls: their figures
from every hall are merged (score = mean of the halls' ranking scores; ratings, incidents,
complaints and findings summed; 好评率 = good ratings / ratings), so a person appears once in
an award list and is paid one allowance.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from . import reports as rp
from .config import AwardRule, Awards
from .projections import Directory
from .errors import BadRequest
from .reports import Weights
from .scope import ADMIN, Scope, parse_month, parse_period
from .supervision.complaints import upheld_complaints
from .supervision.patrols import patrol_findings

DEFAULT = Awards()


# ---------------------------------------------------------------- parameters


def parse_year(value: str | int | None) -> int:
    if not re.fullmatch(r"\d{4}", str(value or "")) or not 2000 <= int(value) <= 2999:
        raise BadRequest(f"year must be YYYY, got {value!r}")
    return int(value)


def parse_semester(value: str | None) -> tuple[date, date]:
    """YYYY-1 (Sep 1 YYYY – Jan 31 YYYY+1) or YYYY-2 (Feb 1 – Aug 31 YYYY+1), as the reports."""
    if not re.fullmatch(r"\d{4}-[12]", value or ""):
        raise BadRequest(f"semester must be YYYY-1 or YYYY-2, got {value!r}")
    return parse_period(f"semester:{value}")


# ---------------------------------------------------------------- candidates


@dataclass
class Candidate:
    kind: str  # window | staff
    hall: str  # window: its hall; staff: the first hall (sorted) of the person
    ident: str  # window id or staff id
    department: str
    halls: list[str] = field(default_factory=list)
    raw_score: float | None = None
    ratings: int = 0
    good: float = 0.0  # good ratings (from 好评率 × ratings of each ranking row)
    incidents: int = 0
    complaints: int = 0
    findings: int = 0
    scores: list[float] = field(default_factory=list)

    @property
    def good_rate(self) -> float | None:
        return None if not self.ratings else round(self.good / self.ratings, 4)

    def adjusted(self, cfg: Awards) -> float | None:
        if self.raw_score is None:
            return None
        return round(max(0.0, self.raw_score - cfg.complaint_points * self.complaints
                         - cfg.patrol_points * self.findings), 2)

    def order(self, cfg: Awards) -> tuple:
        s = self.adjusted(cfg)
        return (s is None, -(s or 0.0), -(self.raw_score or 0.0), -(self.good_rate or 0.0), -self.ratings,
                self.incidents, self.hall, self.ident)

    def reasons(self, rule: AwardRule) -> list[str]:
        """Why this candidate cannot win under `rule` (empty: eligible)."""
        out = []
        if self.raw_score is None:
            out.append("无考核得分")
        if self.complaints > rule.max_upheld_complaints:
            out.append(f"属实投诉{self.complaints}件")
        if self.findings > rule.max_patrol_findings:
            out.append(f"巡查发现问题{self.findings}次")
        if self.incidents > rule.max_incidents:
            out.append(f"考勤问题{self.incidents}次（上限{rule.max_incidents}）")
        if self.ratings < rule.min_ratings:
            out.append(f"评价数{self.ratings}少于{rule.min_ratings}")
        elif (self.good_rate or 0) < rule.min_good_rate:
            out.append(f"好评率{(self.good_rate or 0) * 100:.1f}%低于{rule.min_good_rate * 100:.1f}%")
        return out

    def row(self, d: Directory, cfg: Awards) -> dict:
        r = {"hall": self.hall, "department": self.department, "department_name": d.department_name(self.department),
             "hall_name": "、".join(d.hall_name(h) for h in self.halls), "score": self.adjusted(cfg),
             "raw_score": self.raw_score, "satisfaction": self.good_rate, "ratings": self.ratings,
             "incidents": self.incidents, "complaints": self.complaints, "findings": self.findings}
        if self.kind == "window":
            r.update(window=self.ident, window_name=d.window_name(self.hall, self.ident))
        else:
            r.update(staff=self.ident, staff_name=d.staff_name(self.hall, self.ident), halls=list(self.halls))
        return r

    def visible(self, scope: Scope) -> bool:
        if scope.role == "hall":
            return scope.hall in self.halls
        return scope.department_ok(self.department)


def _deductions(store, start: date, end: date) -> tuple[dict, dict]:
    return upheld_complaints(store, start, end), patrol_findings(store, start, end)


def _ranking(store, d: Directory, period: str, level: str, weights: Weights, today) -> list[dict]:
    return rp.rankings(store, d, period, level, weights, scope=ADMIN, today=today)["rows"]


def windows(store, d: Directory, period: str, weights: Weights = Weights(), today=None) -> list[Candidate]:
    """Every ranked window of the period (`reports.parse_period` syntax) with its deductions:
    the upheld complaints and patrol findings of the staff whose A-role (primary) windows
    include it."""
    start, end = parse_period(period)
    complaints, findings = _deductions(store, start, end)
    out = []
    for r in _ranking(store, d, period, "window", weights, today):
        hall, window = r["hall"], r["window"]
        entry = d.halls.get(hall)
        staff = [s.id for s in entry.business.staff if window in s.windows] if entry else []
        out.append(Candidate(
            kind="window", hall=hall, ident=window, department=d.window_department(hall, window), halls=[hall],
            raw_score=r["score"], ratings=r["ratings"], good=(r["satisfaction"] or 0) * r["ratings"],
            incidents=r["incidents"], complaints=sum(complaints.get((hall, s), 0) for s in staff),
            findings=sum(findings.get((hall, s), 0) for s in staff)))
    return out


def people(store, d: Directory, period: str, weights: Weights = Weights(), today=None,
           also: set[str] = frozenset()) -> dict[str, Candidate]:
    """Staff id → the person's merged figures over every hall (`also`: staff ids to include even
    without a ranking row)."""
    start, end = parse_period(period)
    complaints, findings = _deductions(store, start, end)
    rows: dict[str, list[dict]] = defaultdict(list)
    for r in _ranking(store, d, period, "staff", weights, today):
        rows[r["staff"]].append(r)
    halls_of: dict[str, list[str]] = defaultdict(list)
    for hid in sorted(d.halls):
        for s in d.halls[hid].business.staff:
            halls_of[s.id].append(hid)
    out = {}
    for sid in sorted(set(rows) | set(also)):
        rs = sorted(rows.get(sid, []), key=lambda r: r["hall"])
        halls = sorted({r["hall"] for r in rs} | set(halls_of.get(sid, [])))
        first = halls[0] if halls else ""
        scores = [r["score"] for r in rs if r["score"] is not None]
        c = Candidate(kind="staff", hall=first, ident=sid, department=d.staff_department(first, sid), halls=halls,
                      raw_score=round(sum(scores) / len(scores), 2) if scores else None,
                      ratings=sum(r["ratings"] for r in rs),
                      good=sum((r["satisfaction"] or 0) * r["ratings"] for r in rs),
                      incidents=sum(r["incidents"] for r in rs),
                      complaints=sum(n for (h, s), n in complaints.items() if s == sid),
                      findings=sum(n for (h, s), n in findings.items() if s == sid), scores=scores)
        out[sid] = c
    return out


def choose(cands: list[Candidate], rule: AwardRule, cfg: Awards, exclude: set[str] = frozenset()) -> tuple[list, list]:
    """(winners, every candidate) in order; each candidate as (candidate, rank, reasons, won).
    Winners: the first eligible candidates, `count` of them, or `share` × the candidates with
    a score (rounded down, at least one) when share > 0; ids in `exclude` are skipped."""
    ordered = sorted(cands, key=lambda c: c.order(cfg))
    scored = sum(c.raw_score is not None for c in ordered)
    n = rule.count if rule.share <= 0 else (max(1, math.floor(rule.share * scored + 1e-9)) if scored else 0)
    winners, everyone = [], []
    for rank, c in enumerate(ordered, 1):
        reasons = c.reasons(rule)
        if c.ident in exclude and c.kind == "staff":
            reasons = reasons + ["已获服务标兵"]
        won = not reasons and len(winners) < n
        if won:
            winners.append(c)
        everyone.append((c, rank, reasons, won))
    return winners, everyone


WINDOW_COLUMNS = [("place", "名次"), ("hall_name", "大厅"), ("window_name", "窗口"), ("department_name", "部门"),
                  ("score", "考核得分"), ("raw_score", "排名得分"), ("complaints", "属实投诉"), ("findings", "巡查问题"),
                  ("satisfaction", "好评率"), ("ratings", "评价数"), ("incidents", "考勤问题")]
STAFF_COLUMNS = [("place", "名次"), ("staff", "工号"), ("staff_name", "姓名"), ("department_name", "派出部门"),
                 ("hall_name", "大厅"), ("score", "考核得分"), ("raw_score", "排名得分"), ("complaints", "属实投诉"),
                 ("findings", "巡查问题"), ("satisfaction", "好评率"), ("ratings", "评价数"),
                 ("incidents", "考勤问题")]


def _award_list(d: Directory, cfg: Awards, winners: list, everyone: list, scope: Scope) -> dict:
    """The rows the caller may see: winners (with their place among the winners) and every
    candidate (rank, eligible, reasons)."""
    place = {id(c): i for i, c in enumerate(winners, 1)}
    rows = [{"place": place[id(c)], **c.row(d, cfg)} for c in winners if c.visible(scope)]
    cands = [{"rank": rank, "place": place.get(id(c)), "won": won, "eligible": not reasons, "reasons": reasons,
              **c.row(d, cfg)} for c, rank, reasons, won in everyone if c.visible(scope)]
    return {"winners": rows, "candidates": cands}


# ---------------------------------------------------------------- the attendance bulletin


def attendance_bulletin(store, directory: Directory, month: str | None, scope: Scope = ADMIN,
                        today: date | None = None) -> dict:
    """Every staff member's attendance of the month (the rows of `reports.attendance`), grouped
    per hall and department, with the group totals — the page the centre publishes."""
    report = rp.attendance(store, directory, month, scope=scope, today=today)
    groups: dict[tuple[str, str], dict] = {}
    keys = [k for k, _t in rp.ATTENDANCE_COLUMNS if k not in ("hall_name", "department_name", "staff", "staff_name")]
    for r in report["rows"]:
        g = groups.setdefault((r["hall"], r["department"] or ""), {
            "hall": r["hall"], "hall_name": r.get("hall_name", r["hall"]), "department": r["department"] or "",
            "department_name": r.get("department_name") or "（未登记部门）", "rows": [],
            "totals": {k: 0 for k in keys}})
        g["rows"].append(r)
        for k in keys:
            g["totals"][k] += r[k] or 0
    start, end = parse_month(month)
    return {"report": "bulletin", "month": month, "start": start.isoformat(), "end": end.isoformat(),
            "columns": report["columns"], "rows": report["rows"],
            "groups": [groups[k] for k in sorted(groups)]}


# ---------------------------------------------------------------- the awards


def red_flags(store, directory: Directory, semester: str | None, scope: Scope = ADMIN, cfg: Awards = DEFAULT,
              weights: Weights = Weights(), today: date | None = None) -> dict:
    """流动红旗服务窗口 of a semester: the best eligible windows under `[awards.red_flag]`."""
    start, end = parse_semester(semester)
    winners, everyone = choose(windows(store, directory, f"semester:{semester}", weights, today), cfg.red_flag, cfg)
    lst = _award_list(directory, cfg, winners, everyone, scope)
    return {"report": "redflag", "semester": semester, "start": start.isoformat(), "end": end.isoformat(),
            "columns": WINDOW_COLUMNS, "rows": lst["winners"], "candidates": lst["candidates"],
            "rule": _rule(cfg.red_flag), "deductions": _deduction_rule(cfg)}


AWARD_NAMES = {"five_star": "五星级服务窗口", "service_model": "服务标兵", "advanced": "先进个人"}


def yearly_awards(store, directory: Directory, year: str | int | None, scope: Scope = ADMIN,
                  cfg: Awards = DEFAULT, weights: Weights = Weights(), today: date | None = None) -> dict:
    """五星级服务窗口, 服务标兵 and 先进个人 of a calendar year. With `exclusive` a service model
    is not also an advanced individual (the next eligible person takes the place)."""
    y = parse_year(year)
    start, end = date(y, 1, 1), date(y, 12, 31)
    ws = windows(store, directory, f"year:{y}", weights, today)
    ps = list(people(store, directory, f"year:{y}", weights, today).values())
    lists = {}
    five = choose(ws, cfg.five_star, cfg)
    lists["five_star"] = _award_list(directory, cfg, *five, scope)
    models = choose(ps, cfg.service_model, cfg)
    lists["service_model"] = _award_list(directory, cfg, *models, scope)
    exclude = {c.ident for c in models[0]} if cfg.exclusive else set()
    adv = choose(ps, cfg.advanced, cfg, exclude)
    lists["advanced"] = _award_list(directory, cfg, *adv, scope)
    rows = []
    for key, name in AWARD_NAMES.items():
        for r in lists[key]["winners"]:
            rows.append({"award": name, **r, "name": r.get("window_name") or r.get("staff_name")})
    cols = [("award", "奖项"), ("place", "名次"), ("hall_name", "大厅"), ("name", "窗口/姓名"), ("staff", "工号"),
            ("department_name", "部门"), ("score", "考核得分"), ("satisfaction", "好评率"), ("ratings", "评价数"),
            ("incidents", "考勤问题"), ("complaints", "属实投诉"), ("findings", "巡查问题")]
    return {"report": "awards", "year": y, "start": start.isoformat(), "end": end.isoformat(), "columns": cols,
            "rows": rows, "lists": lists, "names": AWARD_NAMES, "window_columns": WINDOW_COLUMNS,
            "staff_columns": STAFF_COLUMNS,
            "rules": {k: _rule(getattr(cfg, k)) for k in AWARD_NAMES}, "exclusive": cfg.exclusive,
            "deductions": _deduction_rule(cfg)}


def _rule(rule: AwardRule) -> dict:
    return {"count": rule.count, "share": rule.share, "min_ratings": rule.min_ratings,
            "min_good_rate": rule.min_good_rate, "max_incidents": rule.max_incidents,
            "max_upheld_complaints": rule.max_upheld_complaints, "max_patrol_findings": rule.max_patrol_findings}


def _deduction_rule(cfg: Awards) -> dict:
    return {"complaint_points": cfg.complaint_points, "patrol_points": cfg.patrol_points}


# ---------------------------------------------------------------- the performance allowance


def stationed(d: Directory) -> dict[str, list[str]]:
    """Staff id → the halls where the roster gives them an A-role (primary) window."""
    out: dict[str, list[str]] = defaultdict(list)
    for hid in sorted(d.halls):
        for s in d.halls[hid].business.staff:
            if s.windows:
                out[s.id].append(hid)
    return dict(out)


def grade(cands: list[Candidate], cfg: Awards) -> list[tuple[Candidate, int | None, int | None]]:
    """(candidate, rank, grade index) in rank order [J 33]. Going down the ranking, each person
    gets the first grade whose `min_score` they reach and whose `share` quota (share × assessed
    staff, rounded down) is not yet full; the last grade takes the rest. A person with no score
    (no data at all in the year: e.g. their hall did not use the system yet) is not assessed:
    rank and grade None (未参评), after everyone assessed, outside the quotas."""
    ordered = sorted(cands, key=lambda c: c.order(cfg))
    assessed = [c for c in ordered if c.adjusted(cfg) is not None]
    n = len(assessed)
    quota = [None if g.share is None else math.floor(g.share * n + 1e-9) for g in cfg.grades]
    used = [0] * len(cfg.grades)
    out: list[tuple[Candidate, int | None, int | None]] = []
    for rank, c in enumerate(assessed, 1):
        score = c.adjusted(cfg)
        for i, g in enumerate(cfg.grades):
            if g.min_score is not None and score < g.min_score:
                continue
            if quota[i] is not None and used[i] >= quota[i]:
                continue
            break
        else:  # unreachable: the last grade has neither condition (config.check_awards)
            i = len(cfg.grades) - 1
        used[i] += 1
        out.append((c, rank, i))
    return out + [(c, None, None) for c in ordered if c.adjusted(cfg) is None]


def split(pool: int, coefficients: list[float]) -> list[int]:
    """Whole yuan proportional to the coefficients, summing exactly to `pool` (largest
    remainder; equal remainders go to the earlier, i.e. better ranked, entry). All zero: 0 each."""
    cs = [Fraction(c).limit_denominator(10**6) for c in coefficients]
    total = sum(cs)
    if not cs or total == 0:
        return [0] * len(cs)
    exact = [pool * c / total for c in cs]
    amounts = [math.floor(x) for x in exact]
    left = pool - sum(amounts)
    for i in sorted(range(len(cs)), key=lambda i: (-(exact[i] - amounts[i]), i))[:left]:
        amounts[i] += 1
    return amounts


UNASSESSED = "未参评"  # the grade shown for a stationed person with no data in the year
ALLOWANCE_COLUMNS = [("department_name", "派出部门"), ("staff", "工号"), ("staff_name", "姓名"), ("hall_name", "大厅"),
                     ("rank", "名次"), ("score", "考核得分"), ("grade", "等级"), ("coefficient", "系数"),
                     ("amount", "津贴(元)")]


def allowance(store, directory: Directory, year: str | int | None, scope: Scope = ADMIN, cfg: Awards = DEFAULT,
              weights: Weights = Weights(), today: date | None = None) -> dict:
    """绩效奖励津贴 of a year: pool = pool_per_staff × stationed staff (staff ids with a primary
    window in some hall's roster); each person's grade from their yearly score; amounts
    proportional to the grade coefficients, whole yuan, summing to the pool. Grouped per home
    department (the results go back to the 派出部门 every year [J 34])."""
    y = parse_year(year)
    posted = stationed(directory)
    everyone = people(store, directory, f"year:{y}", weights, today, also=set(posted))
    cands = [everyone[sid] for sid in posted]
    for c in cands:  # stationed staff are counted where they hold their primary window
        c.hall = posted[c.ident][0]
        c.department = directory.staff_department(c.hall, c.ident)
    everyone_graded = grade(cands, cfg)
    graded = [(c, r, i) for c, r, i in everyone_graded if i is not None]
    # the pool counts the assessed staff only [J 33]: a person with no data in the year (未参评)
    # is paid nothing and adds nothing, so a year with no data at all has no pool to leave unpaid
    pool = cfg.pool_per_staff * len(graded)
    amounts = split(pool, [cfg.grades[i].coefficient for _c, _r, i in graded])
    all_rows = []
    for (c, rank, i), amount in zip(graded, amounts):
        g = cfg.grades[i]
        all_rows.append({**c.row(directory, cfg), "stationed_halls": posted[c.ident], "rank": rank, "grade": g.name,
                         "coefficient": g.coefficient, "amount": amount, "_c": c})
    for c, _r, _i in everyone_graded[len(graded):]:
        all_rows.append({**c.row(directory, cfg), "stationed_halls": posted[c.ident], "rank": None,
                         "grade": UNASSESSED, "coefficient": None, "amount": 0, "_c": c})
    visible = [r for r in all_rows if (scope.hall in r["stationed_halls"] if scope.role == "hall"
                                       else scope.department_ok(r["department"]))]
    departments: dict[str, dict] = {}
    for r in sorted(visible, key=lambda r: (r["department"], r["rank"] is None, r["rank"] or 0)):
        del r["_c"]
        g = departments.setdefault(r["department"], {"department": r["department"],
                                                      "department_name": r["department_name"], "rows": [],
                                                      "staff": 0, "amount": 0,
                                                      "grades": {x.name: 0 for x in cfg.grades}})
        g["rows"].append(r)
        g["staff"] += 1
        g["amount"] += r["amount"]
        if r["grade"] in g["grades"]:
            g["grades"][r["grade"]] += 1
    rows = [r for g in departments.values() for r in g["rows"]]
    paid = sum(amounts)
    return {"report": "allowance", "year": y, "columns": ALLOWANCE_COLUMNS, "rows": rows,
            "departments": list(departments.values()), "stationed": len(everyone_graded),
            "assessed": len(graded), "unassessed": len(everyone_graded) - len(graded),
            "pool_per_staff": cfg.pool_per_staff, "pool": pool, "paid": paid, "undistributed": pool - paid,
            "grades": [{"name": g.name, "share": g.share, "min_score": g.min_score, "coefficient": g.coefficient,
                        "staff": sum(1 for _c, _r, i in graded if i == k)} for k, g in enumerate(cfg.grades)],
            "deductions": _deduction_rule(cfg)}
