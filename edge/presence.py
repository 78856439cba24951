"""Staff at their windows: sign on and off, and stepping away (离岗, "service paused").

Rules: one staff member per window; the A-role works it, the B-role stands in (AB岗)
[U 10, J 15, C 7]; on a vacation duty day the staff on the duty roster may sign on at any window
of their department (role "duty") [J 29, U 22, B 29]; a staff member cannot sign off while a service at their window is open;
stepping away shows the "service paused" sign and may last at most the configured limit
(15 minutes by default) [C 9(4)]; signing off while paused ends the step-away and judges it by
that limit (edge.stepaway.end_pause). Every pause is recorded with its start, end, and whether it
broke the limit. Staff leave only after serving whoever took a number [U 21, B 28, C 11(6)]: a
sign-off that would leave the department's waiting visitors without a serving window is refused
unless the hall manager confirms it (`sign_off(..., override_by=manager)`, recorded).
"""

from __future__ import annotations

from sync.contract import events as ev

from . import attendance, queue
from .auth import verify_secret
from .context import Ctx
from .windows import acting_window, get_window, in_service, plan
from .stepaway import end_pause, paused_seconds
from .store.windows import WindowView
from .workflow import WINDOW, Forbidden, NotFound, Refused


def role_at(ctx: Ctx, staff_id: str, window_id: str) -> str:
    """A, B, or "duty": staff on today's vacation duty roster may work any window of their
    department, A/B or not (值班 [J 29, U 22, B 29])."""
    s = ctx.catalog.staff.get(staff_id)
    if s is None:
        raise NotFound("unknown-staff", f"没有工号为 {staff_id} 的工作人员")
    if window_id in s.windows:
        return "A"
    if window_id in s.backup_for:
        return "B"
    if plan(ctx).duty_at(staff_id, window_id, ctx.today()):
        return "duty"
    raise Forbidden("not-assigned", f"{s.name}不是该窗口的A岗或B岗人员，今日也不在本部门值班名单中")


def check_pin(ctx: Ctx, staff_id: str, pin: str) -> None:
    s = ctx.catalog.staff.get(staff_id)
    if s is None or not s.pin_hash or not verify_secret(s.pin_hash, pin):
        raise Forbidden("bad-credentials", "工号或密码不正确")


def sign_on(ctx: Ctx, window_id: str, staff_id: str, via: str = "pin") -> WindowView:
    w = get_window(ctx, window_id)
    role = role_at(ctx, staff_id, window_id)
    if w.staff == staff_id:
        return w  # already there: signing on again changes nothing
    if w.staff is not None:
        other = ctx.catalog.staff.get(w.staff)
        raise Refused("window-taken", f"该窗口已由{other.name if other else w.staff}签到")
    elsewhere = ctx.store.window_of_staff(staff_id)
    if elsewhere is not None:
        raise Refused("signed-on-elsewhere", f"您已在 {elsewhere.id} 窗口签到，请先签退")
    if not in_service(ctx, window_id, ctx.today()):
        raise Refused("window-not-in-service", "该窗口今日不开放")
    WINDOW.next(w.state, "sign_on", "窗口")
    ctx.store.append(ev.WindowSignedOn(window=window_id, staff=staff_id, role=role, via=via))
    return ctx.store.window(window_id)  # type: ignore[return-value]


def left_waiting(ctx: Ctx, w: WindowView) -> int:
    """How many visitors of the window's department would be left without a serving window if
    it signed off now: its waiting numbers when no other window of the department is signed on
    and not paused, else 0."""
    waiting = len(ctx.store.waiting(w.department, ctx.service_date()))
    if not waiting:
        return 0
    others = [x for x in ctx.store.windows() if x.id != w.id]
    return 0 if queue.working_windows(ctx, w.department, others) else waiting


def sign_off_refusal(ctx: Ctx, w: WindowView) -> Refused | None:
    """Staff leave only after serving whoever took a number [U 21, B 28, C 11(6)]: a sign-off
    that would leave waiting visitors without a serving window is refused (the hall manager
    may confirm it on the manager page; `rules.attendance.refuse_sign_off_while_waiting`)."""
    if not ctx.catalog.rules.attendance.refuse_sign_off_while_waiting:
        return None
    n = left_waiting(ctx, w)
    if not n:
        return None
    return Refused("department-still-waiting",
                   f"本部门还有 {n} 人在等候，且没有其他窗口在岗：请办理完毕后再签退（延时服务）；"
                   "确需离开，请大厅负责人在管理页确认签退")


