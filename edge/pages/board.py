"""The display board (叫号屏): windows in service with who serves there (亮身份: name, photo,
post, phone, service pledge [J 18, H 5]) and what they call, the prompt to rate after a service
[J 23], the latest calls and the queues; display.js keeps it live from the event stream.

`BoardApi` (under /api/display) serves what the board loads besides the page: the staff photos,
the prompts to rate (the window consoles read them too) and the announcements as audio made on
the hall node (edge.voice) for a browser without a Chinese voice.

One screen for every visitor: with `[display] bilingual` (the default) its fixed labels are in
Chinese with the English under them (`bi` in the template, edge/i18n.py; display.js's own texts
come from the page's `#board-text` JSON), while business data (hall, window, department and staff
names) and the spoken announcements stay Chinese."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Annotated, Literal

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import Parameter, QueryParameter
from litestar.response import File, Template

from .. import i18n, rateprompt, stepaway, views, voice
from ..context import Ctx
from ..hall import Hall
from ..workflow import WINDOW, NotFound
from ..web import PUBLIC, access
from .common import PageController, hours, show


RECENT_AND_QUEUE_ROWS = 14
PHOTO_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}
MAX_ID = 64
N_ = i18n.N_
# rateprompt.PROMPT_TEXT for the catalog (the card's prompt to rate; tests/edge/test_i18n.py checks they match)
PROMPT_TEXT = N_("请对本次服务进行评价")
LAST_UPDATE = N_("（最后更新 {time}）")  # display.js: when the board last heard from the hall, while it is lost


def natural(name: str) -> list:
    """Sort key putting "2号窗口" before "10号窗口" (only the server sorts; display.js swaps in what it renders)."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name) if p]


def photo_path(photos_dir: str, file_name: str) -> Path | None:
    """The photo `file_name` in `photos_dir` when it is a file there (never outside it)."""
    if not photos_dir or not file_name or Path(file_name).suffix.lower() not in PHOTO_TYPES:
        return None
    base = Path(photos_dir).resolve()
    p = (base / file_name).resolve()
    return p if p.parent == base and p.is_file() else None


def identity(ctx: Ctx, staff_id: str, photos_dir: str) -> dict:
    """What the board adds to a window's 亮身份 beyond views.staff_public: post (the staff
    member's `title`), service pledge, and whether a photo is there to show."""
    s = ctx.catalog.staff.get(staff_id)
    if s is None:
        return {"post": "", "pledge": "", "photo": False}
    return {"post": s.title, "pledge": s.pledge, "photo": photo_path(photos_dir, s.photo) is not None}


def board_text(bilingual: bool) -> dict:
    """The texts display.js writes itself (the `#board-text` JSON of the page): each shown one
    as {"zh": …, "en": … or null}; the spoken one in Chinese."""
    en = i18n.translations("en")
    return {"last_update": {"zh": LAST_UPDATE, "en": en.gettext(LAST_UPDATE) if bilingual else None},
            "voice_enabled": voice.ENABLED_TEXT}


def board_data(ctx: Ctx, photos_dir: str = "", bilingual: bool = True) -> dict:
    board = views.display(ctx)
    prompts = rateprompt.prompts(ctx)
    for w in board["windows"]:
        w["state_label"] = WINDOW.labels.get(w["state"], w["state"])
        w["prompt"] = prompts.get(w["id"])
        if w["staff"]:
            w["staff"].update(identity(ctx, w["staff"]["id"], photos_dir))
    return {
        "board": board,
        "shown": sorted((w for w in board["windows"] if w["staff"] or w["in_service"]),
                        key=lambda w: natural(w["name"])),
        "limit_seconds": stepaway.limit_seconds(ctx),
        # the side column holds RECENT_AND_QUEUE_ROWS rows: every department's queue, then as
        # many of the latest calls as fit (at least 3)
        "recent_rows": max(3, RECENT_AND_QUEUE_ROWS - len(board["queues"])),
        "hours": hours(ctx),
        "hours_en": hours(ctx, "en") if bilingual else None,
        "bilingual": bilingual,
        "board_text": board_text(bilingual),
    }


class BoardPage(PageController):
    path = "/display"

    @get("/", opt=access(PUBLIC))
    async def display(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        cfg = hall.config.display
        return await show(request, hall, "display.html", board_data, cfg.photos_dir, cfg.bilingual)


def _on_duty_photo(ctx: Ctx, staff_id: str, photos_dir: str) -> Path:
    """The photo of a staff member signed on at a window now (the board shows no one else)."""
    s = ctx.catalog.staff.get(staff_id)
    if s is None or not any(w.staff == staff_id for w in ctx.store.windows()):
        raise NotFound("no-photo", "没有该工作人员的照片")
    p = photo_path(photos_dir, s.photo)
    if p is None:
        raise NotFound("no-photo", "没有该工作人员的照片")
    return p


class BoardApi(Controller):
    path = "/api/display"
    tags = ["display"]

    @get("/prompts", summary="Windows prompting the visitor to rate the service that just ended there",
         opt=access(PUBLIC))
    async def prompts(self, hall: NamedDependency[Hall]) -> list[dict]:
        return list((await hall.run(rateprompt.prompts)).values())

    @get("/photos/{staff_id:str}", summary="The photo of a staff member on duty at a window (亮身份)",
         opt=access(PUBLIC), media_type="image/jpeg")
    async def photo(self, hall: NamedDependency[Hall],
                    staff_id: Annotated[str, Parameter(max_length=MAX_ID)]) -> File:
        p = await hall.run(_on_duty_photo, staff_id, hall.config.display.photos_dir)
        return File(path=p, media_type=PHOTO_TYPES[p.suffix.lower()], content_disposition_type="inline",
                    headers={"Cache-Control": "public, max-age=300"})

    @get("/voice", summary="An announcement of the board as audio/wav spoken on the hall node (espeak-ng)",
         opt=access(PUBLIC), media_type="audio/wav")
    async def voice(self, hall: NamedDependency[Hall],
                    what: Annotated[Literal["call", "rate", "enabled"], QueryParameter()],
                    window: Annotated[str | None, QueryParameter(max_length=MAX_ID)] = None,
                    number: Annotated[str | None, QueryParameter(max_length=MAX_ID)] = None) -> Response:
        text = await hall.run(voice.announcement, what, window, number)
        speaker = voice.voice_for(hall.config.display)
        data = await asyncio.to_thread(speaker.wav, text)
        return Response(data, media_type="audio/wav", headers={"Cache-Control": "public, max-age=3600"})
