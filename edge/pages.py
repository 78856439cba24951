"""The hall's pages: home, visitor kiosk, window consoles, display board, public guide,
printable notices and the hall manager's page.

Server-rendered Jinja templates (Simplified Chinese UI) with one local stylesheet and a few
small local scripts: nothing is loaded from the internet. Every read and every command runs on
the hall's writer thread through `Hall.run`, so a page sees one consistent state; the handlers
here only translate HTTP to those calls. Forms post to a page route and redirect
(POST/redirect/GET); a refusal of the domain (`Refused` and its subclasses) is stored as a
one-shot flash message in the session and shown on the page the browser is sent back to.
docs/pages.md describes every page.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import MediaType, RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from sync.kernel.business import Item

from . import cases, presence, queue, views
from .auth import verify_secret
from .cases import OUTCOME_LABELS, OUTCOMES
from .hall import Ctx, Hall
from .workflow import TICKET, WINDOW, Forbidden, Invalid, NotFound, Refused

WEEKDAYS = "一二三四五六日"
MODE_LABELS = {"instant": "即办件", "promised": "承诺件", "joint": "联办件"}
KIND_LABELS = {"fixed": "固定窗口", "periodic": "周期窗口", "flexible": "机动窗口"}
CASE_RESULTS = {"done": "办结", "refused": "不予办理", "withdrawn": "申请人撤回"}
# Outcomes that hand the visitor a written notice [J 20, J 25, B 25, C 11].
NOTICE_TITLES = {
    "notice": "一次性告知书",
    "gaps": "容缺受理通知书",
    "refused": "不予受理（退件）通知书",
    "promised": "受理回执（承诺件）",
    "joint": "受理回执（联办件）",
}
WRITTEN_NOTICE = ("notice", "gaps", "refused")


# ============================================================================ form bodies
# Browsers send every field as text; a group of checkboxes sends its name once per ticked box,
# so a list field arrives as one string when exactly one box is ticked: `_as_list` evens it out.


class Form(msgspec.Struct, kw_only=True):
    """Unknown fields (submit buttons and the like) are ignored."""


class TicketForm(Form):
    item: str = ""
    department: str = ""
    priority: bool = False


class RejoinForm(Form):
    number: str = ""


class SignOnForm(Form):
    staff: str = ""
    pin: str = ""


class PauseForm(Form):
    reason: str = ""


class TransferForm(Form):
    target: str = ""  # "d:<department id>" or "i:<item id>"
    note: str = ""


class CompleteForm(Form):
    outcome: str = ""
    item: str = ""
    missing_notice: list[str] | str = []  # "<item>:<material>" of the 一次性告知 list
    missing_gaps: list[str] | str = []  # "<item>:<material>" of the 容缺 list
    co_departments: list[str] | str = []
    reason: str = ""
    note: str = ""
    supply_by: str = ""


class HandoffForm(Form):
    from_department: str = ""
    to_department: str = ""
    materials: str = ""
    note: str = ""


class SupplyForm(Form):
    materials: list[str] | str = []


class FinishForm(Form):
    result: str = "done"
    note: str = ""


class LoginForm(Form):
    manager: str = ""
    password: str = ""


def _as_list(value: list[str] | str) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    return [v for v in value if v]


FormBody = Body(media_type=RequestEncodingType.URL_ENCODED)


# ============================================================================ read models (writer thread)


def _day_label(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日 星期{WEEKDAYS[d.weekday()]}"


def _date_label(iso_date: str | None) -> str:
    if not iso_date:
        return ""
    d = date.fromisoformat(iso_date[:10])
    return f"{d.year}年{d.month}月{d.day}日"


def _hours(ctx: Ctx) -> dict:
    """Today's opening state: open now, today's periods, the next opening when closed."""
    cal, now, today = ctx.calendar, ctx.now(), ctx.today()
    is_open = cal.is_open(now)
    nxt = None if is_open else cal.next_open(now)
    return {
        "open": is_open,
        "today": _day_label(today),
        "now": cal.local(now).strftime("%H:%M"),
        "periods": [f"{s:%H:%M}–{e:%H:%M}" for s, e in cal.periods_on(today)],
        "closures": [c.name for c in cal.closures_on(today) if c.name],
        "next_open": f"{cal.local(nxt).month}月{cal.local(nxt).day}日 {cal.local(nxt):%H:%M}" if nxt else None,
    }


def _get_item(ctx: Ctx, item_id: str) -> Item:
    it = ctx.catalog.items.get(item_id)
    if it is None:
        raise NotFound("unknown-item", f"没有编号为 {item_id} 的服务事项")
    return it


def _dept_name(ctx: Ctx, dept_id: str) -> str:
    d = ctx.catalog.departments.get(dept_id)
    return d.name if d else dept_id


def _promise(ctx: Ctx, it: Item) -> dict:
    """Promised time of an item: label and, for promised/joint items, today's deadline."""
    if not it.promise_days:
        return {"label": "即时办结", "deadline": None}
    due = ctx.calendar.add_working_days(ctx.today(), it.promise_days)
    return {"label": f"{it.promise_days} 个工作日", "deadline": _date_label(due.isoformat())}


