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


# gc=False (here and on sync.contract.wire's structs): not tracked by the cyclic GC — they hold
# scalars, strings and lists of them and are never in a cycle; central decodes millions of them
# (bench sync: 88.7–99.9k -> 112.5–115.3k events/s, docs/benchmarks.md)
class Body(Struct, kw_only=True, forbid_unknown_fields=False, omit_defaults=True, gc=False):
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
    role: Literal["A", "B", "duty"]  # duty: on the vacation duty roster [J 29, U 22, B 29]
    via: Literal["pin", "badge"] = "pin"


@kind("window.signed_off")
class WindowSignedOff(Body, kw_only=True):
    window: str
    staff: str
    # the hall manager who confirmed a sign-off that left `waiting` visitors of the department
    # without a serving window [U 21, B 28, C 11(6)]; None for an ordinary sign-off
    override_by: str | None = None
    waiting: int = 0


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


# ------------------------------------------------------------------ step-away (离岗)


@kind("window.step_away_violation")
class StepAwayViolation(Body, kw_only=True):
    """A step-away passed the limit: the window is left without permission (擅自离岗) [C 9(4)].
    Recorded once per pause, when the limit passes; `paused_at` is when the pause began (µs)."""

    window: str
    staff: str
    paused_at: int
    limit_minutes: int


# ------------------------------------------------------------------ attendance (考勤)

PunchKind = Literal["in", "out", "extra"]


@kind("attendance.punch")
class AttendancePunch(Body, kw_only=True):
    """A badge at the hall reader. `slot` is the punch slot of the day it counts for (0-based,
    in/out alternating), `classification` how it stood against that slot: on_time, late
    (in), early (out), or for `extra`: repeat (another punch for a filled in-slot) or
    closed_day (no slot: the hall is closed that day)."""

    staff: str
    card: str
    reader: str
    kind: PunchKind
    classification: str
    slot: int | None = None
    service_date: str


@kind("attendance.unknown_card")
class UnknownCard(Body, kw_only=True):
    """A card no staff member holds was read. Recorded, shown, never an error."""

    card: str
    reader: str


@kind("leave.requested")
class LeaveRequested(Body, kw_only=True):
    """A leave request (请假). From `start` (`start_half`) to `end` (`end_half`), local dates;
    halves: am = the first work period of the day, pm = the rest."""

    leave: str
    staff: str
    leave_kind: str
    start: str
    end: str
    start_half: Literal["am", "pm"] = "am"
    end_half: Literal["am", "pm"] = "pm"
    reason: str = ""
    certificate: bool = False
    by: str
    # requested after it began (事后补办 [J 28]), within `rules.attendance.leave_after_days`
    after_the_fact: bool = False


class Handover(Struct, kw_only=True):
    """A→B hand-over [C 7, H AB-2, H AB-5]: while the A-role staff member is on leave, `stand_in`
    (B-role of `window`) works the window; "" when the window has no B-role staff to name."""

    window: str
    stand_in: str = ""


@kind("leave.approved")
class LeaveApproved(Body, kw_only=True):
    leave: str
    by: str  # the window head / chief representative (staff id) or a hall manager
    note: str = ""
    # who the leave kind needs [C 9]: "hall" (chief representative / hall), "department" (the home
    # department's consent, named in `note`, e.g. annual leave [C 9(3)])
    approver: Literal["hall", "department"] = "hall"
    handover: list[Handover] = []


@kind("leave.ended")
class LeaveEnded(Body, kw_only=True):
    """销假 [C 9]: the staff member is back at work from `returned` (`returned_half`) on; the
    leave ends the half before, or counts not at all when they are back by its first half."""

    leave: str
    returned: str
    returned_half: Literal["am", "pm"] = "am"
    by: str


@kind("leave.rejected")
class LeaveRejected(Body, kw_only=True):
    leave: str
    by: str
    reason: str = ""


# ------------------------------------------------------------------ ratings (好差评)


@kind("rating.given")
class RatingGiven(Body, kw_only=True):
    """One rating of one service (一次一评), from the window's buttons or the visitor's phone
    page. No visitor identity."""

    window: str
    ticket: str
    level: int  # 5 非常满意 … 1 非常不满意
    staff: str | None = None
    department: str | None = None
    # where the rating was given; added compatibly (omitted for buttons, so a button rating
    # encodes as before; central counts every rating.given alike whatever its source)
    source: Literal["buttons", "phone"] = "buttons"


@kind("rating.followup_opened")
class FollowupOpened(Body, kw_only=True):
    """A bad rating to follow up (call-back, verification, fix) by `due` (working days)."""

    followup: str
    ticket: str
    window: str
    level: int
    due: str
    staff: str | None = None
    department: str | None = None


@kind("rating.followup_closed")
class FollowupClosed(Body, kw_only=True):
    followup: str
    by: str
    result: Literal["resolved", "appeal_upheld", "unreachable"] = "resolved"
    note: str = ""


# ------------------------------------------------------------------ closing check (闭厅检查)


class FailedInput(Struct, kw_only=True, omit_defaults=True):
    name: str
    role: str  # door | power
    label: str = ""
    state: str  # open | on


@kind("closing.checked")
class ClosingChecked(Body, kw_only=True):
    """The end-of-day check [J 42]: every door contact closed, every power input off."""

    service_date: str
    ok: bool
    failed: list[FailedInput] = []
    by: str = "auto"  # auto (the hall's tick) or who asked for the check
    closer: str | None = None  # the last staff member to sign off that day
    # a manual check (人工检查): the manager confirms doors shut and power off by walking the hall;
    # `failed` then names what was not confirmed, `readings` what the door/power inputs (if any)
    # read as failing at that moment, `note` the manager's remark
    manual: bool = False
    note: str = ""
    readings: list[FailedInput] = []


