"""`onestop-sim demo`: a whole campus on this machine, on a simulated clock.

A private MQTT broker (mosquitto when installed, else the embedded amqtt broker) on its own port,
`onestop-central` (SQLite in the demo's data directory), and every hall of `config/halls/*.toml`
as an `onestop-edge --simulate` process, each connected to the broker through its own TCP proxy
(`simulators.outage`: `onestop-sim outage --hall H --for 2m` cuts it off). Simulated staff and
visitors (`simulators.campus`) work every hall over its HTTP API. Everything runs on one
simulated clock that starts shortly before the next opening. Ctrl-C or SIGTERM stops it all:
halls and central with SIGTERM, then the broker.

The configuration is copied into `var/demo/config` (the broker protocol adjusted for amqtt, a
fresh downlink key pair in `var/demo/config/keys` that central signs with and the halls trust),
the data of every node lives under `var/demo/`, emptied at start and kept after the demo stops.
"""

from __future__ import annotations

import html
import http.client
import random
import re
import shutil
import signal
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from edge.config import ConfigError, EdgeConfig, load
from sync.kernel.calendar import HallCalendar

from .appointments import BookedVisitors
from .campus import HallSim
from .client import Client
from .demologins import DEMO_CENTRAL_LOGIN, DEMO_PIN, central_logins, hall_logins
from .demopaths import DEMO_DATA, REPO_CONFIG, outage_command
from .keys import install_downlink_keys
from .outage import Outages, Proxy
from .procs import (Child, EdgeProcess, ProcessError, central_command, describe_exit, free_port, port_in_use,
                    signal_name, split_hostport, start_broker)

REPORT_EVERY = 5.0  # real seconds between two progress reports
SUPERVISE_EVERY = 0.5  # real seconds between two looks at the halls' processes
RESTART_BACKOFF = (1.0, 30.0)  # a stopped hall restarts after 1 s, doubling per restart up to 30 s
STABLE_AFTER = 60.0  # real seconds up after which a hall's restart backoff starts again at 1 s
MIN_OPEN_LEFT = timedelta(minutes=30)  # start in a later period when fewer simulated minutes remain

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
    speed: float = 10.0
    seed: int | None = None
    halls: list[str] | None = None  # hall ids to run (default: every hall file)
    config_dir: Path | None = None
    data_dir: Path | None = None  # default var/demo
    free_ports: bool = False  # any free ports instead of the configured ones
    broker: str = "mosquitto"  # or "amqtt"
    clock_start: datetime | None = None  # default: shortly before the next opening
    until: datetime | None = None  # people stop at this simulated time (tests)
    until_hhmm: str | None = None  # the same, as HH:MM of the first day
    http: str | None = None  # HOST:PORT of the first hall run (north-student, or the one --hall names)


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


CENTRAL_PAGES = [("dashboard", "/"), ("halls as central sees them", "/api/halls")]
HALL_PAGES = [("kiosk", "/kiosk"), ("consoles", "/console"), ("display", "/display"), ("devices", "/sim")]
PRE_OPEN = timedelta(minutes=5)  # the simulated clock starts this long before the day's first period


def campus_start(cal: HallCalendar, now: datetime) -> datetime:
    """PRE_OPEN before the first period of the day the hall next opens (see demo_start)."""
    day = cal.local_date(demo_start(cal, now))
    periods = cal.periods_on(day)
    return cal.local(periods[0][0] - PRE_OPEN).replace(microsecond=0) if periods else demo_start(cal, now)


