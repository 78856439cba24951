"""Edge configuration: one TOML file per hall (config/halls/<hall-id>.toml).

The file holds the hall's identity, how it reaches the broker, its devices, and the business
configuration it starts with. Inside ``[business]``, `catalog` and `calendar` may be tables or
the path of another TOML file (relative to the hall file), so the halls of a centre can share
one catalog and one calendar. Errors name the file and the field and nothing starts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from msgspec import Meta, Struct, field

from sync.kernel.business import Business, ClockTime, Id
from sync.kernel.configfile import ConfigError, check_business, convert, read_toml, resolve_business

__all__ = ["ConfigError", "EdgeConfig", "load"]


class Strict(Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    pass


class HallIdentity(Strict, kw_only=True):
    id: Id
    name: str
    campus: Id
    campus_name: str = ""
    centre: str = ""
    address: str = ""
    complaint_phone: str = ""  # 投诉/办不成事反映 phone, shown on public pages
    # the hall node's address as a visitor's phone on the hall's Wi-Fi reaches it, e.g.
    # "http://192.168.10.2:8100" (no internet needed); the slip's QR code opens the ticket's page
    # there. Empty: no QR code on slips.
    public_url: Annotated[str, Meta(pattern=r"^(https?://[^/\s]+)?$")] = ""


class Broker(Strict, kw_only=True):
    url: str = "mqtt://127.0.0.1:1883"
    username: str = ""
    password: str = ""
    ca_file: str = ""  # CA certificate for mqtts:// (empty: the system's)
    protocol: Annotated[int, Meta(ge=4, le=5)] = 5  # MQTT 3.1.1 (4) or 5
    ack_timeout: Annotated[float, Meta(gt=0)] = 10.0  # seconds without ack progress before resending
    batch_size: Annotated[int, Meta(ge=1, le=5000)] = 1000  # events per message
    max_inflight: Annotated[int, Meta(ge=1)] = 20000  # events sent beyond central's ack
    status_interval: Annotated[float, Meta(gt=0)] = 15.0  # seconds between status messages


class Http(Strict, kw_only=True):
    listen: Annotated[str, Meta(pattern=r"^[^:]+:\d{1,5}$")] = "127.0.0.1:8100"
    # seconds between `heartbeat` events on a quiet /api/stream (a board that misses them knows
    # its connection is lost)
    stream_heartbeat_seconds: Annotated[float, Meta(ge=0.05, le=300)] = 15.0


class Reader(Strict, kw_only=True):
    """A serial badge reader (docs/devices.md). ``hall``: attendance punches; ``window``: sign
    on / step away / sign off at `window`."""

    name: Id
    port: str  # e.g. /dev/ttyUSB0, /dev/serial/by-id/…, /dev/ttyAMA0
    protocol: Literal["rdm6300", "line"] = "rdm6300"
    role: Literal["hall", "window"] = "hall"
    window: Id | None = None
    baudrate: Annotated[int, Meta(ge=300, le=921600)] = 9600
    label: str = ""


PinRole = Literal["lamp", "pause_button", "rating_button", "door", "power", "rating_lamp"]
PinNumber = int | str  # BCM number (17) or a gpiozero pin name ("GPIO17", "BCM17", "BOARD11")


class Board(Strict, kw_only=True):
    """`[devices.boards.NAME]`: a remote GPIO board, i.e. a Raspberry Pi (a Zero is enough) near
    the windows it serves, running the pigpio daemon (`pigpiod`), reached by gpiozero's
    `PiGPIOFactory` over the hall's network. One Pi header has about 22 free lines: the node's
    own header holds the hall's inputs and two windows, a board three more windows."""

    host: Annotated[str, Meta(min_length=1)]
    port: Annotated[int, Meta(ge=1, le=65535)] = 8888  # pigpiod's port
    label: str = ""


class Pin(Strict, kw_only=True):
    """One GPIO line. Lamps are outputs; buttons, door contacts and power-sense inputs are
    inputs, active LOW with the internal pull-up unless `pull_up = false` (then active HIGH).
    A door input is active when the door is closed; a power input when the power is on."""

    pin: PinNumber
    role: PinRole
    board: Id | None = None  # a `[devices.boards]` name; none: the hall node's own header
    window: Id | None = None  # lamp, pause_button, rating_button, rating_lamp: their window
    # rating_button: 5 非常满意 … 1 非常不满意; rating_lamp (optional): the lamp in that level's button
    level: Annotated[int, Meta(ge=1, le=5)] | None = None
    label: str = ""
    pull_up: bool = True  # inputs
    active_high: bool = True  # lamps


