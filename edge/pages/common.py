"""What every screen of the hall's pages shares: labels, the form body, the read-model pieces
several screens show (opening hours, dates, promised time), the session (staff and manager
sign-on, one-shot flash messages), rendering and the error page."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response
from litestar.enums import MediaType, RequestEncodingType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException, ValidationException
from litestar.params import Body
from litestar.response import Redirect, Template

from sync.kernel.business import Item

from .. import i18n, views
from ..context import Ctx
from ..hall import Hall
from ..web import rotate_session
from ..workflow import WINDOW, NotFound, Refused

N_ = i18n.N_
MODE_LABELS = {"instant": N_("即办件"), "promised": N_("承诺件"), "joint": N_("联办件")}
KIND_LABELS = {"fixed": "固定窗口", "periodic": "周期窗口", "flexible": "机动窗口"}
# Outcomes that hand the visitor a written notice [J 20, J 25, B 25, C 11].
NOTICE_TITLES = {
    "notice": "一次性告知书",
    "gaps": "容缺受理通知书",
    "refused": "不予受理（退件）通知书",
    "promised": "受理回执（承诺件）",
    "joint": "受理回执（联办件）",
}


# ============================================================================ form bodies
# Browsers send every field as text; a group of checkboxes sends its name once per ticked box,
# so a list field arrives as one string when exactly one box is ticked: `as_list` evens it out.


class Form(msgspec.Struct, kw_only=True):
    """Unknown fields (submit buttons and the like) are ignored."""


def as_list(value: list[str] | str) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    return [v for v in value if v]


FormBody = Body(media_type=RequestEncodingType.URL_ENCODED)


# ============================================================================ read-model pieces (writer thread)


def day_label(d: date, lang: str = i18n.DEFAULT) -> str:
    return i18n.day_label(d, lang)


def date_label(iso_date: str | None, lang: str = i18n.DEFAULT) -> str:
    if not iso_date:
        return ""
    return i18n.date_label(date.fromisoformat(iso_date[:10]), lang)


def hours(ctx: Ctx, lang: str = i18n.DEFAULT) -> dict:
    """Today's opening state: open now, today's periods, the next opening when closed."""
    cal, now, today = ctx.calendar, ctx.now(), ctx.today()
    is_open = cal.is_open(now)
    nxt = None if is_open else cal.next_open(now)
    return {
        "open": is_open,
        "today": day_label(today, lang),
        "now": cal.local(now).strftime("%H:%M"),
        "periods": [f"{s:%H:%M}–{e:%H:%M}" for s, e in cal.periods_on(today)],
        "closures": [c.name for c in cal.closures_on(today) if c.name],
        "next_open": f"{i18n.month_day(cal.local(nxt), lang)} {cal.local(nxt):%H:%M}" if nxt else None,
    }


def get_item(ctx: Ctx, item_id: str) -> Item:
    it = ctx.catalog.items.get(item_id)
    if it is None:
        raise NotFound("unknown-item", f"没有编号为 {item_id} 的服务事项")
    return it


def promise(ctx: Ctx, it: Item, lang: str = i18n.DEFAULT) -> dict:
    """Promised time of an item: label and, for promised/joint items, today's deadline."""
    t = i18n.translations(lang)
    if not it.promise_days:
        return {"label": t.gettext("即时办结"), "deadline": None}
    due = ctx.calendar.add_working_days(ctx.today(), it.promise_days)
    return {"label": t.ngettext("{n} 个工作日", "{n} 个工作日", it.promise_days).format(n=it.promise_days),
            "deadline": date_label(due.isoformat(), lang)}


def staff_name(ctx: Ctx, staff_id: str | None) -> str:
    if not staff_id:
        return ""
    s = ctx.catalog.staff.get(staff_id)
    return s.name if s else staff_id


def labelled_windows(ctx: Ctx) -> list[dict]:
    """Every window (views.windows) with the Chinese labels of its state and kind."""
    ws = views.windows(ctx)
    for w in ws:
        w["state_label"] = WINDOW.labels.get(w["state"], w["state"])
        w["kind_label"] = KIND_LABELS.get(w["kind"], w["kind"])
    return ws


# ============================================================================ session


def session(request: Request) -> dict:
    """A copy of the session (after `clear_session` the scope holds a non-dict marker)."""
    s = request.scope.get("session")
    return dict(s) if isinstance(s, dict) else {}


def save_session(request: Request, data: dict) -> None:
    if data:
        request.set_session(data)
    else:
        request.clear_session()


