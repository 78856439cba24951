"""Appointments (预约) at central: the JSON API for an external booking system, the page staff
take phone bookings on (with the CSV import), and the no-show / punctuality report.

API (session cookie or HTTP Basic, as every central API; central admin every hall, a hall
manager their own hall; a department head may read and see the report of their department):
- `POST /api/appointments` `{"hall", "item", "start", "phone", "name"?}` → 201 the booking
  (with its `code`); a full slot 409, a bad field 400;
- `GET /api/appointments?hall=&first_day=&last_day=` → the bookings with their state;
  `GET /api/appointments/slots?hall=&item=&day=` → the day's slots with free places;
  `GET /api/appointments/{code}`; `DELETE /api/appointments/{code}` cancels (409 once used);
- `GET /api/reports/appointments?month=YYYY-MM&hall=&department=&format=csv|xlsx`.
Pages: `/appointments` (book, list, cancel, CSV upload), `/reports/appointments`.
Phones past `[appointments] keep_phone_days` are erased before any of these answers.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

import anyio
import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import MediaType, RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.params import Body, FromPath, JSONBody
from litestar.response import Redirect, Template

from .. import appointments_report as ar
from .. import reports as rp
from ..appointments import AppointmentBook, Conflict
from ..appointments_csv import import_csv
from ..auth import scope_of
from ..errors import BadRequest, Forbidden, NotFound, error_body
from ..export import XLSX_TYPE, filename, to_xlsx
from .common import DOMAIN_ERRORS, page_context, report_page, session, status_of


class BookingIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    hall: str
    item: str
    start: str  # slot start: YYYY-MM-DDTHH:MM (the hall's local time) or ISO with offset
    phone: str
    name: str = ""


class BookingForm(msgspec.Struct, kw_only=True):
    hall: str = ""
    item: str = ""
    start: str = ""
    phone: str = ""
    name: str = ""


class CancelForm(msgspec.Struct, kw_only=True):
    code: str = ""
    back: str = ""


def book_of(request: Request) -> AppointmentBook:
    """The app's appointment book (central.app makes it; cli sets its `[appointments]`)."""
    return request.app.state.appointments


def conflict(request: Request, exc: Conflict) -> Response:
    return Response(error_body(409, str(exc)), status_code=409)


API_ERRORS = {**DOMAIN_ERRORS, Conflict: conflict}