class Printer(Strict, kw_only=True):
    """`[devices.printer]`: the kiosk's thermal receipt printer speaking ESC/POS (docs/devices.md).
    ``usb``: `usb_vendor` and `usb_product` (e.g. 0x0416 and 0x5011); ``serial``: `port` and
    `baudrate`; ``network``: `host` ("192.168.10.20" or "192.168.10.20:9100")."""

    kind: Literal["usb", "serial", "network"]
    name: Id = "kiosk-printer"  # the device's name in device.fault events
    label: str = ""  # what the screens call it (default 取号打印机)
    usb_vendor: Annotated[int, Meta(ge=1, le=0xFFFF)] | None = None
    usb_product: Annotated[int, Meta(ge=1, le=0xFFFF)] | None = None
    port: str = ""
    baudrate: Annotated[int, Meta(ge=300, le=921600)] = 9600
    host: Annotated[str, Meta(pattern=r"^([^:\s]+(:\d{1,5})?)?$")] = ""
    width: Annotated[int, Meta(ge=16, le=64)] = 32  # characters per line: 58 mm paper 32, 80 mm paper 48
    qr_size: Annotated[int, Meta(ge=1, le=16)] = 6  # dots per QR module
    cut: bool = True  # the printer has a cutter
    query_status: bool = True  # ask paper/online state before each slip (DLE EOT)
    timeout_seconds: Annotated[float, Meta(gt=0, le=60)] = 5.0  # connecting, writing, status answers
    retry_seconds: Annotated[float, Meta(ge=1, le=3600)] = 30.0  # while faulted: how often to look again


class Devices(Strict, kw_only=True):
    readers: list[Reader] = []
    printer: Printer | None = None
    boards: dict[Id, Board] = {}
    pins: dict[Id, Pin] = {}
    debounce_ms: Annotated[int, Meta(ge=0, le=1000)] = 50  # buttons and inputs
    card_hold_ms: Annotated[int, Meta(ge=50, le=10000)] = 1000  # frames of one card closer than this: held, counted once
    reopen_max_seconds: Annotated[float, Meta(ge=0.1, le=600)] = 30.0  # backoff ceiling for an unplugged reader
    blink_seconds: Annotated[float, Meta(gt=0, le=10)] = 0.5  # lamp blink half-period (step-away violation)
    # the node's own GPIO header (docs/configuration.md): auto = gpiozero's choice; lgpio (every Pi, the
    # Pi 5 included), rpigpio (RPi.GPIO, not on a Pi 5), native (no library); mock only with --simulate
    pin_factory: Literal["auto", "lgpio", "rpigpio", "native", "mock"] = "auto"


class Display(Strict, kw_only=True):
    """`[display]`: the display board's 亮身份 photos and its server-side voice (docs/pages.md).
    Staff photos are `photo` file names of `[[business.staff]]` in `photos_dir`; the voice is
    `voice_command` (espeak-ng) speaking `voice` (cmn: Mandarin) when the board's browser has no
    Chinese voice of its own."""

    photos_dir: str = ""  # absolute path of the staff photos; "": no photos (the board shows initials)
    voice_command: str = "espeak-ng"  # a name on PATH or an absolute path
    voice: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_+-]{1,40}$")] = "cmn"
    voice_speed: Annotated[int, Meta(ge=80, le=450)] = 150  # words per minute (espeak-ng -s)
    voice_timeout_seconds: Annotated[float, Meta(gt=0, le=60)] = 10.0  # one synthesis at most
    voice_cache: Annotated[int, Meta(ge=0, le=10000)] = 200  # announcements kept as audio in memory
    bilingual: bool = True  # fixed labels in Chinese with English under them (names and voice stay Chinese)


class CentralTrust(Strict, kw_only=True):
    """`[central]`: what the hall trusts of the central office (docs/security.md).
    Everything central sends (acks, configuration, time beacon) must be signed by the private
    key of `public_key` (or of `next_public_key`, during a key rotation)."""

    public_key: str = ""  # base64 Ed25519 public key: the line of central.pub (onestop-central keygen)
    next_public_key: str = ""  # central's next key during a rotation (both are trusted)
    # a time beacon moving the clock further than this from the latest trusted time the hall has
    # seen (its time floor) is refused until an operator confirms it (onestop-edge --accept-clock-jump)
    max_clock_jump_days: Annotated[float, Meta(gt=0, le=3650)] = 31.0


