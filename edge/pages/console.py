"""The window consoles: the list of windows, signing on with staff id and PIN, and the console
of a signed-on window (叫号, 重呼, 开始办理, 过号, 暂停/恢复, 转办, 办结 with its outcome, 签退)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from sync.kernel.business import Item
from sync.kernel.clock import to_micros

from .. import cases, leave, outbox, presence, queue, stepaway, views, windows
from ..cases import OUTCOME_LABELS, OUTCOMES
from ..context import Ctx
from ..hall import Hall
from ..workflow import WINDOW, Invalid, NotFound, Refused
from ..web import (AT_WINDOW, PUBLIC, STAFF_KEYS, SignOns, access, check_pin, signed_on_session, throttled_login,
                   who)
from .common import (MODE_LABELS, NOTICE_TITLES, Form, FormBody, PageController, as_list, back, flash, hours,
                     labelled_windows, not_signed, promise, render, run_and_flash, save_session, session, sign_in,
                     sign_out, staff_at, staff_name)
from .reprint import ReprintForm, reprint

WRITTEN_NOTICE = ("notice", "gaps", "refused")


class SignOnForm(Form):
    staff: str = ""
    pin: str = ""


class PauseForm(Form):
    reason: str = ""


class SignOffForm(Form):
    confirm: str = ""  # the number of people waiting the staff member saw and confirmed


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
    phone: str = ""  # the applicant's, for the result notice (promised, joint, gaps; edge.outbox)


# ---------------------------------------------------------------------------- read models (writer thread)


def console_list(ctx: Ctx) -> dict:
    return {"windows": labelled_windows(ctx), "hours": hours(ctx)}


def signon_options(ctx: Ctx, window_id: str) -> list[dict]:
    out = []
    for s in ctx.catalog.business.staff:
        if window_id in s.windows:
            out.append({"id": s.id, "name": s.name, "role": "A岗"})
        elif window_id in s.backup_for:
            out.append({"id": s.id, "name": s.name, "role": "B岗"})
        elif windows.plan(ctx).duty_at(s.id, window_id, ctx.today()):  # 值班 [J 29, U 22, B 29]
            out.append({"id": s.id, "name": s.name, "role": "值班"})
    return out


def console_sig(w: dict, waiting: int) -> str:
    """What the console shows that a `board` event may change (console.js builds the same)."""
    t = w["ticket"]
    return "|".join([w["state"], t["id"] if t else "", str(t["recalls"]) if t else "", w["paused_at"] or "",
                     str(waiting)])


def item_choice(ctx: Ctx, it: Item) -> dict:
    p = promise(ctx, it)
    return {
        "item": it, "mode_label": MODE_LABELS.get(it.mode, it.mode), "deadline": p["deadline"],
        "promise_label": p["label"], "gap_materials": [m for m in it.materials if m.gap_allowed],
    }


def console_data(ctx: Ctx, window_id: str, staff: str | None) -> dict:
    w = windows.get_window(ctx, window_id)
    brief = views.window_brief(ctx, w)
    brief["state_label"] = WINDOW.labels.get(brief["state"], brief["state"])
    cat = ctx.catalog
    alerts = [a for a in views.alerts(ctx) if a["kind"] in ("device", "closing") or a.get("window") == window_id]
    base: dict[str, Any] = {"window": brief, "hours": hours(ctx), "alerts": alerts}
    if staff is None or w.staff != staff:
        base.update(signed=False, options=signon_options(ctx, window_id),
                    taken=staff_name(ctx, w.staff) if w.staff else None)
        return base
    sdate = ctx.service_date()
    now_us = to_micros(ctx.now())
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
                "waited_seconds": max(0, (now_us - x.issued_at) // 1_000_000),
                "item": cat.items[x.item].name if x.item in cat.items else ""} for x in waiting],
        done_count=len(done),
        done=[{"number": x.number, "outcome": OUTCOME_LABELS.get(x.outcome or "", x.outcome or ""),
               "finished": views.hhmm(ctx, x.finished_at), "case": x.case,
               "notice": x.case if x.outcome in NOTICE_TITLES else None} for x in done[:8]],
        items=[item_choice(ctx, i) for i in own_items],
        current_item=current.id if current else None,
        default_outcome=current.mode if current else "instant",
        outcomes=[(o, OUTCOME_LABELS[o]) for o in OUTCOMES],
        co_choices=[d for d in cat.business.catalog.departments if d.id != w.department],
        transfer_departments=[d for d in cat.hall_departments() if d.id != w.department],
        transfer_items=[i for i in cat.business.catalog.items if i.department != w.department
                        and i.department in present],
        dept_names={d.id: d.name for d in cat.business.catalog.departments},
        rules=cat.rules,
        limit_seconds=stepaway.limit_seconds(ctx),
        gap_due=gap_due.isoformat(),
        notify_on=ctx.notify.gateway != "none",  # the 办结 form takes the applicant's phone
        notice_outcomes=" ".join(outbox.NOTICE_OUTCOMES),
        today=ctx.service_date(),
        open_cases=len(ctx.store.cases(state="open", department=w.department)),
        sig=console_sig(brief, len(waiting)),
        now_iso=ctx.calendar.local(ctx.now()).isoformat(timespec="seconds"),
        standing_in=leave.standing_in(ctx, staff, ctx.today()),  # A→B hand-over [C 7, H AB-2]
    )
    return base


# ---------------------------------------------------------------------------- commands (writer thread)


def sign_on(ctx: Ctx, signons: SignOns, window_id: str, staff_id: str, pin: str) -> tuple[str, dict]:
    windows.get_window(ctx, window_id)
    check_pin(ctx, staff_id, pin)
    before = ctx.store.last_seq
    presence.sign_on(ctx, window_id, staff_id, via="pin")
    return staff_name(ctx, staff_id), signed_on_session(ctx, signons, window_id, staff_id, before)


def sign_off(ctx: Ctx, window_id: str, staff: str, confirmed: int | None) -> str | dict:
    """签退. With people waiting for the window's department it goes through only when the
    staff member confirmed at least that many (`confirmed`, from the confirmation page);
    otherwise returns what that page shows. Nothing changes until then."""
    w = windows.get_window(ctx, window_id)
    refusal = presence.sign_off_refusal(ctx, w) if w.state != "serving" and w.staff == staff else None
    if refusal is not None:  # nobody else would serve them [U 21, B 28, C 11(6)]: only the manager may
        raise refusal
    waiting = len(ctx.store.waiting(w.department, ctx.service_date()))
    if waiting and w.state != "serving" and (confirmed is None or confirmed < waiting):
        others = [x for x in views.windows(ctx)
                  if x["department"] == w.department and x["id"] != window_id and x["staff"] is not None]
        return {"waiting": waiting, "others": [x["name"] for x in others],
                "window": views.window_brief(ctx, w), "hours": hours(ctx)}
    presence.sign_off(ctx, window_id, staff)  # refuses while a service is open
    return "已签退"


# console button → (queue command on the window's current ticket, message about that ticket `t`)
_TICKET_ACTIONS = {
    "call": (queue.call_next, "已叫号：{t.number}"),
    "recall": (queue.recall, "已重呼：{t.number}（第 {t.recalls} 次）"),
    "start": (queue.start, "{t.number} 开始办理"),
    "no-show": (queue.no_show, "{t.number} 已标记过号"),
}


def window_action(ctx: Ctx, action: str, window_id: str, staff: str, reason: str = "") -> str:
    """Run one of the simple console buttons; returns the message to show."""
    if action in _TICKET_ACTIONS:
        command, message = _TICKET_ACTIONS[action]
        return message.format(t=command(ctx, window_id, staff))
    if action == "pause":
        presence.pause(ctx, window_id, staff, reason)
        return "已暂停服务（离岗计时开始）"
    if action == "resume":
        presence.resume(ctx, window_id, staff)
        return "已恢复服务"
    raise NotFound("unknown-action", f"未知的操作 {action}")


def dept_name(ctx: Ctx, dept_id: str) -> str:
    d = ctx.catalog.departments.get(dept_id)
    return d.name if d else dept_id


def transfer(ctx: Ctx, window_id: str, staff: str, target: str, note: str) -> str:
    kind, _, ident = target.partition(":")
    if kind == "d" and ident:
        t = queue.transfer(ctx, window_id, staff, department=ident, note=note)
    elif kind == "i" and ident:
        t = queue.transfer(ctx, window_id, staff, item=ident, note=note)
    else:
        raise Invalid("target-required", "请选择转办的部门或事项")
    return f"{t.number} 已转至{dept_name(ctx, t.department)}，保留原排队时间"


def complete(ctx: Ctx, window_id: str, staff: str, form: CompleteForm) -> tuple[str, str | None, str | None]:
    if form.outcome not in OUTCOMES:
        raise Invalid("outcome-required", "请选择办理结果")
    item = form.item or None
    if item is None:
        w = windows.get_window(ctx, window_id)
        t = ctx.store.ticket(w.ticket) if w.ticket else None
        item = t.item if t else None
    picked = as_list(form.missing_notice if form.outcome == "notice" else form.missing_gaps)
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
        co_departments=as_list(form.co_departments) if form.outcome == "joint" else None,
        reason=form.reason if form.outcome == "refused" else "", note=form.note, supply_by=supply_by,
        phone=form.phone if form.outcome in outbox.NOTICE_OUTCOMES else "",
    )
    return f"{t.number} 已办结：{OUTCOME_LABELS[form.outcome]}", t.case, form.outcome


# ---------------------------------------------------------------------------- routes

TYPED_STAFF = "signon_staff"  # session: the 工号 typed with a wrong PIN, shown once in the form


def remember_staff(request: Request, window_id: str, staff: str) -> None:
    s = session(request)
    s[TYPED_STAFF] = {"window": window_id, "staff": staff}
    save_session(request, s)


def typed_staff(request: Request, window_id: str) -> str:
    s = session(request)
    typed = s.pop(TYPED_STAFF, None)
    if typed is None:
        return ""
    save_session(request, s)
    return typed.get("staff", "") if isinstance(typed, dict) and typed.get("window") == window_id else ""



class ConsolePages(PageController):
    path = "/console"

    @get("/", opt=access(PUBLIC))
    async def consoles(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        data = await hall.run(console_list)
        return render(request, hall, "console_list.html", mine=session(request).get("window"), **data)

    @get("/{window_id:str}", opt=access(PUBLIC))
    async def console(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str]) -> Template:
        staff, _ = await who(request)  # a session whose sign-on ended shows the sign-on form
        data = await hall.run(console_data, window_id, staff if staff and staff_at(request, window_id) else None)
        hw = request.app.state.get("hardware")
        shown = None
        if hw is not None:
            for name, r in hw.reader_cfg.items():
                if r.window == window_id and name in hw.last_read:
                    shown = hw.last_read[name]
        typed = typed_staff(request, window_id) if not data["signed"] else ""
        return render(request, hall, "console.html" if data["signed"] else "console_signon.html",
                      reader_message=shown, typed_staff=typed, **data)

    @post("/{window_id:str}/sign-on", opt=access(PUBLIC))
    async def console_sign_on(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                              data: Annotated[SignOnForm, FormBody]) -> Redirect:
        staff = data.staff.strip()[:64]
        try:
            name, signed = await throttled_login(request, "pin", staff, sign_on, request.app.state["signons"],
                                                 window_id, staff, data.pin[:256])
        except Refused as e:
            flash(request, e.message)
            remember_staff(request, window_id, staff)  # the form keeps the 工号, asks the PIN again
            return back(f"/console/{window_id}")
        sign_out(request, *STAFF_KEYS, TYPED_STAFF)
        sign_in(request, **signed)
        flash(request, f"{name}，签到成功", kind="ok")
        return back(f"/console/{window_id}")

    @post("/{window_id:str}/sign-off", opt=access(AT_WINDOW, "/console/{window_id}"))
    async def console_sign_off(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                               data: Annotated[SignOffForm, FormBody]) -> Redirect | Template:
        """签退; with people waiting, a confirmation page first (it posts back `confirm`)."""
        staff = staff_at(request, window_id)
        if staff is None:
            return not_signed(request, window_id)
        confirmed = int(data.confirm) if data.confirm.strip().isdigit() and len(data.confirm) < 7 else None
        try:
            res = await hall.run(sign_off, window_id, staff, confirmed)
        except Refused as e:
            flash(request, e.message)
            return back(f"/console/{window_id}")
        if isinstance(res, dict):
            return render(request, hall, "console_signoff.html", **res)
        sign_out(request, *STAFF_KEYS)
        flash(request, res, kind="ok")
        return back(f"/console/{window_id}")

    @post("/{window_id:str}/pause", opt=access(AT_WINDOW, "/console/{window_id}"))
    async def console_pause(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                            data: Annotated[PauseForm, FormBody]) -> Redirect:
        return await self._act(request, hall, window_id, "pause", data.reason)

    @post("/{window_id:str}/transfer", opt=access(AT_WINDOW, "/console/{window_id}"))
    async def console_transfer(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                               data: Annotated[TransferForm, FormBody]) -> Redirect:
        staff = staff_at(request, window_id)
        if staff is None:
            return not_signed(request, window_id)
        return await run_and_flash(request, hall, f"/console/{window_id}", transfer, window_id, staff, data.target,
                                   data.note)

    @post("/{window_id:str}/complete", opt=access(AT_WINDOW, "/console/{window_id}"))
    async def console_complete(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                               data: Annotated[CompleteForm, FormBody]) -> Redirect:
        staff = staff_at(request, window_id)
        if staff is None:
            return not_signed(request, window_id)
        try:
            msg, case_id, outcome = await hall.run(complete, window_id, staff, data)
        except Refused as e:
            flash(request, e.message)
        else:
            if case_id and outcome in WRITTEN_NOTICE:
                flash(request, msg, kind="ok", link=f"/notices/{case_id}", link_text=f"打印{NOTICE_TITLES[outcome]}")
            elif case_id:
                flash(request, msg, kind="ok", link=f"/notices/{case_id}", link_text="打印受理回执")
            else:
                flash(request, msg, kind="ok")
        return back(f"/console/{window_id}")

    @post("/{window_id:str}/reprint", opt=access(AT_WINDOW, "/console/{window_id}"))
    async def console_reprint(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                              data: Annotated[ReprintForm, FormBody]) -> Redirect:
        """补打号码条: print a slip of today's number again on the kiosk's printer."""
        staff = staff_at(request, window_id)
        if staff is None:
            return not_signed(request, window_id)
        await reprint(request, hall, data.number, staff, "staff")
        return back(f"/console/{window_id}")

    @post("/{window_id:str}/{action:str}", opt=access(AT_WINDOW, "/console/{window_id}"))
    async def console_action(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                             action: FromPath[str]) -> Redirect:
        """叫号 call, 重呼 recall, 开始办理 start, 过号 no-show, 恢复服务 resume."""
        return await self._act(request, hall, window_id, action)

    async def _act(self, request: Request, hall: Hall, window_id: str, action: str, reason: str = "") -> Redirect:
        staff = staff_at(request, window_id)
        if staff is None:
            return not_signed(request, window_id)
        try:
            msg = await hall.run(window_action, action, window_id, staff, reason)
        except Refused as e:
            flash(request, e.message)
            return back(f"/console/{window_id}")
        flash(request, msg, kind="ok")
        return back(f"/console/{window_id}")
