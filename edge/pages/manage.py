"""The hall manager's page: login, today's windows and queues, opening a flexible window,
withdrawing a window for the rest of the day, confirming a sign-off the console refuses because
visitors would be left waiting (recorded with the manager's id), reprinting a slip, and the
result notices' outbox (counts, sending a failed notice again)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from .. import outbox, presence, views, windows
from ..context import Ctx
from ..hall import Hall
from ..workflow import NotFound, Refused
from ..web import MANAGER, MANAGER_KEYS, PUBLIC, access, check_manager, throttled_login
from .common import (Form, FormBody, PageController, back, flash, hours, labelled_windows, manager, render,
                     run_and_flash, session, sign_in, sign_out)
from .reprint import ReprintForm, reprint


class LoginForm(Form):
    manager: str = ""
    password: str = ""


# ---------------------------------------------------------------------------- read model and commands (writer thread)


def manage_data(ctx: Ctx) -> dict:
    tickets = ctx.store.tickets_on(ctx.service_date())
    return {
        "windows": labelled_windows(ctx),
        "queues": views.queue_summary(ctx),
        "hours": hours(ctx),
        "issued": len(tickets),
        "done": sum(1 for t in tickets if t.state == "done"),
        "no_show": sum(1 for t in tickets if t.state == "no_show"),
        "open_cases": len(ctx.store.cases(state="open")),
        "outbox": outbox.summary(ctx) if ctx.notify.gateway != "none" else None,
    }


def window_command(ctx: Ctx, action: str, window_id: str, manager_id: str) -> str:
    name = ctx.catalog.windows[window_id].name if window_id in ctx.catalog.windows else window_id
    if action == "open":
        windows.open_window(ctx, window_id, manager_id)
        return f"{name} 已开放"
    if action == "withdraw":
        windows.withdraw_window(ctx, window_id, manager_id)
        return f"{name} 已撤回（今日不再开放）"
    if action == "sign-off":  # the manager confirms a sign-off the console refuses [U 21, B 28, C 11(6)]
        w = windows.get_window(ctx, window_id)
        if w.staff is None:
            raise Refused("window-closed", f"{name} 无人签到")
        left = presence.left_waiting(ctx, w)
        presence.sign_off(ctx, window_id, w.staff, override_by=manager_id)
        return f"{name} 已确认签退" + (f"（本部门仍有 {left} 人等候，请安排其他窗口办理）" if left else "")
    raise NotFound("unknown-action", f"未知的操作 {action}")


# ---------------------------------------------------------------------------- routes


class ManagePages(PageController):
    path = "/manage"

    @get("/", opt=access(MANAGER, "/manage/login"))
    async def manage(self, request: Request, hall: NamedDependency[Hall]) -> Any:
        if not manager(request):
            return back("/manage/login")
        data = await hall.run(manage_data)
        return render(request, hall, "manage.html", manager_name=session(request).get("manager_name"), **data)

    @get("/login", opt=access(PUBLIC))
    async def manage_login_form(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        return render(request, hall, "manage_login.html")

    @post("/login", opt=access(PUBLIC))
    async def manage_login(self, request: Request, hall: NamedDependency[Hall],
                           data: Annotated[LoginForm, FormBody]) -> Redirect:
        manager_id = data.manager.strip()[:64]
        try:
            name, key = await throttled_login(request, "manager", manager_id, check_manager, manager_id,
                                              data.password[:256])
        except Refused as e:
            flash(request, e.message)
            return back("/manage/login")
        sign_in(request, manager=manager_id, manager_name=name, manager_key=key)
        return back("/manage")

    @post("/logout", opt=access(PUBLIC))
    async def manage_logout(self, request: Request) -> Redirect:
        sign_out(request, *MANAGER_KEYS)
        return back("/manage/login")

    @post("/reprint", opt=access(MANAGER, "/manage/login"))
    async def manage_reprint(self, request: Request, hall: NamedDependency[Hall],
                             data: Annotated[ReprintForm, FormBody]) -> Redirect:
        """补打号码条 by number."""
        manager_id = manager(request)
        if not manager_id:
            return back("/manage/login")
        await reprint(request, hall, data.number, manager_id, "manager")
        return back("/manage")

    @post("/windows/{window_id:str}/{action:str}", opt=access(MANAGER, "/manage/login"))
    async def manage_window(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                            action: FromPath[str]) -> Redirect:
        manager_id = manager(request)
        if not manager_id:
            return back("/manage/login")
        return await run_and_flash(request, hall, "/manage", window_command, action, window_id, manager_id)

    @post("/notices/{notice_id:str}/retry", opt=access(MANAGER, "/manage/login"))
    async def manage_notice_retry(self, request: Request, hall: NamedDependency[Hall],
                                  notice_id: FromPath[str]) -> Redirect:
        manager_id = manager(request)
        if not manager_id:
            return back("/manage/login")
        return await run_and_flash(request, hall, "/manage#outbox", outbox.retry, notice_id[:64], manager_id)
