"""Device health (card readers, GPIO): view, table, projection rules, query."""

from __future__ import annotations

import msgspec

from sync.contract import events as ev

from .log import row_view, table


class DeviceView(msgspec.Struct, kw_only=True):
    name: str
    kind: str
    state: str  # ok | fault
    message: str
    since: int
    faults: int


def tables(Base: type) -> list[type]:
    return [table(Base, "DeviceState", DeviceView, "device_states", key="name", big={"since"},
                  defaults={"message": "", "faults": 0})]


def _fault(s, seq: int, ts: int, b: ev.DeviceFault) -> None:
    D = s.m.DeviceState
    D.insert(name=b.device, kind=b.device_kind, state="fault", message=b.message, since=ts, faults=1).on_conflict(
        conflict_target=[D.name],
        update={D.state: "fault", D.message: b.message, D.since: ts, D.faults: D.faults + 1, D.kind: b.device_kind},
    ).execute()


def _recovered(s, seq: int, ts: int, b: ev.DeviceRecovered) -> None:
    D = s.m.DeviceState
    D.insert(name=b.device, kind=b.device_kind, state="ok", message="", since=ts, faults=0).on_conflict(
        conflict_target=[D.name], update={D.state: "ok", D.message: "", D.since: ts},
    ).execute()


RULES = {
    "device.fault": _fault,
    "device.recovered": _recovered,
}


class DeviceQueries:
    m: object

    def device_states(self) -> list[DeviceView]:
        D = self.m.DeviceState
        return [row_view(DeviceView, r) for r in D.select().order_by(D.name)]