class Backup(Strict, kw_only=True):
    """The nightly copy of the hall's database to a second medium (a USB stick), made by the
    hall's housekeeping (docs/operations.md). `dir` empty: no nightly copy."""

    dir: str = ""  # absolute path of a directory on the second medium; never created by the hall
    keep: Annotated[int, Meta(ge=1, le=366)] = 7  # copies kept there; older ones are deleted
    at: ClockTime = "02:30"  # local time (the calendar's time zone) from which the day's copy is due


class Storage(Strict, kw_only=True):
    """`[storage]`: how long the hall keeps events central has acknowledged (edge.store.compaction,
    docs/operations.md "Disk and SD wear"). 0: forever (the log grows without bound)."""

    retention_days: Annotated[int, Meta(ge=0, le=36500)] = 90


class Notify(Strict, kw_only=True):
    """`[notify]`: the result notice (办结通知) to an applicant who left a phone number with a
    promised, joint or 容缺 case [J 24(2), B 25(2), C 11(4), C 11(7)] (edge.outbox,
    docs/configuration.md). `gateway = "none"`: no notices, no phone numbers taken."""

    gateway: Literal["none", "file", "http"] = "none"
    path: str = "outbox.jsonl"  # file: JSON lines appended here (relative: to the data directory)
    url: Annotated[str, Meta(pattern=r"^(https?://\S+)?$")] = ""  # http: the SMS gateway's endpoint
    token: str = ""  # http: sent as `Authorization: Bearer <token>`
    timeout_seconds: Annotated[float, Meta(gt=0, le=120)] = 10.0  # http: one request's limit
    retry_seconds: Annotated[float, Meta(gt=0, le=86400)] = 60.0  # wait before the 2nd attempt; doubles
    retry_max_seconds: Annotated[float, Meta(gt=0, le=86400)] = 3600.0  # the longest wait between attempts
    # attempts the gateway answered with an error (5xx, 429) before the notice is failed; an
    # unreachable gateway (offline hall) keeps the notice queued until it answers
    max_attempts: Annotated[int, Meta(ge=1, le=1000)] = 8
    # days after a case ends (finished) that its phone number is kept, then erased from the hall
    phone_retention_days: Annotated[int, Meta(ge=1, le=3650)] = 30
    # the message texts (edge.outbox.TEMPLATES); empty: the built-in Chinese text
    done_template: str = ""
    refused_template: str = ""
    supply_due_template: str = ""


class Notices(Strict, kw_only=True):
    """`[notices]`: the A4 notices as PDF (edge.pages.notices_pdf, docs/pages.md). They need a
    font with Chinese glyphs: `font` names one (TrueType/OpenType .ttf/.otf, or a .ttc/.otc
    collection whose face `font_index` picks); empty: the first found of the Debian fonts listed
    in edge.pages.notices_pdf.FONT_CANDIDATES (fonts-noto-cjk first)."""

    font: str = ""  # absolute path of the font file; "": look for the usual Debian CJK fonts
    # the face of a collection (.ttc); -1: its Simplified Chinese face (a name ending in "SC"), else the first
    font_index: Annotated[int, Meta(ge=-1, le=64)] = -1


NOTICE_PLACEHOLDERS = ("month", "day", "hall", "item", "number", "department", "contact", "note", "supply_by", "missing")
NOTICE_MAX_TEXT = 500


def template_error(text: str, which: str) -> str | None:
    """Why a configured `[notify]` message template cannot be used, or None (empty: the
    built-in one, edge.outbox.TEMPLATES)."""
    if not text:
        return None
    if len(text) > NOTICE_MAX_TEXT:
        return f"at most {NOTICE_MAX_TEXT} characters"
    try:
        text.format(**{k: "" for k in NOTICE_PLACEHOLDERS})
    except KeyError as e:
        return f"unknown placeholder {{{e.args[0]}}}; known: {', '.join('{' + k + '}' for k in NOTICE_PLACEHOLDERS)}"
    except (ValueError, IndexError) as e:
        return f"not a template ({e}); write a literal brace as {{{{ or }}}}"
    return None



