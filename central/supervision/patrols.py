"""Patrol findings (现场巡查 / 电子监察), one row each; the monthly bulletin (通报) names every
staff member with a finding in the month, and flags for a written notice to their home
department those named in `[supervision] notice_bulletins` (default 2) consecutive monthly
bulletins, this month's included (连续 2 次以上 [C 20]).

Given an `auto.AutoRun`, the lists and the bulletin also hold the automatic findings of
electronic supervision (central.supervision.auto, `auto = True`), counted like any other."""

from __future__ import annotations

from datetime import date, timedelta

from ..config import Supervision, User
from ..errors import BadRequest, Forbidden
from ..projections import Directory
from ..scope import Scope, parse_month
from ..store import records as stored
from .auto import AutoRun, auto_findings
from .forms import audit, check_window_staff, choice, field_text, hall_of, local_now, parse_day

PATROL_CATEGORIES = ("纪律", "态度", "效率", "其他")
PATROL_KINDS = ("现场巡查", "电子监察")
DEFAULT_NOTICE_BULLETINS = Supervision().notice_bulletins  # when started without a central.toml (tests)


def _patrol_department(d: Directory, p) -> str:
    return d.staff_department(p.hall, p.staff) or d.window_department(p.hall, p.window)


def patrol_visible(d: Directory, scope: Scope, p) -> bool:
    if scope.role == "department":
        return _patrol_department(d, p) == scope.department
    if scope.role == "hall":
        return p.hall == scope.hall
    return True


def patrol_dict(d: Directory, p) -> dict:
    dep = _patrol_department(d, p)
    return {"id": p.id, "day": p.day, "hall": p.hall, "hall_name": d.hall_name(p.hall), "window": p.window,
            "window_name": d.window_name(p.hall, p.window) if p.window else "", "staff": p.staff,
            "staff_name": d.staff_name(p.hall, p.staff) if p.staff else "", "department": dep,
            "department_name": d.department_name(dep) if dep else "", "category": p.category, "kind": p.kind,
            "note": p.note, "inspector": p.inspector, "created_by": p.created_by, "created_at": p.created_at,
            "auto": False, "rule": "", "count": 1}


def create_patrol(store, d: Directory, user: User, data: dict, now_us: int) -> dict:
    """Admin (any hall) or hall manager (their hall) records one finding."""
    if user.role not in ("admin", "hall"):
        raise Forbidden("只有中心管理员和大厅管理员可以登记巡查记录")
    hall = hall_of(d, user, field_text(data, "hall", 64))
    window, staff = field_text(data, "window", 64), field_text(data, "staff", 64)
    check_window_staff(d, hall, window, staff)
    if not window and not staff:
        raise BadRequest("请填写被巡查的窗口或工作人员")
    day = parse_day(field_text(data, "day", 16), "巡查日期")
    if day > local_now(d, hall, now_us).date():
        raise BadRequest("巡查日期不能晚于今天")
    category = choice(field_text(data, "category", 16), PATROL_CATEGORIES, "问题类别")
    kind = choice(field_text(data, "kind", 16), PATROL_KINDS, "巡查方式")
    note = field_text(data, "note", 2000)
    if not note:
        raise BadRequest("请填写巡查发现的问题")
    inspector = field_text(data, "inspector", 100) or user.display or user.name
    P = store.records.Patrol
    with store.db.atomic():
        p = P.create(day=day.isoformat(), hall=hall, window=window, staff=staff, category=category, kind=kind,
                     note=note, inspector=inspector, created_by=user.name, created_at=now_us)
        audit(store, user, "patrol.create", {"id": p.id, "day": p.day, "hall": hall, "window": window,
                                              "staff": staff, "category": category, "kind": kind}, now_us)
    return patrol_dict(d, p)


def _order(p: dict) -> tuple:
    """Oldest first: by day, stored findings (by id) before automatic ones (by their id)."""
    return (p["day"], p["auto"], p["id"] if isinstance(p["id"], int) else 0, str(p["id"]))


def list_patrols(store, d: Directory, scope: Scope, month: str = "", hall: str = "",
                 auto: AutoRun | None = None) -> list[dict]:
    """Findings the scope may see, newest first: the stored ones (of `month` if given) and, with
    `auto`, the automatic ones of `month` (of the month of `auto.today` when no month is given)."""
    if hall and hall not in d.halls:
        raise BadRequest(f"没有编号为 {hall!r} 的大厅")
    P = store.records.Patrol
    q = P.select()
    if month:
        s, e = parse_month(month)
        q = q.where((P.day >= s.isoformat()) & (P.day <= e.isoformat()))
    if scope.role == "hall":
        q = q.where(P.hall == scope.hall)
    if hall:
        q = q.where(P.hall == hall)
    out = [patrol_dict(d, p) for p in q.order_by(P.day.desc(), P.id.desc()) if patrol_visible(d, scope, p)]
    if auto is not None:
        s, e = parse_month(month or f"{auto.today:%Y-%m}")
        out += auto_findings(store, d, scope, s, e, auto, hall)
        out.sort(key=_order, reverse=True)
    return out


def _month_before(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


def bulletin(store, d: Directory, scope: Scope, month: str, notice_bulletins: int = DEFAULT_NOTICE_BULLETINS,
             auto: AutoRun | None = None) -> dict:
    """The monthly patrol bulletin (巡查通报): every finding of the month, the count per staff
    member, and those named (≥ 1 finding) in this and the `notice_bulletins` − 1 bulletins before
    it — `notice_bulletins` consecutive months — flagged for a written notice to their home
    department [C 20]. With `auto`, the automatic findings (电子监察) count as well."""
    s, e = parse_month(month)
    named_before: list[set[tuple[str, str]]] = []
    first = s
    for _ in range(notice_bulletins - 1):
        first = _month_before(first)
        named_before.append({(p["hall"], p["staff"]) for p in list_patrols(store, d, scope, f"{first:%Y-%m}",
                                                                           auto=auto) if p["staff"]})
    findings = sorted(list_patrols(store, d, scope, month, auto=auto), key=_order)
    per: dict[tuple[str, str], dict] = {}
    for p in findings:
        if not p["staff"]:
            continue
        row = per.setdefault((p["hall"], p["staff"]), {
            "hall": p["hall"], "hall_name": p["hall_name"], "staff": p["staff"], "staff_name": p["staff_name"],
            "department": d.staff_department(p["hall"], p["staff"]),
            "department_name": d.department_name(d.staff_department(p["hall"], p["staff"])),
            "findings": 0, "auto_findings": 0, "categories": {}})
        row["findings"] += 1
        row["auto_findings"] += p["auto"]
        row["categories"][p["category"]] = row["categories"].get(p["category"], 0) + 1
    staff = sorted(per.values(), key=lambda r: (-r["findings"], r["hall"], r["staff"]))
    for r in staff:
        r["notice"] = all((r["hall"], r["staff"]) in named for named in named_before)
    return {"month": f"{s:%Y-%m}", "start": s.isoformat(), "end": e.isoformat(), "findings": findings,
            "staff": staff, "notices": [r for r in staff if r["notice"]], "threshold": notice_bulletins,
            "auto_findings": sum(p["auto"] for p in findings)}


def patrol_findings(store, start: date, end: date) -> dict[tuple[str, str], int]:
    """(hall, staff) → patrol findings about that staff member dated start..end (for the awards)."""
    return stored.patrol_counts(store, start, end)
