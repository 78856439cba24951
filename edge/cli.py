"""`onestop-edge`: run one hall node."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from pathlib import Path

from sync.clock import make_clock

from .config import ConfigError, load


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="onestop-edge", description="Run one service hall node (edge).")
    p.add_argument("--config", help="hall configuration file, e.g. config/halls/north-student.toml")
    p.add_argument("--data-dir", help="where the node keeps its files (default: var/<hall-id>)")
    p.add_argument("--http", help="HOST:PORT to serve pages and API on (default: from the config)")
    p.add_argument("--broker", help="mqtt://[user:pass@]host:port or mqtts://… (default: from the config)")
    p.add_argument("--simulate", action="store_true", help="simulated devices and /api/sim endpoints")
    p.add_argument("--clock-start", metavar="ISO8601", help="run on a simulated clock starting here")
    p.add_argument("--clock-speed", type=float, metavar="FACTOR", help="simulated clock speed (e.g. 60)")
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


def _graceful_server_class():
    import contextlib
    import signal
    import threading

    import uvicorn

    class GracefulServer(uvicorn.Server):
        """uvicorn re-raises SIGTERM/SIGINT after its shutdown, which would kill the process
        before the hall's writer is stopped; here a signal only asks for a clean shutdown."""

        @contextlib.contextmanager
        def capture_signals(self):
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return GracefulServer


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.hash_pin:
        from .auth import hash_secret

        secret = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else getpass.getpass("secret: ")
        print(hash_secret(secret))
        return 0
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = load(args.config)
        clock = make_clock(args.clock_start, args.clock_speed)
    except ConfigError as e:
        print(f"onestop-edge: {e}", file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"onestop-edge: bad clock option: {e}", file=sys.stderr)
        return 2
    host, port = (args.http or cfg.http.listen).rsplit(":", 1)
    data_dir = Path(args.data_dir or Path("var") / cfg.hall.id)

    import uvicorn

    GracefulServer = _graceful_server_class()
    from .app import create_app
    from .hall import Hall
    from .store import StoreError

    hall = Hall(cfg, data_dir, clock)
    try:
        hall.start()
    except StoreError as e:
        print(f"onestop-edge: {e}", file=sys.stderr)
        return 2
    try:
        app = create_app(hall, simulate=args.simulate)
        base = f"http://{host}:{port}"
        print(f"onestop-edge {cfg.hall.id} ({cfg.hall.name}) data in {data_dir}, clock {clock.quality}", flush=True)
        print(f"  kiosk {base}/kiosk  display {base}/display  consoles {base}/console  guide {base}/guide",
              flush=True)
        server = GracefulServer(uvicorn.Config(app, host=host, port=int(port), log_level="warning",
                                               access_log=False, lifespan="on"))
        ok = server.run()
        if ok is False or getattr(server, "started", True) is False:
            print(f"onestop-edge: could not serve on {host}:{port}", file=sys.stderr)
            return 1
    finally:
        hall.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