def _answer(report: dict, fmt: str | None) -> Response:
    if fmt in (None, "", "json"):
        return Response({k: v for k, v in report.items() if k != "columns"}
                        | {"columns": [{"key": k, "title": t} for k, t in report["columns"]]})
    if fmt == "csv":
        return Response(rp.to_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": 'attachment; filename="appointments.csv"'})
    if fmt == "xlsx":
        return Response(to_xlsx(report), media_type=XLSX_TYPE,
                        headers={"content-disposition": f'attachment; filename="{filename(report, "xlsx")}"'})
    raise BadRequest(f"format must be json, csv or xlsx, got {fmt!r}")


def _day(value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"day 格式应为 YYYY-MM-DD，收到 {value!r}") from None


class AppointmentsApi(Controller):
    """Bookings for an external booking system and scripts (see the module docstring)."""

    path = "/api"
    tags = ["appointments"]
    exception_handlers = API_ERRORS

    @post("/appointments", sync_to_thread=True, status_code=201, summary="Book a slot (409 when it is full)")
    def create(self, request: Request, ctx: NamedDependency[Any], data: JSONBody[dict[str, Any]]) -> dict:
        """Body: `BookingIn` (checked after the login, so a caller without one learns nothing)."""
        user, scope = ctx.caller(request)
        try:
            b = msgspec.convert(data, BookingIn)
        except msgspec.ValidationError as e:
            raise BadRequest(f"请求体应为 {{hall, item, start, phone, name?}}：{e}") from None
        book = book_of(request)
        book.erase_expired()
        return book.book(b.hall, b.item, b.start, b.phone, b.name, who=user.name, source="api", scope=scope)

    @get("/appointments", sync_to_thread=True, summary="Bookings with their state (?hall=&first_day=&last_day=)")
    def list_(self, request: Request, ctx: NamedDependency[Any]) -> list[dict]:
        _user, scope = ctx.caller(request)
        q = request.query_params
        book = book_of(request)
        book.erase_expired()
        first = _day(q.get("first_day"), date(2000, 1, 1)).isoformat() if q.get("first_day") else None
        last = _day(q.get("last_day"), date(2099, 12, 31)).isoformat() if q.get("last_day") else None
        return book.listing(scope, q.get("hall") or None, first, last)

    @get("/appointments/slots", sync_to_thread=True, summary="A day's slots of an item at a hall, with free places")
    def slots(self, request: Request, ctx: NamedDependency[Any]) -> list[dict]:
        _user, scope = ctx.caller(request)
        q = request.query_params
        hall = q.get("hall") or ""
        if scope.role == "hall" and hall != scope.hall:
            raise Forbidden(f"大厅管理员只能查看本大厅（{scope.hall}）的时段")
        book = book_of(request)
        return book.slots(hall, q.get("item") or "", _day(q.get("day"), book.today(hall) if hall in
                                                            book.directory.halls else date.today()))

    @get("/appointments/{code:str}", sync_to_thread=True, summary="One booking by its code")
    def one(self, request: Request, ctx: NamedDependency[Any], code: FromPath[str]) -> dict:
        _user, scope = ctx.caller(request)
        book = book_of(request)
        book.erase_expired()
        return book.get(code, scope)

    @delete("/appointments/{code:str}", sync_to_thread=True, status_code=200,
            summary="Cancel a booking (409 once checked in, missed or cancelled)")
    def cancel(self, request: Request, ctx: NamedDependency[Any], code: FromPath[str]) -> dict:
        user, scope = ctx.caller(request)
        return book_of(request).cancel(code, user.name, scope)

    @get("/reports/appointments", sync_to_thread=True,
         summary="Bookings, no-shows and punctuality per hall, department and month (?month=YYYY-MM)")
    def report(self, request: Request, ctx: NamedDependency[Any]) -> Response:
        _user, scope = ctx.caller(request)
        q = request.query_params
        return _answer(ar.report(book_of(request), q.get("month") or ctx.today().strftime("%Y-%m"),
                                 q.get("hall") or None, q.get("department") or None, scope=scope), q.get("format"))


# ---------------------------------------------------------------------------- pages


def _page(request: Request, ctx, s, status: int = 200, error: str | None = None, done: str | None = None,
          imported: list[dict] | None = None, new: dict | None = None) -> Template:
    """The booking page for the hall / item / day of the query (or of `new`, a form sent back)."""
    book = book_of(request)
    book.erase_expired()
    user = s.user
    q = request.query_params
    new = new or {}
    halls = [h for h in ctx.directory.halls if user.role != "hall" or h == user.hall]
    hall = new.get("hall") or q.get("hall") or (halls[0] if halls else "")
    if hall not in halls:
        hall = halls[0] if halls else ""
    items = book.bookable_items(hall) if hall else []
    item = new.get("item") or q.get("item") or (items[0].id if items else "")
    today = book.today(hall) if hall else ctx.today()
    days = [today + timedelta(days=n) for n in range(book.settings.days_ahead + 1)]
    try:
        day = _day(q.get("day") or (new.get("start") or "")[:10] or None, today)
    except BadRequest as e:
        day, error, status = today, str(e), 400
    slots, rows = [], []
    try:
        if hall and item in {i.id for i in items}:
            slots = book.slots(hall, item, day)
        rows = book.listing(scope_of(user), hall or None, day.isoformat(), day.isoformat()) if hall else []
    except (BadRequest, NotFound, Forbidden) as e:
        error, status = error or str(e), max(status, status_of(e))
    item_names = {i.id: i.name for h in ctx.directory.halls.values() for i in h.business.catalog.items}
    return Template(template_name="appointments.html", status_code=status, media_type=MediaType.HTML,
                    context=page_context(
                        user, ctx, title="预约登记", halls=halls, hall=hall, items=items, item=item, days=days,
                        day=day, slots=slots, rows=rows, item_names=item_names, error=error, done=done,
                        imported=imported or [], new=new, settings=book.settings))


class AppointmentsPages(Controller):
    path = "/"
    include_in_schema = False

    @get("/appointments", sync_to_thread=True)
    def page(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        s = session(request, ctx)
        if s is None:
            return Redirect(path="/login")
        return _page(request, ctx, s, done=request.query_params.get("done"))

    @post("/appointments", sync_to_thread=True)
    def create(self, request: Request, ctx: NamedDependency[Any],
               data: Annotated[BookingForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Template | Redirect:
        s = session(request, ctx)
        if s is None:
            return Redirect(path="/login")
        new = msgspec.structs.asdict(data)
        try:
            made = book_of(request).book(data.hall, data.item, data.start, data.phone, data.name, who=s.user.name,
                                         source="page", scope=scope_of(s.user))
        except Conflict as e:
            return _page(request, ctx, s, 409, str(e), new=new)
        except (BadRequest, Forbidden, NotFound) as e:
            return _page(request, ctx, s, status_of(e), str(e), new=new)
        return Redirect(path=f"/appointments?hall={made['hall']}&item={made['item']}&day={made['day']}"
                             f"&done={made['code']}", status_code=303)

    @post("/appointments/cancel", sync_to_thread=True)
    def cancel(self, request: Request, ctx: NamedDependency[Any],
               data: Annotated[CancelForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Template | Redirect:
        s = session(request, ctx)
        if s is None:
            return Redirect(path="/login")
        try:
            row = book_of(request).cancel(data.code, s.user.name, scope_of(s.user))
        except Conflict as e:
            return _page(request, ctx, s, 409, str(e))
        except (BadRequest, Forbidden, NotFound) as e:
            return _page(request, ctx, s, status_of(e), str(e))
        return Redirect(path=f"/appointments?hall={row['hall']}&item={row['item']}&day={row['day']}", status_code=303)

    @post("/appointments/import")
    async def upload(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        s = session(request, ctx)
        if s is None:
            return Redirect(path="/login")
        try:
            form = await request.form()
        except HTTPException:
            form = {}
        f = form.get("file") if hasattr(form, "get") else None
        if not isinstance(f, UploadFile):
            return await anyio.to_thread.run_sync(lambda: _page(request, ctx, s, 400, "请选择要导入的 CSV 文件"))
        data = await f.read()

        def run() -> Template:
            try:
                made = import_csv(book_of(request), data, who=s.user.name, scope=scope_of(s.user))
            except (BadRequest, Forbidden, NotFound) as e:
                return _page(request, ctx, s, status_of(e), str(e))
            return _page(request, ctx, s, imported=made)

        return await anyio.to_thread.run_sync(run)

    @get("/reports/appointments", sync_to_thread=True)
    def report(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        q = request.query_params
        form = {"month": q.get("month") or ctx.today().strftime("%Y-%m"), "hall": q.get("hall") or "",
                "department": q.get("department") or ""}
        return report_page(request, ctx, "预约统计（守约率与爽约）", lambda scope: ar.report(
            book_of(request), form["month"], form["hall"] or None, form["department"] or None, scope=scope), form)
