"""The closing check per service day (闭厅检查): view, table, projection rules, query."""

from __future__ import annotations

import msgspec

from sync.contract import events as ev

from .log import dumps, get_view, table, update


class ClosingView(msgspec.Struct, kw_only=True):
    service_date: str
    checks: int
    ok: bool
    failed: list[dict]
    passed_at: int | None
    first_failed_at: int | None
    alarms: int
    last_alarm_at: int | None
    by: str
    closer: str | None


def tables(Base: type) -> list[type]:
    return [table(Base, "ClosingDay", ClosingView, "closing_days", key="service_date",
                  big={"passed_at", "first_failed_at", "last_alarm_at"},
                  defaults={"checks": 0, "failed": "[]", "alarms": 0, "by": "auto"})]


# ---------------------------------------------------------------------------- projection rules


def _day(s, service_date: str):
    """The day's row, created on its first check or alarm."""
    C = s.m.ClosingDay
    C.insert(service_date=service_date).on_conflict_ignore().execute()
    return C.get_by_id(service_date)


def _checked(s, seq: int, ts: int, b: ev.ClosingChecked) -> None:
    C = s.m.ClosingDay
    row = _day(s, b.service_date)
    update(C, b.service_date, checks=C.checks + 1, ok=b.ok, failed=dumps(b.failed), by=b.by, closer=b.closer,
           passed_at=ts if b.ok and row.passed_at is None else row.passed_at,
           first_failed_at=row.first_failed_at if (b.ok or row.first_failed_at) else ts)


def _alarm(s, seq: int, ts: int, b: ev.ClosingAlarm) -> None:
    C = s.m.ClosingDay
    _day(s, b.service_date)
    update(C, b.service_date, alarms=C.alarms + 1, last_alarm_at=ts, failed=dumps(b.failed), ok=False)


RULES = {
    "closing.checked": _checked,
    "closing.alarm": _alarm,
}


class ClosingQueries:
    m: object

    def closing_day(self, service_date: str) -> ClosingView | None:
        return get_view(ClosingView, self.m.ClosingDay, self.m.ClosingDay.service_date == service_date, ["failed"])