def _open_today(ctx: Ctx, dept_id: str) -> bool:
    today = ctx.today()
    return any(queue.in_service(ctx, w.id, today) for w in ctx.catalog.business.windows if w.department == dept_id)


def _home(ctx: Ctx) -> dict:
    ws = views.windows(ctx)
    qs = views.queue_summary(ctx)
    return {
        "hours": _hours(ctx),
        "staffed": sum(1 for w in ws if w["staff"]),
        "windows": len(ws),
        "waiting": sum(q["waiting"] for q in qs),
        "departments": len(qs),
    }


def _kiosk(ctx: Ctx) -> dict:
    cat = ctx.catalog
    queues = {q["department"]: q for q in views.queue_summary(ctx)}
    items = cat.hall_items()
    return {
        "hours": _hours(ctx),
        "departments": [
            {"dept": d, "item_list": [i for i in items if i.department == d.id], "waiting": queues[d.id]["waiting"],
             "wait": queues[d.id]["estimated_wait_minutes"], "open_today": _open_today(ctx, d.id)}
            for d in cat.hall_departments()
        ],
    }


def _kiosk_item(ctx: Ctx, item_id: str) -> dict:
    it = _get_item(ctx, item_id)
    dept = ctx.catalog.departments[it.department]
    q = next((q for q in views.queue_summary(ctx) if q["department"] == it.department), None)
    return {
        "item": it, "dept": dept, "promise": _promise(ctx, it), "hours": _hours(ctx),
        "here": q is not None, "open_today": q is not None and _open_today(ctx, it.department),
        "waiting": q["waiting"] if q else 0, "wait": q["estimated_wait_minutes"] if q else 0,
        "mode": MODE_LABELS.get(it.mode, it.mode),
    }


def _issue(ctx: Ctx, item: str | None, department: str | None, priority: bool) -> str:
    return queue.issue(ctx, item=item, department=department, priority=priority)["ticket"].id


def _rejoin(ctx: Ctx, number: str) -> str:
    return queue.rejoin(ctx, number).id


def _ticket_page(ctx: Ctx, ticket_id: str) -> dict:
    t = ctx.store.ticket(ticket_id)
    if t is None:
        raise NotFound("unknown-ticket", "没有这个号码")
    ahead = wait = None
    if t.state == "waiting":
        waiting = ctx.store.waiting(t.department, t.service_date)
        ahead = next((i for i, x in enumerate(waiting) if x.id == t.id), 0)
        wait = queue.estimate_wait(ctx, t.department, ahead)
    it = ctx.catalog.items.get(t.item) if t.item else None
    wcfg = ctx.catalog.windows.get(t.window) if t.window else None
    dept = ctx.catalog.departments.get(t.department)
    return {
        "ticket": t, "state_label": TICKET.labels.get(t.state, t.state), "item": it, "dept": dept,
        "dept_name": dept.name if dept else t.department, "ahead": ahead, "wait": wait,
        "window_name": wcfg.name if wcfg else None,
        "issued": f"{_date_label(t.service_date)} {views.hhmm(ctx, t.issued_at)}",
        "location": it.location if it else "",
    }


def _console_list(ctx: Ctx) -> dict:
    ws = views.windows(ctx)
    for w in ws:
        w["state_label"] = WINDOW.labels.get(w["state"], w["state"])
        w["kind_label"] = KIND_LABELS.get(w["kind"], w["kind"])
    return {"windows": ws, "hours": _hours(ctx)}


def _signon_options(ctx: Ctx, window_id: str) -> list[dict]:
    out = []
    for s in ctx.catalog.business.staff:
        if window_id in s.windows:
            out.append({"id": s.id, "name": s.name, "role": "A岗"})
        elif window_id in s.backup_for:
            out.append({"id": s.id, "name": s.name, "role": "B岗"})
    return out


