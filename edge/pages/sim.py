"""`--simulate` only: the device simulator page (every pin with its role and state, buttons to
press, door and power toggles, a badge form, the readers' plugs; the receipt printer's last
slips as decoded from its ESC/POS stream, with its paper and power switches); the lamps update
live."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from ..context import Ctx
from ..hall import Hall
from ..printing import printer_state, switch_printer
from ..web import PUBLIC, access
from .common import Form, FormBody, back, flash, hours, render


class PrinterForm(Form):
    paper: str = ""  # ok | low | out
    online: str = ""  # "1" | "0"


def sim_data(ctx: Ctx) -> dict:
    return {"windows": {w.id: w.name for w in ctx.catalog.business.windows},
            "staff": [{"name": s.name, "card": s.card} for s in ctx.catalog.business.staff if s.card],
            "hours": hours(ctx)}


class SimPage(Controller):
    """The simulator keeps the app's own error handling (it is not a PageController)."""

    path = "/sim"
    include_in_schema = False

    @get("/", opt=access(PUBLIC))
    async def sim(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        hw = request.app.state.get("hardware")
        readers = [{"name": n, "protocol": r.protocol, "role": r.role, "window": r.window, "label": r.label or n}
                   for n, r in (hw.reader_cfg.items() if hw is not None else [])]
        printing = request.app.state.get("printing")
        printer = printer_state(printing) if printing is not None and printing.sim is not None else None
        return render(request, hall, "sim.html", readers=readers, printer=printer, **await hall.run(sim_data))

    @post("/printer", opt=access(PUBLIC))
    async def sim_printer(self, request: Request, data: Annotated[PrinterForm, FormBody]) -> Redirect:
        """The printer's switches on the page: paper ok/low/out, power on/off."""
        printing = request.app.state.get("printing")
        if printing is None or printing.sim is None:
            flash(request, "没有模拟打印机（请在 [devices.printer] 配置打印机）")
            return back("/sim")
        paper = data.paper if data.paper in ("ok", "low", "out") else None
        online = {"1": True, "0": False}.get(data.online)
        if paper is None and online is None:
            flash(request, "未知的打印机操作")
            return back("/sim")
        await switch_printer(printing, paper, online)
        return back("/sim#printer")
