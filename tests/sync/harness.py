"""A campus in a temp dir for replication tests: real `onestop-central` and `onestop-edge`
processes talking through a real broker (or through a fault-injecting proxy in front of it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from central.store import CentralStore
from sync.kernel.passwords import hash_secret
from tests.brokers import free_port, password_for
from edge.web import EVENTS_TOKEN_ENV
from tests.conftest import EVENTS_TOKEN, HALL_TOML, wait_until, write_signing_key

ROOT = Path(__file__).resolve().parents[2]
CLOCK_START = "2026-11-23T09:00+08:00"
CENTRAL_LOGIN = ("admin", "admin123")  # the central admin write_campus configures (central's API needs a login)


class Proc:
    """A child process serving HTTP; started, waited for, killed or stopped."""

    name = "proc"
    read_headers: dict = {}

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log = tmp / f"{self.name}-{self.port}.log"

    def command(self) -> list[str]:  # pragma: no cover - abstract
        raise TypeError

    def start(self, wait: bool = True) -> "Proc":
        self.port = self.port or free_port()
        logf = self.log.open("ab")
        # EVENTS_TOKEN: the halls' /api/events answers `get` below (edge.web)
        env = {**os.environ, "ONESTOP_LOG": "info", "PYTHONUNBUFFERED": "1", EVENTS_TOKEN_ENV: EVENTS_TOKEN}
        self.proc = subprocess.Popen(self.command(), stdout=logf, stderr=logf, cwd=ROOT, env=env)
        logf.close()
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self) -> "Proc":
        wait_until(self._healthy, 30, what=f"{self.name} on {self.base} (log {self.log})")
        return self

    def _healthy(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
        try:
            return httpx.get(self.base + "/api/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def get(self, path: str, **params):
        r = httpx.get(self.base + path, params=params, timeout=10, headers=self.read_headers)
        r.raise_for_status()
        return r.json()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            return self.proc.wait(30)
        return self.proc.returncode

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Central(Proc):
    name = "central"

    def __init__(self, tmp: Path, config: Path, db_url: str, broker_url: str, worker_id: str = "1",
                 shared: bool = False, extra: list[str] | None = None) -> None:
        super().__init__(tmp)
        self.config = config
        self.db_url = db_url
        self.broker_url = broker_url
        self.worker_id = worker_id
        self.shared = shared
        self.extra = extra or []

    def get(self, path: str, **params):
        """GET central's JSON API as the central admin (HTTP Basic)."""
        r = httpx.get(self.base + path, params=params, timeout=10, auth=CENTRAL_LOGIN)
        r.raise_for_status()
        return r.json()

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "central.cli", "--config", str(self.config), "--db", self.db_url,
               "--broker", self.broker_url, "--http", f"127.0.0.1:{self.port}", "--worker-id", self.worker_id]
        return cmd + (["--shared"] if self.shared else []) + self.extra


class Edge(Proc):
    name = "edge"
    read_headers = {"Authorization": f"Bearer {EVENTS_TOKEN}"}  # the hall's /api/events needs it

    def __init__(self, tmp: Path, config: Path, hall: str, broker_url: str, clock_start: str | None = CLOCK_START,
                 extra: list[str] | None = None) -> None:
        super().__init__(tmp)
        self.config = config
        self.hall = hall
        self.data = tmp / f"data-{hall}"
        self.broker_url = broker_url
        self.clock_start = clock_start
        self.extra = extra or []

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "edge.cli", "--config", str(self.config), "--data-dir", str(self.data),
               "--broker", self.broker_url, "--http", f"127.0.0.1:{self.port}"]
        if self.clock_start:
            cmd += ["--clock-start", self.clock_start]
        return cmd + self.extra

    def take(self, item: str = "transcript") -> dict:
        r = httpx.post(self.base + "/api/tickets", json={"item": item}, timeout=10)
        assert r.status_code == 201, r.text
        return r.json()

    def health(self) -> dict:
        return self.get("/api/health")

    def log_keys(self) -> set[tuple[str, str, int, str]]:
        """(hall, epoch, seq, event id) of every event in every epoch of this hall's log."""
        out: set[tuple[str, str, int, str]] = set()
        for ep in self.health()["epochs"]:
            after = 0
            while True:
                page = self.get("/api/events", after=after, limit=1000, epoch=ep["epoch"])
                if not page:
                    break
                out |= {(e["hall"], e["epoch"], e["seq"], e["id"]) for e in page}
                after = page[-1]["seq"]
        return out