class EdgeConfig(Strict, kw_only=True):
    hall: HallIdentity
    business: Business
    central: CentralTrust = field(default_factory=CentralTrust)
    http: Http = field(default_factory=Http)
    broker: Broker = field(default_factory=Broker)
    devices: Devices = field(default_factory=Devices)
    backup: Backup = field(default_factory=Backup)
    storage: Storage = field(default_factory=Storage)
    notify: Notify = field(default_factory=Notify)
    display: Display = field(default_factory=Display)
    notices: Notices = field(default_factory=Notices)


_PIN_NAME = re.compile(r"^(GPIO|BCM|WPI)(\d{1,2})$|^(BOARD|J8:)(\d{1,2})$")
_WINDOW_ROLES = ("lamp", "pause_button", "rating_button", "rating_lamp")


def pin_key(pin: PinNumber) -> str | None:
    """A canonical name for duplicate detection, None when not a pin name gpiozero knows."""
    if isinstance(pin, int):
        return f"BCM{pin}" if 0 <= pin <= 27 else None
    m = _PIN_NAME.match(pin.strip().upper())
    if not m:
        return None
    if m.group(1):
        n = int(m.group(2))
        if m.group(1) == "WPI":
            return f"WPI{n}"
        return f"BCM{n}" if n <= 27 else None
    n = int(m.group(4))
    return f"BOARD{n}" if 1 <= n <= 40 else None


def _precheck_pins(raw: dict, path: Path) -> None:
    """Validate each `[devices.pins]` entry alone, so an error names the pin (msgspec would say
    `$.devices.pins[...]`)."""
    import msgspec

    from sync.kernel.configfile import field_message

    devices = raw.get("devices")
    pins = devices.get("pins") if isinstance(devices, dict) else None
    if not isinstance(pins, dict):
        return
    for name, value in pins.items():
        try:
            msgspec.convert(value, Pin)
        except msgspec.ValidationError as e:
            msg = field_message(e).replace("field $", f"field $.devices.pins.{name}", 1)
            if not msg.startswith("field "):
                msg = f"field $.devices.pins.{name}: {msg}"
            raise ConfigError(f"{path}: {msg}") from None


def check_devices(cfg: EdgeConfig, path: Path) -> None:
    """Cross-reference checks of `[devices]`; raises ConfigError naming the file and field."""
    d = cfg.devices
    windows = {w.id for w in cfg.business.windows}

    def fail(field_path: str, message: str) -> None:
        raise ConfigError(f"{path}: field $.devices.{field_path}: {message}")

    names: set[str] = set()
    ports: set[str] = set()
    for i, r in enumerate(d.readers):
        if r.name in names:
            fail(f"readers[{i}].name", f"duplicate reader name {r.name!r}")
        names.add(r.name)
        if not r.port.strip():
            fail(f"readers[{i}].port", "a reader needs a port")
        if r.port in ports:
            fail(f"readers[{i}].port", f"port {r.port!r} is used by another reader")
        ports.add(r.port)
        if r.role == "window":
            if r.window is None:
                fail(f"readers[{i}].window", "a window reader needs its window")
            if r.window not in windows:
                fail(f"readers[{i}].window", f"unknown window {r.window!r}")
        elif r.window is not None:
            fail(f"readers[{i}].window", "only a window reader has a window")
    used: dict[str, str] = {}
    per_window: set[tuple[str, str, int | None]] = set()
    for name, p in d.pins.items():
        key = pin_key(p.pin)
        if key is None:
            fail(f"pins.{name}.pin", f"not a GPIO pin: {p.pin!r} (a BCM number 0–27 or a name like \"GPIO17\")")
        if p.board is not None and p.board not in d.boards:
            fail(f"pins.{name}.board", f"unknown board {p.board!r} (not in [devices.boards])")
        key = f"{p.board}:{key}" if p.board else key
        if key in used:
            where = f" of board {p.board!r}" if p.board else ""
            fail(f"pins.{name}.pin", f"pin {p.pin!r}{where} is already used by {used[key]!r}")
        used[key] = name
        if p.role in _WINDOW_ROLES:
            if p.window is None:
                fail(f"pins.{name}.window", f"a {p.role} belongs to a window")
            if p.window not in windows:
                fail(f"pins.{name}.window", f"unknown window {p.window!r}")
        elif p.window is not None:
            fail(f"pins.{name}.window", f"a {p.role} input belongs to the hall, not a window")
        if p.role == "rating_button":
            if p.level is None:
                fail(f"pins.{name}.level", "a rating button needs its level (5 非常满意 … 1 非常不满意)")
        elif p.level is not None and p.role != "rating_lamp":
            fail(f"pins.{name}.level", "only a rating button (or the lamp in one) has a level")
        if p.role in _WINDOW_ROLES:
            slot = (p.window or "", p.role, p.level)
            if slot in per_window:
                what = p.role if p.level is None else f"level {p.level} {'button' if p.role == 'rating_button' else p.role}"
                fail(f"pins.{name}", f"window {p.window!r} already has a {what}")
            per_window.add(slot)


