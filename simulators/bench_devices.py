"""Device latency benchmark against an in-process hall, through the real device paths.

- badge → event: a card frame written into the hall reader's pty, read by pyserial on the
  reader's thread, parsed, submitted, classified and committed (fsync) as `attendance.punch`;
  measured from the write to the hall listener that sees the committed event.
- button → lamp: a pause button driven on its MockFactory pin, debounced, submitted as a
  pause/resume command, committed, and the lamp pin switched by the listener; measured from
  the drive to the lamp change.

Targets: badge → event p99 ≤ 50 ms; button → lamp p99 ≤ 10 ms. The hall runs on a manual
clock (moved between samples so punches are not duplicates and presses are not chatter); the
latencies are real time (perf_counter). To wire as part of ``onestop-sim bench edge``:
``from simulators.bench_devices import run_devices_bench, table``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

TARGETS_MS = {"badge_to_event": 50.0, "button_to_lamp": 10.0}


def _stats(samples: list[float]) -> dict:
    s = sorted(samples)
    def pct(p: float) -> float:
        return round(s[min(len(s) - 1, max(0, int(round(p / 100 * len(s))) - 1))], 3)
    return {"n": len(s), "p50": pct(50), "p90": pct(90), "p99": pct(99), "max": round(s[-1], 3),
            "mean": round(statistics.fmean(s), 3)}


def run_devices_bench(samples: int = 300, warmup: int = 20, data_dir: Path | None = None) -> dict:
    """Measure both paths; returns {"badge_to_event_ms": stats, "button_to_lamp_ms": stats,
    "targets_ms": …, "pass": bool}."""
    from edge import presence
    from edge.config import load
    from edge.hall import Hall
    from edge.hardware import Hardware
    from simulators.hallday import CARDS, first_open_monday, hall_file
    from sync.kernel.calendar import HallCalendar
    from sync.kernel.clock import ManualClock

    work = Path(data_dir or tempfile.mkdtemp(prefix="onestop-bench-devices-"))
    cfg = load(hall_file(work / "hall.toml"))
    cal = HallCalendar(cfg.business.calendar)
    day = first_open_monday(cal, datetime.now(cal.tz).date())
    clock = ManualClock(datetime.combine(day, datetime.min.time(), tzinfo=cal.tz).replace(hour=8))
    hall = Hall(cfg, work / "data", clock)
    hall.start()
    hw = Hardware(hall, cfg.devices, simulate=True)
    punched = threading.Event()
    stamp: list[float] = [0.0]

    def listener(events) -> None:
        if any(e.kind == "attendance.punch" for e in events):
            stamp[0] = time.perf_counter()
            punched.set()

    lamp_changed = threading.Event()
    lamp_at: list[float] = [0.0]

    def on_lamp(window: str, mode: str) -> None:
        lamp_at[0] = time.perf_counter()
        lamp_changed.set()

    badge_ms: list[float] = []
    lamp_ms: list[float] = []
    try:
        hw.start()
        hw.wait_ready()
        hall.add_listener(listener)
        hw.on_lamp = on_lamp
        port = hw.sim_ports["hall-reader"]
        from devices.frames import rdm6300_frame

        cards = list(CARDS.values())
        for i in range(samples + warmup):
            clock.advance(seconds=61)  # not a duplicate punch, not a held card
            punched.clear()
            frame = rdm6300_frame(cards[i % len(cards)])
            t0 = time.perf_counter()
            port.write(frame)
            if not punched.wait(5):
                raise RuntimeError("a badge frame produced no punch within 5 s")
            if i >= warmup:
                badge_ms.append((stamp[0] - t0) * 1000)
        hw.drain()

        hall.call(presence.sign_on, "w01", "20050217")
        pin = hw.factory.pin(hw.cfg.pins["pause-w01"].pin)
        for i in range(samples + warmup):
            clock.advance(seconds=1)  # apart from the previous edge: not chatter
            lamp_changed.clear()
            t0 = time.perf_counter()
            pin.drive_low()  # pressed: pause (lamp on) / resume (lamp off), alternately
            if not lamp_changed.wait(5):
                raise RuntimeError("a button press changed no lamp within 5 s")
            if i >= warmup:
                lamp_ms.append((lamp_at[0] - t0) * 1000)
            clock.advance(seconds=1)
            pin.drive_high()
        hw.drain()
    finally:
        hall.remove_listener(listener)
        hw.stop()
        hall.stop()
    b, l = _stats(badge_ms), _stats(lamp_ms)
    return {
        "badge_to_event_ms": b,
        "button_to_lamp_ms": l,
        "targets_ms": {"badge_to_event_p99": TARGETS_MS["badge_to_event"], "button_to_lamp_p99": TARGETS_MS["button_to_lamp"]},
        "pass": b["p99"] <= TARGETS_MS["badge_to_event"] and l["p99"] <= TARGETS_MS["button_to_lamp"],
    }


def table(result: dict) -> str:
    rows = [("badge frame → attendance event committed", result["badge_to_event_ms"], TARGETS_MS["badge_to_event"]),
            ("button press → lamp change", result["button_to_lamp_ms"], TARGETS_MS["button_to_lamp"])]
    out = [f"{'device path':44} {'n':>5} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8}  target p99"]
    for name, s, target in rows:
        verdict = "PASS" if s["p99"] <= target else "FAIL"
        out.append(f"{name:44} {s['n']:>5} {s['p50']:>8.2f} {s['p90']:>8.2f} {s['p99']:>8.2f} {s['max']:>8.2f}"
                   f"  ≤ {target:.0f} ms {verdict}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="onestop-sim bench devices", description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=300)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    result = run_devices_bench(args.samples)
    print(json.dumps(result, ensure_ascii=False) if args.json else table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
