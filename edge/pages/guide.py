"""The public guide (办事指南): every item of the hall by department, searchable, and an item's
full guide (conditions, basis, materials, process, promised time, fees, where to go). In Chinese,
or in English with `?lang=en` (the business data stays Chinese)."""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from .. import i18n
from ..context import Ctx
from ..hall import Hall
from ..web import PUBLIC, access
from .common import MODE_LABELS, PageController, get_item, lang_of, promise, show


def index_data(ctx: Ctx, lang: str = i18n.DEFAULT) -> dict:
    cat = ctx.catalog
    items = cat.hall_items()
    t = i18n.translations(lang)
    return {"departments": [{"dept": d, "item_list": [i for i in items if i.department == d.id]}
                            for d in cat.hall_departments()],
            "modes": {k: t.gettext(v) for k, v in MODE_LABELS.items()}}


def item_data(ctx: Ctx, item_id: str, lang: str = i18n.DEFAULT) -> dict:
    it = get_item(ctx, item_id)
    dept = ctx.catalog.departments[it.department]
    t = i18n.translations(lang)
    return {
        "item": it, "dept": dept, "promise": promise(ctx, it, lang),
        "mode": t.gettext(MODE_LABELS[it.mode]) if it.mode in MODE_LABELS else it.mode,
        "co_departments": [ctx.catalog.departments.get(d) or d for d in it.co_departments],
        "co_names": [d.name if d else d_id for d_id in it.co_departments
                     for d in [ctx.catalog.departments.get(d_id)]],
        "here": it.department in {w.department for w in ctx.catalog.business.windows},
        "windows": [w.name for w in ctx.catalog.business.windows if w.department == it.department],
    }


class GuidePages(PageController):
    path = "/guide"

    @get("/", opt=access(PUBLIC))
    async def guide(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        return await show(request, hall, "guide.html", index_data, lang_of(request))

    @get("/{item_id:str}", opt=access(PUBLIC))
    async def guide_item(self, request: Request, hall: NamedDependency[Hall], item_id: FromPath[str]) -> Template:
        return await show(request, hall, "guide_item.html", item_data, item_id, lang_of(request))
