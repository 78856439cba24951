"""`make bench`: every benchmark in a short form, each ratio compared with its reference.

The references are the table under "Reference ratios" in docs/benchmarks.md (one source of
truth: the docs show what the check compares with). Each row names a figure of one quick run;
the figure is a ratio of two things measured in the same run (or on the same process), so a
busy machine moves it less than a raw rate. A figure worse than its reference by more than
TOLERANCE (20 %) fails: the check prints every figure, then FAIL lines, and exits 1.

    .venv/bin/python -m simulators.bench_check            # what `make bench` runs
    .venv/bin/python -m simulators.bench_check --only sync
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
TOLERANCE = 0.20  # a figure more than 20 % worse than its reference fails
MARK = "<!-- make bench reference table: parsed by simulators/bench_check.py -->"


@dataclass(frozen=True)
class Reference:
    key: str  # "<bench>.<figure>"
    better: str  # "higher" or "lower"
    value: float
    what: str


@dataclass(frozen=True)
class Verdict:
    ref: Reference
    measured: float | None
    ok: bool
    change: float | None  # relative change in the "worse" direction (0.25 = 25 % worse)

    def line(self) -> str:
        if self.measured is None:
            return f"FAIL {self.ref.key}: not measured (reference {self.ref.value:g})"
        word = "PASS" if self.ok else "FAIL"
        worse = f"{self.change:+.0%} worse" if self.change > 0 else f"{-self.change:.0%} better"
        return (f"{word} {self.ref.key}: {self.measured:.3g} against reference {self.ref.value:g} "
                f"({self.ref.better} is better; {worse}; limit {TOLERANCE:.0%} worse)")


def parse_references(text: str) -> list[Reference]:
    """The rows of the table that follows MARK: | key | figure | better | reference |."""
    if MARK not in text:
        raise ValueError(f"{DOCS.name}: the reference table (after {MARK!r}) is missing")
    refs = []
    for line in text.split(MARK, 1)[1].lstrip("\n").splitlines():
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("key", "") or set(cells[0]) <= {"-", ":"}:
            continue
        key, what, better, value = cells
        key = key.strip("`")
        if better not in ("higher", "lower"):
            raise ValueError(f"{DOCS.name}: reference {key}: better must be higher or lower, not {better!r}")
        refs.append(Reference(key=key, better=better, value=float(value), what=what))
    if not refs:
        raise ValueError(f"{DOCS.name}: the reference table has no rows")
    return refs


def compare(ref: Reference, measured: float | None, tolerance: float = TOLERANCE) -> Verdict:
    """PASS unless `measured` is worse than the reference by more than `tolerance` (relative)."""
    if measured is None:
        return Verdict(ref, None, False, None)
    if ref.better == "higher":
        change = (ref.value - measured) / ref.value  # how much lower, as a share of the reference
    else:
        change = (measured - ref.value) / ref.value  # how much higher
    return Verdict(ref, measured, change <= tolerance + 1e-12, change)


# ---------------------------------------------------------------- the quick runs


def run_sync() -> dict[str, float]:
    from . import bench_sync

    r = bench_sync.run(30_000, postgres=False)
    return {"sync.sqlite_ratio_to_raw": r["runs"][0]["ratio_to_raw"]}


def run_edge() -> dict[str, float]:
    from . import bench

    r = bench.run(bench.BenchOptions(tickets=1500, rate=50, seconds=4, concurrency=8, devices=False,
                                     device_samples=0))
    # a health request is the HTTP stack alone, measured in the same run: its p50 over a
    # ticket's p50 falls when issuing a ticket gets slower, whatever the machine's speed
    return {"edge.health_p50_over_ticket_p50": round(r["health_latency_ms"]["p50"] / r["ticket_latency_ms"]["p50"], 3)}


def run_central() -> dict[str, float]:
    from . import bench_central

    r = bench_central.run(halls=3, days=60, visits=100, runs=3, postgres=False)
    return {"central.sqlite_ingest_ratio_to_raw": r["runs"][0]["ingest"]["ratio_to_raw"]}


def run_pgingest() -> dict[str, float]:
    """PostgreSQL ingest only (one worker), against a raw COPY in the same database (~17 s);
    nothing when no server is reachable (the figure is then skipped, not failed)."""
    from . import bench_central

    r = bench_central.run(halls=3, days=60, visits=100, sqlite=False, pages=False, workers=1)
    if not r["runs"]:
        print("SKIP pgingest: no PostgreSQL server reachable", flush=True)
        return {}
    return {"pgingest.postgresql_ingest_ratio_to_raw_copy": r["runs"][0]["ingest"]["ratio_to_raw_copy"]}


RUNS = {"sync": run_sync, "edge": run_edge, "central": run_central, "pgingest": run_pgingest}
SKIPPABLE = {"pgingest"}  # benchmarks that need a server this machine may not have


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench_check", description=__doc__.split("\n\n")[0])
    p.add_argument("--only", choices=sorted(RUNS), action="append", help="run only this benchmark (repeatable)")
    args = p.parse_args(argv)
    refs = parse_references(DOCS.read_text(encoding="utf-8"))
    wanted = args.only or sorted({r.key.split(".")[0] for r in refs})
    measured: dict[str, float] = {}
    for name in wanted:
        if name not in RUNS:
            print(f"FAIL {name}: docs/benchmarks.md names a benchmark make bench cannot run", file=sys.stderr)
            return 1
        print(f"== bench {name} (quick) ==", flush=True)
        measured.update(RUNS[name]())
    verdicts = [compare(r, measured.get(r.key)) for r in refs if r.key.split(".")[0] in wanted
                and not (r.key.split(".")[0] in SKIPPABLE and r.key not in measured)]
    print("\n== make bench: figures against docs/benchmarks.md (Reference ratios) ==")
    for v in verdicts:
        print(v.line())
    failed = [v for v in verdicts if not v.ok]
    if failed:
        print(f"\nmake bench: FAIL — {len(failed)} figure(s) more than {TOLERANCE:.0%} worse than recorded: "
              + ", ".join(v.ref.key for v in failed), file=sys.stderr)
        return 1
    print(f"\nmake bench: all {len(verdicts)} figures within {TOLERANCE:.0%} of docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
