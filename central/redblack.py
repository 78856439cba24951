"""The monthly red and black lists (红黑榜 [C 21]) of windows and staff.

The seeds name 红黑榜 beside good and bad ratings and patrol findings as inputs of the
assessment [C 21]; how a window gets on either list is this centre's rule, in
`[supervision.lists]` (central.config.RedBlackLists; docs/central.md, section 红黑榜):

- **problems** of a window or person in the month = upheld complaints (属实 / 部分属实, about
  the person; for a window, about its A-role staff) + findings dated in the month, patrol
  findings (现场巡查) and automatic ones (电子监察, central.supervision.auto) alike: a person's
  own, a window's = those naming the window or one of its A-role staff (each finding once).
- **red list** (红榜): ranked by the assessment score of the month (central.reports.rankings:
  好评率, attendance, on-time cases with the `[assessment]` weights), then 好评率 and the number
  of ratings; only who has at least `min_ratings` ratings, 好评率 ≥ `min_good_rate` and at most
  `red_max_problems` problems; the first `red_count` of each level.
- **black list** (黑榜): everyone with at least `black_min` problems, most problems first
  (then most upheld complaints, then the lower score). The config check keeps
  `red_max_problems < black_min`, so nobody is on both.

Both are ranked over the whole centre; the caller's scope only limits the rows shown (a hall
manager sees their hall's windows and the staff stationed there, a department head their
department's), as the awards do.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from .awards import Candidate, people, windows
from .config import RedBlackLists
from .projections import Directory
from .reports import Weights
from .scope import ADMIN, Scope, parse_month
from .supervision import patrols as pt
from .supervision.auto import AutoRun

DEFAULT = RedBlackLists()
COLUMNS = [("list_name", "榜单"), ("level_name", "对象"), ("rank", "名次"), ("hall_name", "大厅"),
           ("name", "窗口或工作人员"), ("department_name", "部门"), ("score", "考核得分"), ("satisfaction", "好评率"),
           ("ratings", "评价数"), ("complaints", "属实投诉"), ("patrol_findings", "现场巡查"),
           ("auto_findings", "电子监察"), ("problems", "问题合计")]
LEVEL_NAMES = {"window": "窗口", "staff": "工作人员"}


def _problems(c: Candidate, found: list[dict]) -> dict:
    patrol = sum(1 for f in found if not f["auto"])
    auto = len(found) - patrol
    return {"complaints": c.complaints, "patrol_findings": patrol, "auto_findings": auto,
            "problems": c.complaints + patrol + auto}


def _row(d: Directory, c: Candidate, counts: dict) -> dict:
    r = {"level": c.kind, "level_name": LEVEL_NAMES[c.kind], "hall": c.hall, "department": c.department,
         "department_name": d.department_name(c.department), "score": c.raw_score, "satisfaction": c.good_rate,
         "ratings": c.ratings, **counts}
    if c.kind == "window":
        r.update(window=c.ident, name=d.window_name(c.hall, c.ident), hall_name=d.hall_name(c.hall))
    else:
        r.update(staff=c.ident, name=d.staff_name(c.hall, c.ident), halls=list(c.halls),
                 hall_name="、".join(d.hall_name(h) for h in c.halls))
    return r


def _lists(d: Directory, cands: list[tuple[Candidate, dict]], cfg: RedBlackLists) -> tuple[list, list]:
    red = [(c, n) for c, n in cands if c.raw_score is not None and c.ratings >= cfg.min_ratings
           and (c.good_rate or 0) >= cfg.min_good_rate and n["problems"] <= cfg.red_max_problems]
    red.sort(key=lambda x: (-(x[0].raw_score or 0), -(x[0].good_rate or 0), -x[0].ratings, x[0].hall, x[0].ident))
    black = [(c, n) for c, n in cands if n["problems"] >= cfg.black_min]
    black.sort(key=lambda x: (-x[1]["problems"], -x[1]["complaints"], x[0].raw_score is None,
                              x[0].raw_score or 0, x[0].hall, x[0].ident))
    return red[:cfg.red_count], black


def red_black(store, d: Directory, month: str | None, scope: Scope = ADMIN, cfg: RedBlackLists = DEFAULT,
              weights: Weights = Weights(), auto: AutoRun | None = None, today: date | None = None) -> dict:
    """The month's red and black lists of windows and staff as `scope` may see them."""
    start, end = parse_month(month)
    month = f"{start:%Y-%m}"
    period = f"month:{month}"
    findings = pt.list_patrols(store, d, ADMIN, month, auto=auto)
    by_staff: dict[str, list[dict]] = defaultdict(list)
    for f in findings:
        if f["staff"]:
            by_staff[f["staff"]].append(f)
    win = []
    for c in windows(store, d, period, weights, today):
        entry = d.halls.get(c.hall)
        staff = {s.id for s in entry.business.staff if c.ident in s.windows} if entry else set()
        found = [f for f in findings if f["hall"] == c.hall and (f["window"] == c.ident or f["staff"] in staff)]
        win.append((c, _problems(c, found)))
    ppl = [(c, _problems(c, by_staff.get(sid, [])))
           for sid, c in people(store, d, period, weights, today, also=set(by_staff)).items()]
    rows: list[dict] = []
    for level, cands in (("window", win), ("staff", ppl)):
        red, black = _lists(d, cands, cfg)
        for name, lst in (("红榜", red), ("黑榜", black)):
            for i, (c, n) in enumerate(lst, 1):
                if c.visible(scope):
                    rows.append(_row(d, c, n) | {"list": "red" if name == "红榜" else "black", "list_name": name,
                                                 "rank": i})
    return {"report": "redblack", "month": month, "start": start.isoformat(), "end": end.isoformat(),
            "columns": COLUMNS, "rows": rows,
            "rule": {"red_count": cfg.red_count, "min_ratings": cfg.min_ratings, "min_good_rate": cfg.min_good_rate,
                     "red_max_problems": cfg.red_max_problems, "black_min": cfg.black_min}}