def sign_off(ctx: Ctx, window_id: str, staff_id: str, override_by: str | None = None) -> WindowView:
    """签退. `override_by`: the hall manager confirming a sign-off that leaves visitors waiting."""
    w = acting_window(ctx, window_id, staff_id)
    if w.state == "serving":
        raise Refused("service-open", "当前号码尚未办结，不能签退")
    waiting = left_waiting(ctx, w)
    if override_by is None:
        refusal = sign_off_refusal(ctx, w)
        if refusal is not None:
            raise refusal
    if w.state == "paused":
        end_pause(ctx, w, staff_id, via="sign-off")  # judged by the limit like any return [C 9(4)]
    WINDOW.next("idle", "sign_off", "窗口")
    ctx.store.append(ev.WindowSignedOff(window=window_id, staff=staff_id, override_by=override_by,
                                        waiting=waiting if override_by else 0))
    return ctx.store.window(window_id)  # type: ignore[return-value]


def pause(ctx: Ctx, window_id: str, staff_id: str, reason: str = "", via: str = "console") -> WindowView:
    w = acting_window(ctx, window_id, staff_id)
    if w.state == "serving":
        raise Refused("service-open", "请先办结当前号码再暂停服务")
    WINDOW.next(w.state, "pause", "窗口")
    ctx.store.append(ev.WindowPaused(window=window_id, staff=staff_id, reason=reason.strip()[:100], via=via))
    return ctx.store.window(window_id)  # type: ignore[return-value]


def resume(ctx: Ctx, window_id: str, staff_id: str, via: str = "console") -> WindowView:
    w = acting_window(ctx, window_id, staff_id)
    WINDOW.next(w.state, "resume", "窗口")
    end_pause(ctx, w, staff_id, via)
    return ctx.store.window(window_id)  # type: ignore[return-value]


# ---------------------------------------------------------------- devices: pause button, window reader


def toggle_pause(ctx: Ctx, window_id: str, via: str = "button") -> WindowView:
    """The window's pause button: step away when idle, back when paused (the staff signed on)."""
    w = get_window(ctx, window_id)
    if w.staff is None:
        raise Refused("window-closed", "该窗口尚未签到开放")
    if w.state == "paused":
        return resume(ctx, window_id, w.staff, via=via)
    return pause(ctx, window_id, w.staff, via=via)


def badge_at_window(ctx: Ctx, window_id: str, reader: str, card: str) -> dict:
    """A badge at a window reader: sign on when the window is closed; step away when idle;
    back when paused, except that a second tap within `window_reader_sign_off_seconds` of a
    badge pause signs off. Never raises: the result carries the message for the reader's
    display. With `rules.attendance.window_reader_punches` the tap also counts as a punch."""
    rules = ctx.catalog.rules.attendance
    card = card.strip().upper()
    s = attendance.staff_by_card(ctx, card)
    if s is None:
        return attendance.record_unknown(ctx, reader, card)
    res: dict = {"ok": True, "staff": s.id, "name": s.name, "card": card}
    if rules.window_reader_punches:
        res["punch"] = attendance.punch(ctx, reader, card)
    try:
        w = get_window(ctx, window_id)
        if w.staff is None:
            sign_on(ctx, window_id, s.id, via="badge")
            res.update(result="signed_on", message=f"{s.name}，签到成功")
        elif w.staff != s.id:
            other = ctx.catalog.staff.get(w.staff)
            raise Refused("window-taken", f"该窗口已由{other.name if other else w.staff}签到")
        elif w.state == "paused":
            away = ctx.store.open_step_away(window_id)
            quick = (away is not None and away.via == "badge"
                     and paused_seconds(ctx, w) <= rules.window_reader_sign_off_seconds)
            if quick:
                sign_off(ctx, window_id, s.id)
                res.update(result="signed_off", message=f"{s.name}，已签退")
            else:
                resume(ctx, window_id, s.id, via="badge")
                res.update(result="resumed", message=f"{s.name}，已恢复服务")
        else:
            pause(ctx, window_id, s.id, via="badge")
            res.update(result="paused", message=f"{s.name}，已暂停服务（{rules.window_reader_sign_off_seconds} 秒内再刷卡即签退）")
    except Refused as e:
        res.update(ok=False, result="refused", code=e.code, message=f"{s.name}：{e.message}")
    return res
