"""`onestop-edge doctor`: what is wrong on this box, one line per check.

Each check prints ``✔ name: what was found``, ``✗ name: what is wrong — fix: what to do`` or
``– name: not checked / nothing to check (why)``; the exit code is 1 when any check failed (✗),
else 0, so scripts and the install script can use it. The checks touch the real parts: the
configuration file, the data directory, the SQLite file (read only), each serial reader
(pyserial, through devices.badge), every GPIO pin (gpiozero, through devices.gpio; the
MockFactory under --simulate), the broker with the hall's own credentials (sync.mqtt.probe)
and central's public key against what central signed.

Run it while the node runs or while it is stopped. While it runs, mind two things: a serial
reader's frames during the listening window go to whichever of the two reads first, and the
broker check signs in with the hall's own user (the broker binds the client id to the user),
which takes the node's connection over for a moment; the node reconnects within seconds and
loses nothing (it resends from its log; acks and configuration are retained).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sync.contract import wire
from sync.contract.signing import Refused, Trust
from sync.kernel.clock import from_micros
from sync.kernel.checkup import FAIL, OK, SKIP, Check, report
from sync.kernel.configfile import ConfigError

from .config import EdgeConfig, load
from .store import migrations
from .syncing import CLOCK_TOLERANCE_US
from .timefloor import FLOOR_KEY

__all__ = ["FAIL", "OK", "SKIP", "Check", "Options", "report", "run"]

MIN_FREE_MB = 200  # default free space the data directory's disk must keep (--min-free-mb)
OTHER_HALL = "doctor-probe-other-hall"  # a hall id no hall has: its topics must be refused


@dataclass
class Options:
    data_dir: Path | None = None
    simulate: bool = False
    no_sync: bool = False
    listen: float = 1.0  # seconds to listen on each serial reader for frames
    wait: float = 12.0  # seconds to wait for central's time beacon (central sends one every 10 s)
    min_free_mb: int = MIN_FREE_MB
    now_us: Callable[[], int] = lambda: time.time_ns() // 1000


def run(config_path: str | Path, opts: Options | None = None) -> list[Check]:
    """Every check, in order. A configuration that does not load stops after that line."""
    opts = opts or Options()
    try:
        cfg = load(config_path)
    except ConfigError as e:
        return [Check("config", FAIL, str(e), "correct that field (docs/configuration.md)")]
    except OSError as e:
        return [Check("config", FAIL, f"{config_path}: {e}", "give the path of the hall's TOML file")]
    checks = [Check("config", OK, f"{config_path} valid (hall {cfg.hall.id}, business version {cfg.business.version})")]
    data_dir = Path(opts.data_dir or Path("var") / cfg.hall.id)
    checks.append(check_data_dir(data_dir, opts.min_free_mb))
    db_checks, floor_us = check_database(data_dir / "hall.db", cfg.hall.id)
    checks += db_checks
    checks += check_readers(cfg, opts)
    checks += check_gpio(cfg, opts.simulate)
    checks.append(check_printer(cfg, opts.simulate))
    beacon_us: int | None = None
    if opts.no_sync:
        checks.append(Check("broker", SKIP, "not checked (--no-sync)"))
    else:
        broker_checks, beacon_us = check_broker(cfg, opts)
        checks += broker_checks
    checks.append(check_clock(opts.now_us(), floor_us, beacon_us))
    return checks


# ---------------------------------------------------------------- disk


def check_data_dir(data_dir: Path, min_free_mb: int) -> Check:
    name = "data dir"
    target = data_dir
    while not target.exists():  # the node creates it: its nearest existing parent must take it
        if target.parent == target:
            break
        target = target.parent
    if not target.is_dir():
        return Check(name, FAIL, f"{target} is not a directory", "remove it or give --data-dir another path")
    probe = target / f".doctor-{uuid.uuid4().hex}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"onestop doctor\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        probe.unlink()
    except OSError as e:
        return Check(name, FAIL, f"{target} cannot be written: {e.strerror or e}",
                     "remount the disk read-write (an SD card that went read-only needs replacing), or give "
                     "the service user write access: chown -R onestop: " + str(target))
    free_mb = shutil.disk_usage(target).free // (1024 * 1024)
    where = str(data_dir) if target == data_dir else f"{data_dir} (not there yet; {target} takes it)"
    if free_mb < min_free_mb:
        return Check(name, FAIL, f"{where} writable, only {free_mb} MB free (needs {min_free_mb} MB)",
                     "free space on that disk (old backups, logs: journalctl --vacuum-size=100M)")
    return Check(name, OK, f"{where} writable, {free_mb} MB free")


def check_database(path: Path, hall_id: str) -> tuple[list[Check], int]:
    """The integrity and schema version of the hall database (read only), and its time floor."""
    if not path.exists():
        return [Check("database", SKIP, f"{path} not there yet (the node creates it on its first start)")], 0
    fix = (f"stop the node and restore the latest backup (onestop-edge restore), or move {path} away to start "
           "a new log (central keeps every event it acknowledged)")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as e:
        return [Check("database", FAIL, f"{path} cannot be opened: {e}", fix)], 0
    try:
        rows = con.execute("PRAGMA quick_check").fetchall()
        result = "; ".join(str(r[0]) for r in rows[:3])
        if result != "ok":
            return [Check("database", FAIL, f"{path} damaged: {result}", fix)], 0
        meta = _meta(con)
        version = migrations.read_version(con.execute)
    except sqlite3.Error as e:
        return [Check("database", FAIL, f"{path} is not a readable hall database: {e}", fix)], 0
    finally:
        con.close()
    if meta.get("hall") not in (None, hall_id):
        return [Check("database", FAIL, f"{path} belongs to hall {meta.get('hall')!r}, not {hall_id!r}",
                      "give --data-dir the directory of this hall")], 0
    if version > migrations.latest():
        return [Check("database", FAIL, f"{path} has schema {version}, newer than this code's {migrations.latest()}",
                      "install the release that wrote it (or restore a backup made by this one)")], 0
    pending = migrations.latest() - version
    schema = f"schema {version}" + (f" ({pending} migration(s) to apply at the next start)" if pending else " (current)")
    try:
        floor = int(meta.get(FLOOR_KEY) or 0)
    except ValueError:
        floor = 0
    compacted = ", ".join(f"{k.split(':', 1)[1]} ≤ seq {v}" for k, v in meta.items() if k.startswith("compacted:"))
    return [Check("database", OK, f"{path} passes quick_check, {schema}, epoch {meta.get('epoch', '?')}"
                  + (f"; log compacted up to {compacted} (rebuild needs a backup from before)" if compacted else ""))], floor


def _meta(con: sqlite3.Connection) -> dict[str, str]:
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "meta" not in tables:
        return {}
    return {str(k): str(v) for k, v in con.execute("SELECT key, value FROM meta")}


# ---------------------------------------------------------------- devices


def check_readers(cfg: EdgeConfig, opts: Options) -> list[Check]:
    readers = cfg.devices.readers
    if not readers:
        return [Check("serial", SKIP, "no badge readers configured")]
    if opts.simulate:
        return [Check(f"serial {r.name}", SKIP, "simulated (--simulate: a pseudo-terminal per reader)")
                for r in readers]
    from devices.badge import BadgeReader

    checks = []
    for r in readers:
        reader = BadgeReader(r.name, r.port, r.protocol, baudrate=r.baudrate, on_card=lambda *a: None,
                             reopen_min=opts.listen + 1, reopen_max=opts.listen + 1)
        reader.start()
        try:
            deadline = time.monotonic() + max(opts.listen, 0.2)
            while time.monotonic() < deadline and reader.state == "starting":
                time.sleep(0.02)
            while time.monotonic() < deadline and reader.state == "ok" and not reader.frames:
                time.sleep(0.02)
            state, error, frames, rejected = reader.state, reader.error, reader.frames, reader.rejected
        finally:
            reader.stop()
        name = f"serial {r.name}"
        if state != "ok":
            checks.append(Check(name, FAIL, f"{r.port} does not open: {error or state}",
                                "plug the reader in and check its port (ls -l /dev/serial/by-id/, the udev rule "
                                "of deploy/ names it /dev/onestop-reader-*), and that the service user is in the "
                                "dialout group"))
        elif frames:
            checks.append(Check(name, OK, f"{r.port} opens ({r.protocol}, {r.baudrate} baud), {frames} frame(s) in "
                                          f"{opts.listen:g} s"))
        elif rejected:
            checks.append(Check(name, FAIL, f"{r.port} opens but {rejected} frame(s) were garbled, none valid",
                                f"check `protocol` ({r.protocol}) and `baudrate` ({r.baudrate}) of this reader"))
        else:
            checks.append(Check(name, OK, f"{r.port} opens ({r.protocol}, {r.baudrate} baud), no frame yet "
                                          f"in {opts.listen:g} s (hold a card on it to see one)"))
    return checks


def check_gpio(cfg: EdgeConfig, simulate: bool) -> list[Check]:
    pins = cfg.devices.pins
    if not pins:
        return [Check("gpio", SKIP, "no GPIO pins configured")]
    import functools

    from devices.gpio import GpioBoard, PinDef, mock_factory, remote_factory

    chosen = cfg.devices.pin_factory
    if chosen == "mock" and not simulate:
        return [Check("gpio factory", FAIL, "pin_factory = \"mock\" (simulated pins) outside --simulate",
                      "set $.devices.pin_factory to \"auto\" (or lgpio / rpigpio / native) on a real node")]

    board = GpioBoard(
        [PinDef(name=n, pin=p.pin, role=p.role, pull_up=p.pull_up, active_high=p.active_high, board=p.board or "")
         for n, p in pins.items()],
        factory=mock_factory() if simulate else None,
        boards={name: (mock_factory if simulate else functools.partial(remote_factory, b.host, b.port))
                for name, b in cfg.devices.boards.items()},
        pin_factory=chosen,
    )
    board.open()
    try:
        factory = board.factory_name()
    finally:
        board.close()
    if board.factory_error is not None:  # the configured one: its library missing, or no pins to open
        e = board.factory_error
        checks = [Check("gpio factory", FAIL, f"$.devices.pin_factory = {chosen!r}: {e.problem}", e.fix)]
    else:
        checks = [Check("gpio factory", OK if factory else FAIL,
                        (f"{factory} (pin_factory {chosen})" if chosen != "auto" and factory else factory)
                        or "no pin factory could be made",
                        "on a Pi 5 install python3-lgpio (lgpio), on older boards RPi.GPIO; off a Pi run with "
                        "--simulate")]
    for name, p in pins.items():
        where = f" on board {p.board}" if p.board else ""
        if name in board.errors:
            checks.append(Check(f"gpio {name}", FAIL, f"pin {p.pin!r}{where} ({p.role}) unavailable: "
                                                      f"{board.errors[name]}",
                                f"give $.devices.pins.{name}.pin a free GPIO line (BCM 0–27 or \"GPIO17\"); "
                                "the service user must be in the gpio group"))
        else:
            checks.append(Check(f"gpio {name}", OK, f"pin {p.pin!r}{where} ({p.role}) set up"))
    return checks


_PRINTER_FIX = {
    "usb": "plug the printer in and switch it on; check $.devices.printer.usb_vendor/usb_product against `lsusb` "
           "and that the service user may use the device (the udev rule of deploy/, group lp or plugdev)",
    "serial": "plug the printer in and switch it on; check $.devices.printer.port and baudrate, and that the "
              "service user is in the dialout group",
    "network": "switch the printer on and check $.devices.printer.host (its IP address and port, usually 9100) "
               "from this box: nc -vz HOST 9100",
}


def check_printer(cfg: EdgeConfig, simulate: bool) -> Check:
    """The receipt printer: it opens and says it is online with paper."""
    p = cfg.devices.printer
    if p is None:
        return Check("printer", SKIP, "no receipt printer configured ([devices.printer])")
    if simulate:
        return Check("printer", SKIP, "simulated (--simulate: slips go to the simulator page)")
    from .printing import make_printer

    printer = make_printer(p)
    try:
        st = printer.status()
    finally:
        printer.close()
    where = printer.where()
    if st.state == "ok":
        return Check("printer", OK, f"{where} online, paper loaded")
    if st.state == "paper-low":
        return Check("printer", OK, f"{where} online, paper running low (put a new roll in soon)")
    if st.state == "unknown":
        return Check("printer", OK, f"{where} opens; {st.message} (paper and cover state not known)")
    if st.state == "paper-out":
        return Check("printer", FAIL, f"{where} is out of paper", "put a new roll of thermal paper in and close the cover")
    return Check("printer", FAIL, f"{where}: {st.message}", _PRINTER_FIX[p.kind])


# ---------------------------------------------------------------- broker and central's key


def check_broker(cfg: EdgeConfig, opts: Options) -> tuple[list[Check], int | None]:
    from sync.mqtt import parse_broker_url, probe

    hall = cfg.hall.id
    try:
        broker = parse_broker_url(cfg.broker.url, cfg.broker.username, cfg.broker.password)
    except ValueError as e:
        return [Check("broker", FAIL, str(e), "correct $.broker.url")], None
    own = [wire.ack_topic(hall), wire.config_topic(hall), wire.appointments_topic(hall), wire.TIME_TOPIC]
    # Another hall's topics: a broker refuses the subscription (SUBACK) or, as mosquitto does,
    # grants it and then delivers nothing; so the doctor also publishes to that topic and sees
    # whether its own message comes back. It publishes to another hall's events too (what a
    # leaked credential would forge). Empty payloads, to a hall id no hall has.
    foreign_sub = wire.ack_topic(OTHER_HALL)
    foreign_pub = wire.events_topic(OTHER_HALL)
    sent = [(foreign_sub, b""), (foreign_pub, b"")]
    received_at: list[int] = []

    def wait(result) -> bool:
        if any(t == wire.TIME_TOPIC for t, _ in result.messages) and not received_at:
            received_at.append(opts.now_us())
        echo = (not result.published.get(foreign_sub) or not result.granted.get(foreign_sub)
                or any(t == foreign_sub for t, _ in result.messages))
        return echo and (bool(received_at) or opts.wait <= 0)

    got = probe(broker, f"onestop-doctor-{hall}", subscribe=[*own, foreign_sub], publish=sent, wait=wait,
                timeout=max(3.0, opts.wait), protocol=cfg.broker.protocol, ca_file=cfg.broker.ca_file or None)
    if not got.connected:
        refused = got.refused.lower()
        if "not authori" in refused or "bad user" in refused:
            fix = ("the broker does not accept $.broker.username/password: put this hall's credentials from "
                   "`onestop-central broker-config` into the hall file")
        elif "cannot reach" in refused or "no answer" in refused:
            fix = "check $.broker.url, the network, and that the broker runs (systemctl status mosquitto)"
        else:
            fix = "check $.broker in the hall file"
        return [Check("broker", FAIL, f"{broker}: {got.refused}", fix)], None
    checks = [Check("broker", OK, f"{broker} accepts user {broker.username or '(none)'}")]
    denied_own = [t for t in own if not got.granted.get(t)]
    leaks = []
    if got.granted.get(foreign_sub) and any(t == foreign_sub for t, _ in got.messages):
        leaks.append(f"may read {foreign_sub}")
    for topic, _ in sent:
        if got.published.get(topic):
            leaks.append(f"may publish to {topic}")
    acl_fix = ("install the ACL `onestop-central broker-config` writes (acl_file in mosquitto.conf) and restart "
               "the broker: a hall may publish only its events and status and read its ack, config, bookings and "
               "the time")
    if denied_own:
        checks.append(Check("broker acl", FAIL, f"refuses this hall's own topics: {', '.join(denied_own)}", acl_fix))
    elif leaks:
        checks.append(Check("broker acl", FAIL, f"user {broker.username} reaches another hall's topics: "
                                                f"{'; '.join(leaks)}", acl_fix))
    else:
        publish_note = ("publishing refused too" if got.published.get(foreign_pub) is False
                        else "publishing not testable over MQTT 3.1.1")
        if got.granted.get(foreign_sub) is None:
            publish_note += "; the subscription got no answer"
        checks.append(Check("broker acl", OK, f"this hall's topics only (another hall's refused; {publish_note})"))
    checks.append(_check_key(cfg, got.messages))
    beacon_us = None
    for topic, payload in got.messages:
        if topic == wire.TIME_TOPIC:
            try:
                body = Trust([cfg.central.public_key, cfg.central.next_public_key]).open(topic, payload)
                beacon_us = wire.decode(body, wire.TimeBeacon).ts - (received_at[0] if received_at else opts.now_us())
            except (Refused, ValueError, wire.WireError):
                pass
            break
    return checks, beacon_us


def _check_key(cfg: EdgeConfig, messages: list[tuple[str, bytes]]) -> Check:
    if not cfg.central.public_key:
        return Check("central key", FAIL, "$.central.public_key is empty: the hall would refuse everything central sends",
                     "put the line of central.pub (`onestop-central keygen`) into [central] public_key")
    trust = Trust([cfg.central.public_key, cfg.central.next_public_key])
    if not messages:
        return Check("central key", SKIP, "configured; no signed message from central yet to verify it against")
    signed = [(t, p) for t, p in messages if p and (t == wire.TIME_TOPIC or wire.split_hall_topic(t))]
    signed = [(t, p) for t, p in signed if t != wire.ack_topic(OTHER_HALL)]
    if not signed:
        return Check("central key", SKIP, "configured; no signed message from central yet to verify it against")
    topic, payload = signed[0]
    try:
        trust.open(topic, payload)
    except Refused as e:
        return Check("central key", FAIL, f"the message on {topic} does not verify: {e.reason}: {e.detail}",
                     "[central] public_key must be the line of central's current central.pub (during a key "
                     "rotation put the new one into next_public_key)")
    return Check("central key", OK, f"configured, verifies central's message on {topic}")


# ---------------------------------------------------------------- clock


def check_clock(now_us: int, floor_us: int, beacon_offset_us: int | None) -> Check:
    parts = [f"system time {_iso(now_us)}"]
    if floor_us:
        if now_us < floor_us - CLOCK_TOLERANCE_US:
            return Check("clock", FAIL, f"system time {_iso(now_us)} is {(floor_us - now_us) / 1e6:.0f} s before the "
                                        f"latest trusted time {_iso(floor_us)}",
                         "the box has no real-time clock or lost its time: let NTP set it (timedatectl), or start "
                         "the node and let central's time beacon correct it")
        parts.append(f"time floor {_iso(floor_us)}")
    else:
        parts.append("no time floor yet")
    if beacon_offset_us is None:
        parts.append("offset to central unknown (no beacon seen)")
    elif abs(beacon_offset_us) > CLOCK_TOLERANCE_US:
        return Check("clock", FAIL, f"system time is {-beacon_offset_us / 1e6:+.1f} s off central's beacon",
                     "enable NTP (timedatectl set-ntp true); a running node corrects its own clock from the beacon")
    else:
        parts.append(f"offset to central's beacon {-beacon_offset_us / 1e6:+.2f} s")
    return Check("clock", OK, ", ".join(parts))


def _iso(us: int) -> str:
    try:
        return from_micros(us).isoformat(timespec="seconds")
    except (OverflowError, ValueError):
        return f"{us} µs"
