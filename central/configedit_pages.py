"""Dashboard pages that edit each hall's business configuration (central.configedit):

- `/config`: every hall (a hall manager: their own) with the version of its file, of the newest
  stored revision, the version central publishes, and the version the hall reports as applied;
  the latest revisions.
- `/config/{hall}/items`: the service items (办事指南); `?item=ID` opens one for editing,
  `?new=1` adds one (central admin).
- `/config/{hall}/staff`: the roster; `?staff=ID` edits one member, `?new=1` adds one.
- `/config/{hall}/calendar`: holidays, make-up working days, closures, vacations and duty days.
- `GET /api/config`: the same versions as JSON (login or HTTP Basic).

Who may change what: central admin everything; a department head their own department's
items — guide text (audience, basis, process, location), materials (with 容缺) and promised
days — in every hall; a hall manager their own hall's closures, vacation duty days and staff
phone numbers. Anyone else gets 403. Invalid input re-renders the form with a Chinese message
(HTTP 400) and stores nothing; every saved change is a new revision, audited and published.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from sync.kernel import business as biz

from .auth import COOKIE, ROLE_NAMES
from .configedit import ConfigEditor, EditError, diff, editor_for

Form = Annotated[dict, Body(media_type=RequestEncodingType.URL_ENCODED)]

MODES = {"instant": "即办件", "promised": "承诺件", "joint": "联办件"}
CLOSURE_KINDS = {"weekly": "每周", "last-weekday-of-month": "每月最后"}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ITEM_HEAD_FIELDS = ("audience", "basis", "process", "location", "materials", "gap", "promise_days")


# ---------------------------------------------------------------- form parsing (Chinese errors)


def _text(form: dict, key: str) -> str:
    value = form.get(key, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value).replace("\r\n", "\n").strip()


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def _cols(line: str) -> list[str]:
    return [c.strip() for c in line.replace("｜", "|").split("|")]


def _ids(text: str, what: str) -> list[str]:
    out = [x.strip() for x in re.split(r"[,，、\s]+", text) if x.strip()]
    for x in out:
        if not _ID.match(x):
            raise EditError(f"{what}“{x}”不是有效编号（字母、数字及 . _ -，以字母或数字开头）")
    return out


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise EditError(f"{what}“{text}”不是有效日期（格式 2026-10-01）") from None


def _clock(text: str, what: str) -> str:
    text = text.strip()
    if not re.match(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$", text):
        raise EditError(f"{what}“{text}”不是有效时间（格式 08:00，至 24:00）")
    return text


def _days(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise EditError(f"承诺时限“{text}”须为不小于 0 的整数（工作日）") from None
    if n < 0:
        raise EditError(f"承诺时限“{text}”须为不小于 0 的整数（工作日）")
    return n


def materials_text(item: biz.Item) -> str:
    return "\n".join("|".join([m.id, m.name, m.copies, m.note]).rstrip("|") for m in item.materials)


def parse_materials(text: str, gap_text: str, old: list[biz.Material]) -> list[biz.Material]:
    """One material a line: `编号|名称|份数|备注`; `gap_text` names the 容缺 materials."""
    mats = []
    for n, line in enumerate(_lines(text), 1):
        cols = _cols(line) + ["", "", ""]
        mid, name, copies, note = cols[:4]
        if not _ID.match(mid):
            raise EditError(f"所需材料第 {n} 行：编号“{mid}”无效（字母、数字及 . _ -）")
        if not name:
            raise EditError(f"所需材料第 {n} 行：缺少材料名称（格式 编号|名称|份数|备注）")
        mats.append(biz.Material(id=mid, name=name, copies=copies, note=note))
    ids = [m.id for m in mats]
    gap = _ids(gap_text, "容缺材料")
    for g in gap:
        if g not in ids:
            raise EditError(f"容缺材料“{g}”不在所需材料中")
    return [msgspec.structs.replace(m, gap_allowed=m.id in gap) for m in mats]


def parse_item(form: dict, old: biz.Item | None, departments: set[str]) -> dict:
    """The fields of an item the form carries, parsed (not yet permission-checked)."""
    out: dict[str, Any] = {}
    for key in ("name", "audience", "basis", "location"):
        out[key] = _text(form, key)
    for key, what in (("name", "事项名称"), ("audience", "服务对象"), ("basis", "办理依据")):
        if not out[key]:
            raise EditError(f"{what}不能为空")
    out["process"] = _lines(_text(form, "process"))
    if not out["process"]:
        raise EditError("办理流程至少需要一步（每行一步）")
    out["materials"] = parse_materials(_text(form, "materials"), _text(form, "gap"), old.materials if old else [])
    out["promise_days"] = _days(_text(form, "promise_days") or "0")
    mode = _text(form, "mode") or (old.mode if old else "instant")
    if mode not in MODES:
        raise EditError(f"办理方式“{mode}”无效（即办件、承诺件或联办件）")
    out["mode"] = mode
    out["co_departments"] = _ids(_text(form, "co_departments"), "协办部门")
    dept = _text(form, "department") or (old.department if old else "")
    if dept not in departments:
        raise EditError(f"部门“{dept}”不存在")
    out["department"] = dept
    return out


def parse_staff(form: dict) -> dict:
    out: dict[str, Any] = {"name": _text(form, "name"), "department": _text(form, "department"),
                           "phone": _text(form, "phone"), "card": _text(form, "card").upper()}
    if not out["name"]:
        raise EditError("姓名不能为空")
    if out["phone"] and not re.match(r"^[0-9+\-() ]{3,30}$", out["phone"]):
        raise EditError(f"电话“{out['phone']}”无效（只能含数字、空格及 + - ( )）")
    if out["card"] and not re.match(r"^[0-9A-F]{10}$|^[0-9]{1,20}$", out["card"]):
        raise EditError(f"卡号“{out['card']}”无效：须为 10 位十六进制数字或十进制数字")
    out["windows"] = _ids(_text(form, "windows"), "A岗窗口")
    out["backup_for"] = _ids(_text(form, "backup_for"), "B岗窗口")
    return out


def holidays_text(cal: biz.Calendar) -> str:
    return "\n".join("|".join([h.start.isoformat(), h.end.isoformat(), h.name]).rstrip("|") for h in cal.holidays)


def workdays_text(cal: biz.Calendar) -> str:
    return "\n".join("|".join([w.date.isoformat(), w.name]).rstrip("|") for w in cal.workdays)


def closures_text(cal: biz.Calendar) -> str:
    return "\n".join("|".join([CLOSURE_KINDS[c.kind], str(c.weekday), c.start, c.end, c.name]).rstrip("|")
                     for c in cal.closures)


def vacations_text(cal: biz.Calendar) -> str:
    return "\n".join("|".join([v.start.isoformat(), v.end.isoformat(), v.name,
                               ",".join(d.isoformat() for d in v.duty_days)]).rstrip("|")
                     for v in cal.vacations)


def parse_calendar(form: dict, old: biz.Calendar) -> dict:
    holidays = []
    for n, line in enumerate(_lines(_text(form, "holidays")), 1):
        c = _cols(line) + ["", ""]
        if not c[1]:
            raise EditError(f"节假日第 {n} 行：格式为 开始日期|结束日期|名称")
        holidays.append(biz.Holiday(start=_day(c[0], f"节假日第 {n} 行开始日期"),
                                    end=_day(c[1], f"节假日第 {n} 行结束日期"), name=c[2]))
    workdays = []
    for n, line in enumerate(_lines(_text(form, "workdays")), 1):
        c = _cols(line) + [""]
        workdays.append(biz.Workday(date=_day(c[0], f"调休上班日第 {n} 行日期"), name=c[1]))
    closures = []
    kinds = {v: k for k, v in CLOSURE_KINDS.items()} | {k: k for k in CLOSURE_KINDS}
    for n, line in enumerate(_lines(_text(form, "closures")), 1):
        c = _cols(line) + ["", "", "", ""]
        if c[0] not in kinds:
            raise EditError(f"闭厅时段第 {n} 行：类型“{c[0]}”无效（每周 或 每月最后）")
        if not c[1].isdigit() or not 1 <= int(c[1]) <= 7:
            raise EditError(f"闭厅时段第 {n} 行：星期“{c[1]}”须为 1（周一）至 7（周日）")
        closures.append(biz.Closure(kind=kinds[c[0]], weekday=int(c[1]),
                                    start=_clock(c[2] or "00:00", f"闭厅时段第 {n} 行开始时间"),
                                    end=_clock(c[3] or "24:00", f"闭厅时段第 {n} 行结束时间"), name=c[4]))
    vacations = []
    previous = {(v.start, v.end): v for v in old.vacations}
    for n, line in enumerate(_lines(_text(form, "vacations")), 1):
        c = _cols(line) + ["", "", ""]
        if not c[1]:
            raise EditError(f"假期第 {n} 行：格式为 开始日期|结束日期|名称|值班日（逗号分隔）")
        start, end = _day(c[0], f"假期第 {n} 行开始日期"), _day(c[1], f"假期第 {n} 行结束日期")
        duty = [_day(d, f"假期第 {n} 行值班日") for d in re.split(r"[,，、\s]+", c[3]) if d.strip()]
        for d in duty:
            if not start <= d <= end:
                raise EditError(f"假期第 {n} 行：值班日 {d} 不在假期 {start} 至 {end} 之内")
        was = previous.get((start, end))
        vacations.append(biz.Vacation(start=start, end=end, name=c[2], duty_days=sorted(set(duty)),
                                      duty_periods=was.duty_periods if was else []))
    return {"holidays": holidays, "workdays": workdays, "closures": closures, "vacations": vacations}


# ---------------------------------------------------------------- permissions


def _forbidden(what: str) -> EditError:
    return EditError(what, 403)


def may_view(user, page: str, hall: str) -> bool:
    if user.role == "admin":
        return True
    if page == "overview":
        return user.role in ("department", "hall")
    if user.role == "department":
        return page in ("overview", "items")
    if user.role == "hall":
        return user.hall == hall and page in ("overview", "staff", "calendar")
    return False


def item_editable(user, item: biz.Item) -> bool:
    return user.role == "admin" or (user.role == "department" and item.department == user.department)


# ---------------------------------------------------------------- the controller


class ConfigEditController(Controller):
    path = "/config"
    include_in_schema = False

    def _editor(self, request: Request, ctx, service) -> ConfigEditor:
        return editor_for(request.app.state, ctx.store, ctx.directory, service)

    def _user(self, request: Request, ctx):
        s = ctx.auth.session(request.cookies.get(COOKIE))
        return s.user if s is not None else None

    def _render(self, user, ctx, name: str, status: int = 200, **data) -> Template:
        return Template(template_name=name, status_code=status, context={
            "user": user, "role_name": ROLE_NAMES[user.role], "directory": ctx.directory, "modes": MODES,
            "closure_kinds": CLOSURE_KINDS, "when": _when, **data})

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

    def _hall_or_404(self, editor: ConfigEditor, user, ctx, hall: str):
        if hall not in editor.entries:
            return self._render(user, ctx, "config_denied.html", status=404, title="没有这个大厅",
                                message=f"没有大厅“{hall}”。")
        return None

    @get("/", sync_to_thread=True)
    def overview(self, request: Request, ctx: NamedDependency[Any], service: NamedDependency[Any]) -> Any:
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
              service: NamedDependency[Any]) -> Any:
        opened = self._open(request, ctx, service, hall, "items")
        if not isinstance(opened, tuple):
            return opened
        user, editor = opened
        q = request.query_params
        return self._items_page(user, ctx, editor, hall, q.get("item"), q.get("new") == "1", None, None,
                                saved=q.get("saved"))

    def _items_page(self, user, ctx, editor: ConfigEditor, hall: str, item_id: str | None, new: bool,
                    form: dict | None, error: str | None, status: int = 200, saved: str | None = None) -> Template:
        b = editor.current(hall)
        item = next((i for i in b.catalog.items if i.id == item_id), None) if item_id else None
        values = None
        if form is not None:
            values = {k: _text(form, k) for k in ("item", "name", "department", "audience", "basis", "process",
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
                            new=new or (form is not None and _text(form, "new") == "1"),
                            head_only=user.role == "department", error=error, saved=saved,
                            departments=b.catalog.departments, pages=_pages(user), current=hall)

    @post("/{hall:str}/items", sync_to_thread=True, status_code=200)
    def save_item(self, request: Request, hall: FromPath[str], ctx: NamedDependency[Any],
                  service: NamedDependency[Any], data: Form) -> Any:
        opened = self._open(request, ctx, service, hall, "items")
        if not isinstance(opened, tuple):
            return opened
        user, editor = opened
        item_id = _text(data, "item")
        new = _text(data, "new") == "1"
        # optional: the same edit in other halls whose catalog has this item (all or nothing)
        also = [h for h in editor.entries if h != hall and _text(data, f"also_{h}") in ("1", "on")]
        try:
            done = editor.edit_many([hall, *also], user.name,
                                    lambda _h, b: _change_item(b, user, item_id, new, data),
                                    what=f"事项 {item_id}", summary=lambda a, b: _item_summary(a, b, item_id),
                                    comment=_text(data, "comment"), base_version=_version(data))
            version = done[hall][0] or next((v for v, _ in done.values() if v), None)
        except EditError as e:
            if e.status == 403:
                return self._deny(user, ctx, e.message)
            return self._items_page(user, ctx, editor, hall, item_id, new, data, e.message, status=e.status)
        return Redirect(path=f"/config/{hall}/items?item={item_id}&saved={version or 'none'}")

    # -- staff

    @get("/{hall:str}/staff", sync_to_thread=True)
    def staff(self, request: Request, hall: FromPath[str], ctx: NamedDependency[Any],
              service: NamedDependency[Any]) -> Any:
        opened = self._open(request, ctx, service, hall, "staff")
        if not isinstance(opened, tuple):
            return opened
        user, editor = opened
        q = request.query_params
        return self._staff_page(user, ctx, editor, hall, q.get("staff"), q.get("new") == "1", None, None,
                                saved=q.get("saved"))

    def _staff_page(self, user, ctx, editor: ConfigEditor, hall: str, staff_id: str | None, new: bool,
                    form: dict | None, error: str | None, status: int = 200, saved: str | None = None) -> Template:
        b = editor.current(hall)
        member = next((s for s in b.staff if s.id == staff_id), None) if staff_id else None
        keys = ("staff", "name", "department", "windows", "backup_for", "phone", "card", "comment")
        values = None
        if form is not None:
            values = {k: _text(form, k) for k in keys}
        elif member is not None:
            values = {"staff": member.id, "name": member.name, "department": member.department,
                      "windows": ", ".join(member.windows), "backup_for": ", ".join(member.backup_for),
                      "phone": member.phone, "card": member.card, "comment": ""}
        elif new and user.role == "admin":
            values = {k: "" for k in keys} | {"department": b.catalog.departments[0].id}
        return self._render(user, ctx, "config_staff.html", status=status,
                            title=f"人员名册 · {ctx.directory.hall_name(hall)}",
                            hall=hall, business=b, values=values,
                            new=new or (form is not None and _text(form, "new") == "1"),
                            phone_only=user.role == "hall", error=error, saved=saved,
                            dept_names={d.id: d.name for d in b.catalog.departments},
                            win_names={w.id: w.name for w in b.windows}, pages=_pages(user), current=hall)

    @post("/{hall:str}/staff", sync_to_thread=True, status_code=200)
    def save_staff(self, request: Request, hall: FromPath[str], ctx: NamedDependency[Any],
                   service: NamedDependency[Any], data: Form) -> Any:
        opened = self._open(request, ctx, service, hall, "staff")
        if not isinstance(opened, tuple):
            return opened
        user, editor = opened
        staff_id = _text(data, "staff")
        new = _text(data, "new") == "1"
        try:
            version, _ = editor.edit(hall, user.name, lambda b: _change_staff(b, user, staff_id, new, data),
                                     what=f"人员 {staff_id}", summary=lambda a, b: _staff_summary(a, b, staff_id),
                                     comment=_text(data, "comment"), base_version=_version(data))
        except EditError as e:
            if e.status == 403:
                return self._deny(user, ctx, e.message)
            return self._staff_page(user, ctx, editor, hall, staff_id, new, data, e.message, status=e.status)
        return Redirect(path=f"/config/{hall}/staff?staff={staff_id}&saved={version or 'none'}")

    # -- calendar

    @get("/{hall:str}/calendar", sync_to_thread=True)
    def calendar(self, request: Request, hall: FromPath[str], ctx: NamedDependency[Any],
                 service: NamedDependency[Any]) -> Any:
        opened = self._open(request, ctx, service, hall, "calendar")
        if not isinstance(opened, tuple):
            return opened
        user, editor = opened
        return self._calendar_page(user, ctx, editor, hall, None, None, saved=request.query_params.get("saved"))

    def _calendar_page(self, user, ctx, editor: ConfigEditor, hall: str, form: dict | None, error: str | None,
                       status: int = 200, saved: str | None = None) -> Template:
        b = editor.current(hall)
        cal = b.calendar
        if form is not None:
            values = {k: _text(form, k) for k in ("holidays", "workdays", "closures", "vacations", "comment")}
        else:
            values = {"holidays": holidays_text(cal), "workdays": workdays_text(cal), "closures": closures_text(cal),
                      "vacations": vacations_text(cal), "comment": ""}
        return self._render(user, ctx, "config_calendar.html", status=status,
                            title=f"日历 · {ctx.directory.hall_name(hall)}",
                            hall=hall, business=b, values=values, manager=user.role == "hall", error=error,
                            saved=saved, pages=_pages(user), current=hall)

    @post("/{hall:str}/calendar", sync_to_thread=True, status_code=200)
    def save_calendar(self, request: Request, hall: FromPath[str], ctx: NamedDependency[Any],
                      service: NamedDependency[Any], data: Form) -> Any:
        opened = self._open(request, ctx, service, hall, "calendar")
        if not isinstance(opened, tuple):
            return opened
        user, editor = opened
        try:
            version, _ = editor.edit(hall, user.name, lambda b: _change_calendar(b, user, data), what="日历",
                                     summary=_calendar_summary, comment=_text(data, "comment"),
                                     base_version=_version(data))
        except EditError as e:
            if e.status == 403:
                return self._deny(user, ctx, e.message)
            return self._calendar_page(user, ctx, editor, hall, data, e.message, status=e.status)
        return Redirect(path=f"/config/{hall}/calendar?saved={version or 'none'}")


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
                 "applied_version": v.applied, "online": v.online, "landed": v.landed}
                for v in editor.versions() if user.role != "hall" or v.hall == user.hall]


# ---------------------------------------------------------------- changes


def _version(form: dict) -> int | None:
    text = _text(form, "base_version")
    return int(text) if text.isdigit() else None


def _pages(user) -> list[tuple[str, str]]:
    out = []
    if user.role in ("admin", "department"):
        out.append(("items", "办事指南"))
    if user.role in ("admin", "hall"):
        out += [("staff", "人员名册"), ("calendar", "日历")]
    return out


def _change_item(b: biz.Business, user, item_id: str, new: bool, form: dict) -> biz.Business:
    items = list(b.catalog.items)
    idx = next((i for i, it in enumerate(items) if it.id == item_id), None)
    if new:
        if user.role != "admin":
            raise _forbidden("只有中心管理员可以新增事项。")
        if not _ID.match(item_id):
            raise EditError(f"事项编号“{item_id}”无效（字母、数字及 . _ -，以字母或数字开头）")
        if idx is not None:
            raise EditError(f"事项编号“{item_id}”已存在")
        old = None
    else:
        if idx is None:
            raise EditError(f"没有事项“{item_id}”", 404)
        old = items[idx]
        if not item_editable(user, old):
            raise _forbidden("部门负责人只能修改本部门的事项。")
    if user.role == "department":  # fields a department head may not change default to the current ones
        assert old is not None
        form = {"name": old.name, "mode": old.mode, "department": old.department,
                "co_departments": ", ".join(old.co_departments)} | dict(form)
    fields = parse_item(form, old, {d.id for d in b.catalog.departments})
    if user.role == "department":
        assert old is not None
        for key, label in (("name", "事项名称"), ("mode", "办理方式"), ("department", "部门"),
                           ("co_departments", "协办部门")):
            if fields[key] != getattr(old, key):
                raise _forbidden(f"部门负责人只能修改办事指南内容、所需材料和承诺时限，不能修改{label}。")
            fields[key] = getattr(old, key)
    if old is None:
        items.append(biz.Item(id=item_id, **fields))
    else:
        items[idx] = msgspec.structs.replace(old, **fields)
    return msgspec.structs.replace(b, catalog=msgspec.structs.replace(b.catalog, items=items))


def _item_summary(a: biz.Business, b: biz.Business, item_id: str) -> list[str]:
    old = next((i for i in a.catalog.items if i.id == item_id), None)
    new = next(i for i in b.catalog.items if i.id == item_id)
    return diff(old, new)


def _change_staff(b: biz.Business, user, staff_id: str, new: bool, form: dict) -> biz.Business:
    staff = list(b.staff)
    idx = next((i for i, s in enumerate(staff) if s.id == staff_id), None)
    if new:
        if user.role != "admin":
            raise _forbidden("只有中心管理员可以新增人员。")
        if not _ID.match(staff_id):
            raise EditError(f"人员编号“{staff_id}”无效（字母、数字及 . _ -，以字母或数字开头）")
        if idx is not None:
            raise EditError(f"人员编号“{staff_id}”已存在")
    elif idx is None:
        raise EditError(f"没有人员“{staff_id}”", 404)
    if user.role == "hall":  # fields a hall manager may not change default to the current ones
        old = staff[idx]
        form = {"name": old.name, "department": old.department, "windows": ", ".join(old.windows),
                "backup_for": ", ".join(old.backup_for), "card": old.card} | dict(form)
    fields = parse_staff(form)
    if user.role == "hall":
        for key, label in (("name", "姓名"), ("department", "部门"), ("windows", "A岗窗口"),
                           ("backup_for", "B岗窗口"), ("card", "卡号")):
            if fields[key] != getattr(old, key):
                raise _forbidden(f"大厅管理员只能修改人员电话，不能修改{label}。")
        staff[idx] = msgspec.structs.replace(old, phone=fields["phone"])
    elif idx is None:
        staff.append(biz.Staff(id=staff_id, **fields))
    else:
        staff[idx] = msgspec.structs.replace(staff[idx], **fields)
    return msgspec.structs.replace(b, staff=staff)


def _staff_summary(a: biz.Business, b: biz.Business, staff_id: str) -> list[str]:
    old = next((s for s in a.staff if s.id == staff_id), None)
    new = next(s for s in b.staff if s.id == staff_id)
    return diff(old, new)


def _change_calendar(b: biz.Business, user, form: dict) -> biz.Business:
    cal = b.calendar
    fields = parse_calendar(form, cal)
    if user.role == "hall":
        if fields["holidays"] != cal.holidays:
            raise _forbidden("大厅管理员只能修改闭厅时段和值班日，不能修改节假日。")
        if fields["workdays"] != cal.workdays:
            raise _forbidden("大厅管理员只能修改闭厅时段和值班日，不能修改调休上班日。")
        if [(v.start, v.end, v.name) for v in fields["vacations"]] != [(v.start, v.end, v.name) for v in cal.vacations]:
            raise _forbidden("大厅管理员只能修改假期中的值班日，不能增删或修改假期本身。")
    return msgspec.structs.replace(b, calendar=msgspec.structs.replace(cal, **fields))


def _calendar_summary(a: biz.Business, b: biz.Business) -> list[str]:
    out = []
    for key, text in (("holidays", holidays_text), ("workdays", workdays_text), ("closures", closures_text),
                      ("vacations", vacations_text)):
        before, after = _lines(text(a.calendar)), _lines(text(b.calendar))
        if before != after:
            removed = [x for x in before if x not in after]
            added = [x for x in after if x not in before]
            parts = [f"删除 {x}" for x in removed] + [f"新增 {x}" for x in added]
            out.append(f"{diff_label(key)}: " + ("，".join(parts) if parts else "顺序调整"))
    return out


def diff_label(key: str) -> str:
    from .configedit import FIELD_NAMES

    return FIELD_NAMES.get(key, key)


def _when(us: int | None) -> str:
    from .dashboard import _when as when

    return when(us)

