"""The hall's side of replication: the hall as a `sync.replicator.Source`, the config downlink,
and clock corrections from central's time beacon.

- Reads of committed events run on the replicator's thread with its own SQLite connection
  (WAL: readers see only committed transactions); everything that writes goes through the
  hall's writer thread (`Hall.call`).
- Epoch marks (last committed seq per epoch) and ack marks are kept in memory, seeded from the
  store and advanced by the hall's commit listener, so the replicator never scans the log.
- A newer business configuration is handed to the writer thread (`edge.context.apply_business`:
  checked, persisted and swapped in in one transaction, a `config.applied` event); an older or
  equal version is refused there.
"""

from __future__ import annotations

import logging
import threading

from sync.contract import events as ev
from sync.contract import wire
from sync.kernel.clock import SystemClock
from sync.mqtt import parse_broker_url
from sync.replicator import Replicator

from . import closing, views
from .context import Ctx, apply_business
from .hall import Hall
from .store.log import StoredEvent

log = logging.getLogger("onestop.edge.sync")

CLOCK_TOLERANCE_US = 2_000_000  # a synced clock further off than this is corrected again


# ---------------------------------------------------------------- time


def correct_clock(ctx: Ctx, true_us: int) -> int | None:
    """Central's beacon says the time is `true_us`; correct an unverified or drifting clock and
    record it. Simulated clocks are left alone. Returns the offset applied, if any."""
    clock = ctx.clock
    if not isinstance(clock, SystemClock):
        return None
    offset = true_us - clock.micros()
    if clock.quality == "synced" and abs(offset) < CLOCK_TOLERANCE_US:
        return None
    previous = clock.quality
    # the correction event itself is stamped on the old clock, like the events it corrects
    ctx.store.append(ev.ClockCorrected(boot=clock.boot, offset_us=offset, previous_quality=previous))
    clock.correct(offset)
    log.warning("clock corrected by %.3f s (was %s)", offset / 1e6, previous)
    return offset


# ---------------------------------------------------------------- the source


def _status(ctx: Ctx) -> dict:
    return {
        "config_version": ctx.catalog.business.version,
        "clock": {"quality": ctx.clock.quality, "boot": ctx.clock.boot, "now": ctx.clock.micros()},
        "windows": [
            {"id": w["id"], "name": w["name"], "department": w["department"], "state": w["state"],
             "staff": (w["staff"] or {}).get("name"), "lamp": w["lamp"], "over_limit": w["over_limit"],
             "paused_seconds": w["paused_seconds"], "ticket": (w["ticket"] or {}).get("number")}
            for w in views.windows(ctx)
        ],
        "queues": {q["department"]: q["waiting"] for q in views.queue_summary(ctx)},
    }


class HallSource:
    def __init__(self, hall: Hall) -> None:
        self.hall = hall
        self.store = hall.store
        self._lock = threading.Lock()
        self._epochs: dict[str, int] = {}
        self._acked: dict[str, int] = {}
        self.reload()
        hall.add_listener(self._committed)

    def reload(self) -> None:
        epochs = self.hall.call(lambda ctx: ctx.store.epochs())
        acked = self.hall.call(lambda ctx: {ep: ctx.store.acked(ep) for ep, _ in ctx.store.epochs()})
        with self._lock:
            self._epochs = dict(epochs)
            self._acked = acked

    def _committed(self, events: list[StoredEvent]) -> None:
        with self._lock:
            for e in events:
                if e.seq > self._epochs.get(e.epoch, 0):
                    self._epochs[e.epoch] = e.seq

    # -- Source

    def current_epoch(self) -> str:
        return self.store.epoch

    def epochs(self) -> list[tuple[str, int]]:
        with self._lock:
            out = list(self._epochs.items())
        if self.store.epoch not in dict(out):
            out.append((self.store.epoch, 0))
        return out

    def acked(self, epoch: str) -> int:
        with self._lock:
            return self._acked.get(epoch, 0)

    def save_acked(self, epoch: str, seq: int) -> None:
        with self._lock:
            if seq == self._acked.get(epoch, 0):
                return
            self._acked[epoch] = seq
        # persisted in the background: losing it on a crash only means resending more
        self.hall.submit(lambda ctx: ctx.store.save_acked(epoch, seq))

    def read(self, epoch: str, after: int, limit: int) -> list[wire.WireEvent]:
        return [
            wire.WireEvent(seq=r[0], id=r[1], kind=r[2], schema=r[3], body=r[4], ts=r[5], boot=r[6], mono=r[7],
                           clock=r[8])
            for r in self.store.event_rows(epoch, after, limit)
        ]

    def renumber(self, epoch: str, from_seq: int) -> None:
        self.hall.call(lambda ctx: ctx.store.renumber(epoch, from_seq))
        self.reload()

    def retire_epoch(self, epoch: str) -> None:
        def rotate(ctx: Ctx) -> None:
            if ctx.store.epoch == epoch:
                ctx.store.rotate_epoch()

        self.hall.call(rotate)
        self.reload()

    def status(self) -> dict:
        st = self.hall.call(_status)
        st["campus"] = self.hall.config.hall.campus
        sensors = any(p.role in ("door", "power") for p in self.hall.config.devices.pins.values())
        c = self.hall.call(lambda ctx: closing.state(ctx, sensors))
        st["closing"] = {"service_date": c["service_date"], "status": c["status"], "label": c["status_label"],
                         "alarms": c["alarms"], "failed": [f.get("label") or f["name"] for f in c["failed"]]}
        return st

    def apply_config(self, msg: wire.ConfigMessage) -> None:
        self.hall.submit(apply_business, msg.version, msg.business)

    def time_beacon(self, beacon: wire.TimeBeacon) -> None:
        self.hall.submit(correct_clock, beacon.ts)

    def now_micros(self) -> int:
        return self.hall.clock.micros()


def start_replication(hall: Hall, broker_url: str, *, username: str = "", password: str = "",
                      **options) -> Replicator:
    broker = parse_broker_url(broker_url, username, password)
    source = HallSource(hall)
    rep = Replicator(hall.config.hall.id, broker, source, **options)
    hall.add_listener(rep.notify)
    rep.start()
    return rep