def sign_in(request: Request, **values: Any) -> None:
    """Remember a signed-on staff member or manager under a new session id (no fixation); a
    stale flash message is dropped."""
    s = session(request)
    s.pop("flash", None)
    s.update(values)
    save_session(request, s)
    rotate_session(request)


def sign_out(request: Request, *keys: str) -> None:
    s = session(request)
    for k in keys:
        s.pop(k, None)
    save_session(request, s)


def staff_at(request: Request, window_id: str) -> str | None:
    """The staff member signed on at this window in this browser, if any."""
    s = session(request)
    return s.get("staff") if s.get("window") == window_id else None


def manager(request: Request) -> str | None:
    return session(request).get("manager")


def flash(request: Request, text: str, kind: str = "error", link: str | None = None,
          link_text: str | None = None) -> None:
    s = session(request)
    s["flash"] = {"text": text, "kind": kind, "link": link, "link_text": link_text}
    save_session(request, s)


def take_flash(request: Request) -> dict | None:
    s = session(request)
    f = s.pop("flash", None)
    if f is not None or not s:
        save_session(request, s)  # an empty session is dropped, not written for every visitor
    return f


# ============================================================================ a visit's choices (visitor pages)
# A visitor at the kiosk picks the language (中文 / English) and the large-text mode (大字模式);
# both travel in the URL (`?lang=en&big=1`) from page to page of the visit and are gone when the
# kiosk returns to its home page after the idle timeout, so the next visitor starts in Chinese
# with normal text. No cookie, no session: nothing is stored for a visitor. Staff pages ignore them.

VISITOR_PREFIXES = ("/kiosk", "/guide", "/m/")  # /m/: the visitor's phone page (edge/pages/phone.py)


def visit_prefs(request: Request) -> dict:
    """The visit's language and large-text choice (defaults off the visitor pages)."""
    if not request.url.path.startswith(VISITOR_PREFIXES):
        return {"lang": i18n.DEFAULT, "big": False}
    q = request.query_params
    return {"lang": i18n.choose(q.get("lang")), "big": q.get("big") == "1"}


def prefs_query(prefs: dict, **extra: Any) -> str:
    """The query string carrying the choices that differ from the defaults ("" when none)."""
    q = {k: v for k, v in (("lang", prefs["lang"] if prefs["lang"] != i18n.DEFAULT else None),
                           ("big", "1" if prefs["big"] else None), *extra.items()) if v is not None}
    return urlencode(q)


def keep_prefs(prefs: dict, path: str) -> str:
    """`path` with the visit's choices (a link from one visitor page to the next)."""
    q = prefs_query(prefs)
    return f"{path}{'&' if '?' in path else '?'}{q}" if q else path


def lang_of(request: Request) -> str:
    return visit_prefs(request)["lang"]


# ============================================================================ responses


def render(request: Request, hall: Hall | None, name: str, status: int = 200, **context: Any) -> Template:
    context.setdefault("flash", take_flash(request))
    context["hall"] = hall.config.hall if hall is not None else None
    prefs = visit_prefs(request)
    path = request.url.path
    context.update(lang=prefs["lang"], html_lang=i18n.LANGS[prefs["lang"]], big=prefs["big"],
                   link=lambda p: keep_prefs(prefs, p))
    if request.method == "GET":  # the toggles lead to this page with one choice changed
        other = "en" if prefs["lang"] == i18n.DEFAULT else i18n.DEFAULT
        context.update(lang_url=keep_prefs({**prefs, "lang": other}, path),
                       big_url=keep_prefs({**prefs, "big": not prefs["big"]}, path))
    return Template(template_name=name, context=context, status_code=status, media_type=MediaType.HTML)


async def show(request: Request, hall: Hall, name: str, read: Any, *args: Any) -> Template:
    """Render template `name` with what `read(ctx, *args)` returns on the writer thread."""
    return render(request, hall, name, **await hall.run(read, *args))


def back(path: str) -> Redirect:
    return Redirect(path=path, status_code=303)


async def run_and_flash(request: Request, hall: Hall, path: str, command: Any, *args: Any) -> Redirect:
    """Run `command(ctx, *args)` on the writer thread, flash the message it returns (or the
    refusal) and send the browser back to `path`."""
    try:
        msg = await hall.run(command, *args)
    except Refused as e:
        flash(request, e.message)
    else:
        flash(request, msg, kind="ok")
    return back(path)


