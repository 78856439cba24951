"""`onestop-edge`: run one hall node.

    onestop-edge --config FILE [--data-dir DIR] [--http HOST:PORT] [--no-sync] [--simulate] …
    onestop-edge backup --data-dir DIR --out FILE      (while the node runs)
    onestop-edge restore --data-dir DIR --from FILE    (with the node stopped)
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from sync.kernel.clock import make_clock
from sync.kernel.startup import load_or_report, start_logging

from .config import load


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="onestop-edge", description="Run one service hall node (edge).")
    p.add_argument("--config", help="hall configuration file, e.g. config/halls/north-student.toml")
    p.add_argument("--data-dir", help="where the node keeps its files (default: var/<hall-id>)")
    p.add_argument("--http", help="HOST:PORT to serve pages and API on (default: from the config)")
    p.add_argument("--broker", help="mqtt://[user:pass@]host:port or mqtts://… (default: from the config)")
    p.add_argument("--no-sync", action="store_true", help="do not replicate to central (a hall on its own)")
    p.add_argument("--simulate", action="store_true", help="simulated devices and /api/sim endpoints")
    p.add_argument("--clock-start", metavar="ISO8601", help="run on a simulated clock starting here")
    p.add_argument("--clock-speed", type=float, metavar="FACTOR", help="simulated clock speed (e.g. 60)")
    p.add_argument("--clock-skew", type=float, default=0.0, metavar="SECONDS",
                   help="fault injection: the machine clock reads this far off and is unverified until "
                        "central's time beacon corrects it")
    p.add_argument("--accept-clock-jump", action="store_true",
                   help="operator's confirmation: take central's next time beacon even when it moves the clock "
                        "further than [central] max_clock_jump_days from the latest trusted time")
    p.add_argument("--log-level", default=os.environ.get("ONESTOP_LOG", "info"),
                   choices=["debug", "info", "warning", "error"])
    p.add_argument("--hash-pin", action="store_true",
                   help="print a pin_hash/password_hash for a secret read from the terminal, then exit")
    args = p.parse_args(argv)
    if not args.hash_pin and not args.config:
        p.error("--config FILE is required")
    if args.http and (":" not in args.http or not args.http.rsplit(":", 1)[1].isdigit()):
        p.error(f"--http must be HOST:PORT, got {args.http!r}")
    if args.clock_speed is not None and args.clock_speed <= 0:
        p.error("--clock-speed must be positive")
    return args


def _tick_seconds(speed: float | None) -> float:
    """Real seconds between the hall's periodic checks: 5 s of real time, or 5 s of simulated
    time on a fast simulated clock (so a 15-minute step-away limit is caught on time), but
    never more often than 5 times a second."""
    return max(0.2, 5.0 / speed) if speed and speed > 1 else 5.0


def backup_or_restore(command: str, argv: list[str]) -> int:
    """`onestop-edge backup` / `restore` (docs/operations.md, "Upgrades, backups and restore")."""
    from sync.kernel.clock import SystemClock

    from .store import backup as bk
    from .store.log import StoreError

    p = argparse.ArgumentParser(prog=f"onestop-edge {command}", description=(
        "Copy the hall's database consistently, while the node runs." if command == "backup" else
        "Put a backup in place of the hall's database (the node must be stopped); the database it "
        "replaces is kept aside and new events start a new epoch."))
    p.add_argument("--data-dir", required=True, help="the node's data directory (holds hall.db)")
    if command == "backup":
        p.add_argument("--out", required=True, help="the backup file to write (replaced atomically)")
    else:
        p.add_argument("--from", dest="source", required=True, help="the backup file to restore")
    args = p.parse_args(argv)
    db = Path(args.data_dir) / "hall.db"
    try:
        if command == "backup":
            snap = bk.backup(db, Path(args.out))
            print(f"backed up hall {snap.hall} to {args.out}: epoch {snap.epoch} up to seq {snap.seq} "
                  f"({snap.events} events, schema {snap.schema})")
        else:
            done = bk.restore(db, Path(args.source), SystemClock().now())  # names the database kept aside
            kept = f"; the replaced database is kept as {done.kept[0]}" if done.kept else ""
            print(f"restored hall {done.copy.hall} from {args.source} into {db}: epoch {done.copy.epoch} up to seq "
                  f"{done.copy.seq}; new events start epoch {done.epoch}{kept}")
    except StoreError as e:
        print(f"onestop-edge {command}: {e}", file=sys.stderr)
        return 2
    return 0


def _writer_check(hall):
    """Under systemd's watchdog: the check that lets the serve loop ping it, i.e. the hall's writer
    beat within half the watchdog's timeout (a hung writer gets the node restarted)."""
    from sync.kernel.sdnotify import watchdog_seconds

    from .hall import BEAT_SECONDS

    timeout = watchdog_seconds()
    if not timeout:
        return None
    max_age = max(timeout / 2, 3 * BEAT_SECONDS)
    return lambda: hall.writer_alive(max_age)


