"""`onestop-sim bench sd`: bytes a real `onestop-edge` writes to its storage over a busy day.

The edge runs as a child process (bench hall, temporary data directory, simulated clock on a
working Monday, no sync) and is read from outside: `write_bytes` of /proc/<pid>/io counts what
the process caused to be written to the block device (the SD card on a Pi), WAL, checkpoints and
fsyncs included. The day is EVENTS events committed one request at a time (each its own
transaction with ``synchronous=FULL``, as at the kiosk), paced as a day is: the hall's
housekeeping ticks and WAL checkpoints run in between. A busy hall day is about 1,500 visitors ×
4 events (issued, called, started, completed) ≈ 6,000 events; the bench hall takes numbers
without staff, so the day is 6,000 `ticket.issued` events, whose rows are of the same size.
Budget (docs/benchmarks.md): ≤ 512 MiB a busy day (≈ 190 GB a year): a 32 GB card rated for
3,000 erase cycles (96 TB) lasts 50 years at that rate even with 10× write amplification inside
the card. Measured: about 53 KB per event (WAL frames of every page a commit touches, fsync'd,
then checkpointed into the database).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from .bench import BENCH_HALL, BENCH_START, HOST, log
from .client import Client
from .procs import EdgeProcess, ProcessError, describe_exit, free_port
from .traffic import items_in_service

BUDGET_MIB = 512.0
BUSY_DAY_EVENTS = 6_000


def write_bytes(pid: int) -> int:
    """Bytes the process caused to be written to storage (/proc/<pid>/io write_bytes)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise ProcessError(f"/proc/{pid}/io has no write_bytes (a kernel without task I/O accounting)")


def run(events: int = BUSY_DAY_EVENTS, as_json: bool = False) -> dict:
    port = free_port(HOST)
    with tempfile.TemporaryDirectory(prefix="onestop-bench-sd-") as tmp:
        edge = EdgeProcess(BENCH_HALL, Path(tmp) / "data", HOST, port, clock_start=BENCH_START, log_level="warning")
        log(f"starting onestop-edge (bench hall, data in {tmp}) …")
        edge.start()
        try:
            edge.wait_healthy()
            with Client(HOST, port) as c:
                items = [i["id"] for i in items_in_service(c)]
                start = write_bytes(edge.pid)
                t0 = time.monotonic()
                log(f"a busy day: {events} events, one transaction each …")
                for i in range(events):
                    status, body = c.request("POST", "/api/tickets", {"item": items[i % len(items)]})
                    if status != 201:
                        raise ProcessError(f"the edge refused a ticket: {status} {body}")
                elapsed = time.monotonic() - t0
                time.sleep(6)  # one housekeeping tick and the WAL's checkpoint after the day's last write
                written = write_bytes(edge.pid) - start
            db = sum(f.stat().st_size for f in (Path(tmp) / "data").glob("hall.db*"))
        finally:
            code, killed = edge.stop()
        log(f"edge {describe_exit(code, killed)}")
    mib = written / 2**20
    result = {"events": events, "seconds": round(elapsed, 1), "write_bytes": written,
              "write_mib": round(mib, 1), "bytes_per_event": round(written / events),
              "busy_day_mib": round(mib * BUSY_DAY_EVENTS / events, 1), "database_files_mib": round(db / 2**20, 1),
              "budget_mib": BUDGET_MIB, "pass": mib * BUSY_DAY_EVENTS / events <= BUDGET_MIB}
    if as_json:
        print(json.dumps(result))
    else:
        print(f"{events} events: {result['write_mib']} MiB written ({result['bytes_per_event']} B/event); "
              f"a busy day ({BUSY_DAY_EVENTS} events): {result['busy_day_mib']} MiB, budget ≤ {BUDGET_MIB:g} MiB: "
              f"{'PASS' if result['pass'] else 'FAIL'}; database files {result['database_files_mib']} MiB")
    return result