@kind("closing.alarm")
class ClosingAlarm(Body, kw_only=True):
    """The closing check still fails; repeated every `alarm_repeat_minutes` until it passes."""

    service_date: str
    failed: list[FailedInput]
    repeat: int  # 1 for the first alarm of the day


# ------------------------------------------------------------------ complaints (办不成事反映)


@kind("complaint.received")
class ComplaintReceived(Body, kw_only=True):
    """A complaint taken at the hall (the 办不成事 reflection window, the hall's phone or box)
    [J 35, U 33, B 41, C 19]; central files it with its complaints, routed like one typed there."""

    complaint: str  # UUIDv7, made at the hall
    received: str  # local date and time, YYYY-MM-DDTHH:MM
    channel: str  # 窗口 | 电话 | 信箱
    content: str
    complexity: str = ""  # 一般 | 需调查 | 复杂 (central's reply_days keys); "" = central's first
    window: str = ""
    staff: str = ""
    item: str = ""
    department: str = ""  # routed to (归口部门); "" = central routes it (staff, window, item)
    complainant: str = ""
    by: str  # the hall manager who took it


# ------------------------------------------------------------------ devices


@kind("device.fault")
class DeviceFault(Body, kw_only=True):
    """A device stopped working (reader unplugged, port error, GPIO error)."""

    device: str
    device_kind: str  # reader | gpio
    message: str


@kind("device.recovered")
class DeviceRecovered(Body, kw_only=True):
    device: str
    device_kind: str
    down_seconds: int = 0


@kind("slip.reprinted")
class SlipReprinted(Body, kw_only=True):
    """A queue slip printed again by number at a clerk's or the manager's request (edge.printing);
    `printed` false with the printer's `reason` when the printer could not."""

    ticket: str
    number: str
    by: str  # staff or manager id
    role: str  # staff | manager
    printed: bool  # always in the body (omit_defaults would drop a default)
    reason: str = ""


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


@kind("downlink.refused")
class DownlinkRefused(Body, kw_only=True):
    """The hall refused a message on its downlink (a bad or missing signature, a configuration
    version that is a replay or an absurd jump, a clock correction too far from the hall's time
    floor). `reason` is a stable code, `topic` where it came; `suppressed` counts refusals of
    the same topic and reason not recorded since the previous one (they are rate limited)."""

    topic: str
    reason: str
    detail: str = ""
    version: int | None = None  # configuration refusals: the version offered
    ts: int | None = None  # clock refusals: the time the beacon offered (µs UTC)
    suppressed: int = 0


@kind("log.compacted")
class LogCompacted(Body, kw_only=True):
    """Stands in, at central, for an event the hall deleted by compaction (`[storage]
    retention_days`, edge.store.compaction) after central had acknowledged it, when central later
    lost it and asked again: seqs `first`…`last` of `epoch` are unrecoverable from the hall. Made
    by replication for each missing seq (deterministic id); never appended to the hall's log."""

    epoch: str
    first: int
    last: int


# ------------------------------------------------------------------ result notices (办结通知)
# The applicant's phone number never enters the log: it stays in the hall's own, unreplicated
# tables (edge.store.outbox) and is erased there after the retention period (docs/security.md,
# "Applicants' phone numbers"). These events say only that a number was recorded and how each
# notice fared, so central can count notices per hall.


@kind("case.phone_recorded")
class CasePhoneRecorded(Body, kw_only=True):
    """The applicant left a phone number for the result notice (the number is not here)."""

    case: str
    by: str


NoticeReason = Literal["done", "refused", "supply_due"]


@kind("notice.queued")
class NoticeQueued(Body, kw_only=True):
    """A result notice was queued for a case's applicant [B 25(2), C 11(4), C 11(7)]."""

    notice: str
    case: str
    reason: NoticeReason


@kind("notice.sent")
class NoticeSent(Body, kw_only=True):
    notice: str
    case: str
    gateway: str  # file | http
    attempts: int


@kind("notice.failed")
class NoticeFailed(Body, kw_only=True):
    """A notice given up: the gateway refused it (4xx), answered with errors `max_attempts`
    times, or the phone number was erased before it could be sent."""

    notice: str
    case: str
    attempts: int
    reason: str


@kind("notice.retried")
class NoticeRetried(Body, kw_only=True):
    """A manager put a failed notice back in the queue."""

    notice: str
    case: str
    by: str


# ------------------------------------------------------------------ appointments (预约)


@kind("appointment.checked_in")
class AppointmentCheckedIn(Body, kw_only=True):
    """A booked visitor checked in at the kiosk and got `ticket` [C 11(6), J 4(6)]. `status`:
    on_time (inside the check-in window around the slot start: the ticket is called ahead of
    walk-ins) or late (after the window: an ordinary walk-in ticket, the booking counts as
    missed). The window is the one the hall applied (µs UTC)."""

    booking: str
    code: str
    department: str
    item: str
    slot_start: int
    window_start: int
    window_end: int
    status: Literal["on_time", "late"]
    ticket: str
    number: str


def encode_body(body: Body) -> bytes:
    return msgspec.json.encode(body)


_DECODERS: dict[str, msgspec.json.Decoder] = {}


def decode_body(kind_name: str, data: bytes) -> Body:
    dec = _DECODERS.get(kind_name)
    if dec is None:
        try:
            cls = BODIES[kind_name]
        except KeyError:
            raise msgspec.ValidationError(f"unknown event kind {kind_name!r}") from None
        dec = _DECODERS[kind_name] = msgspec.json.Decoder(cls)
    return dec.decode(data)
