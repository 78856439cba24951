"""Dashboard pages and JSON API for the supervision records (central.supervision): complaints
(/complaints), bad-rating follow-ups (/followups), patrol findings (/patrols) and the monthly
patrol bulletin (/patrols/bulletin?month=YYYY-MM) with its written notices as an A4 PDF
(/patrols/bulletin.pdf?month=YYYY-MM, central.supervision.notice_pdf).

Pages need a dashboard session; the API takes the session cookie or HTTP Basic (the same
`ReportContext.caller` as the reports API). Forms post urlencoded fields, the API JSON objects
with the same field names. Bad input answers 400 with a Chinese message (the page re-renders
with the message, nothing saved), a role that may not do something 403, a record the caller may
not see 404. The fix deadline of follow-ups uses `app.state.followup_fix_days` (central.toml
`[followups] fix_days`, default 5).
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.enums import MediaType, RequestEncodingType
from litestar.params import Body, FromPath, JSONBody
from litestar.response import Redirect, Template

from ..auth import scope_of
from ..errors import BadRequest, Forbidden, NotFound
from ..supervision import complaints as cp
from ..supervision import followups as fu
from ..supervision import notice_pdf
from ..supervision import patrols as pt
from .common import DOMAIN_ERRORS, page_context, session, status_of


def fix_days(request: Request) -> int:
    return int(request.app.state.get("followup_fix_days") or fu.DEFAULT_FIX_DAYS)


def supervision(request: Request):
    """`[supervision]` of central.toml (complaint reply days, bulletin notice), defaults when unset."""
    return request.app.state.get("supervision") or cp.DEFAULT


def auto_run(request: Request, ctx) -> pt.AutoRun:
    """The automatic findings (电子监察, `[supervision.auto]`) as of today (`?as_of=` pins it)."""
    return pt.AutoRun(supervision(request).auto, ctx.today_of(request.query_params, "as_of"), fix_days(request))


def _choices(d, reply_days: dict[str, int]) -> dict:
    """Every hall's windows, staff, items and departments for the form selects (by id)."""
    windows, staff, items, deps = {}, {}, {}, {}
    for h in d.halls.values():
        b = h.business
        for w in b.windows:
            windows.setdefault(w.id, w.name)
        for s in b.staff:
            staff.setdefault(s.id, f"{s.name}（{d.department_name(s.department)}）")
        for it in b.catalog.items:
            items.setdefault(it.id, it.name)
        for dep in b.catalog.departments:
            deps.setdefault(dep.id, dep.name)
    return {"windows": windows, "staff_names": staff, "items": items, "departments": deps,
            "channels": cp.CHANNELS, "complexities": reply_days, "outcomes": cp.OUTCOMES,
            "verifications": fu.VERIFICATIONS, "categories": pt.PATROL_CATEGORIES, "kinds": pt.PATROL_KINDS}


def _form(data: dict) -> dict:
    return {k: (v[-1] if isinstance(v, list) and v else v) for k, v in (data or {}).items()}


# ---------------------------------------------------------------- pages


