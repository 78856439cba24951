"""Dashboard pages that edit each hall's business configuration (central.configedit):

- `/config`: every hall (a hall manager: their own) with the version of its file, of the newest
  stored revision, the version central publishes, and the version the hall reports as applied;
  the latest revisions.
- `/config/{hall}/items`: the service items (办事指南); `?item=ID` opens one for editing,
  `?new=1` adds one (central admin).
- `/config/{hall}/staff`: the roster; `?staff=ID` edits one member, `?new=1` adds one.
- `/config/{hall}/calendar`: holidays, make-up working days, closures, vacations and duty days.
- `GET /api/config`: the same versions as JSON (login or HTTP Basic).

Who may change what (central.configforms): central admin everything; a department head their
own department's items; a hall manager their own hall's closures, vacation duty days and staff
phone numbers. Anyone else gets 403. Invalid input re-renders the form with a Chinese message
(HTTP 400) and stores nothing; every saved change is a new revision, audited and published.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.enums import MediaType, RequestEncodingType
from litestar.exceptions import NotAuthorizedException
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from ..configedit import ConfigEditor, EditError, editor_for
from ..configforms import (CLOSURE_KINDS, MODES, calendar_summary, change_calendar, change_item, change_staff,
                           closures_text, form_text, holidays_text, item_summary, materials_text, may_view,
                           staff_summary, vacations_text, workdays_text)
from .common import page_context, session

Form = Annotated[dict, Body(media_type=RequestEncodingType.URL_ENCODED)]


# ---------------------------------------------------------------- the controller


class ConfigEditController(Controller):
    path = "/config"
    include_in_schema = False

    def _editor(self, request: Request, ctx, service) -> ConfigEditor:
        return editor_for(request.app.state, ctx.store, ctx.directory, service)

    def _user(self, request: Request, ctx):
        s = session(request, ctx)
        return s.user if s is not None else None

    def _render(self, user, ctx, name: str, status: int = 200, **data) -> Template:
        return Template(template_name=name, status_code=status, media_type=MediaType.HTML, context=page_context(
            user, ctx, modes=MODES, closure_kinds=CLOSURE_KINDS, **data))

    def _deny(self, user, ctx, message: str = "您没有修改此项配置的权限。") -> Template:
        return self._render(user, ctx, "config_denied.html", status=403, title="无权限", message=message)

    def _open(self, request: Request, ctx, service, hall: str, what: str):
        """(user, editor) for a page of `hall` about `what`, or the answer instead: the login
        page, 404 for an unknown hall, 403 when the role may not see it."""
        user = self._user(request, ctx)
        if user is None:
            return Redirect(path="/login")
        editor = self._editor(request, ctx, service)
        if (missing := self._hall_or_404(editor, user, ctx, hall)) is not None:
            return missing
        if not may_view(user, what, hall):
            return self._deny(user, ctx)
        return user, editor

    def _show(self, request: Request, ctx, service, hall: str, what: str, page):
        """A GET page of `hall` about `what`: `page(user, editor, query parameters)`, or what
        `_open` answers instead."""
        opened = self._open(request, ctx, service, hall, what)
        if not isinstance(opened, tuple):
            return opened
        return page(*opened, request.query_params)

    def _save(self, user, ctx, edit, again, path: str):
        """Run `edit()` (the new version, None when nothing changed) and redirect to
        `path` + `saved=VERSION`; an `EditError` re-renders the form (`again(error)`), or the
        denied page for a 403."""
        try:
            version = edit()
        except EditError as e:
            if e.status == 403:
                return self._deny(user, ctx, e.message)
            return again(e)
        return Redirect(path=f"{path}saved={version or 'none'}")

    def _hall_or_404(self, editor: ConfigEditor, user, ctx, hall: str):
        if hall not in editor.entries:
            return self._render(user, ctx, "config_denied.html", status=404, title="没有这个大厅",
                                message=f"没有大厅“{hall}”。")
        return None

    @get("/", sync_to_thread=True)
    def overview(self, request: Request, ctx: NamedDependency[Any], service: NamedDependency[Any]) -> Template | Redirect:
        user = self._user(request, ctx)
        if user is None:
            return Redirect(path="/login")
        if not may_view(user, "overview", ""):
            return self._deny(user, ctx, "您没有查看配置的权限。")
        editor = self._editor(request, ctx, service)
        rows = [v for v in editor.versions() if user.role != "hall" or v.hall == user.hall]
        halls = {v.hall for v in rows}
        revisions = [r for r in editor.revisions(limit=30) if r["hall"] in halls]
        return self._render(user, ctx, "config.html", title="配置管理", rows=rows, revisions=revisions,
                            pages=_pages(user))

    # -- items

    @get("/{hall:str}/items", sync_to_thread=True)
    def items(self, request: Request, hall: FromPath[str], ctx: NamedDependency[Any],
              service: NamedDependency[Any]) -> Template | Redirect:
        return self._show(request, ctx, service, hall, "items", lambda user, editor, q: self._items_page(
            user, ctx, editor, hall, q.get("item"), q.get("new") == "1", None, None, saved=q.get("saved")))

    def _items_page(self, user, ctx, editor: ConfigEditor, hall: str, item_id: str | None, new: bool,
                    form: dict | None, error: str | None, status: int = 200, saved: str | None = None) -> Template:
        b = editor.current(hall)
        item = next((i for i in b.catalog.items if i.id == item_id), None) if item_id else None
        values = None
        if form is not None:
            values = {k: form_text(form, k) for k in ("item", "name", "department", "audience", "basis", "process",
                                                   "materials", "gap", "location", "promise_days", "mode",
                                                   "co_departments", "comment")}
        elif item is not None:
            values = {"item": item.id, "name": item.name, "department": item.department, "audience": item.audience,
                      "basis": item.basis, "process": "\n".join(item.process), "materials": materials_text(item),
                      "gap": ", ".join(m.id for m in item.materials if m.gap_allowed), "location": item.location,
                      "promise_days": str(item.promise_days), "mode": item.mode,
                      "co_departments": ", ".join(item.co_departments), "comment": ""}
        elif new and user.role == "admin":
            values = {k: "" for k in ("item", "name", "audience", "basis", "process", "materials", "gap",
                                      "location", "co_departments", "comment")} | {
                "department": b.catalog.departments[0].id, "promise_days": "0", "mode": "instant"}
        items = [i for i in b.catalog.items if user.role != "department" or i.department == user.department]
        editing = values is not None
        chosen = {k[5:] for k, v in (form or {}).items() if k.startswith("also_") and v}
        also = [(hid, e.name, hid in chosen) for hid, e in sorted(editor.entries.items())
                if hid != hall and (new or any(i.id == item_id for i in e.business.catalog.items))]
        return self._render(user, ctx, "config_items.html", status=status,
                            title=f"办事指南 · {ctx.directory.hall_name(hall)}",
                            hall=hall, business=b, items=items, values=values, editing=editing, also=also,
                            new=new or (form is not None and form_text(form, "new") == "1"),
                            head_only=user.role == "department", error=error, saved=saved,
                            departments=b.catalog.departments, pages=_pages(user), current=hall)

    @post("/{hall:str}/items", sync_to_thread=True, status_code=200)
    def save_item(self, request: Request, hall: FromPath[str], ctx: NamedDependency[Any],
                  service: NamedDependency[Any], data: Form) -> Template | Redirect:
        opened = self._open(request, ctx, service, hall, "items")
        if not isinstance(opened, tuple):
            return opened
        user, editor = opened
        item_id = form_text(data, "item")
        new = form_text(data, "new") == "1"
        # optional: the same edit in other halls whose catalog has this item (all or nothing)
        also = [h for h in editor.entries if h != hall and form_text(data, f"also_{h}") in ("1", "on")]

        def edit():
            done = editor.edit_many([hall, *also], user.name,
                                    lambda _h, b: change_item(b, user, item_id, new, data),
                                    what=f"事项 {item_id}", summary=lambda a, b: item_summary(a, b, item_id),
                                    comment=form_text(data, "comment"), base_version=_version(data))
            return done[hall][0] or next((v for v, _ in done.values() if v), None)

        return self._save(user, ctx, edit, lambda e: self._items_page(user, ctx, editor, hall, item_id, new, data,
                                                                       e.message, status=e.status),
                          f"/config/{hall}/items?item={item_id}&")

    # -- staff

    @get("/{hall:str}/staff", sync_to_thread=True)
    def staff(self, request: Request, hall: FromPath[str], ctx: NamedDependency[Any],
              service: NamedDependency[Any]) -> Template | Redirect:
        return self._show(request, ctx, service, hall, "staff", lambda user, editor, q: self._staff_page(
            user, ctx, editor, hall, q.get("staff"), q.get("new") == "1", None, None, saved=q.get("saved")))

    def _staff_page(self, user, ctx, editor: ConfigEditor, hall: str, staff_id: str | None, new: bool,
                    form: dict | None, error: str | None, status: int = 200, saved: str | None = None) -> Template:
        b = editor.current(hall)
        member = next((s for s in b.staff if s.id == staff_id), None) if staff_id else None
        keys = ("staff", "name", "department", "windows", "backup_for", "phone", "card", "comment")
        values = None
        if form is not None:
            values = {k: form_text(form, k) for k in keys}
        elif member is not None:
            values = {"staff": member.id, "name": member.name, "department": member.department,
                      "windows": ", ".join(member.windows), "backup_for": ", ".join(member.backup_for),
                      "phone": member.phone, "card": member.card, "comment": ""}
        elif new and user.role == "admin":
            values = {k: "" for k in keys} | {"department": b.catalog.departments[0].id}
        return self._render(user, ctx, "config_staff.html", status=status,
                            title=f"人员名册 · {ctx.directory.hall_name(hall)}",
                            hall=hall, business=b, values=values,
                            new=new or (form is not None and form_text(form, "new") == "1"),
                            phone_only=user.role == "hall", error=error, saved=saved,
                            dept_names={d.id: d.name for d in b.catalog.departments},
                            win_names={w.id: w.name for w in b.windows}, pages=_pages(user), current=hall)

    @post("/{hall:str}/staff", sync_to_thread=True, status_code=200)
    def save_staff(self, request: Request, hall: FromPath[str], ctx: NamedDependency[Any],
                   service: NamedDependency[Any], data: Form) -> Template | Redirect:
        opened = self._open(request, ctx, service, hall, "staff")
        if not isinstance(opened, tuple):
            return opened
        user, editor = opened
        staff_id = form_text(data, "staff")
        new = form_text(data, "new") == "1"
        return self._save(
            user, ctx, lambda: editor.edit(hall, user.name, lambda b: change_staff(b, user, staff_id, new, data),
                                           what=f"人员 {staff_id}", summary=lambda a, b: staff_summary(a, b, staff_id),
                                           comment=form_text(data, "comment"), base_version=_version(data))[0],
            lambda e: self._staff_page(user, ctx, editor, hall, staff_id, new, data, e.message, status=e.status),
            f"/config/{hall}/staff?staff={staff_id}&")

    # -- calendar

    @get("/{hall:str}/calendar", sync_to_thread=True)
    def calendar(self, request: Request, hall: FromPath[str], ctx: NamedDependency[Any],
                 service: NamedDependency[Any]) -> Template | Redirect:
        return self._show(request, ctx, service, hall, "calendar", lambda user, editor, q: self._calendar_page(
            user, ctx, editor, hall, None, None, saved=q.get("saved")))

    def _calendar_page(self, user, ctx, editor: ConfigEditor, hall: str, form: dict | None, error: str | None,
                       status: int = 200, saved: str | None = None) -> Template:
        b = editor.current(hall)
        cal = b.calendar
        if form is not None:
            values = {k: form_text(form, k) for k in ("holidays", "workdays", "closures", "vacations", "comment")}
        else:
            values = {"holidays": holidays_text(cal), "workdays": workdays_text(cal), "closures": closures_text(cal),
                      "vacations": vacations_text(cal), "comment": ""}
        return self._render(user, ctx, "config_calendar.html", status=status,
                            title=f"日历 · {ctx.directory.hall_name(hall)}",
                            hall=hall, business=b, values=values, manager=user.role == "hall", error=error,
                            saved=saved, pages=_pages(user), current=hall)

    @post("/{hall:str}/calendar", sync_to_thread=True, status_code=200)
    def save_calendar(self, request: Request, hall: FromPath[str], ctx: NamedDependency[Any],
                      service: NamedDependency[Any], data: Form) -> Template | Redirect:
        opened = self._open(request, ctx, service, hall, "calendar")
        if not isinstance(opened, tuple):
            return opened
        user, editor = opened
        return self._save(
            user, ctx, lambda: editor.edit(hall, user.name, lambda b: change_calendar(b, user, data), what="日历",
                                           summary=calendar_summary, comment=form_text(data, "comment"),
                                           base_version=_version(data))[0],
            lambda e: self._calendar_page(user, ctx, editor, hall, data, e.message, status=e.status),
            f"/config/{hall}/calendar?")


class ConfigApi(Controller):
    path = "/api/config"
    tags = ["config"]

    @get("/", sync_to_thread=True, summary="Per hall: file, stored, published and applied configuration versions")
    def versions(self, request: Request, ctx: NamedDependency[Any], service: NamedDependency[Any]) -> list[dict]:
        user, _scope = ctx.caller(request)
        if user.role not in ("admin", "department", "hall"):
            raise NotAuthorizedException("no role")
        editor = editor_for(request.app.state, ctx.store, ctx.directory, service)
        return [{"hall": v.hall, "file_version": v.file, "stored_version": v.stored, "version": v.current,
                 "applied_version": v.applied, "online": v.online, "landed": v.landed,
                 "implausible_version": v.reported}
                for v in editor.versions() if user.role != "hall" or v.hall == user.hall]


# ---------------------------------------------------------------- changes


def _version(form: dict) -> int:
    """The configuration version the form was opened on (required: an edit never applies to a
    version its author did not see; a stale one answers 409)."""
    text = form_text(form, "base_version")
    if not (text.isascii() and text.isdigit() and len(text) <= 12):
        raise EditError("表单缺少有效的配置版本（base_version），请刷新页面后重新提交")
    return int(text)


def _pages(user) -> list[tuple[str, str]]:
    out = []
    if user.role in ("admin", "department"):
        out.append(("items", "办事指南"))
    if user.role in ("admin", "hall"):
        out += [("staff", "人员名册"), ("calendar", "日历")]
    return out
