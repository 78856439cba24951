"""`onestop-sim bench edge --lean`: the hall on a Pi budget (issue 16), in an environment with
only the edge's dependencies.

A throwaway virtual environment gets `pip install <this tree>[edge]` (no central packages, no test
tools; pip's cache and `find-links` make a second build fast and offline-capable), or an existing
one is reused with `--venv DIR`. Its `onestop-edge` runs the bench hall (`simulators/bench_hall.toml`,
a simulated clock on a working Monday morning, no sync) twice: on every core, and pinned to one
(`taskset -c 0`, a Pi under load on its other cores). For each:

1. start-up: wall time from spawning the process to the first 200 of GET /api/health, polled
   every 5 ms; the median of `starts` starts, each on a fresh data directory;
2. memory: the edge's resident set (VmRSS) idle after start, then after `tickets` POST
   /api/tickets over 4 connections (and its peak, VmHWM), with the modules it had imported at
   start (`-X importtime`, the biggest self-times) for the report.

Targets (docs/benchmarks.md): start-up ≤ 2 s and RSS ≤ 64 MB after 10,000 tickets.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .bench import BENCH_HALL, BENCH_START, HOST, closed_loop, log
from .client import Client
from .procs import EdgeProcess, ProcessError, describe_exit, edge_command, free_port, proc_cpu_seconds
from .traffic import items_in_service

SOURCE = Path(__file__).resolve().parent.parent
TARGET_STARTUP_S = 2.0
TARGET_RSS_MB = 64.0
TARGET_TICKETS = 10_000
POLL = 0.005
# what the hall must never carry (central's packages, the test tools)
NOT_EDGE = ("psycopg2", "amqtt", "xlsxwriter", "pytest", "playwright", "openpyxl", "schemathesis", "pydantic",
            "cryptography")  # cryptography: central signs; a hall verifies with PyNaCl


class LeanEdge(EdgeProcess):
    """An `onestop-edge` from another environment, optionally behind a CPU pin (taskset)."""

    def __init__(self, command: list[str], *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.command = command

    def args(self) -> list[str]:
        return [*self.command, *super().args()[len(edge_command()):]]


def _source_copy(tmp: Path) -> Path:
    """This tree without its venv, git data and run data: pip builds in the tree it installs
    from (a build/ folder), which must not be the working tree."""
    dest = tmp / "src"
    if not dest.exists():
        shutil.copytree(SOURCE, dest, ignore=shutil.ignore_patterns(".venv", ".git", "build", "var", "*.egg-info",
                                                                     "__pycache__", "node_modules"))
    return dest


def make_venv(where: Path, source: Path) -> Path:
    """A fresh venv at `where` with `onestop[edge]` from this tree (not editable: what a Pi runs).
    Returns its bin directory."""
    log(f"lean: python -m venv {where}; pip install {SOURCE}[edge] (a copy) …")
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True)
    pip = [str(where / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    r = subprocess.run([*pip, f"{source}[edge]"], capture_output=True, text=True,
                       env=os.environ | {"PYTHONWARNINGS": "ignore"})
    if r.returncode != 0:
        raise ProcessError(f"pip install {SOURCE}[edge] failed: {r.stderr.strip()[-800:]}")
    return where / "bin"


def refresh_venv(venv: Path, source: Path) -> Path:
    """An existing lean venv with this tree's `onestop` reinstalled (its dependencies kept)."""
    log(f"lean: reinstalling onestop from {SOURCE} into {venv} …")
    r = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--force-reinstall", str(source)], capture_output=True, text=True,
                       env=os.environ | {"PYTHONWARNINGS": "ignore"})
    if r.returncode != 0:
        raise ProcessError(f"pip install {SOURCE} failed: {r.stderr.strip()[-800:]}")
    return venv / "bin"


