"""`onestop-sim demo`: one hall on this machine, on a simulated clock, with simulated visitors.

At this stage the demo runs one hall (the first of `config/halls/*.toml`, or `--hall`) as a real
`onestop-edge` process with a fresh data directory under `var/demo/<hall>`, on a simulated clock
that starts at the next moment the hall is open, tells where every page is and which demo
credentials to use, then sends visitors to the kiosk API until Ctrl-C or SIGTERM.
Broker, central and the other halls join the demo when they exist.
"""

from __future__ import annotations

import http.client
import random
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from edge.config import ConfigError, EdgeConfig, load
from sync.calendar import HallCalendar

from .client import Client
from .procs import EdgeProcess, ProcessError, describe_exit, port_in_use, split_hostport
from .traffic import Visitors

REPO_CONFIG = Path(__file__).resolve().parent.parent / "config"
DEMO_DATA = Path("var") / "demo"
REPORT_EVERY = 5.0  # real seconds between two progress lines
MIN_OPEN_LEFT = timedelta(minutes=30)  # start in a later period when fewer simulated minutes remain
DEMO_PIN = "1234"  # every staff console PIN in config/halls (see the files' header)
DEMO_MANAGER_PASSWORD = "admin123"

PAGES = [
    ("kiosk (take a number)", "/kiosk"),
    ("window consoles", "/console"),
    ("display board", "/display"),
    ("public guide", "/guide"),
    ("hall manager", "/manage"),
    ("device simulator (lamps, buttons, badges, doors)", "/sim"),
    ("API (OpenAPI)", "/schema"),
]


class DemoError(Exception):
    """The demo cannot start; the message is one line for the user."""


@dataclass
class DemoOptions:
    speed: float = 1.0
    seed: int | None = None
    hall: str | None = None
    config_dir: Path | None = None
    http: str | None = None


def out(text: str = "") -> None:
    print(text, flush=True)


def halls_dir(config_dir: Path | None) -> Path:
    """The folder holding the hall files: DIR/halls when it exists, else DIR itself."""
    if config_dir is None:
        config_dir = Path("config") if (Path("config") / "halls").is_dir() else REPO_CONFIG
    d = config_dir / "halls" if (config_dir / "halls").is_dir() else config_dir
    if not d.is_dir():
        raise DemoError(f"no configuration folder {config_dir} (expected {config_dir}/halls/*.toml)")
    return d


DEFAULT_HALL = "north-student"


def pick_hall(folder: Path, hall: str | None) -> Path:
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise DemoError(f"no hall configuration in {folder} (expected <hall-id>.toml files)")
    if hall is None:  # the example hall with devices, else the first
        return next((f for f in files if f.stem == DEFAULT_HALL), files[0])
    for f in files:
        if f.stem == hall:
            return f
    raise DemoError(f"no hall {hall!r} in {folder}; there are: {', '.join(f.stem for f in files)}")


def demo_start(cal: HallCalendar, now: datetime) -> datetime:
    """The next moment the hall is open (now, when it is open), in the hall's zone, unless the
    current period ends within MIN_OPEN_LEFT: then the start of the next period."""
    start = cal.next_open(now)
    if start is None:
        raise DemoError("the hall's calendar has no opening in the next year")
    for s, e in cal.periods_on(cal.local_date(start)):
        if s <= start < e and e - start < MIN_OPEN_LEFT:
            later = cal.next_open(e)
            if later is not None:
                start = later
    return cal.local(start).replace(microsecond=0)


def staff_lines(cfg: EdgeConfig) -> list[str]:
    b = cfg.business
    depts = {d.id: d.name for d in b.catalog.departments}
    lines = []
    for w in b.windows:
        a = [s for s in b.staff if w.id in s.windows]
        backup = [s for s in b.staff if w.id in s.backup_for]
        kind = {"periodic": f" (weekdays {','.join(map(str, w.weekdays))})", "flexible": " (flexible)"}.get(w.kind, "")
        who = "  ".join([*(f"{s.id} {s.name}" for s in a[:1]), *(f"B {s.id} {s.name}" for s in backup[:1])])
        lines.append(f"    {w.id:<5} {w.name}{kind} · {depts.get(w.department, w.department)}: {who or '-'}")
    return lines


def banner(cfg: EdgeConfig, path: Path, edge: EdgeProcess, start: datetime, opts: DemoOptions, seed: int) -> None:
    base = edge.base_url
    managers = ", ".join(m.id for m in cfg.business.managers) or "(none configured)"
    out(f"onestop demo — {cfg.hall.name} ({cfg.hall.id}), {cfg.hall.centre}")
    out(f"  simulated clock from {start:%a %Y-%m-%d %H:%M} ({cfg.business.calendar.timezone}), "
        f"{opts.speed:g}× real time")
    out(f"  data:   {edge.data_dir} (fresh: emptied at every start, kept after the demo stops)")
    out(f"  config: {path}")
    out(f"  edge:   pid {edge.pid}, {base}; replication off (broker and central are not part of the demo yet)")
    out()
    for label, page in PAGES:
        out(f"  {label:<22} {base}{page}")
    out()
    out(f"  demo credentials (change before production): staff PIN {DEMO_PIN} for every staff id; "
        f"manager {managers} / {DEMO_MANAGER_PASSWORD}")
    out("  windows and their staff (A-role, then B-role backup):")
    for line in staff_lines(cfg):
        out(line)
    out()
    out(f"  visitors: one every 20–60 simulated seconds (seed {seed}); Ctrl-C stops the demo.")


