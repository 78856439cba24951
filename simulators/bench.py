"""`onestop-sim bench edge`: latency, throughput and memory of a real `onestop-edge` process.

The edge runs as a child process on a temporary data directory with the bench hall
(`simulators/bench_hall.toml`) on a simulated clock fixed on a working Monday morning, so the run
does not depend on the machine's date. The load comes over HTTP on 127.0.0.1, from threads of
this process, each with its own keep-alive `http.client` connection. In order:

1. warm-up: a few health requests and tickets (the tickets count towards N);
2. baseline: GET /api/health at R requests/s for S seconds (near-zero work, but the same path
   through the server and the hall's writer thread), so results can be read as a ratio on a
   noisy shared machine;
3. latency: POST /api/tickets at R requests/s for S seconds, open loop: request i is due at
   t0 + i/R whatever happened to the others, and its latency is measured from that due time,
   so a stalled server is charged for the requests it held up (no coordinated omission);
4. throughput: the rest of the N tickets with C connections as fast as they are answered;
5. memory: the edge's resident set (VmRSS, and its peak VmHWM) after the N tickets.
Then the edge is stopped with SIGTERM and its exit code reported.
"""

from __future__ import annotations

import http.client
import itertools
import math
import os
import platform
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from .client import Client
from .procs import EdgeProcess, ProcessError, describe_exit, free_port
from .traffic import items_in_service

BENCH_HALL = Path(__file__).with_name("bench_hall.toml")
BENCH_START = "2026-11-23T09:00:00+08:00"  # a working Monday, 09:00 in the bench hall's zone
HOST = "127.0.0.1"
WARMUP_TICKETS = 10
WARMUP_HEALTH = 20
LATENCY_WORKERS = 4  # threads sending the open-loop schedule
REQUEST_TIMEOUT = 10.0
PHASE_GRACE = 30.0  # seconds a phase may run past its schedule before it gives up

# Targets (docs/benchmarks.md)
TARGET_P99_MS = 20.0
TARGET_RATE = 50.0
TARGET_TICKETS_PER_S = 300.0
TARGET_RSS_MB = 100.0
TARGET_RSS_TICKETS = 10_000

Request = tuple[str, str, object]  # method, path, JSON body or None


@dataclass
class BenchOptions:
    tickets: int = 10_000
    rate: float = 50.0
    seconds: float = 20.0
    concurrency: int = 8
    devices: bool = True  # also the device paths (badge → event, button → lamp)
    device_samples: int = 300
    edge_cpus: str | None = None  # pin the edge to these cores (`taskset -c`), e.g. "0": one core, as a busy Pi


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(latencies: list[float], errors: int, rate: float) -> dict:
    ms = sorted(x * 1000 for x in latencies)
    return {
        "rate": rate,
        "requests": len(ms),
        "errors": errors,
        "p50": round(percentile(ms, 50), 3),
        "p90": round(percentile(ms, 90), 3),
        "p99": round(percentile(ms, 99), 3),
        "max": round(ms[-1], 3) if ms else float("nan"),
    }


def _send(c: Client, req: Request, expect: int) -> bool:
    method, path, body = req
    try:
        status, _ = c.request(method, path, body)
    except (OSError, http.client.HTTPException):
        c.close()
        return False
    return status == expect


def _drive(make: Callable[[int], Request], expect: int, n: int, port: int, workers: int, give_up: float,
           due: Callable[[int], float]) -> tuple[list[float], int]:
    """Send requests 0 … n-1 over `workers` connections, each worker taking the next request as
    soon as its previous one is answered, request i not before `due(i)`; none after `give_up`.
    Returns the seconds from `due(i)` to the full response of each successful request and the
    number of failed requests."""
    times: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = itertools.count()

    def worker() -> None:
        nonlocal errors
        with Client(HOST, port, timeout=REQUEST_TIMEOUT) as c:
            while True:
                with lock:
                    i = next(counter)
                if i >= n or time.perf_counter() > give_up:
                    return
                when = due(i)
                wait = when - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                ok = _send(c, make(i), expect)
                took = time.perf_counter() - when
                with lock:
                    if ok:
                        times.append(took)
                    else:
                        errors += 1

    _run_threads(worker, workers)
    return times, errors