def check_printer(cfg: EdgeConfig, path: Path) -> None:
    """`[devices.printer]`: each kind's own fields, and none of another kind's."""
    p = cfg.devices.printer
    if p is None:
        return

    def fail(name: str, message: str) -> None:
        raise ConfigError(f"{path}: field $.devices.printer.{name}: {message}")

    own = {"usb": ("usb_vendor", "usb_product"), "serial": ("port",), "network": ("host",)}
    for kind, fields in own.items():
        for name in fields:
            value = getattr(p, name)
            if kind == p.kind and not value:
                fail(name, f"a {kind} printer needs its {name}")
            if kind != p.kind and value:
                fail(name, f"only a {kind} printer has a {name} (this one is kind = {p.kind!r})")
    if p.kind == "network" and ":" in p.host and not 1 <= int(p.host.rsplit(":", 1)[1]) <= 65535:
        fail("host", f"port out of range in {p.host!r}")
    taken = {r.name for r in cfg.devices.readers} | set(cfg.devices.pins) | set(cfg.devices.boards)
    if p.name in taken:
        fail("name", f"{p.name!r} is already the name of a reader, pin or board")


def check_central(cfg: EdgeConfig, path: Path) -> None:
    from sync.contract.signing import parse_public_key

    for name in ("public_key", "next_public_key"):
        value = getattr(cfg.central, name)
        if value:
            try:
                parse_public_key(value)
            except ValueError as e:
                raise ConfigError(f"{path}: field $.central.{name}: {e}") from None


def check_backup(cfg: EdgeConfig, path: Path) -> None:
    if cfg.backup.dir and not Path(cfg.backup.dir).is_absolute():
        raise ConfigError(f"{path}: field $.backup.dir: must be an absolute path (the second medium's "
                          f"mount point, e.g. /media/usb/onestop), got {cfg.backup.dir!r}")
    if cfg.backup.at == "24:00":
        raise ConfigError(f"{path}: field $.backup.at: a time of day from 00:00 to 23:59, got '24:00'")


def check_notify(cfg: EdgeConfig, path: Path) -> None:
    n = cfg.notify
    if n.gateway == "http" and not n.url:
        raise ConfigError(f"{path}: field $.notify.url: the http gateway needs the SMS gateway's URL")
    if n.gateway == "file" and not n.path.strip():
        raise ConfigError(f"{path}: field $.notify.path: the file gateway needs a file")
    if n.retry_max_seconds < n.retry_seconds:
        raise ConfigError(f"{path}: field $.notify.retry_max_seconds: must be at least retry_seconds "
                          f"({n.retry_seconds})")
    for name in ("done_template", "refused_template", "supply_due_template"):
        problem = template_error(getattr(n, name), name.removesuffix("_template"))
        if problem:
            raise ConfigError(f"{path}: field $.notify.{name}: {problem}")


def check_display(cfg: EdgeConfig, path: Path) -> None:
    if cfg.display.photos_dir and not Path(cfg.display.photos_dir).is_absolute():
        raise ConfigError(f"{path}: field $.display.photos_dir: must be an absolute path, got {cfg.display.photos_dir!r}")


def check_notices(cfg: EdgeConfig, path: Path) -> None:
    if cfg.notices.font and not Path(cfg.notices.font).is_absolute():
        raise ConfigError(f"{path}: field $.notices.font: must be an absolute path, got {cfg.notices.font!r}")


def load(path: str | Path) -> EdgeConfig:
    """Load and check a hall configuration file. Raises ConfigError."""
    path = Path(path)
    raw = read_toml(path)
    included = resolve_business(raw, path)
    _precheck_pins(raw, path)
    cfg = convert(raw, EdgeConfig, path)
    check_business(cfg.business, path, included)
    check_devices(cfg, path)
    check_printer(cfg, path)
    check_central(cfg, path)
    check_backup(cfg, path)
    check_notify(cfg, path)
    check_display(cfg, path)
    check_notices(cfg, path)
    return cfg
