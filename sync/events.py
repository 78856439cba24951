"""Hall events: the envelope every fact travels in, and the typed body of each kind.

An event is immutable once committed to the hall's log. The envelope (`Event`) carries the
identity (`hall`, `epoch`, `seq`, `id`), the `kind` and `schema` version of the body, and the
time of the fact as the hall's clock saw it (`ts` wall microseconds UTC, `boot`, `mono`
nanoseconds since boot, `clock` quality). Bodies are msgspec structs registered by kind, so
the edge writes them and central validates them with the same types.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import msgspec
from msgspec import Struct

SCHEMA = 1


class Event(Struct, kw_only=True, array_like=False):
    hall: str
    epoch: str
    seq: int
    id: str
    kind: str
    schema: int
    body: msgspec.Raw  # JSON of the kind's body struct
    ts: int  # wall time, microseconds since the Unix epoch, UTC
    boot: str
    mono: int  # nanoseconds on the boot's monotonic clock
    clock: str  # synced | unverified | simulated


class Body(Struct, kw_only=True, forbid_unknown_fields=False, omit_defaults=True):
    KIND: ClassVar[str] = ""  # set by @kind


BODIES: dict[str, type[Body]] = {}


def kind(name: str):
    def register(cls: type[Body]) -> type[Body]:
        cls.KIND = name
        BODIES[name] = cls
        return cls

    return register


# ------------------------------------------------------------------ tickets and visits


@kind("ticket.issued")
class TicketIssued(Body, kw_only=True):
    ticket: str
    number: str
    department: str
    item: str | None = None
    priority: bool = False
    service_date: str  # local date the number belongs to


@kind("ticket.called")
class TicketCalled(Body, kw_only=True):
    ticket: str
    window: str
    staff: str


@kind("ticket.recalled")
class TicketRecalled(Body, kw_only=True):
    ticket: str
    window: str
    staff: str
    recalls: int


@kind("ticket.started")
class TicketStarted(Body, kw_only=True):
    ticket: str
    window: str
    staff: str


Outcome = Literal["instant", "promised", "joint", "notice", "gaps", "refused"]


@kind("ticket.completed")
class TicketCompleted(Body, kw_only=True):
    """A service ended with an outcome. For outcomes that leave work open (promised, joint,
    gaps) `case` names the case that tracks it; `deadline` is its promised date."""

    ticket: str
    window: str
    staff: str
    item: str
    outcome: Outcome
    case: str | None = None
    deadline: str | None = None  # promised / joint / gaps: completion promised by
    supply_by: str | None = None  # gaps: missing materials to be supplied by
    missing: list[str] = []  # notice / gaps: material ids
    co_departments: list[str] = []  # joint
    reason: str = ""  # refused
    note: str = ""


@kind("ticket.no_show")
class TicketNoShow(Body, kw_only=True):
    ticket: str
    window: str
    staff: str
    recalls: int


@kind("ticket.rejoined")
class TicketRejoined(Body, kw_only=True):
    ticket: str


@kind("ticket.transferred")
class TicketTransferred(Body, kw_only=True):
    """First-asked responsibility: the visitor is sent to the department that owns the matter,
    keeping their place in time."""

    ticket: str
    window: str
    staff: str
    from_department: str
    to_department: str
    item: str | None = None
    note: str = ""


@kind("ticket.expired")
class TicketExpired(Body, kw_only=True):
    ticket: str
    state: str  # the state it was left in


# ------------------------------------------------------------------ windows


@kind("window.signed_on")
class WindowSignedOn(Body, kw_only=True):
    window: str
    staff: str
    role: Literal["A", "B"]
    via: Literal["pin", "badge"] = "pin"


@kind("window.signed_off")
class WindowSignedOff(Body, kw_only=True):
    window: str
    staff: str


@kind("window.paused")
class WindowPaused(Body, kw_only=True):
    window: str
    staff: str
    reason: str = ""
    via: str = "console"


@kind("window.resumed")
class WindowResumed(Body, kw_only=True):
    window: str
    staff: str
    paused_seconds: int
    over_limit: bool = False
    via: str = "console"


@kind("window.opened")
class WindowOpened(Body, kw_only=True):
    """A flexible window opened (or a closed window re-enabled) by the hall manager."""

    window: str
    by: str


@kind("window.withdrawn")
class WindowWithdrawn(Body, kw_only=True):
    """A window taken out of service by the hall manager (calls nothing until reopened)."""

    window: str
    by: str


# ------------------------------------------------------------------ cases


@kind("case.handoff")
class CaseHandoff(Body, kw_only=True):
    """Materials handed from one window/department to another (联办)."""

    case: str
    from_department: str
    to_department: str
    materials: list[str]
    by: str
    note: str = ""


@kind("case.supplied")
class CaseSupplied(Body, kw_only=True):
    """Missing materials of a 容缺 case supplied."""

    case: str
    materials: list[str]
    by: str


@kind("case.finished")
class CaseFinished(Body, kw_only=True):
    case: str
    by: str
    result: Literal["done", "refused", "withdrawn"] = "done"
    note: str = ""


# ------------------------------------------------------------------ clock


@kind("clock.corrected")
class ClockCorrected(Body, kw_only=True):
    """The hall learned the true time: events of `boot` stamped while the clock was unverified
    were off by `offset_us` (true = ts + offset_us). Central re-bases them."""

    boot: str
    offset_us: int
    source: str = "central"
    previous_quality: str = "unverified"


@kind("config.applied")
class ConfigApplied(Body, kw_only=True):
    """A newer business configuration from central took effect."""

    version: int
    previous: int


def encode_body(body: Body) -> bytes:
    return msgspec.json.encode(body)


def decode_body(kind_name: str, data: bytes) -> Body:
    try:
        cls = BODIES[kind_name]
    except KeyError:
        raise msgspec.ValidationError(f"unknown event kind {kind_name!r}") from None
    return msgspec.json.decode(data, type=cls)