def open_loop(make: Callable[[int], Request], expect: int, rate: float, seconds: float, port: int,
              workers: int = LATENCY_WORKERS) -> tuple[list[float], int]:
    """Send round(rate × seconds) requests, request i due at t0 + i/rate. Returns the latencies
    (seconds, from the due time to the full response) and the number of failed requests."""
    n = round(rate * seconds)
    t0 = time.perf_counter() + 0.05
    latencies, errors = _drive(make, expect, n, port, workers, t0 + seconds + PHASE_GRACE, lambda i: t0 + i / rate)
    return latencies, errors + max(0, n - len(latencies) - errors)


def closed_loop(make: Callable[[int], Request], expect: int, count: int, concurrency: int, port: int,
                limit_seconds: float) -> tuple[list[float], int, float]:
    """Send `count` requests over `concurrency` connections, each as soon as the previous one
    on its connection is answered. Returns (completion times of the successful requests, in
    seconds from the start, ascending; number failed; elapsed seconds)."""
    start = time.perf_counter()
    finished, errors = _drive(make, expect, count, port, concurrency, start + limit_seconds, lambda i: start)
    finished.sort()
    return finished, errors, time.perf_counter() - start


def tenth_rates(finished: list[float]) -> tuple[float, float]:
    """Tickets/s over the first and over the last tenth of the completions: how throughput
    changes as the queues grow."""
    k = len(finished) // 10
    if k < 2:
        return 0.0, 0.0
    first = k / finished[k - 1] if finished[k - 1] > 0 else 0.0
    span = finished[-1] - finished[-k - 1]
    return round(first, 1), round(k / span, 1) if span > 0 else 0.0


