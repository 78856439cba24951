"""The hall's home page: opening hours, staffed windows, people waiting, links to every screen."""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from .. import views
from ..context import Ctx
from ..hall import Hall
from ..web import PUBLIC, access
from .common import PageController, hours, render


def home_data(ctx: Ctx) -> dict:
    ws = views.windows(ctx)
    qs = views.queue_summary(ctx)
    return {
        "hours": hours(ctx),
        "staffed": sum(1 for w in ws if w["staff"]),
        "windows": len(ws),
        "waiting": sum(q["waiting"] for q in qs),
        "departments": len(qs),
    }


class HomePage(PageController):
    path = "/"

    @get("/", name="home", opt=access(PUBLIC))
    async def home(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        data = await hall.run(home_data)
        return render(request, hall, "home.html", simulate=request.app.state.get("simulate", False), **data)
