"""The hall manager's closing check page (/manage/closing) [J 42, U 31, B 39]: today's result
(passed, failing inputs, alarms, who closed), what the door/power inputs read now, 「立即检查」
(the check with the inputs, recorded — as `POST /api/closing/check`), and the manual check: the
manager confirms doors shut and power off after walking the hall, with a note (`closing.checked`
with `manual`, edge.closing.manual_check), which central shows as 人工确认. Session-protected
like /manage; works offline."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from .. import closing
from ..context import Ctx
from ..hall import Hall
from ..web import MANAGER, access
from .common import Form, FormBody, PageController, back, flash, manager, render, run_and_flash, session


class ManualForm(Form):
    doors: str = ""
    power: str = ""
    note: str = ""


def _sensors(request: Request) -> list[closing.Sensor]:
    hw = request.app.state.get("hardware")
    return hw.sensors() if hw is not None else []


def closing_page(ctx: Ctx, sensors: list[closing.Sensor]) -> dict:
    return {"state": closing.state(ctx, bool(sensors)), "checks": closing.checks_today(ctx),
            "inputs": [{"label": s.label or s.name, "role": "门窗" if s.role == "door" else "电源", "ok": s.ok,
                        "state_label": closing.STATE_LABELS.get(s.state, s.state)} for s in sensors],
            "items": closing.MANUAL_ITEMS, "today": ctx.service_date()}


def run_check(ctx: Ctx, sensors: list[closing.Sensor], manager_id: str) -> str:
    st = closing.check(ctx, sensors, manager_id, True)
    return f"已检查并记录：{st['status_label']}"


def record_manual(ctx: Ctx, sensors: list[closing.Sensor], data: ManualForm, manager_id: str) -> str:
    st = closing.manual_check(ctx, sensors, manager_id, bool(data.doors), bool(data.power), data.note)
    return f"人工检查已记录：{st['status_label']}"


class ManageClosingPages(PageController):
    path = "/manage/closing"

    @get("/", opt=access(MANAGER, "/manage/login"))
    async def manage_closing(self, request: Request, hall: NamedDependency[Hall]) -> Template | Redirect:
        if not manager(request):
            return back("/manage/login")
        data = await hall.run(closing_page, _sensors(request))
        return render(request, hall, "manage_closing.html", manager_name=session(request).get("manager_name"), **data)

    @post("/check", opt=access(MANAGER, "/manage/login"))
    async def manage_closing_check(self, request: Request, hall: NamedDependency[Hall]) -> Redirect:
        manager_id = manager(request)
        if not manager_id:
            return back("/manage/login")
        sensors = _sensors(request)
        if not sensors:
            flash(request, "本大厅未配置门磁或电源检测，请做人工检查")
            return back("/manage/closing")
        return await run_and_flash(request, hall, "/manage/closing", run_check, sensors, manager_id)

    @post("/manual", opt=access(MANAGER, "/manage/login"))
    async def manage_closing_manual(self, request: Request, hall: NamedDependency[Hall],
                                    data: Annotated[ManualForm, FormBody]) -> Redirect:
        manager_id = manager(request)
        if not manager_id:
            return back("/manage/login")
        return await run_and_flash(request, hall, "/manage/closing", record_manual, _sensors(request), data, manager_id)