def write_campus(tmp: Path, halls: list[str], broker_extra: str = "", protocol: int = 5,
                 central_broker_extra: str = "", credentials: bool = True,
                 hall_extra: str = "") -> tuple[Path, dict[str, Path]]:
    """Hall files (from the test hall of tests/conftest.py) and a central.toml naming them. With
    `credentials` each file's [broker] holds its user and test password (tests/brokers.py), so
    processes given the plain broker URL sign in as a hall or central does in production.
    `hall_extra`: more tables of every hall file (e.g. a `[devices.printer]`)."""
    hall_dir = tmp / "halls"
    hall_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for h in halls:
        text = HALL_TOML.replace('id = "test-hall"', f'id = "{h}"', 1)
        text += ("\n[broker]\nurl = \"mqtt://127.0.0.1:1\"\nack_timeout = 2.0\nstatus_interval = 1.0\n"
                 f"protocol = {protocol}\n" + _credentials(h, credentials) + broker_extra + "\n" + hall_extra)
        text = text.replace("[business.rules]", "[business.rules]\nissue_outside_hours = true", 1)
        p = hall_dir / f"{h}.toml"
        p.write_text(text, encoding="utf-8")
        files[h] = p
    central = tmp / "central.toml"
    write_signing_key(tmp / "keys" / "central.key")
    if "[[users]]" not in central_broker_extra:  # central's API needs a login: the admin of CENTRAL_LOGIN
        central_broker_extra += (f'\n[[users]]\nname = "{CENTRAL_LOGIN[0]}"\nrole = "admin"\n'
                                 f'password_hash = "{hash_secret(CENTRAL_LOGIN[1], iterations=1000)}"\n')
    central.write_text(f'[central]\nname = "测试中心"\nhalls = ["halls/*.toml"]\nsigning_key = "keys/central.key"\n\n'
                       f'[broker]\nprotocol = {protocol}\n' + _credentials("central", credentials) + central_broker_extra,
                       encoding="utf-8")
    return central, files


def _credentials(user: str, on: bool) -> str:
    return f'username = "{user}"\npassword = "{password_for(user)}"\n' if on else ""


def central_keys(db_url: str) -> list[tuple[str, str, int, str]]:
    store = CentralStore(db_url)
    store.open()
    try:
        return store.event_keys()
    finally:
        store.close()


def start_together(*procs: Proc) -> list[Proc]:
    """Start `procs` side by side (each spends most of its start-up importing), then wait until
    every one answers /api/health. Start central on its own first: a hall that connects before
    central subscribes relies on its resend timer, which slows convergence."""
    for p in procs:
        p.start(wait=False)
    return [p.wait_healthy() for p in procs]


def assert_converged(db_url: str, edges: list[Edge], timeout: float = 60.0,
                     extra: set | None = None) -> list[tuple[str, str, int, str]]:
    """Central's events equal, exactly, the union of the halls' logs: none missing, none twice."""
    def check():
        stored = central_keys(db_url)
        want = set().union(*(e.log_keys() for e in edges)) | (extra or set())
        return stored if (len(stored) == len(set(stored)) and set(stored) == want) else None

    try:
        return wait_until(check, timeout, interval=0.5, what="central to hold exactly the halls' logs")
    except AssertionError:
        stored = central_keys(db_url)
        want = set().union(*(e.log_keys() for e in edges)) | (extra or set())
        missing = sorted(want - set(stored))[:5]
        unexpected = sorted(set(stored) - want)[:5]
        raise AssertionError(
            f"central {len(stored)} events ({len(set(stored))} distinct), halls {len(want)}; "
            f"missing {missing}; unexpected {unexpected}") from None


class Traffic:
    """Visitors taking numbers at every hall in the background; every request must succeed."""

    def __init__(self, edges: list[Edge], interval: float = 0.02) -> None:
        self.edges = edges
        self.interval = interval
        self.issued = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)

    def __enter__(self) -> "Traffic":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as c:
            while not self._stop.is_set():
                for e in self.edges:
                    if not e.running:
                        continue  # a hall being killed on purpose
                    try:
                        r = c.post(e.base + "/api/tickets", json={"item": "transcript"})
                        if r.status_code == 201:
                            self.issued += 1
                        else:
                            self.failures.append(f"{e.hall}: {r.status_code} {r.text[:100]}")
                    except httpx.HTTPError as err:
                        if e.running:
                            self.failures.append(f"{e.hall}: {err!r}")
                self._stop.wait(self.interval)
