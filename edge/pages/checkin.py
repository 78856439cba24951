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

from .. import appointments
from ..context import Ctx
from ..hall import Hall
from ..web import PUBLIC, access
from ..workflow import Refused
from .common import Form, FormBody, PageController, back, flash, hours, show


class CheckinForm(Form):
    entry: str = ""


def checkin_data(ctx: Ctx) -> dict:
    letters = [ch for ch in appointments.CODE_ALPHABET if ch.isalpha()]
    return {"hours": hours(ctx), "letters": letters, "policy": ctx.store.appointment_policy(),
            "has_bookings": bool(ctx.store.bookings_on(ctx.service_date()))}


class CheckinPages(PageController):
    path = "/kiosk/checkin"

    @get("/", opt=access(PUBLIC))
    async def kiosk_checkin_page(self, request: Request, hall: NamedDependency[Hall]) -> Template:
        return await show(request, hall, "kiosk_checkin.html", checkin_data)

    @post("/", opt=access(PUBLIC))
    async def kiosk_checkin(self, request: Request, hall: NamedDependency[Hall],
                            data: Annotated[CheckinForm, FormBody]) -> Redirect:
        try:
            done = await hall.run(appointments.check_in, data.entry)
        except Refused as e:
            flash(request, e.message)
            return back("/kiosk/checkin")
        if done["status"] == "on_time":
            flash(request, f"预约签到成功，您的号码 {done['number']} 将优先叫号", kind="ok")
        else:
            flash(request, f"已超过预约签到时间，预约失效；已为您按现场取号，号码 {done['number']}，请按顺序等候", kind="warn")
        return back(f"/kiosk/tickets/{done['ticket']}")
