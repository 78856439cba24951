"""`onestop-central`: the central office service, and its broker-config helper.

    onestop-central --config config/central.toml [--db URL] [--http HOST:PORT] [--broker URL]
                    [--worker-id ID] [--shared] [--clock-start ISO --clock-speed F]
    onestop-central broker-config --config config/central.toml --out DIR
    onestop-central keygen --out DIR [--force]
    onestop-central backup (--config config/central.toml | --db URL) --out FILE
    onestop-central doctor --config config/central.toml [--db URL]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sync.contract import wire
from sync.kernel.clock import make_clock
from sync.kernel.configfile import ConfigError
from sync.mqtt import parse_broker_url
from sync.kernel.serve import serve
from sync.kernel.startup import load_or_report, start_logging


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="onestop-central", description="Run the central office service.")
    p.add_argument("--config", required=True, help="central configuration, e.g. config/central.toml")
    p.add_argument("--db", help="sqlite:///path.db (default from the config) or postgresql://…")
    p.add_argument("--http", help="HOST:PORT for the API and dashboard")
    p.add_argument("--broker", help="mqtt://[user:pass@]host:port or mqtts://…")
    p.add_argument("--worker-id", default="1", help="distinguishes central workers sharing one subscription")
    p.add_argument("--shared", action="store_true", help="consume hall events on an MQTT 5 shared subscription")
    p.add_argument("--beacon-interval", type=float, default=10.0, metavar="SECONDS",
                   help="how often the time beacon is published (default 10)")
    p.add_argument("--clock-start", metavar="ISO8601")
    p.add_argument("--clock-speed", type=float, metavar="FACTOR")
    p.add_argument("--log-level", default=os.environ.get("ONESTOP_LOG", "info"),
                   choices=["debug", "info", "warning", "error"])
    args = p.parse_args(argv)
    if args.http and (":" not in args.http or not args.http.rsplit(":", 1)[1].isdigit()):
        p.error(f"--http must be HOST:PORT, got {args.http!r}")
    return args


def keygen(argv: list[str]) -> int:
    """`onestop-central keygen --out DIR`: the downlink signing key pair (docs/security.md)."""
    from sync.contract.signing import write_key_pair

    p = argparse.ArgumentParser(prog="onestop-central keygen",
                                description="Write central's downlink signing key pair (Ed25519).")
    p.add_argument("--out", required=True, help="directory for central.key (private, mode 0600) and central.pub")
    p.add_argument("--force", action="store_true", help="replace an existing key (every hall needs the new public key)")
    args = p.parse_args(argv)
    try:
        key, pub, signer = write_key_pair(args.out, force=args.force)
    except (FileExistsError, OSError) as e:
        print(f"onestop-central keygen: {e}", file=sys.stderr)
        return 2
    print(f"wrote {key} (private, keep it on central only) and {pub}")
    print(f'central.toml:   [central] signing_key = "{key.resolve()}"')
    print(f'each hall file: [central] public_key = "{signer.public_key}"')
    return 0


def backup(argv: list[str]) -> int:
    """`onestop-central backup`: a consistent copy of central's SQLite database while it runs
    (SQLite's online backup API); for PostgreSQL, the pg_dump command to run instead
    (docs/operations.md, "Upgrades, backups and restore")."""
    import sqlite3

    from sync.kernel.sqlitecopy import CopyError, copy_database

    p = argparse.ArgumentParser(prog="onestop-central backup",
                                description="Copy central's database consistently, while central runs.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", help="central configuration (its [db] url names the database)")
    src.add_argument("--db", help="sqlite:///path.db or postgresql://…")
    p.add_argument("--out", required=True, help="the backup file to write (replaced atomically)")
    args = p.parse_args(argv)
    url = args.db
    if url is None:
        from . import config as central_config

        try:
            url = central_config.load(args.config)[0].db.url
        except ConfigError as e:
            print(f"onestop-central backup: {e}", file=sys.stderr)
            return 2
    if url.startswith(("postgresql://", "postgres://")):
        print("onestop-central backup: a PostgreSQL database is backed up with its own tool, while central runs: "
              f"pg_dump --format=custom --file {args.out} '{url}'  (restore: pg_restore --clean --dbname URL FILE)",
              file=sys.stderr)
        return 2
    if not url.startswith("sqlite:///"):
        print(f"onestop-central backup: database URL must be sqlite:///PATH or postgresql://…, got {url!r}",
              file=sys.stderr)
        return 2

    def describe(con: sqlite3.Connection) -> tuple[int, int]:
        version = con.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] or 0
        return version, con.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    try:
        version, events = copy_database(Path(url[len("sqlite:///"):]), Path(args.out), describe)
    except (CopyError, sqlite3.Error) as e:
        print(f"onestop-central backup: {e}", file=sys.stderr)
        return 2
    print(f"backed up central's database to {args.out}: {events} events, schema {version}")
    return 0


def doctor(argv: list[str]) -> int:
    """`onestop-central doctor --config FILE [--db URL]`: one line per check (central.doctor)."""
    p = argparse.ArgumentParser(prog="onestop-central doctor",
                                description="Check central's configuration, signing key, database, broker and "
                                            "halls; exit 1 when something is wrong.")
    p.add_argument("--config", required=True, help="central configuration, e.g. config/central.toml")
    p.add_argument("--db", help="the database URL (default: [db] url of the config)")
    p.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS", help="for the broker to answer")
    args = p.parse_args(argv)
    from . import doctor as checks

    return checks.report(checks.run(args.config, checks.Options(db=args.db, timeout=max(0.5, args.timeout))),
                         sys.stdout)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["backup"]:
        return backup(argv[1:])
    if argv[:1] == ["doctor"]:
        return doctor(argv[1:])
    if argv[:1] == ["broker-config"]:
        from .brokerconf import main as broker_config

        return broker_config(argv[1:])
    if argv[:1] == ["keygen"]:
        return keygen(argv[1:])
    args = parse_args(argv)
    start_logging(args.log_level)
    from . import config as central_config
    from .brokerconf import worker_user

    def load():
        from sync.contract.signing import Signer

        cfg, halls = central_config.load(args.config)
        if not cfg.central.signing_key:
            raise ConfigError(f"{args.config}: field $.central.signing_key: central signs everything it sends to "
                              "the halls; make a key with `onestop-central keygen --out DIR` and name DIR/central.key "
                              "here")
        signer = Signer.from_file(cfg.central.signing_key)
        clock = make_clock(args.clock_start, args.clock_speed, quality="synced")
        # worker k > 1 is its own broker user (`broker-config --workers N`): mosquitto binds client
        # ids to users, so workers sharing one user would disconnect each other
        username = worker_user(cfg.broker.username, args.worker_id) if cfg.broker.username else ""
        return cfg, halls, clock, signer, parse_broker_url(args.broker or cfg.broker.url, username, cfg.broker.password)

    loaded = load_or_report("onestop-central", load)
    if loaded is None:
        return 2
    cfg, halls, clock, signer, broker = loaded
    db_url = args.db or cfg.db.url
    if db_url.startswith("sqlite:///"):
        Path(db_url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)

    from .app import create_app
    from .service import CentralService
    from .store import CentralStore

    try:
        store = CentralStore(db_url)
        store.open()
    except Exception as e:  # noqa: BLE001 - one clear line for a bad database URL
        print(f"onestop-central: cannot open database {db_url}: {e}", file=sys.stderr)
        return 2
    for h in halls:
        with store.db.atomic():
            store.ensure_hall(h.id, h.campus)
    from .configedit import ConfigEditor

    # per hall the newer of its file's configuration and the newest revision edited on the
    # dashboard (stored at central) goes into `halls`: that is what is published below
    try:
        editor = ConfigEditor(store, halls, clock=clock.micros, fix_days=cfg.followups.fix_days)
    except ConfigError as e:  # a stored revision with another follow-up deadline than [followups]
        print(f"onestop-central: {e}", file=sys.stderr)
        store.close()
        return 2
    configs = {
        h.id: wire.ConfigMessage(v=wire.V, hall=h.id, version=h.business.version, business=h.business,
                                 ts=clock.micros())
        for h in halls
    }
    service = CentralService(store, broker, clock, signer=signer, configs=configs, worker_id=args.worker_id,
                             shared=args.shared, protocol=5 if args.shared else cfg.broker.protocol,
                             ca_file=cfg.broker.ca_file or None, beacon_interval=args.beacon_interval)
    service.config_source = editor.refresh  # revisions another worker stored win on reconnect
    import threading

    erasing = threading.Event()  # stops the bookings' personal-data erasure (central.appointments)
    service.start()
    host, port = (args.http or cfg.http.listen).rsplit(":", 1)
    print(f"onestop-central {cfg.central.name}: {len(halls)} halls, db {db_url.split('@')[-1]}, broker {broker}",
          flush=True)
    print(f"  api http://{host}:{port}/api/halls  openapi http://{host}:{port}/schema"
          f"  dashboard http://{host}:{port}/login", flush=True)
    try:
        from .auth import Auth
        from .pages.live import LiveSettings
        from .projections import Directory
        from .reports import Weights

        a = cfg.assessment
        directory = Directory.of(halls)
        app = create_app(store, service, directory, Auth(cfg.users, cfg.dashboard.session_minutes),
                         Weights(a.satisfaction, a.attendance, a.on_time), clock=clock,
                         min_ratings=cfg.dashboard.min_ratings)
        editor.service, editor.directory = service, directory
        app.state.config_editor = editor  # dashboard edits (central.pages.config) go through it
        app.state.awards = cfg.awards  # central.pages.awards: [awards] rules
        app.state.followup_fix_days = cfg.followups.fix_days  # central.supervision.followups: [followups]
        app.state.supervision = cfg.supervision  # central.supervision: complaint reply days, bulletin notice
        app.state.centre_name = cfg.central.name  # central.supervision.notice_pdf: who signs the written notice
        app.state.live.settings = LiveSettings.of(cfg.dashboard)  # central.pages.live: [dashboard] live_*
        app.state.appointments.settings = cfg.appointments  # central.appointments: [appointments]
        service.appointments_source = app.state.appointments.messages  # republished on every connect
        app.state.appointments.run_erasure(erasing)  # phones past keep_phone_days, hourly
        if not serve(app, host, int(port)):
            print(f"onestop-central: could not serve on {host}:{port}", file=sys.stderr)
            return 1
    finally:
        erasing.set()
        service.stop()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