def _console_sig(w: dict, waiting: int) -> str:
    """What the console shows that a `board` event may change (console.js builds the same)."""
    t = w["ticket"]
    return "|".join([w["state"], t["id"] if t else "", str(t["recalls"]) if t else "", w["paused_at"] or "",
                     str(waiting)])


def _item_choice(ctx: Ctx, it: Item) -> dict:
    promise = _promise(ctx, it)
    return {
        "item": it, "mode_label": MODE_LABELS.get(it.mode, it.mode), "deadline": promise["deadline"],
        "promise_label": promise["label"], "gap_materials": [m for m in it.materials if m.gap_allowed],
    }


def _console(ctx: Ctx, window_id: str, staff: str | None) -> dict:
    w = queue.get_window(ctx, window_id)
    brief = views.window_brief(ctx, w)
    brief["state_label"] = WINDOW.labels.get(brief["state"], brief["state"])
    cat = ctx.catalog
    alerts = [a for a in views.alerts(ctx) if a["kind"] in ("device", "closing") or a.get("window") == window_id]
    base: dict[str, Any] = {"window": brief, "hours": _hours(ctx), "alerts": alerts}
    if staff is None or w.staff != staff:
        base.update(signed=False, options=_signon_options(ctx, window_id),
                    taken=_staff_name(ctx, w.staff) if w.staff else None)
        return base
    sdate = ctx.service_date()
    dept = cat.departments.get(w.department)
    waiting = ctx.store.waiting(w.department, sdate)
    done = [t for t in ctx.store.tickets_on(sdate) if t.window == window_id and t.state == "done"]
    done.sort(key=lambda t: t.finished_at or 0, reverse=True)
    t = ctx.store.ticket(w.ticket) if w.ticket else None
    own_items = [i for i in cat.business.catalog.items if i.department == w.department]
    current = next((i for i in own_items if t is not None and i.id == t.item), None)
    present = {x.department for x in cat.business.windows}
    gap_due = ctx.calendar.add_working_days(ctx.today(), cat.rules.gap_supply_days)
    base.update(
        signed=True,
        dept=dept,
        ticket=views.ticket_brief(ctx, t),
        ticket_times={"issued": views.hhmm(ctx, t.issued_at), "called": views.hhmm(ctx, t.called_at),
                      "started": views.hhmm(ctx, t.started_at)} if t else None,
        queue=[{"number": x.number, "priority": x.priority, "issued": views.hhmm(ctx, x.issued_at),
                "item": cat.items[x.item].name if x.item in cat.items else ""} for x in waiting],
        done_count=len(done),
        done=[{"number": x.number, "outcome": OUTCOME_LABELS.get(x.outcome or "", x.outcome or ""),
               "finished": views.hhmm(ctx, x.finished_at), "case": x.case,
               "notice": x.case if x.outcome in NOTICE_TITLES else None} for x in done[:8]],
        items=[_item_choice(ctx, i) for i in own_items],
        current_item=current.id if current else None,
        default_outcome=current.mode if current else "instant",
        outcomes=[(o, OUTCOME_LABELS[o]) for o in OUTCOMES],
        co_choices=[d for d in cat.business.catalog.departments if d.id != w.department],
        transfer_departments=[d for d in cat.hall_departments() if d.id != w.department],
        transfer_items=[i for i in cat.business.catalog.items if i.department != w.department
                        and i.department in present],
        dept_names={d.id: d.name for d in cat.business.catalog.departments},
        rules=cat.rules,
        gap_due=gap_due.isoformat(),
        today=ctx.service_date(),
        open_cases=len(ctx.store.cases(state="open", department=w.department)),
        sig=_console_sig(brief, len(waiting)),
    )
    return base


def _staff_name(ctx: Ctx, staff_id: str | None) -> str:
    if not staff_id:
        return ""
    s = ctx.catalog.staff.get(staff_id)
    return s.name if s else staff_id


def _sign_on(ctx: Ctx, window_id: str, staff_id: str, pin: str) -> str:
    queue.get_window(ctx, window_id)
    presence.check_pin(ctx, staff_id, pin)
    presence.sign_on(ctx, window_id, staff_id, via="pin")
    return _staff_name(ctx, staff_id)


