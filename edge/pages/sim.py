"""`--simulate` only: the device simulator page (every pin with its role and state, buttons to
press, door and power toggles, a badge form, the readers' plugs); the lamps update live."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from ..context import Ctx
from ..hall import Hall
from ..web import PUBLIC, access
from .common import hours, render


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
        return render(request, hall, "sim.html", readers=readers, **await hall.run(sim_data))