def installed(bin_dir: Path) -> list[str]:
    r = subprocess.run([str(bin_dir / "python"), "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
                       capture_output=True, text=True, check=True)
    return sorted(line.split("==")[0].lower() for line in r.stdout.split())


def _first_health(edge: EdgeProcess, t0: float, timeout: float = 60.0) -> tuple[float, float]:
    """Seconds from `t0` to the first 200 of GET /api/health, and the CPU seconds the edge had
    used by then (less sensitive than wall time to other work on a shared machine)."""
    with Client(HOST, edge.port, timeout=2.0) as c:
        while True:
            if edge.poll() is not None:
                raise ProcessError(f"onestop-edge exited with code {edge.poll()} before it answered")
            try:
                if c.request("GET", "/api/health")[0] == 200:
                    return time.perf_counter() - t0, proc_cpu_seconds(edge.pid)
            except OSError:
                c.close()
            if time.perf_counter() - t0 > timeout:
                raise ProcessError(f"onestop-edge did not answer within {timeout:.0f} s")
            time.sleep(POLL)


def _start(prefix: list[str], tmp: Path, run: int,
           extra_env: dict | None = None) -> tuple[LeanEdge, tuple[float, float]]:
    edge = LeanEdge(prefix, BENCH_HALL, tmp / f"data-{run}", HOST, free_port(HOST), clock_start=BENCH_START,
                    log_level="warning")
    if extra_env:
        env = os.environ | extra_env
        t0 = time.perf_counter()
        # stderr into a file, never a pipe: -X importtime writes more than a pipe holds, and an
        # edge blocked on a full pipe never answers
        with (tmp / f"stderr-{run}.txt").open("wb") as err:
            edge.proc = subprocess.Popen(edge.args(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=err, env=env, process_group=0)
    else:
        t0 = time.perf_counter()
        edge.start()
    return edge, _first_health(edge, t0)


def import_profile(bin_dir: Path, tmp: Path, top: int = 12) -> dict:
    """The modules the edge imports before it answers (-X importtime): how many, the slowest
    (cumulative, top-level packages), and any that a hall should never load."""
    edge, _ = _start([str(bin_dir / "python"), "-m", "edge.cli"], tmp, 99, {"PYTHONPROFILEIMPORTTIME": "1"})
    edge.stop()
    text = (tmp / "stderr-99.txt").read_text(encoding="utf-8", errors="replace")
    packages: dict[str, int] = {}
    count = 0
    for line in text.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        fields = line[len("import time:"):].split("|")
        if len(fields) != 3:
            continue
        count += 1
        pkg = fields[2].strip().split(".")[0]
        packages[pkg] = packages.get(pkg, 0) + int(fields[0])
    slow = sorted(packages.items(), key=lambda kv: -kv[1])[:top]
    return {"modules": count, "packages_ms": {k: round(v / 1000, 1) for k, v in slow}, "imported": sorted(packages),
            "not_edge": sorted(p for p in packages if p.lower() in NOT_EDGE)}


def measure(prefix: list[str], tmp: Path, tickets: int, starts: int, label: str) -> dict:
    times, cpu = [], []
    for k in range(starts):
        edge, (took, used) = _start(prefix, tmp, k)
        times.append(took)
        cpu.append(used)
        if k < starts - 1:
            edge.stop()
    # the last start stays up for the tickets
    try:
        idle = edge.memory()
        with Client(HOST, edge.port) as c:
            items = [i["id"] for i in items_in_service(c)]
        if not items:
            raise ProcessError("the bench hall offers no item today")
        log(f"lean [{label}]: start-up {statistics.median(times):.2f} s (median of {starts}); "
            f"{tickets} tickets …")
        finished, errors, elapsed = closed_loop(
            lambda i: ("POST", "/api/tickets", {"item": items[i % len(items)]}), 201, tickets, 4, edge.port,
            limit_seconds=max(300.0, tickets / 5))
        mem = edge.memory()
    finally:
        code, killed = edge.stop()
    return {"startup_s": {"median": round(statistics.median(times), 3), "min": round(min(times), 3),
                          "max": round(max(times), 3), "runs": starts,
                          "cpu_median": round(statistics.median(cpu), 3)},
            "idle_rss_mb": round(idle["rss"], 1), "rss_mb": round(mem["rss"], 1), "peak_rss_mb": round(mem["hwm"], 1),
            "tickets": len(finished), "errors": errors, "tickets_per_s": round(len(finished) / elapsed, 1),
            "exit": describe_exit(code, killed)}


def measure_syncing(prefix: list[str], tmp: Path, tickets: int) -> dict:
    """The same hall replicating: a private mosquitto, `onestop-central` (this checkout's venv,
    SQLite) that acks, and the lean `onestop-edge` with sync on (the downlink key installed as in
    the demo). RSS after `tickets` tickets and again once central has acked every event."""
    from . import bench_sync

    work = tmp / "sync"
    hall_file = bench_sync._hall_file(work)  # bench hall as `bench-hall`, central.toml, keys
    broker_proc, broker = bench_sync._mosquitto(work)
    central = None
    edge = LeanEdge(prefix, hall_file, work / "edge-data", HOST, free_port(HOST), clock_start=BENCH_START,
                    log_level="warning", sync=True, broker=broker)
    try:
        cport = free_port(HOST)
        central = bench_sync._Proc([sys.executable, "-m", "central.cli", "--config", str(work / "central.toml"),
                                    "--db", f"sqlite:///{work / 'central.db'}", "--broker", broker,
                                    "--http", f"{HOST}:{cport}", "--log-level", "warning"],
                                   work / "central.log", f"http://{HOST}:{cport}/api/health")
        edge.start()
        health = edge.wait_healthy(60)
        idle = edge.memory()
        with Client(HOST, edge.port) as c:
            items = [i["id"] for i in items_in_service(c)]
        log(f"lean [syncing]: connected={health.get('sync', {}).get('connected')}; {tickets} tickets …")
        finished, errors, elapsed = closed_loop(
            lambda i: ("POST", "/api/tickets", {"item": items[i % len(items)]}), 201, tickets, 4, edge.port,
            limit_seconds=max(300.0, tickets / 5))
        mem = edge.memory()
        deadline, pending = time.monotonic() + 300, None
        with Client(HOST, edge.port) as c:
            while time.monotonic() < deadline:
                sync = c.request("GET", "/api/health")[1].get("sync", {})
                pending = sync.get("pending")
                if pending == 0 and sync.get("connected"):
                    break
                time.sleep(0.5)
        drained = edge.memory()
    finally:
        code, killed = edge.stop()
        if central is not None:
            central.stop()
        broker_proc.stop()
    if pending != 0:
        raise ProcessError(f"the syncing hall still had {pending} events unacknowledged after 300 s "
                           f"(logs in {work})")
    return {"idle_rss_mb": round(idle["rss"], 1), "rss_mb": round(mem["rss"], 1),
            "drained_rss_mb": round(drained["rss"], 1), "peak_rss_mb": round(drained["hwm"], 1),
            "tickets": len(finished), "errors": errors, "tickets_per_s": round(len(finished) / elapsed, 1),
            "exit": describe_exit(code, killed)}


def run(tickets: int = TARGET_TICKETS, starts: int = 5, venv: Path | None = None, pinned: bool = True,
        syncing: bool = True) -> dict:
    with tempfile.TemporaryDirectory(prefix="onestop-lean-") as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        if venv is not None and (venv / "bin" / "onestop-edge").exists():
            bin_dir, built = refresh_venv(venv, _source_copy(tmp)), 0.0
        else:
            bin_dir = make_venv(venv or tmp / "venv", _source_copy(tmp))
            built = round(time.perf_counter() - t0, 1)
        packages = installed(bin_dir)
        profile = import_profile(bin_dir, tmp)
        edge = [str(bin_dir / "onestop-edge")]
        result = {"venv": str(bin_dir.parent), "build_s": built, "packages": packages,
                  "central_packages": sorted(set(packages) & set(NOT_EDGE)), "imports": profile,
                  "all_cores": measure(edge, tmp, tickets, starts, f"{os.cpu_count()} cores")}
        if pinned:
            if shutil.which("taskset") is None:
                log("lean: taskset is not installed (util-linux); the one-core run is skipped")
            else:
                result["one_core"] = measure(["taskset", "-c", "0", *edge], tmp, tickets, starts, "taskset -c 0")
        if syncing:
            if shutil.which("mosquitto") is None and not os.path.exists("/usr/sbin/mosquitto"):
                log("lean: mosquitto is not installed; the syncing run is skipped")
            else:
                result["syncing"] = measure_syncing(edge, tmp, tickets)
    result["targets"] = targets(result)
    return result


def targets(r: dict) -> list[dict]:
    out = []
    for key, label in (("all_cores", "every core"), ("one_core", "taskset -c 0")):
        if key not in r:
            continue
        m = r[key]
        out.append({"name": f"start-up to /api/health ({label})", "limit": f"≤ {TARGET_STARTUP_S:g} s",
                    "value": m["startup_s"]["median"], "unit": "s", "pass": m["startup_s"]["median"] <= TARGET_STARTUP_S})
        out.append({"name": f"RSS after {m['tickets']:,} tickets ({label})", "limit": f"≤ {TARGET_RSS_MB:g} MB",
                    "value": m["rss_mb"], "unit": "MB",
                    "pass": m["rss_mb"] <= TARGET_RSS_MB and m["tickets"] >= TARGET_TICKETS})
    if "syncing" in r:
        m = r["syncing"]
        out.append({"name": f"RSS after {m['tickets']:,} tickets, syncing", "limit": f"≤ {TARGET_RSS_MB:g} MB",
                    "value": max(m["rss_mb"], m["drained_rss_mb"]), "unit": "MB",
                    "pass": max(m["rss_mb"], m["drained_rss_mb"]) <= TARGET_RSS_MB and m["tickets"] >= TARGET_TICKETS})
    return out


def table(r: dict) -> str:
    lines = [f"onestop-edge on a Pi budget: only onestop[edge] in {r['venv']}"
             + (f" (built in {r['build_s']:.0f} s)" if r["build_s"] else " (reused)"),
             f"  {len(r['packages'])} packages; central's or test packages present: "
             f"{', '.join(r['central_packages']) or 'none'}",
             f"  imported before the first answer: {r['imports']['modules']} modules; slowest packages (ms, "
             f"self time): " + ", ".join(f"{k} {v:g}" for k, v in r["imports"]["packages_ms"].items()), ""]
    lines.append(f"{'':<16}{'start-up median':>16}{'min':>8}{'max':>8}{'CPU':>7}{'idle RSS':>10}{'RSS after':>11}"
                 f"{'peak':>8}{'tickets':>9}{'tickets/s':>11}")
    for key, label in (("all_cores", "every core"), ("one_core", "taskset -c 0")):
        if key in r:
            m, s = r[key], r[key]["startup_s"]
            lines.append(f"{label:<16}{s['median']:>14.2f} s{s['min']:>8.2f}{s['max']:>8.2f}{s['cpu_median']:>7.2f}"
                         f"{m['idle_rss_mb']:>8.1f}MB"
                         f"{m['rss_mb']:>9.1f}MB{m['peak_rss_mb']:>8.1f}{m['tickets']:>9}{m['tickets_per_s']:>11.1f}")
    if "syncing" in r:
        m = r["syncing"]
        lines.append(f"{'syncing':<16}{'':>14}  {'':>8}{'':>8}{'':>7}{m['idle_rss_mb']:>8.1f}MB"
                     f"{m['rss_mb']:>9.1f}MB{m['peak_rss_mb']:>8.1f}{m['tickets']:>9}{m['tickets_per_s']:>11.1f}"
                     f"   after the drain {m['drained_rss_mb']:.1f} MB")
    lines += ["(start-up: wall seconds to the first 200 of /api/health; CPU: the edge's CPU seconds by then)",
              "", "targets:"]
    for g in r["targets"]:
        lines.append(f"  {g['name']:<42} {g['limit']:<10} {g['value']:>8.2f} {g['unit']:<3} "
                     f"{'PASS' if g['pass'] else 'FAIL'}")
    return "\n".join(lines)
