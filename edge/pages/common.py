"""What every screen of the hall's pages shares: labels, the form body, the read-model pieces
several screens show (opening hours, dates, promised time), the session (staff and manager
sign-on, one-shot flash messages), rendering and the error page."""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
from litestar import Controller, Request, Response
from litestar.enums import MediaType, RequestEncodingType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException, ValidationException
from litestar.params import Body
from litestar.response import Redirect, Template

from sync.kernel.business import Item

from .. import views
from ..context import Ctx
from ..hall import Hall
from ..web import rotate_session
from ..workflow import WINDOW, NotFound, Refused

WEEKDAYS = "一二三四五六日"
MODE_LABELS = {"instant": "即办件", "promised": "承诺件", "joint": "联办件"}
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


def day_label(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日 星期{WEEKDAYS[d.weekday()]}"


def date_label(iso_date: str | None) -> str:
    if not iso_date:
        return ""
    d = date.fromisoformat(iso_date[:10])
    return f"{d.year}年{d.month}月{d.day}日"


def hours(ctx: Ctx) -> dict:
    """Today's opening state: open now, today's periods, the next opening when closed."""
    cal, now, today = ctx.calendar, ctx.now(), ctx.today()
    is_open = cal.is_open(now)
    nxt = None if is_open else cal.next_open(now)
    return {
        "open": is_open,
        "today": day_label(today),
        "now": cal.local(now).strftime("%H:%M"),
        "periods": [f"{s:%H:%M}–{e:%H:%M}" for s, e in cal.periods_on(today)],
        "closures": [c.name for c in cal.closures_on(today) if c.name],
        "next_open": f"{cal.local(nxt).month}月{cal.local(nxt).day}日 {cal.local(nxt):%H:%M}" if nxt else None,
    }


def get_item(ctx: Ctx, item_id: str) -> Item:
    it = ctx.catalog.items.get(item_id)
    if it is None:
        raise NotFound("unknown-item", f"没有编号为 {item_id} 的服务事项")
    return it


def promise(ctx: Ctx, it: Item) -> dict:
    """Promised time of an item: label and, for promised/joint items, today's deadline."""
    if not it.promise_days:
        return {"label": "即时办结", "deadline": None}
    due = ctx.calendar.add_working_days(ctx.today(), it.promise_days)
    return {"label": f"{it.promise_days} 个工作日", "deadline": date_label(due.isoformat())}


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


# ============================================================================ responses


def render(request: Request, hall: Hall | None, name: str, status: int = 200, **context: Any) -> Template:
    context.setdefault("flash", take_flash(request))
    context["hall"] = hall.config.hall if hall is not None else None
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


def error_page(request: Request, status: int, message: str) -> Template:
    """The error page: on the public screens (kiosk, guide, display) in their layout, without
    staff links, leading back to the kiosk; elsewhere the staff layout, back to the home page."""
    public = request.url.path.startswith(PUBLIC_PREFIXES)
    return render(request, hall_of(request), "error.html", status=status, message=message,
                  public=public, home="/kiosk" if public else "/")


def refused_page(request: Request, exc: Refused) -> Response:
    return error_page(request, exc.status, exc.message)


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
    return error_page(request, 400, "提交的内容不完整或格式不正确，请返回重新填写")


class PageController(Controller):
    """Base of the page controllers: no OpenAPI entries; a refusal of the domain or a form that
    does not parse renders the error page."""

    include_in_schema = False
    exception_handlers = {Refused: refused_page, ValidationException: invalid_page,
                          NotAuthorizedException: unauthorized_page, PermissionDeniedException: unauthorized_page}
