"""Form checks shared by the supervision records: field text, days, choices, the hall a user
may write for, window and staff ids, the catalog, the audit row, the hall's local time."""

from __future__ import annotations

import json
from datetime import date, datetime

from ..config import User
from ..errors import BadRequest, Forbidden
from ..projections import Directory
from ..scope import FIRST_DAY, LAST_DAY


def field_text(data: dict, key: str, limit: int = 2000) -> str:
    v = data.get(key)
    if v is None:
        return ""
    if isinstance(v, list):  # a repeated form field: the last one wins
        v = v[-1] if v else ""
    if not isinstance(v, (str, int, float)):
        raise BadRequest(f"字段 {key} 格式不正确")
    s = str(v).strip()
    if len(s) > limit:
        raise BadRequest(f"字段 {key} 过长（最多 {limit} 字）")
    return s


def parse_day(value: str, what: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{what}格式应为 YYYY-MM-DD，收到 {value!r}") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadRequest(f"{what}须在 {FIRST_DAY} 至 {LAST_DAY} 之间，收到 {value!r}")
    return day


def choice(value: str, options: tuple, what: str) -> str:
    if value not in options:
        raise BadRequest(f"{what}必须是 {'/'.join(options)} 之一，收到 {value!r}")
    return value


def hall_of(d: Directory, user: User, hall: str) -> str:
    if not hall:
        raise BadRequest("请选择大厅")
    if hall not in d.halls:
        raise BadRequest(f"没有编号为 {hall!r} 的大厅")
    if user.role == "hall" and hall != user.hall:
        raise Forbidden("大厅管理员只能登记本大厅的记录")
    return hall


def check_window_staff(d: Directory, hall: str, window: str, staff: str) -> None:
    if window and d.window(hall, window) is None:
        raise BadRequest(f"{d.hall_name(hall)}没有窗口 {window!r}")
    if staff and d.staff(hall, staff) is None:
        raise BadRequest(f"{d.hall_name(hall)}没有工作人员 {staff!r}")


def catalog_item(d: Directory, hall: str, item: str):
    h = d.halls.get(hall)
    for it in (h.business.catalog.items if h else []):
        if it.id == item:
            return it
    return None


def department_ids(d: Directory) -> set[str]:
    return {dep.id for h in d.halls.values() for dep in h.business.catalog.departments}


def audit(store, user: User, action: str, detail: dict, now_us: int) -> None:
    store.audit(user.name, action, json.dumps(detail, ensure_ascii=False, sort_keys=True), now_us)


def local_now(d: Directory, hall: str | None, now_us: int) -> datetime:
    return datetime.fromtimestamp(now_us / 1e6, d.tz(hall or ""))