def _window_action(ctx: Ctx, action: str, window_id: str, staff: str, reason: str = "") -> str:
    """Run one of the simple console buttons; returns the message to show."""
    if action == "call":
        t = queue.call_next(ctx, window_id, staff)
        return f"已叫号：{t.number}"
    if action == "recall":
        t = queue.recall(ctx, window_id, staff)
        return f"已重呼：{t.number}（第 {t.recalls} 次）"
    if action == "start":
        t = queue.start(ctx, window_id, staff)
        return f"{t.number} 开始办理"
    if action == "no-show":
        t = queue.no_show(ctx, window_id, staff)
        return f"{t.number} 已标记过号"
    if action == "pause":
        presence.pause(ctx, window_id, staff, reason)
        return "已暂停服务（离岗计时开始）"
    if action == "resume":
        presence.resume(ctx, window_id, staff)
        return "已恢复服务"
    if action == "sign-off":
        presence.sign_off(ctx, window_id, staff)
        return "已签退"
    raise NotFound("unknown-action", f"未知的操作 {action}")


def _transfer(ctx: Ctx, window_id: str, staff: str, target: str, note: str) -> str:
    kind, _, ident = target.partition(":")
    if kind == "d" and ident:
        t = queue.transfer(ctx, window_id, staff, department=ident, note=note)
    elif kind == "i" and ident:
        t = queue.transfer(ctx, window_id, staff, item=ident, note=note)
    else:
        raise Invalid("target-required", "请选择转办的部门或事项")
    return f"{t.number} 已转至{_dept_name(ctx, t.department)}，保留原排队时间"


def _complete(ctx: Ctx, window_id: str, staff: str, form: CompleteForm) -> tuple[str, str | None, str | None]:
    if form.outcome not in OUTCOMES:
        raise Invalid("outcome-required", "请选择办理结果")
    item = form.item or None
    if item is None:
        w = queue.get_window(ctx, window_id)
        t = ctx.store.ticket(w.ticket) if w.ticket else None
        item = t.item if t else None
    picked = _as_list(form.missing_notice if form.outcome == "notice" else form.missing_gaps)
    missing = [m.split(":", 1)[1] for m in picked if item and m.startswith(f"{item}:")]
    supply_by = None
    if form.outcome == "gaps" and form.supply_by.strip():
        try:
            supply_by = date.fromisoformat(form.supply_by.strip())
        except ValueError:
            raise Invalid("bad-date", "补交日期格式不正确") from None
    t = cases.complete(
        ctx, window_id, staff, form.outcome, item=item,
        missing=missing if form.outcome in ("notice", "gaps") else None,
        co_departments=_as_list(form.co_departments) if form.outcome == "joint" else None,
        reason=form.reason if form.outcome == "refused" else "", note=form.note, supply_by=supply_by,
    )
    return f"{t.number} 已办结：{OUTCOME_LABELS[form.outcome]}", t.case, form.outcome


def _cases_page(ctx: Ctx, window_id: str, staff: str | None) -> dict:
    w = queue.get_window(ctx, window_id)
    brief = views.window_brief(ctx, w)
    if staff is None or w.staff != staff:
        return {"window": brief, "signed": False}
    out = []
    for c in ctx.store.cases(state="open", department=w.department):
        b = views.case_brief(ctx, c)
        b["outcome_label"] = OUTCOME_LABELS.get(c.outcome, c.outcome)
        b["deadline_label"] = _date_label(c.deadline)
        b["supply_by_label"] = _date_label(c.supply_by)
        b["opened_label"] = _date_label(b["opened_at"])
        b["outstanding"] = [m for m in b["missing"] if not m["supplied"]]
        b["involved"] = [{"id": c.department, "name": b["department_name"]}] + b["co_departments"]
        b["lead"] = c.department == w.department
        out.append(b)
    out.sort(key=lambda b: (b["deadline"] or "9999", b["opened_at"] or ""))
    closed = []
    for c in ctx.store.cases(state="closed", department=w.department, limit=10):
        closed.append({"id": c.id, "number": c.number, "item_name": _item_name(ctx, c.item),
                       "outcome_label": OUTCOME_LABELS.get(c.outcome, c.outcome),
                       "result": CASE_RESULTS.get(c.result or "", c.result or ""),
                       "notice": c.outcome in NOTICE_TITLES})
    return {"window": brief, "signed": True, "dept": ctx.catalog.departments.get(w.department),
            "cases": out, "closed": closed, "results": CASE_RESULTS, "today": _day_label(ctx.today())}


def _item_name(ctx: Ctx, item_id: str | None) -> str:
    it = ctx.catalog.items.get(item_id or "")
    return it.name if it else (item_id or "")


