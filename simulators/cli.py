"""`onestop-sim`: the demo and the benchmarks."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="onestop-sim", description="Simulators: the demo and the benchmarks.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    d = sub.add_parser(
        "demo", help="a whole campus on this machine: broker, central, every hall, simulated people",
        description="Start a private MQTT broker (mosquitto, else the embedded amqtt broker) on a free port, "
                    "onestop-central and every hall of CONFIG/halls/*.toml (simulated devices), each hall "
                    "behind its own proxy to the broker (see `onestop-sim outage`), all on one simulated "
                    "clock that starts shortly before the next opening; simulated staff and visitors work "
                    "every hall. Data and logs under var/demo. Ctrl-C or SIGTERM stops it all.")
    d.add_argument("--speed", type=_positive_float, default=10.0, metavar="N",
                   help="simulated clock speed, N × real time (default 10)")
    d.add_argument("--seed", type=int, metavar="N", help="random seed for staff and visitors (default: random)")
    d.add_argument("--hall", action="append", metavar="HALL_ID",
                   help="run only this hall (repeatable; default: every hall file)")
    d.add_argument("--config-dir", type=Path, metavar="DIR",
                   help="configuration folder holding central.toml and halls/*.toml "
                        "(default: ./config, else the repository's)")
    d.add_argument("--http", metavar="HOST:PORT",
                   help="where the first hall serves (north-student, or the first --hall; default: its config)")
    d.add_argument("--data-dir", type=Path, metavar="DIR", help="where the demo keeps data and logs (default var/demo)")
    d.add_argument("--free-ports", action="store_true",
                   help="serve central and the halls on free ports instead of the configured 8200, 8101…")
    d.add_argument("--broker", choices=["mosquitto", "amqtt"], default="mosquitto",
                   help="which broker (default: mosquitto when installed, else amqtt)")
    d.add_argument("--clock-start", type=datetime.fromisoformat, metavar="ISO8601",
                   help="start the simulated clock here (default: 5 minutes before the next opening)")
    d.add_argument("--until", metavar="HH:MM",
                   help="simulated people stop at this time of the first day (the nodes keep running)")

    o = sub.add_parser("outage", help="cut a hall of the running demo off the broker (see --help)",
                       add_help=False)
    del o
    sub.add_parser("badge", help="write badge frames into a serial port or pty (see `onestop-sim badge --help`)",
                   add_help=False)
    sub.add_parser("hallday", help="a scripted hall day on the simulated clock (see `onestop-sim hallday --help`)",
                   add_help=False)
    r = sub.add_parser(
        "rules", help="write docs/rules.md: each regulation article, the code that cites it, the tests naming it",
        description="Build the rule index from the article citations ([J 26], [C 11(7)] ...) in edge/, "
                    "central/, sync/, devices/ and tests/, and write it to docs/rules.md.")
    r.add_argument("--check", action="store_true", help="only check that the file matches the code (exit 1 if not)")
    r.add_argument("--out", type=Path, metavar="FILE", help="write here instead of docs/rules.md")
    r.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent, metavar="DIR",
                   help="the source tree (default: this checkout)")
    b = sub.add_parser("bench", help="benchmarks", description="Benchmarks of the onestop nodes.")
    bsub = b.add_subparsers(dest="target", metavar="TARGET", required=True)
    e = bsub.add_parser(
        "edge", help="latency, throughput and memory of one onestop-edge process",
        description="Start a real onestop-edge (bench hall, temporary data directory) and measure, over HTTP "
                    "on 127.0.0.1: GET /api/health latency at RATE/s (baseline), POST /api/tickets latency "
                    "at RATE/s for SECONDS (open loop), throughput issuing the rest of the TICKETS over "
                    "CONCURRENCY connections, and the edge's RSS after them. Prints PASS/FAIL against the "
                    "targets (p99 ≤ 20 ms at 50 req/s, ≥ 300 tickets/s, RSS ≤ 100 MB after 10,000 "
                    "tickets) and exits 0 either way.")
    e.add_argument("--tickets", type=_positive_int, default=10_000, metavar="N", help="tickets in all (default 10000)")
    e.add_argument("--rate", type=_positive_float, default=50.0, metavar="R",
                   help="offered load of the latency phases, requests/s (default 50)")
    e.add_argument("--seconds", type=_positive_float, default=20.0, metavar="S",
                   help="length of each latency phase (default 20)")
    e.add_argument("--concurrency", type=_positive_int, default=8, metavar="C",
                   help="connections of the throughput phase (default 8)")
    e.add_argument("--json", action="store_true", help="print the result as one JSON object (the table goes to stderr)")
    e.add_argument("--no-devices", action="store_true",
                   help="skip the device paths (badge frame → attendance event, button press → lamp change)")
    e.add_argument("--edge-cpus", metavar="LIST",
                   help="pin the edge process to these cores (taskset -c LIST, e.g. 0: one core, closer to a Pi 4); "
                        "the load generator is not pinned")
    e.add_argument("--lean", action="store_true",
                   help="instead: the Pi budget (docs/benchmarks.md) — a throwaway venv with only onestop[edge], "
                        "start-up to /api/health and RSS after --tickets tickets, on every core and with taskset -c 0")
    e.add_argument("--venv", type=Path, metavar="DIR",
                   help="--lean: use (or create) this venv instead of a throwaway one")
    e.add_argument("--starts", type=_positive_int, default=5, metavar="K",
                   help="--lean: start-ups timed per CPU setting (median reported; default 5)")
    s = bsub.add_parser(
        "sync", help="drain a hall's backlog to central through mosquitto",
        description="Build a hall database holding EVENTS committed events, then start a private mosquitto, "
                    "onestop-central (SQLite, then PostgreSQL when reachable) and onestop-edge on that database, "
                    "and measure events/s from central's first received event to its ack of the last. In the "
                    "same run: sqlite3.executemany of the same rows in one transaction (the storage limit) and "
                    "the ratio. Target: ≥ 50,000 events/s with SQLite central.")
    s.add_argument("--events", type=_positive_int, default=100_000, metavar="N", help="backlog size (default 100000)")
    s.add_argument("--no-postgres", action="store_true", help="only the SQLite central")
    s.add_argument("--json", action="store_true", help="also print the result as one JSON object")
    sd = bsub.add_parser(
        "sd", help="bytes a hall writes to its SD card over a busy day",
        description="Start a real onestop-edge (bench hall, no sync) and commit EVENTS events over HTTP, one "
                    "transaction each; report the bytes it wrote to storage (/proc/<pid>/io write_bytes) and "
                    "per busy day (6,000 events) against the budget (≤ 512 MiB, docs/benchmarks.md).")
    sd.add_argument("--events", type=_positive_int, default=6_000, metavar="N", help="events (default 6000)")
    sd.add_argument("--json", action="store_true", help="print the result as one JSON object")
    c = bsub.add_parser(
        "central", help="a year of 30 halls' records: ingest rate, live view and yearly report times",
        description="Generate DAYS days of realistic records for HALLS halls (real event bodies in real wire "
                    "batches, fixed seed), ingest them through CentralStore.ingest with group commit (SQLite, "
                    "then PostgreSQL when reachable, each a fresh database) and report events/s; then serve the "
                    "dashboard (uvicorn, logged in) and time the live view and the yearly service and rankings "
                    "reports (page and JSON API): the first request cold (day facts dirty), then RUNS warm: "
                    "p50 and max. Targets: ≤ 1 s for the first request after the load, ≤ 100 ms warm.")
    c.add_argument("--halls", type=_positive_int, default=30, metavar="N", help="halls (default 30)")
    c.add_argument("--days", type=_positive_int, default=365, metavar="N", help="days from 2025-01-01 (default 365)")
    c.add_argument("--visits", type=_positive_int, default=100, metavar="N",
                   help="mean visitors per hall and open day before the seasonal factor (default 100)")
    c.add_argument("--runs", type=_positive_int, default=10, metavar="N", help="warm requests per page (default 10)")
    c.add_argument("--seed", type=int, default=1, metavar="N", help="random seed (default 1)")
    c.add_argument("--db", metavar="URL", help="only this database (sqlite:///PATH or postgresql://…, "
                                               "must be empty); default: SQLite, then PostgreSQL when reachable")
    c.add_argument("--no-postgres", action="store_true", help="only SQLite")
    c.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    c.add_argument("--ingest-only", action="store_true", help="measure ingest only, not the pages")
    c.add_argument("--workers", type=_positive_int, default=2, metavar="N",
                   help="PostgreSQL ingest is also measured with N worker processes (default 2; 1 = not)")
    c.add_argument("--json", action="store_true", help="also print the result as one JSON object")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["badge"]:
        from . import badge

        return badge.main(argv[1:])
    if argv[:1] == ["outage"]:
        from . import outage

        return outage.main(argv[1:])
    if argv[:1] == ["hallday"]:
        from . import hallday

        return hallday.main(argv[1:])
    p = parser()
    args = p.parse_args(argv)
    if args.command == "rules":
        from . import ruleindex

        return ruleindex.main(args.root, args.out, args.check)
    if args.command == "demo":
        from . import demo

        opts = demo.DemoOptions(speed=args.speed, seed=args.seed, halls=args.hall, config_dir=args.config_dir,
                                data_dir=args.data_dir, free_ports=args.free_ports, broker=args.broker,
                                clock_start=args.clock_start, http=args.http)
        if args.until:
            opts.until_hhmm = args.until
        try:
            return demo.run(opts)
        except demo.DemoError as e:
            print(f"onestop-sim demo: {e}", file=sys.stderr)
            return 2
    if args.target == "central":
        from . import bench_central

        bench_central.run(halls=args.halls, days=args.days, visits=args.visits, seed=args.seed, runs=args.runs,
                          postgres=False if args.no_postgres else None, db=args.db, as_json=args.json,
                          sqlite=not args.no_sqlite, pages=not args.ingest_only, workers=args.workers)
        return 0
    if args.target == "sd":
        from . import bench_sd

        bench_sd.run(args.events, as_json=args.json)
        return 0
    if args.target == "sync":
        from . import bench_sync

        bench_sync.run(args.events, postgres=not args.no_postgres, as_json=args.json)
        return 0
    if args.lean:
        from . import bench_lean

        try:
            result = bench_lean.run(tickets=args.tickets, starts=args.starts, venv=args.venv)
        except bench_lean.ProcessError as e:
            print(f"onestop-sim bench: {e}", file=sys.stderr)
            return 1
        print(bench_lean.table(result), file=sys.stderr if args.json else sys.stdout)
        if args.json:
            print(json.dumps(result, ensure_ascii=False))
        return 0
    from . import bench

    latency_tickets = round(args.rate * args.seconds)
    if latency_tickets + bench.WARMUP_TICKETS >= args.tickets:
        p.error(f"--tickets ({args.tickets}) must exceed --rate × --seconds ({latency_tickets}) plus "
                f"{bench.WARMUP_TICKETS} warm-up tickets, so the throughput phase has tickets left")
    try:
        result = bench.run(bench.BenchOptions(tickets=args.tickets, rate=args.rate, seconds=args.seconds,
                                              concurrency=args.concurrency, devices=not args.no_devices,
                                              edge_cpus=args.edge_cpus))
    except bench.ProcessError as e:
        print(f"onestop-sim bench: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("onestop-sim bench: interrupted", file=sys.stderr)
        return 130
    if args.json:
        print(bench.table(result), file=sys.stderr)
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(bench.table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