def generated_config(src: Path, dest: Path, protocol: int) -> Path:
    """A copy of the configuration folder (halls/, centre/, central.toml) into dest, with
    `[broker] protocol` set when the broker needs MQTT 3.1.1, and a fresh downlink signing key
    pair (`dest/keys`: central signs with it, every hall trusts it). Returns dest."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("*.db", "__pycache__", "*.key"))
    install_downlink_keys(dest)
    if protocol != 5:
        for f in [dest / "central.toml", *sorted((dest / "halls").glob("*.toml"))]:
            if f.exists():
                text = f.read_text(encoding="utf-8")
                if "[broker]" in text:
                    text = text.replace("[broker]\n", f"[broker]\nprotocol = {protocol}\n", 1)
                else:
                    text += f"\n[broker]\nprotocol = {protocol}\n"
                f.write_text(text, encoding="utf-8")
    return dest


def set_public_url(hall_file: Path, url: str) -> None:
    """Point the hall file's `[hall] public_url` (the phone page's address) at `url`."""
    text = re.sub(r'(?m)^public_url = .*\n', "", hall_file.read_text(encoding="utf-8"))
    hall_file.write_text(text.replace("[hall]\n", f'[hall]\npublic_url = "{url}"\n', 1), encoding="utf-8")


def phone_link(base_url: str, ticket: str) -> str | None:
    """The phone-page link the kiosk slip of `ticket` carries in its QR code (None: none yet)."""
    try:
        with urllib.request.urlopen(f"{base_url}/kiosk/tickets/{ticket}", timeout=3) as r:
            m = re.search(r'data-link="([^"]+)"', r.read().decode("utf-8"))
    except OSError:
        return None
    return html.unescape(m.group(1)) if m else None


def broker_credentials(central_toml: Path, out: Path, port: int) -> "brokerconf.Written":
    """The broker's password and ACL files for the demo, as `onestop-central broker-config`
    writes them, from the [broker] username/password of central.toml and of every hall file:
    each hall signs in as itself and may use only its own topics."""
    from central import brokerconf
    from central.config import load as load_central

    ccfg, entries = load_central(central_toml)
    central_user = ccfg.broker.username or "central"
    missing = [str(central_toml)] if not ccfg.broker.password else []
    missing += [h.file for h in entries if not h.password]
    if missing:
        raise DemoError(f"no [broker] password in {', '.join(missing)}: the demo's broker lets nobody in "
                        f"without one")
    users = {central_user: ccfg.broker.password, **{h.username: h.password for h in entries}}
    return brokerconf.write_files(out, users, {h.username: h.id for h in entries}, [central_user], port,
                                  "127.0.0.1")


@dataclass
class HallNode:
    cfg: EdgeConfig
    path: Path
    edge: EdgeProcess
    proxy: Proxy
    log: Path | None = None  # the hall's stderr
    sim: HallSim | None = None
    sim_t0: datetime | None = None
    real_t0: float = 0.0
    thread: threading.Thread | None = None
    # supervision (Campus.supervise): a hall whose process ends is restarted with backoff
    restart_at: float | None = None  # monotonic time of the next restart (None: running)
    restarter: threading.Thread | None = None
    backoff: float = RESTART_BACKOFF[0]
    up_since: float = 0.0
    restarts: int = 0

    @property
    def down(self) -> bool:
        return self.edge.poll() is not None or self.restart_at is not None or (
            self.restarter is not None and self.restarter.is_alive())

    def now(self, speed: float) -> datetime:
        assert self.sim_t0 is not None
        return self.sim_t0 + timedelta(seconds=(time.monotonic() - self.real_t0) * speed)


class Campus:
    """Broker, proxies, central, halls and their simulated people; `start()`, then `stop()`."""

    def __init__(self, opts: DemoOptions, log: Callable[[str], None] = out) -> None:
        self.opts, self.log = opts, log
        self.data = Path(opts.data_dir or DEMO_DATA).resolve()
        self.src = halls_dir(opts.config_dir).parent
        self.stop_event = threading.Event()
        self.broker: Child | None = None
        self.broker_port = 0
        self.protocol = 5
        self.central: Child | None = None
        self.central_host, self.central_port = "127.0.0.1", 8200
        self.halls: list[HallNode] = []
        self.outages: Outages | None = None
        self.start_at: datetime | None = None
        self.ports: dict[str, tuple[str, int]] = {}
        self.seed = opts.seed if opts.seed is not None else random.SystemRandom().randrange(1_000_000)

    @property
    def central_url(self) -> str:
        return f"http://{self.central_host}:{self.central_port}"

    def _port(self, listen: str) -> tuple[str, int]:
        host, port = split_hostport(listen)
        if self.opts.free_ports:
            return "127.0.0.1", free_port()
        if port_in_use(host, port):
            raise DemoError(f"{host}:{port} is already in use (another demo or node running?); stop it "
                            f"or run `onestop-sim demo --free-ports`")
        return host, port

    def preflight(self) -> list[Path]:
        """Check halls and ports before anything starts or is written; returns the hall files."""
        files = sorted((self.src / "halls").glob("*.toml"))
        if not files:
            raise DemoError(f"no hall configuration in {self.src / 'halls'}")
        if self.opts.halls:
            unknown = [h for h in self.opts.halls if h not in {f.stem for f in files}]
            if unknown:
                raise DemoError(f"no hall {', '.join(map(repr, unknown))} in {self.src / 'halls'}; "
                                f"there are: {', '.join(f.stem for f in files)}")
            files = [f for f in files if f.stem in self.opts.halls]
        first = next((f for f in files if f.stem == (self.opts.halls or [DEFAULT_HALL])[0]), files[0])
        from central.config import load as load_central

        ccfg, _ = load_central(self.src / "central.toml")
        self.ports = {"central": self._port(ccfg.http.listen)}
        for f in files:
            listen = self.opts.http if (self.opts.http and f == first) else load(f).http.listen
            self.ports[f.stem] = self._port(listen)
        return files

    def start(self) -> None:
        files = self.preflight()
        shutil.rmtree(self.data, ignore_errors=True)
        self.data.mkdir(parents=True, exist_ok=True)
        broker_port = free_port()
        auth = broker_credentials(self.src / "central.toml", self.data / "broker" / "auth", broker_port)
        self.broker, self.broker_port, self.protocol = start_broker(self.data / "broker", port=broker_port,
                                                                    prefer=self.opts.broker, auth=auth)
        cfg_dir = generated_config(self.src, self.data / "config", self.protocol)
        for f in files:  # the phone-page links of the slips' QR codes lead to where this demo serves the hall
            set_public_url(cfg_dir / "halls" / f.name, "http://{}:{}".format(*self.ports[f.stem]))
        cfgs = [(load(cfg_dir / "halls" / f.name), cfg_dir / "halls" / f.name) for f in files]
        cal = HallCalendar(cfgs[0][0].business.calendar)
        self.start_at = self.opts.clock_start or campus_start(cal, datetime.now(timezone.utc))
        if self.opts.until_hhmm and self.opts.until is None:
            hh, _, mm = self.opts.until_hhmm.partition(":")
            self.opts.until = self.start_at.replace(hour=int(hh), minute=int(mm or 0), second=0)
        clock = ["--clock-start", self.start_at.isoformat(), "--clock-speed", repr(float(self.opts.speed))]
        central_cfg = cfg_dir / "central.toml"
        self.central_host, self.central_port = self.ports["central"]
        broker_url = f"mqtt://127.0.0.1:{self.broker_port}"
        self.central = Child("onestop-central", [
            *central_command(), "--config", str(central_cfg), "--db", f"sqlite:///{self.data / 'central' / 'central.db'}",
            "--http", f"{self.central_host}:{self.central_port}", "--broker", broker_url, *clock],
            self.data / "central.log").start()
        proxies = {}
        for cfg, path in cfgs:
            host, port = self.ports[path.stem]
            proxy = Proxy(cfg.hall.id, ("127.0.0.1", self.broker_port)).start()
            proxies[cfg.hall.id] = proxy
            log = self.data / f"{cfg.hall.id}.log"
            edge = EdgeProcess(path, self.data / cfg.hall.id, host, port, clock_start=self.start_at.isoformat(),
                               clock_speed=self.opts.speed, sync=True, broker=f"mqtt://127.0.0.1:{proxy.port}")
            edge.simulate = True
            node = HallNode(cfg, path, edge, proxy, log)
            self._start_edge(node)
            self.halls.append(node)
        self.outages = Outages(proxies, log=self.log)
        self.outages.serve(self.data / "control.json")
        self.central.wait_http(self.central_host, self.central_port)
        rng = random.Random(self.seed)
        for index, h in enumerate(self.halls):
            try:
                health = h.edge.wait_healthy(stop=self.stop_event)
            except ProcessError as e:
                raise ProcessError(f"{h.cfg.hall.id}: {e} (log {self.data / (h.cfg.hall.id + '.log')})") from None
            if not health:
                return
            h.sim_t0, h.real_t0 = datetime.fromisoformat(health["clock"]["now"]), time.monotonic()
            h.up_since = time.monotonic()
            h.sim = HallSim(h.cfg, h.edge.base_url, random.Random(rng.random()), log=self.log, index=index)
            bookable = [i.id for i in h.cfg.business.catalog.items if i.appointment
                        and i.department in {w.department for w in h.cfg.business.windows}]
            h.sim.booked = BookedVisitors(h.cfg.hall.id, bookable, h.edge.base_url, self.central_url,
                                          DEMO_CENTRAL_LOGIN, random.Random(f"{self.seed}-{h.cfg.hall.id}-booked"),
                                          log=self.log)

    def _start_edge(self, h: HallNode) -> None:
        assert h.log is not None
        with h.log.open("ab") as logf:  # the child keeps its own copy of the descriptor
            h.edge.stderr = logf
            h.edge.start()

    # ------------------------------------------------------------------ supervision

    def supervise(self) -> None:
        """Like a process manager: a hall whose process ended is reported once and restarted
        after a backoff (1 s, doubling per restart up to 30 s; back to 1 s once a hall has run
        for a minute), on its own port and data, its simulated clock where the others are."""
        now = time.monotonic()
        for h in self.halls:
            if self.stop_event.is_set():
                return
            if h.restarter is not None and h.restarter.is_alive():
                continue
            code = h.edge.poll()
            if code is None:
                if h.restart_at is None and h.backoff > RESTART_BACKOFF[0] and now - h.up_since >= STABLE_AFTER:
                    h.backoff = RESTART_BACKOFF[0]
                continue
            hid = h.cfg.hall.id
            if h.restart_at is None:
                how = f"killed by {signal_name(code)}" if code < 0 else f"exit code {code}"
                self.log(f"  ! {hid} stopped ({how}); restarting in {h.backoff:g} s (log {h.log})")
                h.restart_at = now + h.backoff
            elif now >= h.restart_at:
                # started from this (the main) thread: a child's parent-death signal fires when
                # the thread that forked it ends, so never from a short-lived thread
                h.edge.clock_start = h.now(self.opts.speed).isoformat()  # where the campus clock is now
                try:
                    self._start_edge(h)
                except ProcessError as e:
                    h.backoff = min(h.backoff * 2, RESTART_BACKOFF[1])
                    h.restart_at = now + h.backoff
                    self.log(f"  ! {hid} could not be started ({e}); next try in {h.backoff:g} s")
                    continue
                h.restarter = threading.Thread(target=self._restarted, args=(h,), name=f"restart-{hid}",
                                               daemon=True)
                h.restarter.start()

    def _restarted(self, h: HallNode) -> None:
        """Wait until the restarted hall answers; report it (or schedule another try)."""
        hid = h.cfg.hall.id
        try:
            health = h.edge.wait_healthy(stop=self.stop_event)
        except ProcessError as e:
            if h.edge.poll() is None:
                h.edge.stop()
            h.backoff = min(h.backoff * 2, RESTART_BACKOFF[1])
            h.restart_at = time.monotonic() + h.backoff
            self.log(f"  ! {hid} did not come back ({e}); next try in {h.backoff:g} s")
            return
        if not health:  # the demo is stopping
            return
        h.sim_t0, h.real_t0 = datetime.fromisoformat(health["clock"]["now"]), time.monotonic()
        h.restarts += 1
        h.up_since = time.monotonic()
        h.backoff = min(h.backoff * 2, RESTART_BACKOFF[1])
        h.restart_at = None
        self.log(f"  {hid} restarted (pid {h.edge.pid}, restart {h.restarts}); its people carry on")

    def run_people(self) -> None:
        """One thread per hall drives its staff and visitors until stop()."""
        for h in self.halls:
            h.thread = threading.Thread(target=self._drive, args=(h,), name=f"people-{h.cfg.hall.id}", daemon=True)
            h.thread.start()

    def _drive(self, h: HallNode) -> None:
        assert h.sim is not None
        until = self.opts.until
        while not self.stop_event.is_set():
            now = h.now(self.opts.speed)
            if until is not None and now >= until:
                break
            if h.down:  # stopped: supervise() restarts it, its people wait
                self.stop_event.wait(0.2)
                continue
            try:
                h.sim.step(now)
            except Exception as e:  # noqa: BLE001 - one line, and the simulation goes on
                h.sim.stats.errors += 1
                self.log(f"  ! {h.cfg.hall.id}: simulation step failed: {type(e).__name__}: {e}")
            self.stop_event.wait(0.05)

    def people_done(self) -> bool:
        return all(h.thread is None or not h.thread.is_alive() for h in self.halls)

    def central_halls(self) -> dict[str, dict]:
        try:
            with Client(self.central_host, self.central_port, timeout=3, auth=DEMO_CENTRAL_LOGIN) as c:
                return {x["id"]: x for x in c.get("/api/halls")}
        except (OSError, http.client.HTTPException, ValueError):
            return {}

    def progress(self) -> list[str]:
        """One short line per hall (under 100 characters): simulated time, tickets taken,
        services done, visitors waiting; its link as central sees it (`cut` during an outage,
        `down` while its process is restarted), its backlog, the events central holds of it."""
        seen = self.central_halls()
        lines = []
        for h in self.halls:
            hid = h.cfg.hall.id
            c = seen.get(hid, {})
            backlog = None
            if not h.down:
                try:  # the hall's own backlog: what central has not acked yet
                    with Client(h.edge.host, h.edge.port, timeout=3) as hc:
                        backlog = hc.get("/api/health")["sync"]["pending"]
                except (OSError, http.client.HTTPException, KeyError, TypeError):
                    pass
            lines.append(progress_line(h, self.opts.speed, c, backlog))
        return lines

    def stop(self) -> list[str]:
        """Stop people, halls and central (SIGTERM), then proxies and the broker. Lines to report."""
        self.stop_event.set()
        for h in self.halls:
            if h.restarter is not None:
                h.restarter.join(10)
            if h.thread is not None:
                h.thread.join(10)
            if h.sim is not None:
                h.sim.close()
        report = []
        stoppers = [threading.Thread(target=lambda h=h: report.append(
            f"{h.cfg.hall.id} {describe_exit(*h.edge.stop())}")) for h in self.halls if h.edge.proc]
        for t in stoppers:
            t.start()
        if self.central is not None:
            report.append(f"central {describe_exit(*self.central.stop())}")
        for t in stoppers:
            t.join()
        if self.outages is not None:
            self.outages.close()
        (self.data / "control.json").unlink(missing_ok=True)
        if self.broker is not None:
            self.broker.stop()
        return report


def progress_line(h: HallNode, speed: float, central: dict, backlog: int | None) -> str:
    """`north-student 09:12 tickets 120 served 98 waiting 7 · online · backlog 0 · central 2345`:
    under 100 characters. `down` while the hall's process is being restarted (its backlog is
    then unknown)."""
    st = h.sim.stats if h.sim else None
    waiting = sum((h.sim.waiting if h.sim else {}).values())
    local = f"{h.sim.cal.local(h.now(speed)):%H:%M} " if h.sim else ""
    if h.down:
        net = "down"
    else:
        net = ("cut, " if h.proxy.is_cut else "") + ("online" if central.get("online") else "offline")
    shown = "" if backlog is None or h.down else f" · backlog {backlog}"
    return (f"{h.cfg.hall.id} {local}tickets {st.issued if st else 0} served {st.served if st else 0} "
            f"waiting {waiting} · {net}{shown} · central {central.get('events', 0)}")


def banner(c: Campus) -> None:
    o = c.opts
    out(f"onestop demo — {len(c.halls)} halls and central on one machine (seed {c.seed})")
    out(f"  simulated clock from {c.start_at:%a %Y-%m-%d %H:%M}, {o.speed:g}× real time")
    out(f"  broker: {c.broker.name} on 127.0.0.1:{c.broker_port} (MQTT {'5' if c.protocol == 5 else '3.1.1'}); "
        f"each hall reaches it through its own proxy")
    out(f"  data and logs: {c.data}")
    out("    (emptied at every start, kept after the demo stops)")
    out()
    out(f"  central  {c.central_url}/login  (dashboard: live halls, reports, awards, complaints)")
    out(f"           {c.central_url}/api/halls  (the halls as central sees them, JSON)")
    for h in c.halls:
        b = h.edge.base_url
        out(f"  {h.cfg.hall.name} ({h.cfg.hall.id})")
        for i in range(0, len(HALL_PAGES), 2):
            out("     " + "  ".join(f"{label} {b}{page}" for label, page in HALL_PAGES[i:i + 2]))
    out()
    out("  logins (demo credentials; change them before production):")
    central, unknown = central_logins(c.data / "config" / "central.toml", c.central_url)
    out(f"    central dashboard {c.central_url}/login")
    for x in central:
        out(f"      {x.name + ' / ' + x.password:<28} {x.what}")
    if unknown:
        out(f"      (password not known to the demo: {', '.join(unknown)})")
    managers, unknown = hall_logins(c.halls)
    out("    hall settings (/manage on each hall)")
    for x in managers:
        out(f"      {x.name + ' / ' + x.password:<28} {x.what}")
    if unknown:
        out(f"      (password not known to the demo: {', '.join(unknown)})")
    first = c.halls[0].cfg
    example = first.business.staff[0].id if first.business.staff else "the staff id"
    out(f"    window consoles (/console): any staff id of the hall with PIN {DEMO_PIN} (e.g. {example})")
    out()
    hall = c.halls[0].cfg.hall.id
    out(f"  outage:  {outage_command(hall, '--for 2m', c.data)}")
    out(f"  heal:    {outage_command(hall, '--heal', c.data)}")
    out("  A hall that stops is restarted. Ctrl-C stops the demo.")
    out()


def run(opts: DemoOptions) -> int:
    t0 = time.monotonic()
    stop = threading.Event()
    campus = Campus(opts)
    campus.stop_event = stop
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        try:
            campus.start()
        except (DemoError, ConfigError, ValueError) as e:
            print(f"onestop-sim demo: {e}", file=sys.stderr)
            return 2
        except ProcessError as e:
            print(f"onestop-sim demo: {e}", file=sys.stderr)
            return 1
        if stop.is_set():
            return 0
        banner(campus)
        out(f"  up in {time.monotonic() - t0:.1f} s")
        campus.run_people()
        next_report = time.monotonic() + REPORT_EVERY
        shown_phone = False
        while not stop.wait(SUPERVISE_EVERY):
            if campus.central and campus.central.poll() is not None:
                print(f"onestop-sim demo: central exited unexpectedly; logs in {campus.data}", file=sys.stderr)
                code = 1
                break
            campus.supervise()
            if time.monotonic() >= next_report:
                next_report = time.monotonic() + REPORT_EVERY
                for line in campus.progress():
                    out(line)
                first = campus.halls[0]
                if not shown_phone and first.sim is not None and first.sim.first_ticket and not first.down:
                    link = phone_link(first.edge.base_url, first.sim.first_ticket)
                    if link:
                        shown_phone = True
                        out(f"  phone page of the first number at {first.cfg.hall.id} (its slip's QR code): {link}")
        return code
    finally:
        report = campus.stop()
        if report:
            out(f"demo stopped; data kept in {campus.data}")
            for line in report:
                out(f"  {line}")
        for s, handler in previous.items():
            signal.signal(s, handler)
