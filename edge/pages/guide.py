"""The public guide (办事指南): every item of the hall by department, searchable, and an item's
full guide (conditions, basis, materials, process, promised time, fees, where to go)."""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from ..context import Ctx
from ..hall import Hall
from ..web import PUBLIC, access
from .common import MODE_LABELS, PageController, get_item, promise, show


def index_data(ctx: Ctx) -> dict:
    cat = ctx.catalog
    items = cat.hall_items()
    return {"departments": [{"dept": d, "item_list": [i for i in items if i.department == d.id]}
                            for d in cat.hall_departments()],
            "modes": MODE_LABELS}


def item_data(ctx: Ctx, item_id: str) -> dict:
    it = get_item(ctx, item_id)
    dept = ctx.catalog.departments[it.department]
    return {
        "item": it, "dept": dept, "promise": promise(ctx, it), "mode": MODE_LABELS.get(it.mode, it.mode),
        "co_departments": [ctx.catalog.departments.get(d) or d for d in it.co_departments],
        "here": it.department in {w.department for w in ctx.catalog.business.windows},
        "windows": [w.name for w in ctx.catalog.business.windows if w.department == it.department],
    }


class GuidePages(PageController):
    path = "/guide"

    @get("/", opt=access(PUBLIC))
    async def guide(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        return await show(request, hall, "guide.html", index_data)

    @get("/{item_id:str}", opt=access(PUBLIC))
    async def guide_item(self, request: Request, hall: NamedDependency[Hall], item_id: FromPath[str]) -> Template:
        return await show(request, hall, "guide_item.html", item_data, item_id)