def doctor_main(argv: list[str]) -> int:
    """`onestop-edge doctor --config FILE [--data-dir DIR] …`: one line per check (edge.doctor)."""
    p = argparse.ArgumentParser(prog="onestop-edge doctor",
                                description="Check this hall node's configuration, disk, database, devices, "
                                            "broker and clock; exit 1 when something is wrong.")
    p.add_argument("--config", required=True, help="hall configuration file")
    p.add_argument("--data-dir", help="the node's data directory (default: var/<hall-id>)")
    p.add_argument("--simulate", action="store_true", help="the node runs with simulated devices")
    p.add_argument("--no-sync", action="store_true", help="the node runs without central: skip the broker")
    p.add_argument("--listen", type=float, default=1.0, metavar="SECONDS",
                   help="how long to listen on each badge reader for frames (default 1)")
    p.add_argument("--wait", type=float, default=12.0, metavar="SECONDS",
                   help="how long to wait for central's time beacon (default 12; 0: do not wait)")
    p.add_argument("--min-free-mb", type=int, default=None, metavar="MB",
                   help="free space the data directory's disk must keep (default 200)")
    args = p.parse_args(argv)
    from . import doctor

    opts = doctor.Options(data_dir=Path(args.data_dir) if args.data_dir else None, simulate=args.simulate,
                          no_sync=args.no_sync, listen=max(0.0, args.listen), wait=max(0.0, args.wait),
                          min_free_mb=args.min_free_mb if args.min_free_mb is not None else doctor.MIN_FREE_MB)
    return doctor.report(doctor.run(args.config, opts), sys.stdout)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["backup"], ["restore"]):
        return backup_or_restore(argv[0], argv[1:])
    if argv[:1] == ["doctor"]:
        return doctor_main(argv[1:])
    args = parse_args(argv)
    if args.hash_pin:
        from .auth import hash_secret

        secret = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("secret: ")
        print(hash_secret(secret))
        return 0
    start_logging(args.log_level)
    loaded = load_or_report("onestop-edge", lambda: (
        load(args.config), make_clock(args.clock_start, args.clock_speed, skew_seconds=args.clock_skew)),
        bad_value="bad clock option: ")
    if loaded is None:
        return 2
    cfg, clock = loaded
    if not args.no_sync and not cfg.central.public_key:
        print(f"onestop-edge: {args.config}: field $.central.public_key: the hall takes only what central "
              "signs; put central's public key here (central.pub of `onestop-central keygen`), or run with "
              "--no-sync", file=sys.stderr)
        return 2
    if cfg.devices.pin_factory == "mock" and not args.simulate:
        print(f"onestop-edge: {args.config}: field $.devices.pin_factory: \"mock\" (simulated pins) only with "
              "--simulate; on a real node use \"auto\", \"lgpio\", \"rpigpio\" or \"native\"", file=sys.stderr)
        return 2
    host, port = (args.http or cfg.http.listen).rsplit(":", 1)
    data_dir = Path(args.data_dir or Path("var") / cfg.hall.id)

    from sync.kernel.serve import serve

    from .app import create_app
    from .hall import Hall
    from .store.log import StoreError

    hall = Hall(cfg, data_dir, clock)
    try:
        hall.start()
    except StoreError as e:
        print(f"onestop-edge: {e}", file=sys.stderr)
        return 2
    from .outbox import start_sender

    sender = start_sender(hall, data_dir)  # result notices ([notify]); None when off
    hardware = None
    if args.simulate or cfg.devices.readers or cfg.devices.pins:
        from .hardware import Hardware

        hardware = Hardware(hall, cfg.devices, simulate=args.simulate)
        hardware.start()  # a missing reader or pin is a device fault, never a failed start
    printing = None
    if cfg.devices.printer is not None:
        from .printing import Printing

        printing = Printing(hall, cfg.devices.printer, simulate=args.simulate)
        printing.start()  # an absent printer is a device fault, never a failed start
    replicator = None
    if not args.no_sync:
        from .syncing import start_replication

        try:
            replicator = start_replication(hall, args.broker or cfg.broker.url, username=cfg.broker.username,
                                           password=cfg.broker.password,
                                           ca_file=cfg.broker.ca_file or None, protocol=cfg.broker.protocol,
                                           ack_timeout=cfg.broker.ack_timeout, batch_size=cfg.broker.batch_size,
                                           max_inflight=cfg.broker.max_inflight,
                                           status_interval=cfg.broker.status_interval,
                                           accept_clock_jump=args.accept_clock_jump)
        except ValueError as e:
            if printing is not None:
                printing.stop()
            if hardware is not None:
                hardware.stop()
            if sender is not None:
                sender.stop()
            hall.stop()
            print(f"onestop-edge: bad broker: {e}", file=sys.stderr)
            return 2
    try:
        app = create_app(hall, simulate=args.simulate, replicator=replicator, hardware=hardware,
                         tick_seconds=_tick_seconds(args.clock_speed), printing=printing)
        base = f"http://{host}:{port}"
        print(f"onestop-edge {cfg.hall.id} ({cfg.hall.name}) data in {data_dir}, clock {clock.quality}, "
              f"sync {'off' if replicator is None else replicator.link.broker}", flush=True)
        print(f"  kiosk {base}/kiosk  display {base}/display  consoles {base}/console  guide {base}/guide",
              flush=True)
        if args.simulate:
            print(f"  device simulator {base}/sim", flush=True)
        if not serve(app, host, int(port), alive=_writer_check(hall)):
            print(f"onestop-edge: could not serve on {host}:{port}", file=sys.stderr)
            return 1
    finally:
        if replicator is not None:
            replicator.stop()
        if printing is not None:
            printing.stop()
        if hardware is not None:
            hardware.stop()
        if sender is not None:
            sender.stop()
        hall.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