def _run_threads(target: Callable[[], None], n: int) -> None:
    threads = [threading.Thread(target=target, name=f"bench-{k}", daemon=True) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _cpu(edge: EdgeProcess) -> tuple[float, float]:
    return edge.cpu_seconds(), time.process_time()


def _cpu_per_request(edge: EdgeProcess, before: tuple[float, float], n: int) -> dict:
    """CPU milliseconds per request since `before`: the edge's (all its threads) and this
    process's (the load generator's). Less sensitive to a busy machine than wall-clock figures."""
    edge_s, client_s = edge.cpu_seconds() - before[0], time.process_time() - before[1]
    n = max(n, 1)
    return {"edge_cpu_ms": round(edge_s * 1000 / n, 3), "client_cpu_ms": round(client_s * 1000 / n, 3)}


def targets(result: dict) -> list[dict]:
    lat = result["ticket_latency_ms"]
    return [
        {"name": f"p99 ticket latency at {TARGET_RATE:g} req/s", "limit": f"≤ {TARGET_P99_MS:g} ms",
         "value": lat["p99"], "unit": "ms", "applies": lat["rate"] == TARGET_RATE,
         "pass": lat["p99"] <= TARGET_P99_MS and lat["errors"] == 0},
        {"name": "ticket throughput", "limit": f"≥ {TARGET_TICKETS_PER_S:g} tickets/s",
         "value": result["throughput"]["tickets_per_s"], "unit": "tickets/s", "applies": True,
         "pass": result["throughput"]["tickets_per_s"] >= TARGET_TICKETS_PER_S
         and result["throughput"]["errors"] == 0},
        {"name": f"edge RSS after {TARGET_RSS_TICKETS:,} tickets", "limit": f"≤ {TARGET_RSS_MB:g} MB",
         "value": result["memory_mb"]["rss"], "unit": "MB",
         "applies": result["memory_mb"]["tickets"] >= TARGET_RSS_TICKETS,
         "pass": result["memory_mb"]["rss"] <= TARGET_RSS_MB},
    ]


def run(opts: BenchOptions) -> dict:
    """Run the edge benchmark; returns the result (raises ProcessError when the edge fails)."""
    port = free_port(HOST)
    with tempfile.TemporaryDirectory(prefix="onestop-bench-") as tmp:
        edge = EdgeProcess(BENCH_HALL, Path(tmp) / "data", HOST, port, clock_start=BENCH_START,
                           log_level="warning")
        edge.cpus = opts.edge_cpus
        log(f"starting onestop-edge (bench hall, data in {tmp}) on {edge.base_url}"
            + (f", pinned to core(s) {opts.edge_cpus}" if opts.edge_cpus else "") + " …")
        edge.start()  # raises ProcessError
        try:
            result = _measure(edge, opts)
            cpus = sorted(os.sched_getaffinity(edge.pid))  # the cores it ran on
        finally:
            code, killed = edge.stop()
        log(f"edge {describe_exit(code, killed)}")
    result["edge"].update({"exit_code": code, "killed": killed, "cpus": cpus})
    result["targets"] = targets(result)
    if opts.devices:
        from .bench_devices import TARGETS_MS, run_devices_bench

        log("devices: badge frames through a pty and button presses on MockFactory pins …")
        dev = run_devices_bench(samples=opts.device_samples)
        result["devices"] = dev
        for key, name in (("badge_to_event", "badge frame → attendance event p99"),
                          ("button_to_lamp", "button press → lamp change p99")):
            p99 = dev[f"{key}_ms"]["p99"]
            result["targets"].append({"name": name, "limit": f"≤ {TARGETS_MS[key]:g} ms", "value": p99, "unit": "ms",
                                      "applies": True, "pass": p99 <= TARGETS_MS[key]})
    return result


def _measure(edge: EdgeProcess, opts: BenchOptions) -> dict:
    edge.wait_healthy()
    port = edge.port
    with Client(HOST, port) as c:
        items = [i["id"] for i in items_in_service(c)]
        if not items:
            raise ProcessError("the bench hall offers no item today (no window in service)")
        idle = edge.memory()
        for _ in range(WARMUP_HEALTH):
            c.request("GET", "/api/health")
        issued = 0
        for k in range(WARMUP_TICKETS):
            status, body = c.request("POST", "/api/tickets", {"item": items[k % len(items)]})
            if status != 201:
                raise ProcessError(f"the edge refused a ticket: {status} {body}")
            issued += 1

    def ticket(offset: int) -> Callable[[int], Request]:
        return lambda i: ("POST", "/api/tickets", {"item": items[(offset + i) % len(items)]})

    log(f"baseline: GET /api/health at {opts.rate:g}/s for {opts.seconds:g} s …")
    cpu = _cpu(edge)
    lat, err = open_loop(lambda i: ("GET", "/api/health", None), 200, opts.rate, opts.seconds, port)
    health = summarize(lat, err, opts.rate) | _cpu_per_request(edge, cpu, len(lat) + err)

    log(f"latency: POST /api/tickets at {opts.rate:g}/s for {opts.seconds:g} s …")
    cpu = _cpu(edge)
    lat, err = open_loop(ticket(issued), 201, opts.rate, opts.seconds, port)
    tickets = summarize(lat, err, opts.rate) | _cpu_per_request(edge, cpu, len(lat) + err)
    issued += len(lat)

    remaining = max(0, opts.tickets - issued)
    log(f"throughput: {remaining} tickets with {opts.concurrency} connections …")
    cpu = _cpu(edge)
    finished, failed, elapsed = closed_loop(ticket(issued), 201, remaining, opts.concurrency, port,
                                            limit_seconds=max(120.0, remaining / 10))
    done = len(finished)
    issued += done
    first, last = tenth_rates(finished)
    throughput = {"tickets": done, "errors": failed, "seconds": round(elapsed, 3),
                  "tickets_per_s": round(done / elapsed, 1) if elapsed > 0 and done else 0.0,
                  "first_tenth_per_s": first, "last_tenth_per_s": last,
                  "concurrency": opts.concurrency} | _cpu_per_request(edge, cpu, done + failed)

    mem = edge.memory()
    with Client(HOST, port) as c:
        queued = sum(q["waiting"] for q in c.get("/api/queue"))
        last_seq = c.get("/api/health")["last_seq"]
    return {
        "date": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "options": {"tickets": opts.tickets, "rate": opts.rate, "seconds": opts.seconds,
                    "concurrency": opts.concurrency, "latency_workers": LATENCY_WORKERS,
                    "warmup_tickets": WARMUP_TICKETS, "edge_cpus": opts.edge_cpus},
        "health_latency_ms": health,
        "ticket_latency_ms": tickets,
        "p99_ratio": round(tickets["p99"] / health["p99"], 2) if health["p99"] > 0 else None,
        "throughput": throughput,
        "memory_mb": {"idle_rss": round(idle["rss"], 1), "rss": round(mem["rss"], 1),
                      "peak_rss": round(mem["hwm"], 1), "tickets": issued},
        "tickets_issued": issued,
        "tickets_waiting": queued,
        "events_logged": last_seq,
        "edge": {"pid": edge.pid, "items": len(items)},
    }


def table(r: dict) -> str:
    h, t, tp, m = r["health_latency_ms"], r["ticket_latency_ms"], r["throughput"], r["memory_mb"]
    lines = [
        f"onestop-edge benchmark, {r['date']}, {r['machine']['cpus']} CPUs, Python {r['machine']['python']}",
        "",
        f"{'latency (ms)':<34}{'p50':>8}{'p90':>8}{'p99':>8}{'max':>9}{'n':>7}{'errors':>8}"
        f"{'edge CPU':>10}{'client CPU':>12}",
    ]
    for name, s in ((f"GET /api/health @ {h['rate']:g}/s (baseline)", h),
                    (f"POST /api/tickets @ {t['rate']:g}/s", t)):
        lines.append(f"{name:<34}{s['p50']:>8.2f}{s['p90']:>8.2f}{s['p99']:>8.2f}{s['max']:>9.2f}"
                     f"{s['requests']:>7}{s['errors']:>8}{s['edge_cpu_ms']:>10.2f}{s['client_cpu_ms']:>12.2f}")
    if r["p99_ratio"] is not None:
        lines.append(f"{'p99 ticket / p99 health':<34}{r['p99_ratio']:>24.2f}×")
    lines.append("(CPU columns: ms of CPU per request, the edge process's and the load generator's)")
    if "devices" in r:
        from .bench_devices import table as devices_table

        lines += ["", devices_table(r["devices"])]
    lines += [
        "",
        f"throughput: {tp['tickets']} tickets in {tp['seconds']:.2f} s over {tp['concurrency']} connections"
        f" = {tp['tickets_per_s']:.1f} tickets/s ({tp['errors']} errors)",
        f"  first tenth {tp['first_tenth_per_s']:.1f} tickets/s, last tenth {tp['last_tenth_per_s']:.1f} tickets/s;"
        f" CPU per ticket: edge {tp['edge_cpu_ms']:.2f} ms, load generator {tp['client_cpu_ms']:.2f} ms",
        f"memory: edge RSS {m['rss']:.1f} MB after {m['tickets']} tickets (peak {m['peak_rss']:.1f} MB,"
        f" {m['idle_rss']:.1f} MB before the load)",
        f"check: {r['tickets_issued']} tickets issued, {r['tickets_waiting']} waiting in the hall's queues,"
        f" {r['events_logged']} events in its log",
        "",
        "targets:",
    ]
    for g in r["targets"]:
        verdict = ("PASS" if g["pass"] else "FAIL") + ("" if g["applies"] else " (not at the target's load)")
        lines.append(f"  {g['name']:<38} {g['limit']:<18} {g['value']:>9.1f} {g['unit']:<10} {verdict}")
    e = r["edge"]
    lines += ["", f"edge {describe_exit(e['exit_code'], e['killed'])}"]
    return "\n".join(lines)