class RecordsPages(Controller):
    path = "/"
    include_in_schema = False

    def _session(self, request: Request, ctx):
        return session(request, ctx)

    def _render(self, request: Request, ctx, s, name: str, status: int = 200, **data) -> Template:
        return Template(template_name=name, status_code=status, media_type=MediaType.HTML, context=page_context(
            s.user, ctx, **_choices(ctx.directory, supervision(request).reply_days), **data))

    def _post(self, request: Request, ctx, act, again, then):
        """A form post: `act(session)` makes the change, then 303 to `then(result)`; a domain
        error re-renders the page (`again(session, error)`) with its status, nothing saved."""
        def post(s):
            try:
                done = act(s)
            except (BadRequest, Forbidden, NotFound) as e:
                return again(s, e)
            return Redirect(path=then(done), status_code=303)

        return self._signed_in(request, ctx, post)

    def _signed_in(self, request: Request, ctx, show):
        """`show(session)` for a logged-in user; anyone else goes to the login page."""
        s = self._session(request, ctx)
        if s is None:
            return Redirect(path="/login")
        return show(s)

    # ---- complaints

    def _complaints(self, request: Request, ctx, s, status: int = 200, error: str | None = None,
                    new: dict | None = None) -> Template:
        q = request.query_params
        filters = {k: q.get(k) or "" for k in ("hall", "department", "state", "month", "as_of")}
        rows, list_error = [], None
        try:
            rows = cp.list_complaints(ctx.store, ctx.directory, scope_of(s.user), ctx.today_of(q, "as_of"), filters["hall"],
                                      filters["department"], filters["state"], filters["month"],
                                      supervision(request).reply_days)
        except BadRequest as e:
            list_error = str(e)
        return self._render(request, ctx, s, "complaints.html", 400 if list_error and status == 200 else status, title="投诉管理", rows=rows,
                            filters=filters, error=error or list_error, new=new or {})

    @get("/complaints", sync_to_thread=True)
    def complaints(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        return self._signed_in(request, ctx, lambda s: self._complaints(request, ctx, s))

    @post("/complaints", sync_to_thread=True, status_code=200)
    def complaint_create(self, request: Request, ctx: NamedDependency[Any],
                         data: Annotated[dict, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Template | Redirect:
        return self._post(request, ctx,
                          lambda s: cp.create_complaint(ctx.store, ctx.directory, s.user, _form(data), ctx.now_us(),
                                                       supervision(request).reply_days),
                          lambda s, e: self._complaints(request, ctx, s, status_of(e), str(e), _form(data)),
                          lambda c: f"/complaints/{c['id']}")

    def _complaint(self, request: Request, ctx, s, cid: FromPath[int], status: int = 200, error: str | None = None):
        try:
            c = cp.get_complaint(ctx.store, ctx.directory, scope_of(s.user), cid, ctx.today_of(request.query_params, "as_of"))
        except (BadRequest, NotFound) as e:
            return self._render(request, ctx, s, "complaint_detail.html", status_of(e), title="投诉详情", c=None,
                                error=str(e))
        return self._render(request, ctx, s, "complaint_detail.html", status, title=f"投诉 #{c['id']}", c=c,
                            error=error)

    @get("/complaints/{cid:int}", sync_to_thread=True)
    def complaint(self, request: Request, ctx: NamedDependency[Any], cid: FromPath[int]) -> Template | Redirect:
        return self._signed_in(request, ctx, lambda s: self._complaint(request, ctx, s, cid))

    @post("/complaints/{cid:int}", sync_to_thread=True, status_code=200)
    def complaint_update(self, request: Request, ctx: NamedDependency[Any], cid: FromPath[int],
                         data: Annotated[dict, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Template | Redirect:
        return self._post(request, ctx,
                          lambda s: cp.update_complaint(ctx.store, ctx.directory, s.user, scope_of(s.user), cid,
                                                        _form(data), ctx.now_us()),
                          lambda s, e: self._complaint(request, ctx, s, cid, status_of(e), str(e)),
                          lambda _c: f"/complaints/{cid}")

    # ---- follow-ups

    def _followups(self, request: Request, ctx, s, status: int = 200, error: str | None = None) -> Template:
        q = request.query_params
        filters = {k: q.get(k) or "" for k in ("hall", "month", "status", "as_of")}
        rows, list_error = [], None
        try:
            rows = fu.list_followups(ctx.store, ctx.directory, scope_of(s.user), fix_days(request), ctx.today_of(q, "as_of"),
                                     filters["hall"], filters["month"], filters["status"])
        except BadRequest as e:
            list_error = str(e)
        return self._render(request, ctx, s, "followups.html", 400 if list_error and status == 200 else status, title="差评回访", rows=rows,
                            filters=filters, error=error or list_error, fix_days=fix_days(request))

    @get("/followups", sync_to_thread=True)
    def followups(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        return self._signed_in(request, ctx, lambda s: self._followups(request, ctx, s))

    @post("/followups", sync_to_thread=True, status_code=200)
    def followup_update(self, request: Request, ctx: NamedDependency[Any],
                        data: Annotated[dict, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Template | Redirect:
        return self._post(request, ctx,
                          lambda s: fu.update_followup(ctx.store, ctx.directory, s.user, scope_of(s.user), _form(data),
                                                       fix_days(request), ctx.now_us()),
                          lambda s, e: self._followups(request, ctx, s, status_of(e), str(e)),
                          lambda _f: "/followups")

    # ---- patrols

    def _patrols(self, request: Request, ctx, s, status: int = 200, error: str | None = None,
                 new: dict | None = None) -> Template:
        q = request.query_params
        filters = {"month": q.get("month") or "", "hall": q.get("hall") or ""}
        rows, list_error = [], None
        try:
            rows = pt.list_patrols(ctx.store, ctx.directory, scope_of(s.user), filters["month"], filters["hall"],
                                   auto_run(request, ctx))
        except BadRequest as e:
            list_error = str(e)
        return self._render(request, ctx, s, "patrols.html", 400 if list_error and status == 200 else status, title="巡查记录", rows=rows, filters=filters,
                            error=error or list_error, new=new or {},
                            this_month=ctx.today().strftime("%Y-%m"))

    @get("/patrols", sync_to_thread=True)
    def patrols(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        return self._signed_in(request, ctx, lambda s: self._patrols(request, ctx, s))

    @post("/patrols", sync_to_thread=True, status_code=200)
    def patrol_create(self, request: Request, ctx: NamedDependency[Any],
                      data: Annotated[dict, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Template | Redirect:
        return self._post(request, ctx,
                          lambda s: pt.create_patrol(ctx.store, ctx.directory, s.user, _form(data), ctx.now_us()),
                          lambda s, e: self._patrols(request, ctx, s, status_of(e), str(e), _form(data)),
                          lambda _p: "/patrols")

    @get("/patrols/bulletin", sync_to_thread=True)
    def patrol_bulletin(self, request: Request, ctx: NamedDependency[Any]) -> Template | Redirect:
        s = self._session(request, ctx)
        if s is None:
            return Redirect(path="/login")
        month = request.query_params.get("month") or ctx.today().strftime("%Y-%m")
        try:
            b = pt.bulletin(ctx.store, ctx.directory, scope_of(s.user), month, supervision(request).notice_bulletins,
                            auto_run(request, ctx))
        except BadRequest as e:
            return self._render(request, ctx, s, "patrols_bulletin.html", 400, title="巡查通报", b=None,
                                month=month, error=str(e))
        return self._render(request, ctx, s, "patrols_bulletin.html", title=f"巡查通报（{b['month']}）", b=b,
                            month=b["month"], error=None)


    @get("/patrols/bulletin.pdf", sync_to_thread=True)
    def patrol_notices_pdf(self, request: Request, ctx: NamedDependency[Any]) -> Response | Redirect:
        """The written notices of the month's bulletin (书面通报 [C 20]) as an A4 PDF, one page each,
        for the caller's scope: 400 for a bad month, 503 without a Chinese font."""
        s = self._session(request, ctx)
        if s is None:
            return Redirect(path="/login")
        month = request.query_params.get("month") or ctx.today().strftime("%Y-%m")
        try:
            data = notice_pdf.notice_data(ctx.store, ctx.directory, scope_of(s.user), month,
                                          supervision(request).notice_bulletins, auto_run(request, ctx))
        except BadRequest as e:
            raise HTTPException(status_code=400, detail=str(e)) from None
        try:
            font = notice_pdf.find_font()
        except notice_pdf.CjkFontMissing as e:
            raise HTTPException(status_code=503, detail=notice_pdf.font_missing_message(e)) from None
        centre = request.app.state.get("centre_name") or "师生服务中心"
        pdf = notice_pdf.render(data, centre, ctx.today(), font)
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": f'inline; filename="patrol-notices-{data["month"]}.pdf"', "Cache-Control": "no-store"})


# ---------------------------------------------------------------- JSON API


class RecordsApi(Controller):
    """Complaints, bad-rating follow-ups and patrol findings (docs/central.md, section records).
    Login required (session cookie or HTTP Basic); the caller's role limits rows and actions."""

    path = "/api"
    tags = ["records"]
    exception_handlers = DOMAIN_ERRORS  # BadRequest 400, Forbidden 403, NotFound 404 with the message

    @get("/complaints", sync_to_thread=True, summary="Complaints (?hall=&department=&state=&month=&as_of=)")
    def complaints(self, request: Request, ctx: NamedDependency[Any]) -> list[dict]:
        user, scope = ctx.caller(request)
        q = request.query_params
        return cp.list_complaints(ctx.store, ctx.directory, scope, ctx.today_of(q, "as_of"), q.get("hall") or "",
                                  q.get("department") or "", q.get("state") or "", q.get("month") or "",
                                  supervision(request).reply_days)

    @post("/complaints", sync_to_thread=True, status_code=201, summary="Record a complaint")
    def complaint_create(self, request: Request, ctx: NamedDependency[Any], data: JSONBody[dict[str, Any]]) -> dict:
        user, _scope = ctx.caller(request)
        return cp.create_complaint(ctx.store, ctx.directory, user, data, ctx.now_us(), supervision(request).reply_days)

    @get("/complaints/{cid:int}", sync_to_thread=True, summary="One complaint (?as_of=)")
    def complaint(self, request: Request, ctx: NamedDependency[Any], cid: FromPath[int]) -> dict:
        _user, scope = ctx.caller(request)
        return cp.get_complaint(ctx.store, ctx.directory, scope, cid, ctx.today_of(request.query_params, "as_of"))

    @post("/complaints/{cid:int}", sync_to_thread=True, status_code=200,
          summary="action=reply (reply, outcome) | reroute (department, reason) | close")
    def complaint_update(self, request: Request, ctx: NamedDependency[Any], cid: FromPath[int], data: JSONBody[dict[str, Any]]) -> dict:
        user, scope = ctx.caller(request)
        return cp.update_complaint(ctx.store, ctx.directory, user, scope, cid, data, ctx.now_us())

    @get("/followups", sync_to_thread=True, summary="Bad ratings with their follow-up (?hall=&month=&status=&as_of=)")
    def followups(self, request: Request, ctx: NamedDependency[Any]) -> list[dict]:
        _user, scope = ctx.caller(request)
        q = request.query_params
        return fu.list_followups(ctx.store, ctx.directory, scope, fix_days(request), ctx.today_of(q, "as_of"),
                                 q.get("hall") or "", q.get("month") or "", q.get("status") or "")

    @post("/followups", sync_to_thread=True, status_code=200,
          summary="hall, event_id, action=callback|verify|fix|appeal|decide and its fields")
    def followup_update(self, request: Request, ctx: NamedDependency[Any], data: JSONBody[dict[str, Any]]) -> dict:
        user, scope = ctx.caller(request)
        return fu.update_followup(ctx.store, ctx.directory, user, scope, data, fix_days(request), ctx.now_us())

    @get("/patrols", sync_to_thread=True, summary="Patrol findings and automatic 电子监察 findings (?month=&hall=&as_of=)")
    def patrols(self, request: Request, ctx: NamedDependency[Any]) -> list[dict]:
        _user, scope = ctx.caller(request)
        q = request.query_params
        return pt.list_patrols(ctx.store, ctx.directory, scope, q.get("month") or "", q.get("hall") or "",
                               auto_run(request, ctx))

    @post("/patrols", sync_to_thread=True, status_code=201, summary="Record a patrol finding")
    def patrol_create(self, request: Request, ctx: NamedDependency[Any], data: JSONBody[dict[str, Any]]) -> dict:
        user, _scope = ctx.caller(request)
        return pt.create_patrol(ctx.store, ctx.directory, user, data, ctx.now_us())

    @get("/patrols/bulletin", sync_to_thread=True, summary="Monthly patrol bulletin (?month=YYYY-MM&as_of=)")
    def patrol_bulletin(self, request: Request, ctx: NamedDependency[Any]) -> dict:
        _user, scope = ctx.caller(request)
        return pt.bulletin(ctx.store, ctx.directory, scope, request.query_params.get("month") or "",
                           supervision(request).notice_bulletins, auto_run(request, ctx))
