"""The forms of the configuration pages (central.pages.config) as configuration changes: text
fields parsed with Chinese errors, who may see and change what, and each change applied to a
hall's `Business` with its summary (central.configedit stores, validates and publishes it).

Who may change what: central admin everything; a department head their own department's
items — guide text (audience, basis, process, location), materials (with 容缺) and promised
days — in every hall; a hall manager their own hall's closures, vacation duty days and staff
phone numbers. A change a role may not make raises `EditError` with status 403.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import msgspec

from sync.kernel import business as biz

from .configedit import FIELD_NAMES, EditError, diff

MODES = {"instant": "即办件", "promised": "承诺件", "joint": "联办件"}
CLOSURE_KINDS = {"weekly": "每周", "last-weekday-of-month": "每月最后"}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

# ---------------------------------------------------------------- form parsing (Chinese errors)


def form_text(form: dict, key: str) -> str:
    value = form.get(key, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value).replace("\r\n", "\n").strip()


FIELD_LABELS = {"item": "事项编号", "staff": "人员编号", "name": "名称", "department": "部门", "audience": "服务对象",
                "basis": "办理依据", "process": "办理流程", "materials": "所需材料", "gap": "容缺受理材料",
                "location": "办理地点", "promise_days": "承诺时限", "mode": "办理方式", "co_departments": "协办部门",
                "windows": "A岗窗口", "backup_for": "B岗窗口", "phone": "电话", "card": "卡号", "holidays": "节假日",
                "workdays": "调休上班日", "closures": "闭厅时段", "vacations": "假期与值班日"}


def require(form: dict, keys) -> None:
    """Every field of `keys` must be in the posted form (an empty value is an explicit "none"):
    a missing field never means "delete it" (EditError 400 naming the fields, nothing saved)."""
    missing = [k for k in keys if k not in form]
    if missing:
        raise EditError("表单不完整，缺少字段：" + "、".join(f"{FIELD_LABELS.get(k, k)}（{k}）" for k in missing)
                        + "。请从配置页面重新提交")


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
        out[key] = form_text(form, key)
    for key, what in (("name", "事项名称"), ("audience", "服务对象"), ("basis", "办理依据")):
        if not out[key]:
            raise EditError(f"{what}不能为空")
    out["process"] = _lines(form_text(form, "process"))
    if not out["process"]:
        raise EditError("办理流程至少需要一步（每行一步）")
    out["materials"] = parse_materials(form_text(form, "materials"), form_text(form, "gap"), old.materials if old else [])
    out["promise_days"] = _days(form_text(form, "promise_days") or "0")
    mode = form_text(form, "mode") or (old.mode if old else "instant")
    if mode not in MODES:
        raise EditError(f"办理方式“{mode}”无效（即办件、承诺件或联办件）")
    out["mode"] = mode
    out["co_departments"] = _ids(form_text(form, "co_departments"), "协办部门")
    dept = form_text(form, "department") or (old.department if old else "")
    if dept not in departments:
        raise EditError(f"部门“{dept}”不存在")
    out["department"] = dept
    return out


def parse_staff(form: dict) -> dict:
    out: dict[str, Any] = {"name": form_text(form, "name"), "department": form_text(form, "department"),
                           "phone": form_text(form, "phone"), "card": form_text(form, "card").upper()}
    if not out["name"]:
        raise EditError("姓名不能为空")
    if out["phone"] and not re.match(r"^[0-9+\-() ]{3,30}$", out["phone"]):
        raise EditError(f"电话“{out['phone']}”无效（只能含数字、空格及 + - ( )）")
    if out["card"] and not re.match(r"^[0-9A-F]{10}$|^[0-9]{1,20}$", out["card"]):
        raise EditError(f"卡号“{out['card']}”无效：须为 10 位十六进制数字或十进制数字")
    out["windows"] = _ids(form_text(form, "windows"), "A岗窗口")
    out["backup_for"] = _ids(form_text(form, "backup_for"), "B岗窗口")
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
    for n, line in enumerate(_lines(form_text(form, "holidays")), 1):
        c = _cols(line) + ["", ""]
        if not c[1]:
            raise EditError(f"节假日第 {n} 行：格式为 开始日期|结束日期|名称")
        holidays.append(biz.Holiday(start=_day(c[0], f"节假日第 {n} 行开始日期"),
                                    end=_day(c[1], f"节假日第 {n} 行结束日期"), name=c[2]))
    workdays = []
    for n, line in enumerate(_lines(form_text(form, "workdays")), 1):
        c = _cols(line) + [""]
        workdays.append(biz.Workday(date=_day(c[0], f"调休上班日第 {n} 行日期"), name=c[1]))
    closures = []
    kinds = {v: k for k, v in CLOSURE_KINDS.items()} | {k: k for k in CLOSURE_KINDS}
    for n, line in enumerate(_lines(form_text(form, "closures")), 1):
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
    for n, line in enumerate(_lines(form_text(form, "vacations")), 1):
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

ITEM_GUIDE_FIELDS = ("audience", "basis", "process", "materials", "gap", "location", "promise_days")
ITEM_ADMIN_FIELDS = ("name", "department", "mode", "co_departments")


def change_item(b: biz.Business, user, item_id: str, new: bool, form: dict) -> biz.Business:
    require(form, ("item", *ITEM_GUIDE_FIELDS, *(ITEM_ADMIN_FIELDS if user.role == "admin" else ())))
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


def item_summary(a: biz.Business, b: biz.Business, item_id: str) -> list[str]:
    old = next((i for i in a.catalog.items if i.id == item_id), None)
    new = next(i for i in b.catalog.items if i.id == item_id)
    return diff(old, new)


STAFF_FIELDS = ("name", "department", "windows", "backup_for", "phone", "card")


def change_staff(b: biz.Business, user, staff_id: str, new: bool, form: dict) -> biz.Business:
    require(form, ("staff", "phone") if user.role == "hall" and not new else ("staff", *STAFF_FIELDS))
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


def staff_summary(a: biz.Business, b: biz.Business, staff_id: str) -> list[str]:
    old = next((s for s in a.staff if s.id == staff_id), None)
    new = next(s for s in b.staff if s.id == staff_id)
    return diff(old, new)


def change_calendar(b: biz.Business, user, form: dict) -> biz.Business:
    cal = b.calendar
    if user.role == "hall":  # what a hall manager may not change defaults to the current calendar
        require(form, ("closures", "vacations"))
        form = {"holidays": holidays_text(cal), "workdays": workdays_text(cal)} | dict(form)
    require(form, ("holidays", "workdays", "closures", "vacations"))
    fields = parse_calendar(form, cal)
    if user.role == "hall":
        if fields["holidays"] != cal.holidays:
            raise _forbidden("大厅管理员只能修改闭厅时段和值班日，不能修改节假日。")
        if fields["workdays"] != cal.workdays:
            raise _forbidden("大厅管理员只能修改闭厅时段和值班日，不能修改调休上班日。")
        if [(v.start, v.end, v.name) for v in fields["vacations"]] != [(v.start, v.end, v.name) for v in cal.vacations]:
            raise _forbidden("大厅管理员只能修改假期中的值班日，不能增删或修改假期本身。")
    return msgspec.structs.replace(b, calendar=msgspec.structs.replace(cal, **fields))


def calendar_summary(a: biz.Business, b: biz.Business) -> list[str]:
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
    return FIELD_NAMES.get(key, key)
