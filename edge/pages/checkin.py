"""The kiosk's appointment check-in (预约签到): an on-screen keypad (the booking code's letters
and digits) where a booked visitor types the 6-character code or the last 4 digits of the phone
they booked with (edge.appointments decides). Inside the slot's window the visitor gets an
appointment ticket (called ahead of walk-ins), after it an ordinary one; before it nothing,
and the kiosk says from when to come back."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from .. import appointments, i18n
from ..context import Ctx
from ..hall import Hall
from ..web import PUBLIC, access
from ..workflow import Refused
from .common import (Form, FormBody, PageController, back, flash, hours, keep_prefs, refusal_text, show,
                     visit_prefs)

N_ = i18n.N_
ON_TIME = N_("预约签到成功，您的号码 %(number)s 将优先叫号")
LATE = N_("已超过预约签到时间，预约失效；已为您按现场取号，号码 %(number)s，请按顺序等候")


class CheckinForm(Form):
    entry: str = ""


def checkin_data(ctx: Ctx, lang: str = i18n.DEFAULT) -> dict:
    letters = [ch for ch in appointments.CODE_ALPHABET if ch.isalpha()]
    return {"hours": hours(ctx, lang), "letters": letters, "policy": ctx.store.appointment_policy(),
            "has_bookings": bool(ctx.store.bookings_on(ctx.service_date()))}


class CheckinPages(PageController):
    path = "/kiosk/checkin"

    @get("/", opt=access(PUBLIC))
    async def kiosk_checkin_page(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        return await show(request, hall, "kiosk_checkin.html", checkin_data, visit_prefs(request)["lang"])

    @post("/", opt=access(PUBLIC))
    async def kiosk_checkin(self, request: Request, hall: NamedDependency[Hall],
                            data: Annotated[CheckinForm, FormBody]) -> Redirect:
        prefs = visit_prefs(request)
        try:
            done = await hall.run(appointments.check_in, data.entry)
        except Refused as e:
            flash(request, refusal_text(prefs["lang"], e.code, e.message))
            return back(keep_prefs(prefs, "/kiosk/checkin"))
        t = i18n.translations(prefs["lang"])
        if done["status"] == "on_time":
            flash(request, t.gettext(ON_TIME) % {"number": done["number"]}, kind="ok")
        else:
            flash(request, t.gettext(LATE) % {"number": done["number"]}, kind="warn")
        return back(keep_prefs(prefs, f"/kiosk/tickets/{done['ticket']}"))
