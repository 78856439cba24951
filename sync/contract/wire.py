"""The replication wire contract: MQTT topics and message types (msgpack, versioned).

Edge → central: `Batch` (events of one epoch, in seq order) on `…/halls/{hall}/events`, and
`Status` (retained; the literal payload ``offline`` is the hall's last will) on
`…/halls/{hall}/status`.
Central → edge: `Ack` (retained; highest contiguous seq stored per epoch) on
`…/halls/{hall}/ack`, `ConfigMessage` (retained, versioned business configuration) on
`…/halls/{hall}/config`, `AppointmentsMessage` (retained, versioned bookings) on
`…/halls/{hall}/appointments`, and `TimeBeacon` on `onestop/v1/time`. Every central → edge message
travels signed: its msgpack bytes inside a `Sealed` envelope (`sync.contract.signing`).

Every message carries `v` (the wire version). A receiver rejects what it cannot decode with
`WireError`; it never guesses.
"""

from __future__ import annotations

import msgspec
from msgspec import Struct

from sync.kernel.business import Business

V = 1
ROOT = "onestop/v1"
TIME_TOPIC = f"{ROOT}/time"
OFFLINE = b"offline"
MAX_PAYLOAD = 4 * 1024 * 1024  # larger messages are refused (quarantined at central)
# configuration versions: central never makes one above MAX_CONFIG_VERSION, and a hall takes a
# version only if it is newer than the one it runs by at most MAX_VERSION_STEP (central adds 1
# per edit; a jump of thousands is a forgery or a broken central, never an edit)
MAX_CONFIG_VERSION = 2**31 - 1
MAX_VERSION_STEP = 1000


def hall_topic(hall: str, leaf: str) -> str:
    return f"{ROOT}/halls/{hall}/{leaf}"


def events_topic(hall: str) -> str:
    return hall_topic(hall, "events")


def status_topic(hall: str) -> str:
    return hall_topic(hall, "status")


def ack_topic(hall: str) -> str:
    return hall_topic(hall, "ack")


def config_topic(hall: str) -> str:
    return hall_topic(hall, "config")


def appointments_topic(hall: str) -> str:
    return hall_topic(hall, "appointments")


def split_hall_topic(topic: str) -> tuple[str, str] | None:
    """`onestop/v1/halls/H/leaf` → (H, leaf); anything else → None."""
    parts = topic.split("/")
    if len(parts) == 5 and f"{parts[0]}/{parts[1]}" == ROOT and parts[2] == "halls" and parts[3]:
        return parts[3], parts[4]
    return None


class WireError(ValueError):
    pass


class WireEvent(Struct, kw_only=True, forbid_unknown_fields=False, gc=False):
    """One event of a batch; `body` is the JSON of the kind's body struct (sync.contract.events)."""

    seq: int
    id: str
    kind: str
    schema: int
    body: bytes
    ts: int
    boot: str
    mono: int
    clock: str


class Batch(Struct, kw_only=True, forbid_unknown_fields=False, gc=False):
    v: int
    hall: str
    epoch: str
    events: list[WireEvent]
    sent: int  # edge wall time µs, for lag figures only


class Ack(Struct, kw_only=True, forbid_unknown_fields=False):
    v: int
    hall: str
    acks: dict[str, int]  # epoch → highest contiguous seq stored and committed at central
    conflicts: dict[str, int] = {}  # epoch → first seq where central holds a different event (sticky)
    upto: dict[str, int] = {}  # epoch → last seq of the batch this ack answers
    ts: int = 0


class Status(Struct, kw_only=True, forbid_unknown_fields=False):
    v: int
    hall: str
    state: str  # online
    epoch: str
    last_seq: int
    acked_seq: int
    backlog: int
    config_version: int
    clock: dict
    ts: int
    campus: str = ""
    windows: list = []  # brief window states for the live view
    queues: dict = {}  # department → waiting
    closing: dict = {}  # today's closing check: service_date, status, label, alarms, failed (input labels)


class ConfigMessage(Struct, kw_only=True, forbid_unknown_fields=False):
    v: int
    hall: str
    version: int
    business: Business
    ts: int = 0


class Sealed(Struct, kw_only=True, forbid_unknown_fields=True):
    """A signed downlink message (sync.contract.signing): `body` is the msgpack of an `Ack`,
    `ConfigMessage`, `AppointmentsMessage` or `TimeBeacon`; `sig` the Ed25519 signature of key `kid` over the topic and
    `body`."""

    v: int
    kid: str
    sig: bytes
    body: bytes


def config_version_refusal(current: int, version: int) -> tuple[str, str] | None:
    """Why a hall running `current` must not take configuration `version` ((reason, detail)),
    or None when it may. An equal version is not refused here: it is the one the hall runs."""
    if version < current:
        return "stale_version", f"version {version} is older than the running {current} (a replay?)"
    if version > MAX_CONFIG_VERSION:
        return "version_jump", f"version {version} is above the highest possible {MAX_CONFIG_VERSION}"
    if version > current + MAX_VERSION_STEP:
        return "version_jump", (f"version {version} is more than {MAX_VERSION_STEP} ahead of the running "
                                f"{current}")
    return None


class Booking(Struct, kw_only=True, forbid_unknown_fields=False):
    """One appointment (预约) as the hall needs it: no full phone number, only its last 4
    digits (the kiosk's second way to find a booking) and the name masked (张*)."""

    id: str  # central's booking id
    code: str  # what the visitor types at the kiosk (6 characters, no 0/O/1/I)
    department: str
    item: str
    start: int  # slot start, µs UTC
    phone_tail: str = ""
    name: str = ""


class AppointmentPolicy(Struct, kw_only=True, forbid_unknown_fields=False):
    """Central's `[appointments]` numbers the hall applies: the check-in window around a slot's
    start and how far appointment tickets go ahead of walk-ins (docs/configuration.md)."""

    slot_minutes: int = 30
    before_minutes: int = 30  # check-in opens this long before the slot starts
    after_minutes: int = 15  # and closes this long after; later is a walk-in
    max_in_row: int = 2  # appointment calls in a row while walk-ins wait (0: no limit)


class AppointmentsMessage(Struct, kw_only=True, forbid_unknown_fields=False):
    """The hall's bookings of the days `first_day`…`last_day` (local dates), retained and
    versioned (central adds 1 per change): the hall keeps the newest and checks in from it
    offline; an older version (a replay) is refused."""

    v: int
    hall: str
    version: int
    first_day: str
    last_day: str
    policy: AppointmentPolicy
    bookings: list[Booking] = []
    ts: int = 0


class TimeBeacon(Struct, kw_only=True, forbid_unknown_fields=False):
    v: int
    ts: int  # central's wall time, µs UTC
    source: str = "central"


_encoder = msgspec.msgpack.Encoder()
_decoders: dict[type, msgspec.msgpack.Decoder] = {}


def encode(msg: Struct) -> bytes:
    return _encoder.encode(msg)


def decode(data: bytes, kind: type[Struct]):
    if len(data) > MAX_PAYLOAD:
        raise WireError(f"payload of {len(data)} bytes is over the {MAX_PAYLOAD} byte limit")
    dec = _decoders.get(kind)
    if dec is None:
        dec = _decoders[kind] = msgspec.msgpack.Decoder(kind)
    try:
        msg = dec.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        raise WireError(f"not a valid {kind.__name__}: {e}") from None
    if getattr(msg, "v", None) != V:
        raise WireError(f"{kind.__name__} wire version {getattr(msg, 'v', None)} is not {V}")
    return msg
