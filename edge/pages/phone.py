"""The visitor's phone page (`/m/{ticket}/{tag}`): the slip's QR code opens it on the hall's
network (no internet). It shows the ticket's live state (waiting with how many are ahead and
the estimated wait, called to a window, serving, done, 过号, expired), reminds the visitor when
`rules.remind_ahead` numbers or fewer are ahead (a banner; phone.js vibrates once), and after
the service offers the five rating levels once (edge.ratings: one rating per service, from the
buttons or the phone, the first wins).

Public, without a session: the link's tag (edge.phone, an HMAC only this hall can make) is the
only credential, so a wrong tag, an unknown ticket and a malformed link all answer the same 404
(the public error page, or JSON on the API) and reveal nothing. The page shows nothing about a
person: the number, department, item, window name and state only.

Live updates: `GET /api/phone/{ticket}/{tag}/stream`, a server-sent-event stream of this
ticket's state alone (`ticket` when it changes, `heartbeat` on a quiet line), recomputed only
when a ticket, window, rating or configuration event commits; phone.js re-reads the page when
the state changes. A phone browser without EventSource polls `GET /api/phone/{ticket}/{tag}`.

In English with `?lang=en` (the page's 中文 / English toggle; the kiosk's slip links there when
the number was taken in English): the labels, states, reminder and rating levels come from the
catalog (edge/i18n.py), the query is kept on the stream, the state and the rating form, and the
business data (department, item, window names) stays Chinese, marked `lang="zh-CN"`.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import Parameter
from litestar.response import Redirect, ServerSentEvent, Template

from sync.kernel.business import RATING_LABELS
from sync.kernel.serve import until_stopped

from .. import i18n, phone, ratings
from ..context import Ctx
from ..hall import Hall
from ..live import Hub
from ..web import PUBLIC, access
from ..workflow import NotFound, Refused
from .common import Form, FormBody, PageController, back, flash, keep_prefs, refusal_text, render, visit_prefs
from .kiosk import ticket_data

MAX_ID = 64
LinkPart = Annotated[str, Parameter(max_length=MAX_ID)]
# the language of the labels (`en`; anything else is Chinese)
Lang = Annotated[str | None, Parameter(max_length=8, description="`en`: labels in English")]
# event kinds that may change what a phone page shows (its queue, its windows, its rating)
RELEVANT = ("ticket.", "window.", "rating.", "config.")
CALLED_STATES = ("called", "serving")
N_ = i18n.N_
# RATING_LABELS (sync.kernel.business) worded for the catalog (tests/edge/test_i18n.py checks they match)
RATING_LEVELS = {5: N_("非常满意"), 4: N_("满意"), 3: N_("基本满意"), 2: N_("不满意"), 1: N_("非常不满意")}


class RatingForm(Form):
    level: int = 0


def gone() -> NotFound:
    """The one answer to a link that is not this hall's link of one of its tickets."""
    return NotFound("unknown-link", "该链接无效：请扫描号码条上的二维码")


def check_link(ctx: Ctx, ticket_id: str, tag: str) -> None:
    if len(ticket_id) > MAX_ID or not phone.tag_matches(ctx, ticket_id, tag) or ctx.store.ticket(ticket_id) is None:
        raise gone()


# ---------------------------------------------------------------------------- read model and command (writer thread)


def phone_data(ctx: Ctx, ticket_id: str, tag: str, lang: str = i18n.DEFAULT) -> dict:
    """What the phone page shows: the kiosk slip's figures (kiosk.ticket_data: ahead, estimated
    wait, windows) plus the reminder and the rating offer, in `lang`."""
    check_link(ctx, ticket_id, tag)
    d = ticket_data(ctx, ticket_id, lang)
    t = d["ticket"]
    tr = i18n.translations(lang)
    remind_ahead = ctx.catalog.rules.remind_ahead
    rating = ratings.phone_rating(ctx, t)
    if rating["level"] in RATING_LEVELS:
        rating = {**rating, "label": tr.gettext(RATING_LEVELS[rating["level"]])}
    d.update(
        path=phone.ticket_path(ctx, ticket_id),
        remind=t.state == "waiting" and d["ahead"] is not None and d["ahead"] <= remind_ahead,
        remind_ahead=remind_ahead,
        rating=rating,
        levels=[(level, tr.gettext(RATING_LEVELS[level])) for level in sorted(RATING_LABELS, reverse=True)],
    )
    return d


