"""The open cases of a window's department (承诺件, 联办件, 容缺受理, 一次性告知): material handoffs
between departments, supplied materials, the applicant's phone number for the result notice
(edge.outbox), finishing a case; the last closed cases."""

from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect

from .. import cases, outbox, views, windows
from ..cases import OUTCOME_LABELS
from ..context import Ctx
from ..hall import Hall
from ..workflow import NotFound
from ..web import AT_WINDOW, access, own_case
from .common import (NOTICE_TITLES, Form, FormBody, PageController, as_list, date_label, day_label, not_signed,
                     render, run_and_flash, staff_at)

CASE_RESULTS = {"done": "办结", "refused": "不予办理", "withdrawn": "申请人撤回"}


class HandoffForm(Form):
    from_department: str = ""
    to_department: str = ""
    materials: str = ""
    note: str = ""


class SupplyForm(Form):
    materials: list[str] | str = []


class PhoneForm(Form):
    phone: str = ""


NOTICE_STATES = {"queued": "待发送", "sent": "已发送", "failed": "发送失败"}


class FinishForm(Form):
    result: str = "done"
    note: str = ""


# ---------------------------------------------------------------------------- read model and commands (writer thread)


def item_name(ctx: Ctx, item_id: str | None) -> str:
    it = ctx.catalog.items.get(item_id or "")
    return it.name if it else (item_id or "")


def cases_data(ctx: Ctx, window_id: str, staff: str | None) -> dict:
    w = windows.get_window(ctx, window_id)
    brief = views.window_brief(ctx, w)
    if staff is None or w.staff != staff:
        return {"window": brief, "signed": False}
    out = []
    for c in ctx.store.cases(state="open", department=w.department):
        b = views.case_brief(ctx, c)
        b["outcome_label"] = OUTCOME_LABELS.get(c.outcome, c.outcome)
        b["deadline_label"] = date_label(c.deadline)
        b["supply_by_label"] = date_label(c.supply_by)
        b["opened_label"] = date_label(b["opened_at"])
        b["outstanding"] = [m for m in b["missing"] if not m["supplied"]]
        b["involved"] = [{"id": c.department, "name": b["department_name"]}] + b["co_departments"]
        b["lead"] = c.department == w.department
        contact = ctx.store.contact(c.id)
        b["phone"] = outbox.masked(contact.phone) if contact else None
        b["notices"] = [{"reason": n.reason, "state": NOTICE_STATES.get(n.state, n.state)}
                        for n in ctx.store.notices_of(c.id)]
        out.append(b)
    out.sort(key=lambda b: (b["deadline"] or "9999", b["opened_at"] or ""))
    closed = []
    for c in ctx.store.cases(state="closed", department=w.department, limit=10):
        closed.append({"id": c.id, "number": c.number, "item_name": item_name(ctx, c.item),
                       "outcome_label": OUTCOME_LABELS.get(c.outcome, c.outcome),
                       "result": CASE_RESULTS.get(c.result or "", c.result or ""),
                       "notice": c.outcome in NOTICE_TITLES})
    return {"window": brief, "signed": True, "dept": ctx.catalog.departments.get(w.department),
            "cases": out, "closed": closed, "results": CASE_RESULTS, "today": day_label(ctx.today()),
            "notify": ctx.notify.gateway != "none", "notice_outcomes": outbox.NOTICE_OUTCOMES}


def split_materials(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[\n\r,，、;；]+", text) if p.strip()]


def case_action(ctx: Ctx, action: str, window_id: str, staff: str, case_id: str, form: Any) -> str:
    c = own_case(ctx, window_id, staff, case_id)  # the same check as the JSON API's case actions
    if action == "handoff":
        cases.handoff(ctx, case_id, form.from_department, form.to_department, split_materials(form.materials),
                      staff, form.note)
        return f"{c.number} 材料移交已登记"
    if action == "supply":
        cases.supply(ctx, case_id, as_list(form.materials), staff)
        return f"{c.number} 补交材料已登记"
    if action == "phone":
        number = outbox.record_phone(ctx, case_id, form.phone[:40], staff)
        return f"{c.number} 已登记通知电话 {outbox.masked(number)}，办结后将发送短信通知"
    if action == "finish":
        cases.finish(ctx, case_id, staff, form.result, form.note)
        return f"{c.number} 办件已办结"
    raise NotFound("unknown-action", f"未知的操作 {action}")


# ---------------------------------------------------------------------------- routes


class ConsoleCasesPages(PageController):
    path = "/console/{window_id:str}/cases"

    @get("/", opt=access(AT_WINDOW, "/console/{window_id}"))
    async def console_cases(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str]) -> Any:
        data = await hall.run(cases_data, window_id, staff_at(request, window_id))
        if not data["signed"]:
            return not_signed(request, window_id)
        return render(request, hall, "console_cases.html", **data)

    @post("/{case_id:str}/handoff", opt=access(AT_WINDOW, "/console/{window_id}"))
    async def case_handoff(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                           case_id: FromPath[str], data: Annotated[HandoffForm, FormBody]) -> Redirect:
        return await self._case(request, hall, window_id, "handoff", case_id, data)

    @post("/{case_id:str}/supply", opt=access(AT_WINDOW, "/console/{window_id}"))
    async def case_supply(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                          case_id: FromPath[str], data: Annotated[SupplyForm, FormBody]) -> Redirect:
        return await self._case(request, hall, window_id, "supply", case_id, data)

    @post("/{case_id:str}/phone", opt=access(AT_WINDOW, "/console/{window_id}"))
    async def case_phone(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                         case_id: FromPath[str], data: Annotated[PhoneForm, FormBody]) -> Redirect:
        return await self._case(request, hall, window_id, "phone", case_id, data)

    @post("/{case_id:str}/finish", opt=access(AT_WINDOW, "/console/{window_id}"))
    async def case_finish(self, request: Request, hall: NamedDependency[Hall], window_id: FromPath[str],
                          case_id: FromPath[str], data: Annotated[FinishForm, FormBody]) -> Redirect:
        return await self._case(request, hall, window_id, "finish", case_id, data)

    async def _case(self, request: Request, hall: Hall, window_id: str, action: str, case_id: str,
                    form: Any) -> Redirect:
        staff = staff_at(request, window_id)
        if staff is None:
            return not_signed(request, window_id)
        return await run_and_flash(request, hall, f"/console/{window_id}/cases", case_action, action, window_id,
                                   staff, case_id, form)