def not_signed(request: Request, window_id: str) -> Redirect:
    flash(request, "请先在本窗口签到（工号 + 密码）")
    return back(f"/console/{window_id}")


def hall_of(request: Request) -> Hall | None:
    """The app's hall, for exception handlers (they get no dependencies)."""
    try:
        return request.app.dependencies["hall"].dependency()
    except Exception:  # noqa: BLE001 - the error page renders without the hall name
        return None


PUBLIC_PREFIXES = ("/kiosk", "/guide", "/display", "/m/")  # /m/: the visitor's phone page


# The refusals a visitor page may show, worded for translation (the hall's own message, with its
# names and numbers, is shown on a Chinese page; another language gets the one of its code).
VISITOR_REFUSALS = {
    "hall-closed": N_("大厅当前不在服务时间，暂停取号"),
    "department-not-here": N_("该部门不在本大厅设窗口"),
    "no-window-today": N_("该部门今日没有开放的窗口"),
    "department-closed": N_("该部门窗口暂未开放，暂不能取号"),
    "unknown-item": N_("没有这个服务事项"),
    "unknown-department": N_("本大厅没有这个部门"),
    "unknown-ticket": N_("今日没有这个号码"),
    "not-missed": N_("这个号码不是过号状态，无需重新排队"),
    "rejoin-limit": N_("这个号码已不能再重新排队，请重新取号"),
    "invalid-form": N_("提交的内容不完整或格式不正确，请返回重新填写"),
    # appointment check-in (edge.appointments.check_in)
    "bad-entry": N_("请输入 6 位预约码，或预约时所留手机号的后 4 位"),
    "no-booking": N_("没有找到待签到的预约，请核对后重新输入"),
    "several-bookings": N_("该手机尾号今日有多个预约，请输入预约码"),
    "not-today": N_("您的预约不在今天，请按预约日期前来"),
    "already-checked-in": N_("该预约已签到，请按号码条等候叫号"),
    "too-early": N_("还未到签到时间，请在预约时段开始前不久再来签到"),
    # the phone page (edge.pages.phone, edge.ratings.rate_from_phone)
    "unknown-link": N_("该链接无效：请扫描号码条上的二维码"),
    "already-rated": N_("本次服务已评价过，每次服务只能评价一次"),
    "nothing-to-rate": N_("本次服务尚未办结，办结后即可评价"),
    "too-late": N_("评价时间已过，感谢您的支持"),
    "bad-level": N_("请选择一个评价等级"),
}


def refusal_text(lang: str, code: str | None, message: str) -> str:
    """`message` (the hall's Chinese wording) in the visit's language."""
    if i18n.choose(lang) == i18n.DEFAULT:
        return message
    t = i18n.translations(lang)
    return t.gettext(VISITOR_REFUSALS[code]) if code in VISITOR_REFUSALS else t.gettext("无法完成，请咨询服务台")


def error_page(request: Request, status: int, message: str, code: str | None = None) -> Template:
    """The error page: on the public screens (kiosk, guide, display) in their layout, without
    staff links, leading back to the kiosk; elsewhere the staff layout, back to the home page."""
    public = request.url.path.startswith(PUBLIC_PREFIXES)
    prefs = visit_prefs(request)
    return render(request, hall_of(request), "error.html", status=status,
                  message=refusal_text(prefs["lang"], code, message),
                  public=public, home=keep_prefs(prefs, "/kiosk") if public else "/")


def refused_page(request: Request, exc: Refused) -> Response:
    return error_page(request, exc.status, exc.message, exc.code)


def unauthorized_page(request: Request, exc: NotAuthorizedException | PermissionDeniedException) -> Response:
    """A page the session may not use: back to the sign-on / login page the handler names,
    with the reason as the flash message (nothing was done)."""
    login = request.route_handler.opt.get("login")
    if login:
        try:
            to = login.format(**request.path_params)
        except (KeyError, IndexError, ValueError):
            to = "/"
        flash(request, exc.detail)
        return back(to)
    return error_page(request, exc.status_code, exc.detail)


def invalid_page(request: Request, exc: ValidationException) -> Response:
    return error_page(request, 400, "提交的内容不完整或格式不正确，请返回重新填写", "invalid-form")


class PageController(Controller):
    """Base of the page controllers: no OpenAPI entries; a refusal of the domain or a form that
    does not parse renders the error page."""

    include_in_schema = False
    exception_handlers = {Refused: refused_page, ValidationException: invalid_page,
                          NotAuthorizedException: unauthorized_page, PermissionDeniedException: unauthorized_page}