def _split_materials(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[\n\r,，、;；]+", text) if p.strip()]


def _case_action(ctx: Ctx, action: str, window_id: str, staff: str, case_id: str, form: Any) -> str:
    w = queue.acting_window(ctx, window_id, staff)
    c = cases.get_case(ctx, case_id)
    if w.department != c.department and w.department not in c.co_departments:
        raise Forbidden("not-your-case", "该办件不属于本窗口部门")
    if action == "handoff":
        cases.handoff(ctx, case_id, form.from_department, form.to_department, _split_materials(form.materials),
                      staff, form.note)
        return f"{c.number} 材料移交已登记"
    if action == "supply":
        cases.supply(ctx, case_id, _as_list(form.materials), staff)
        return f"{c.number} 补交材料已登记"
    if action == "finish":
        cases.finish(ctx, case_id, staff, form.result, form.note)
        return f"{c.number} 办件已办结"
    raise NotFound("unknown-action", f"未知的操作 {action}")


def _natural(name: str) -> list:
    """Sort key putting "2号窗口" before "10号窗口" (display.js sorts the same way)."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name) if p]


def _display(ctx: Ctx) -> dict:
    board = views.display(ctx)
    for w in board["windows"]:
        w["state_label"] = WINDOW.labels.get(w["state"], w["state"])
    return {
        "board": board,
        "shown": sorted((w for w in board["windows"] if w["staff"] or w["in_service"]),
                        key=lambda w: _natural(w["name"])),
        "limit_seconds": ctx.catalog.rules.step_away_limit_minutes * 60,
        "hours": _hours(ctx),
    }


def _guide_index(ctx: Ctx) -> dict:
    cat = ctx.catalog
    items = cat.hall_items()
    return {"departments": [{"dept": d, "item_list": [i for i in items if i.department == d.id]}
                            for d in cat.hall_departments()],
            "modes": MODE_LABELS}


def _guide_item(ctx: Ctx, item_id: str) -> dict:
    it = _get_item(ctx, item_id)
    dept = ctx.catalog.departments[it.department]
    return {
        "item": it, "dept": dept, "promise": _promise(ctx, it), "mode": MODE_LABELS.get(it.mode, it.mode),
        "co_departments": [ctx.catalog.departments.get(d) or d for d in it.co_departments],
        "here": it.department in {w.department for w in ctx.catalog.business.windows},
        "windows": [w.name for w in ctx.catalog.business.windows if w.department == it.department],
    }


def _notice(ctx: Ctx, case_id: str) -> dict:
    c = cases.get_case(ctx, case_id)
    b = views.case_brief(ctx, c)
    it = ctx.catalog.items.get(c.item)
    mats = {m.id: m for m in it.materials} if it else {}
    wcfg = ctx.catalog.windows.get(c.window)
    dept = ctx.catalog.departments.get(c.department)
    return {
        "case": b,
        "title": NOTICE_TITLES.get(c.outcome, "办件通知"),
        "outcome": c.outcome,
        "missing": [{"name": m["name"], "copies": mats[m["id"]].copies if m["id"] in mats else "",
                     "note": mats[m["id"]].note if m["id"] in mats else "", "supplied": m["supplied"]}
                    for m in b["missing"]],
        "item": it,
        "dept": dept,
        "window_name": wcfg.name if wcfg else c.window,
        "staff_name": _staff_name(ctx, c.staff),
        "date": _date_label(b["opened_at"]),
        "time": views.hhmm(ctx, c.opened_at),
        "deadline": _date_label(c.deadline),
        "supply_by": _date_label(c.supply_by),
    }


def _check_manager(ctx: Ctx, manager_id: str, password: str) -> str:
    for m in ctx.catalog.business.managers:
        if m.id == manager_id and verify_secret(m.password_hash, password):
            return m.name
    raise Forbidden("bad-credentials", "账号或密码不正确")


def _manage(ctx: Ctx) -> dict:
    ws = views.windows(ctx)
    for w in ws:
        w["state_label"] = WINDOW.labels.get(w["state"], w["state"])
        w["kind_label"] = KIND_LABELS.get(w["kind"], w["kind"])
    tickets = ctx.store.tickets_on(ctx.service_date())
    return {
        "windows": ws,
        "queues": views.queue_summary(ctx),
        "hours": _hours(ctx),
        "issued": len(tickets),
        "done": sum(1 for t in tickets if t.state == "done"),
        "no_show": sum(1 for t in tickets if t.state == "no_show"),
        "open_cases": len(ctx.store.cases(state="open")),
    }


def _manage_window(ctx: Ctx, action: str, window_id: str, manager: str) -> str:
    name = ctx.catalog.windows[window_id].name if window_id in ctx.catalog.windows else window_id
    if action == "open":
        presence.open_window(ctx, window_id, manager)
        return f"{name} 已开放"
    if action == "withdraw":
        presence.withdraw_window(ctx, window_id, manager)
        return f"{name} 已撤回（今日不再开放）"
    raise NotFound("unknown-action", f"未知的操作 {action}")


# ============================================================================ HTTP helpers


def _session(request: Request) -> dict:
    """A copy of the session (after `clear_session` the scope holds a non-dict marker)."""
    s = request.scope.get("session")
    return dict(s) if isinstance(s, dict) else {}


def _save_session(request: Request, data: dict) -> None:
    if data:
        request.set_session(data)
    else:
        request.clear_session()


def _flash(request: Request, text: str, kind: str = "error", link: str | None = None,
           link_text: str | None = None) -> None:
    s = _session(request)
    s["flash"] = {"text": text, "kind": kind, "link": link, "link_text": link_text}
    _save_session(request, s)


def _take_flash(request: Request) -> dict | None:
    s = _session(request)
    f = s.pop("flash", None)
    if f is not None or not s:
        _save_session(request, s)  # an empty session is dropped, not written for every visitor
    return f


def _render(request: Request, hall: Hall | None, name: str, status: int = 200, **context: Any) -> Template:
    context.setdefault("flash", _take_flash(request))
    context["hall"] = hall.config.hall if hall is not None else None
    return Template(template_name=name, context=context, status_code=status, media_type=MediaType.HTML)


def _back(path: str) -> Redirect:
    return Redirect(path=path, status_code=303)


def _staff_at(request: Request, window_id: str) -> str | None:
    s = _session(request)
    return s.get("staff") if s.get("window") == window_id else None


def _manager(request: Request) -> str | None:
    return _session(request).get("manager")


def _hall_of(request: Request) -> Hall | None:
    """The app's hall, for exception handlers (they get no dependencies)."""
    try:
        return request.app.dependencies["hall"].dependency()
    except Exception:  # noqa: BLE001 - the error page renders without the hall name
        return None


def _refused_page(request: Request, exc: Refused) -> Response:
    return _render(request, _hall_of(request), "error.html", status=exc.status, message=exc.message)


def _invalid_page(request: Request, exc: ValidationException) -> Response:
    return _render(request, _hall_of(request), "error.html", status=400,
                   message="提交的内容不完整或格式不正确，请返回重新填写")


# ============================================================================ the pages


class Pages(Controller):
    path = "/"
    include_in_schema = False
    exception_handlers = {Refused: _refused_page, ValidationException: _invalid_page}

    # ------------------------------------------------------------------ home

    @get("/", name="home")
    async def home(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        data = await hall.run(_home)
        return _render(request, hall, "home.html", simulate=request.app.state.get("simulate", False), **data)

    # ------------------------------------------------------------------ kiosk (取号)

    @get("/kiosk")
    async def kiosk(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        return _render(request, hall, "kiosk.html", **await hall.run(_kiosk))

    @get("/kiosk/items/{item_id:str}")
    async def kiosk_item(self, request: Request, hall: NamedDependency[Hall], item_id: FromPath[str]) -> Template:
        return _render(request, hall, "kiosk_item.html", **await hall.run(_kiosk_item, item_id))

    @post("/kiosk/tickets")
    async def kiosk_issue(self, request: Request, hall: NamedDependency[Hall],
                          data: Annotated[TicketForm, FormBody]) -> Redirect:
        back = f"/kiosk/items/{data.item}" if data.item else "/kiosk"
        try:
            ticket_id = await hall.run(_issue, data.item or None, data.department or None, data.priority)
        except Refused as e:
            _flash(request, e.message)
            return _back(back)
        return _back(f"/kiosk/tickets/{ticket_id}")

    @post("/kiosk/rejoin")
    async def kiosk_rejoin(self, request: Request, hall: NamedDependency[Hall],
                           data: Annotated[RejoinForm, FormBody]) -> Redirect:
        try:
            ticket_id = await hall.run(_rejoin, data.number)
        except Refused as e:
            _flash(request, e.message)
            return _back("/kiosk")
        return _back(f"/kiosk/tickets/{ticket_id}")

    @get("/kiosk/tickets/{ticket_id:str}")
    async def kiosk_ticket(self, request: Request, hall: NamedDependency[Hall], ticket_id: FromPath[str]) -> Template:
        return _render(request, hall, "kiosk_ticket.html", **await hall.run(_ticket_page, ticket_id))

    # ------------------------------------------------------------------ window consoles

    @get("/console")
    async def consoles(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        data = await hall.run(_console_list)
        return _render(request, hall, "console_list.html", mine=_session(request).get("window"), **data)

    @get("/console/{window_id:str}")
    async def console(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str]) -> Template:
        data = await hall.run(_console, window_id, _staff_at(request, window_id))
        hw = request.app.state.get("hardware")
        shown = None
        if hw is not None:
            for name, r in hw.reader_cfg.items():
                if r.window == window_id and name in hw.last_read:
                    shown = hw.last_read[name]
        return _render(request, hall, "console.html" if data["signed"] else "console_signon.html",
                       reader_message=shown, **data)

    @post("/console/{window_id:str}/sign-on")
    async def console_sign_on(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                              data: Annotated[SignOnForm, FormBody]) -> Redirect:
        staff = data.staff.strip()
        try:
            name = await hall.run(_sign_on, window_id, staff, data.pin)
        except Refused as e:
            _flash(request, e.message)
            return _back(f"/console/{window_id}")
        s = _session(request)
        s.pop("flash", None)
        s.update(staff=staff, window=window_id)
        _save_session(request, s)
        _flash(request, f"{name}，签到成功", kind="ok")
        return _back(f"/console/{window_id}")

    @post("/console/{window_id:str}/pause")
    async def console_pause(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                            data: Annotated[PauseForm, FormBody]) -> Redirect:
        return await self._act(request, hall, window_id, "pause", data.reason)

    @post("/console/{window_id:str}/transfer")
    async def console_transfer(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                               data: Annotated[TransferForm, FormBody]) -> Redirect:
        staff = _staff_at(request, window_id)
        if staff is None:
            return self._not_signed(request, window_id)
        try:
            msg = await hall.run(_transfer, window_id, staff, data.target, data.note)
        except Refused as e:
            _flash(request, e.message)
        else:
            _flash(request, msg, kind="ok")
        return _back(f"/console/{window_id}")

    @post("/console/{window_id:str}/complete")
    async def console_complete(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                               data: Annotated[CompleteForm, FormBody]) -> Redirect:
        staff = _staff_at(request, window_id)
        if staff is None:
            return self._not_signed(request, window_id)
        try:
            msg, case_id, outcome = await hall.run(_complete, window_id, staff, data)
        except Refused as e:
            _flash(request, e.message)
        else:
            if case_id and outcome in WRITTEN_NOTICE:
                _flash(request, msg, kind="ok", link=f"/notices/{case_id}", link_text=f"打印{NOTICE_TITLES[outcome]}")
            elif case_id:
                _flash(request, msg, kind="ok", link=f"/notices/{case_id}", link_text="打印受理回执")
            else:
                _flash(request, msg, kind="ok")
        return _back(f"/console/{window_id}")

    @post("/console/{window_id:str}/{action:str}")
    async def console_action(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                             action: FromPath[str]) -> Redirect:
        """叫号 call, 重呼 recall, 开始办理 start, 过号 no-show, 恢复服务 resume, 签退 sign-off."""
        return await self._act(request, hall, window_id, action)

    async def _act(self, request: Request, hall: Hall, window_id: str, action: str, reason: str = "") -> Redirect:
        staff = _staff_at(request, window_id)
        if staff is None:
            return self._not_signed(request, window_id)
        try:
            msg = await hall.run(_window_action, action, window_id, staff, reason)
        except Refused as e:
            _flash(request, e.message)
            return _back(f"/console/{window_id}")
        if action == "sign-off":
            s = _session(request)
            for k in ("staff", "window"):
                s.pop(k, None)
            _save_session(request, s)
        _flash(request, msg, kind="ok")
        return _back(f"/console/{window_id}")

    @staticmethod
    def _not_signed(request: Request, window_id: str) -> Redirect:
        _flash(request, "请先在本窗口签到（工号 + 密码）")
        return _back(f"/console/{window_id}")

    # ------------------------------------------------------------------ cases of a window's department

    @get("/console/{window_id:str}/cases")
    async def console_cases(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str]) -> Any:
        data = await hall.run(_cases_page, window_id, _staff_at(request, window_id))
        if not data["signed"]:
            return self._not_signed(request, window_id)
        return _render(request, hall, "console_cases.html", **data)

    @post("/console/{window_id:str}/cases/{case_id:str}/handoff")
    async def case_handoff(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                           case_id: FromPath[str], data: Annotated[HandoffForm, FormBody]) -> Redirect:
        return await self._case(request, hall, window_id, "handoff", case_id, data)

    @post("/console/{window_id:str}/cases/{case_id:str}/supply")
    async def case_supply(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                          case_id: FromPath[str], data: Annotated[SupplyForm, FormBody]) -> Redirect:
        return await self._case(request, hall, window_id, "supply", case_id, data)

    @post("/console/{window_id:str}/cases/{case_id:str}/finish")
    async def case_finish(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                          case_id: FromPath[str], data: Annotated[FinishForm, FormBody]) -> Redirect:
        return await self._case(request, hall, window_id, "finish", case_id, data)

    async def _case(self, request: Request, hall: Hall, window_id: str, action: str, case_id: str,
                    form: Any) -> Redirect:
        staff = _staff_at(request, window_id)
        if staff is None:
            return self._not_signed(request, window_id)
        try:
            msg = await hall.run(_case_action, action, window_id, staff, case_id, form)
        except Refused as e:
            _flash(request, e.message)
        else:
            _flash(request, msg, kind="ok")
        return _back(f"/console/{window_id}/cases")

    # ------------------------------------------------------------------ display board

    @get("/display")
    async def display(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        return _render(request, hall, "display.html", **await hall.run(_display))

    # ------------------------------------------------------------------ public guide (办事指南)

    @get("/guide")
    async def guide(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        return _render(request, hall, "guide.html", **await hall.run(_guide_index))

    @get("/guide/{item_id:str}")
    async def guide_item(self, request: Request, hall: NamedDependency[Hall], item_id: FromPath[str]) -> Template:
        return _render(request, hall, "guide_item.html", **await hall.run(_guide_item, item_id))

    # ------------------------------------------------------------------ printable notices

    @get("/notices/{case_id:str}")
    async def notice(self, request: Request, hall: NamedDependency[Hall], case_id: FromPath[str]) -> Template:
        return _render(request, hall, "notice.html", **await hall.run(_notice, case_id))

    # ------------------------------------------------------------------ hall manager

    @get("/manage")
    async def manage(self, request: Request, hall: NamedDependency[Hall]) -> Any:
        if not _manager(request):
            return _back("/manage/login")
        data = await hall.run(_manage)
        return _render(request, hall, "manage.html", manager_name=_session(request).get("manager_name"), **data)

    @get("/manage/login")
    async def manage_login_form(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        return _render(request, hall, "manage_login.html")

    @post("/manage/login")
    async def manage_login(self, request: Request, hall: NamedDependency[Hall],
                           data: Annotated[LoginForm, FormBody]) -> Redirect:
        manager = data.manager.strip()
        try:
            name = await hall.run(_check_manager, manager, data.password)
        except Refused as e:
            _flash(request, e.message)
            return _back("/manage/login")
        s = _session(request)
        s.pop("flash", None)
        s.update(manager=manager, manager_name=name)
        _save_session(request, s)
        return _back("/manage")

    @post("/manage/logout")
    async def manage_logout(self, request: Request) -> Redirect:
        s = _session(request)
        s.pop("manager", None)
        s.pop("manager_name", None)
        _save_session(request, s)
        return _back("/manage/login")

    @post("/manage/windows/{window_id:str}/{action:str}")
    async def manage_window(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                            action: FromPath[str]) -> Redirect:
        manager = _manager(request)
        if not manager:
            return _back("/manage/login")
        try:
            msg = await hall.run(_manage_window, action, window_id, manager)
        except Refused as e:
            _flash(request, e.message)
        else:
            _flash(request, msg, kind="ok")
        return _back("/manage")


def _sim_page(ctx: Ctx) -> dict:
    return {"windows": {w.id: w.name for w in ctx.catalog.business.windows},
            "staff": [{"name": s.name, "card": s.card} for s in ctx.catalog.business.staff if s.card],
            "hours": _hours(ctx)}


class SimPage(Controller):
    """`--simulate` only: the device simulator (every pin with its role and state, buttons to
    press, door and power toggles, a badge form, the readers' plugs); the lamps update live."""

    path = "/sim"
    include_in_schema = False

    @get("/")
    async def sim(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        hw = request.app.state.get("hardware")
        readers = [{"name": n, "protocol": r.protocol, "role": r.role, "window": r.window, "label": r.label or n}
                   for n, r in (hw.reader_cfg.items() if hw is not None else [])]
        return _render(request, hall, "sim.html", readers=readers, **await hall.run(_sim_page))


def page_handlers(simulate: bool) -> list:
    """The page routes; with `simulate` also the device simulator at /sim."""
    return [Pages, SimPage] if simulate else [Pages]
