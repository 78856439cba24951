"""Printable notices of a case: 一次性告知书, 容缺受理通知书, 不予受理通知书 and the receipts of
promised and joint cases (print styles live in hall.css); `?format=pdf`: the same notice as an A4
PDF (edge.pages.notices_pdf)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from .. import cases, views
from ..context import Ctx
from ..hall import Hall
from ..web import STAFF_OR_MANAGER, access
from . import notices_pdf
from .common import NOTICE_TITLES, PageController, date_label, show, staff_name


def notice_data(ctx: Ctx, case_id: str) -> dict:
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
        "staff_name": staff_name(ctx, c.staff),
        "date": date_label(b["opened_at"]),
        "time": views.hhmm(ctx, c.opened_at),
        "deadline": date_label(c.deadline),
        "supply_by": date_label(c.supply_by),
    }


class NoticePages(PageController):
    path = "/notices"

    @get("/{case_id:str}", opt=access(STAFF_OR_MANAGER, "/console/"))
    async def notice(self, request: Request, hall: NamedDependency[Hall], case_id: FromPath[str],
                     fmt: Annotated[Literal["html", "pdf"], QueryParameter(name="format")] = "html") -> Response:
        if fmt == "html":
            return await show(request, hall, "notice.html", notice_data, case_id)
        data = await hall.run(notice_data, case_id)
        font = await asyncio.to_thread(notices_pdf.font_of, hall.config.notices)
        pdf = await asyncio.to_thread(notices_pdf.render, data, hall.config.hall, font)
        name = f"notice-{data['case']['number']}.pdf"
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"})
