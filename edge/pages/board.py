"""The display board (叫号屏): windows in service with who serves there and what they call,
the latest calls and the queues; display.js keeps it live from the event stream."""

from __future__ import annotations

import re

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Template

from .. import stepaway, views
from ..context import Ctx
from ..hall import Hall
from ..workflow import WINDOW
from ..web import PUBLIC, access
from .common import PageController, hours, show


RECENT_AND_QUEUE_ROWS = 14


def natural(name: str) -> list:
    """Sort key putting "2号窗口" before "10号窗口" (only the server sorts; display.js swaps in what it renders)."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name) if p]


def board_data(ctx: Ctx) -> dict:
    board = views.display(ctx)
    for w in board["windows"]:
        w["state_label"] = WINDOW.labels.get(w["state"], w["state"])
    return {
        "board": board,
        "shown": sorted((w for w in board["windows"] if w["staff"] or w["in_service"]),
                        key=lambda w: natural(w["name"])),
        "limit_seconds": stepaway.limit_seconds(ctx),
        # the side column holds RECENT_AND_QUEUE_ROWS rows: every department's queue, then as
        # many of the latest calls as fit (at least 3)
        "recent_rows": max(3, RECENT_AND_QUEUE_ROWS - len(board["queues"])),
        "hours": hours(ctx),
    }


class BoardPage(PageController):
    path = "/display"

    @get("/", opt=access(PUBLIC))
    async def display(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        return await show(request, hall, "display.html", board_data)