def progress(sim_now: datetime, cal: HallCalendar, visitors: Visitors, client: Client) -> str:
    local = cal.local(sim_now)
    queues = client.get("/api/queue")
    waiting = ", ".join(f"{q['name']} {q['waiting']}" for q in queues)
    refused = sum(visitors.refused.values())
    state = ""
    if not cal.is_open(sim_now):
        nxt = cal.next_open(sim_now)
        state = f"hall closed, opens {cal.local(nxt):%a %H:%M} · " if nxt else "hall closed · "
    last = f" (last {visitors.last_number})" if visitors.last_number else ""
    return (f"[{local:%H:%M:%S}] {state}tickets issued {visitors.issued}{last}"
            f"{f', refused {refused}' if refused else ''} · waiting: {waiting}")


def run(opts: DemoOptions) -> int:
    try:
        path = pick_hall(halls_dir(opts.config_dir), opts.hall)
        cfg = load(path)
        host, port = split_hostport(opts.http or cfg.http.listen)
    except (DemoError, ConfigError, ValueError) as e:
        print(f"onestop-sim demo: {e}", file=sys.stderr)
        return 2
    if port_in_use(host, port):
        print(f"onestop-sim demo: {host}:{port} is already in use (another demo or edge running?); "
              f"stop it or pass --http HOST:PORT", file=sys.stderr)
        return 1
    cal = HallCalendar(cfg.business.calendar)
    try:
        start = demo_start(cal, datetime.now(timezone.utc))
    except DemoError as e:
        print(f"onestop-sim demo: {e}", file=sys.stderr)
        return 2
    seed = opts.seed if opts.seed is not None else random.SystemRandom().randrange(1_000_000)
    data_dir = (DEMO_DATA / cfg.hall.id).resolve()
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)

    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    edge = EdgeProcess(path, data_dir, host, port, clock_start=start.isoformat(), clock_speed=opts.speed)
    edge.simulate = True  # simulated badge readers and GPIO: the /sim page drives them
    try:
        try:
            edge.start()
            health = edge.wait_healthy(stop=stop)
        except ProcessError as e:
            print(f"onestop-sim demo: {e}", file=sys.stderr)
            return 1
        if stop.is_set():
            return 0
        return _serve(cfg, path, edge, start, opts, seed, cal, health, stop)
    finally:
        exited = edge.poll()
        if edge.proc is None:
            pass
        elif exited is None:
            ended, killed = edge.stop()
            out(f"demo stopped; edge {describe_exit(ended, killed)}; data kept in {data_dir}")
        else:
            out(f"demo stopped; the edge had exited with code {exited}; data kept in {data_dir}")
        for s, handler in previous.items():
            signal.signal(s, handler)


def _serve(cfg: EdgeConfig, path: Path, edge: EdgeProcess, start: datetime, opts: DemoOptions, seed: int,
           cal: HallCalendar, health: dict, stop: threading.Event) -> int:
    # Follow the edge's own clock: simulated time = its time at the health answer + elapsed × speed.
    sim_t0 = datetime.fromisoformat(health["clock"]["now"])
    real_t0 = time.monotonic()

    def sim_now() -> datetime:
        return sim_t0 + timedelta(seconds=(time.monotonic() - real_t0) * opts.speed)

    banner(cfg, path, edge, start, opts, seed)
    with Client(edge.host, edge.port) as client:
        visitors = Visitors(client, random.Random(seed), is_open=cal.is_open)
        next_visit = next_report = time.monotonic()
        next_report += REPORT_EVERY
        while not stop.is_set():
            if edge.poll() is not None:
                print(f"onestop-sim demo: the edge exited unexpectedly (code {edge.poll()}); "
                      f"its messages are above", file=sys.stderr)
                return 1
            now = time.monotonic()
            try:
                if now >= next_visit:
                    visitors.arrive(sim_now())
                    next_visit = now + visitors.next_gap() / opts.speed
                if now >= next_report:
                    out(progress(sim_now(), cal, visitors, client))
                    next_report = now + REPORT_EVERY
            except (OSError, http.client.HTTPException) as e:
                if edge.poll() is None:
                    print(f"onestop-sim demo: request to the edge failed: {e}", file=sys.stderr)
                next_visit = max(next_visit, now + 1.0)
                next_report = now + REPORT_EVERY
            stop.wait(max(0.0, min(next_visit, next_report) - time.monotonic()))
    return 0