def live_state(ctx: Ctx, ticket_id: str, tag: str, lang: str = i18n.DEFAULT) -> dict:
    """The phone page's state as JSON (the stream's `ticket` event and the polling answer):
    what changes what the page shows, and nothing about any person; labels in `lang`."""
    d = phone_data(ctx, ticket_id, tag, lang)
    t = d["ticket"]
    return {"number": t.number, "state": t.state, "state_label": d["state_label"], "department": d["dept_name"],
            "ahead": d["ahead"], "wait": d["wait"], "paused": d["paused"], "window": d["window_name"],
            "recalls": t.recalls, "remind": d["remind"], "remind_ahead": d["remind_ahead"],
            "rating": d["rating"]["state"], "rating_level": d["rating"]["level"]}


def rate(ctx: Ctx, ticket_id: str, tag: str, level: int, lang: str = i18n.DEFAULT) -> str:
    check_link(ctx, ticket_id, tag)
    r = ratings.rate_from_phone(ctx, ticket_id, level)
    tr = i18n.translations(lang)
    return tr.gettext("感谢您的评价：{label}").format(label=tr.gettext(RATING_LEVELS.get(level, r["label"])))


# ---------------------------------------------------------------------------- routes


class PhonePages(PageController):
    path = "/m"

    @get("/{ticket_id:str}/{tag:str}", opt=access(PUBLIC))
    async def phone_page(self, request: Request, hall: NamedDependency[Hall], ticket_id: LinkPart,
                         tag: LinkPart) -> Template:
        lang = visit_prefs(request)["lang"]
        d = await hall.run(phone_data, ticket_id, tag, lang)
        suffix = "" if lang == i18n.DEFAULT else f"?lang={lang}"  # the live part's requests keep the language
        return render(request, hall, "phone.html", api=f"/api/phone{d['path'][2:]}", api_query=suffix, **d)

    @post("/{ticket_id:str}/{tag:str}/rating", opt=access(PUBLIC))
    async def phone_rating(self, request: Request, hall: NamedDependency[Hall], ticket_id: LinkPart, tag: LinkPart,
                           data: Annotated[RatingForm, FormBody]) -> Redirect:
        prefs = visit_prefs(request)
        try:
            msg = await hall.run(rate, ticket_id, tag, data.level, prefs["lang"])
        except NotFound:
            raise
        except Refused as e:
            flash(request, refusal_text(prefs["lang"], e.code, e.message))
        else:
            flash(request, msg, kind="ok")
        return back(keep_prefs(prefs, f"/m/{ticket_id}/{tag}"))


class PhoneApi(Controller):
    """The phone page's live state (JSON), for phone.js."""

    path = "/api/phone"
    tags = ["phone"]

    @get("/{ticket_id:str}/{tag:str}", summary="The phone page's ticket state (the link from the slip's QR code)",
         opt=access(PUBLIC))
    async def phone_state(self, hall: NamedDependency[Hall], ticket_id: LinkPart, tag: LinkPart,
                          lang: Lang = None) -> dict:
        return await hall.run(live_state, ticket_id, tag, i18n.choose(lang))

    @get("/{ticket_id:str}/{tag:str}/stream", opt=access(PUBLIC),
         summary="Server-sent events of the phone page's ticket: `ticket` on a change, `heartbeat` when quiet")
    async def phone_stream(self, hall: NamedDependency[Hall], hub: NamedDependency[Hub], request: Request,
                           ticket_id: LinkPart, tag: LinkPart, lang: Lang = None) -> ServerSentEvent:
        lang = i18n.choose(lang)
        first = msgspec.json.encode(await hall.run(live_state, ticket_id, tag, lang)).decode()  # a bad link: 404 here
        stopping = request.app.state["stopping"]
        heartbeat = hall.config.http.stream_heartbeat_seconds

        async def events():
            last = first
            yield {"event": "ticket", "data": last}
            async for news in until_stopped(hub.subscribe(), stopping, heartbeat):
                if news is not None and not any(k.startswith(RELEVANT) for k in news[0]):
                    continue
                # quiet or a relevant commit: re-read (a quiet line also ends the rating window)
                try:
                    now = msgspec.json.encode(await hall.run(live_state, ticket_id, tag, lang)).decode()
                except Refused:
                    return
                if now != last:
                    last = now
                    yield {"event": "ticket", "data": now}
                elif news is None:
                    yield {"event": "heartbeat", "data": "{}"}

        return ServerSentEvent(events())
