"""The hall's side of replication: the hall as a `sync.replicator.Source`, the config downlink,
and clock corrections from central's time beacon.

- Reads of committed events run on the replicator's thread with its own SQLite connection
  (WAL: readers see only committed transactions); everything that writes goes through the
  hall's writer thread (`Hall.call`).
- Epoch marks (last committed seq per epoch) and ack marks are kept in memory, seeded from the
  store and advanced by the hall's commit listener, so the replicator never scans the log.
- A newer business configuration is handed to the writer thread (`take_config`, then
  `edge.context.apply_business`: checked, persisted and swapped in in one transaction, a
  `config.applied` event). An older version (a replay) or an absurd jump
  (`wire.config_version_refusal`) is refused.
- Bookings (`AppointmentsMessage`, retained, versioned) are kept in the store when newer than
  the ones the hall has (`take_appointments`); the kiosk checks in from them offline.
- The downlink is signed (docs/security.md): the replicator checks every message with
  central's public key (`[central] public_key`) before the hall sees it. Every refusal — a bad
  signature, a refused version, a refused clock correction — is a `downlink.refused` event,
  at most one per topic and reason every `REFUSAL_INTERVAL` seconds (the others are counted).
- Time floor: the hall persists the latest trusted time it has seen (meta `time_floor`). A
  beacon before the floor, or one that would move the clock further than
  `[central] max_clock_jump_days` beyond it, is refused, unless the operator started the node
  with `--accept-clock-jump` (then the first beacon is taken and becomes the floor).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from sync.contract import events as ev
from sync.contract import wire
from sync.contract.signing import Trust
from sync.kernel.clock import SystemClock, from_micros
from sync.mqtt import parse_broker_url
from sync.replicator import Replicator

from . import appointments, closing, views
from .context import Ctx, apply_business
from .hall import Hall
from .store import compaction
from .store.log import StoredEvent
from .timefloor import FLOOR_KEY

log = logging.getLogger("onestop.edge.sync")

CLOCK_TOLERANCE_US = 2_000_000  # a synced clock further off than this is corrected again
REFUSAL_INTERVAL = 600.0  # seconds: one downlink.refused event per topic and reason at most this often
FLOOR_PERSIST_US = 60_000_000  # the persisted floor is moved on at most once a minute
DAY_US = 86_400_000_000


# ---------------------------------------------------------------- refusals


class Refusals:
    """Rate limit of `downlink.refused` events: anyone able to publish on the hall's topics could
    otherwise fill its log. Thread-safe; in memory (a restart records the next one at once)."""

    def __init__(self, interval: float = REFUSAL_INTERVAL) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str], float] = {}
        self._suppressed: dict[tuple[str, str], int] = {}

    def take(self, topic: str, reason: str) -> int | None:
        """None when this refusal is not to be recorded now (it is counted); else how many of
        the same topic and reason went unrecorded since the last recorded one."""
        key = (topic, reason)
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.interval:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return None
            self._last[key] = now
            return self._suppressed.pop(key, 0)


def append_refusal(ctx: Ctx, topic: str, reason: str, detail: str, suppressed: int = 0, **extra) -> None:
    ctx.store.append(ev.DownlinkRefused(topic=topic, reason=reason, detail=detail[:500], suppressed=suppressed,
                                        **extra))


def record_refusal(ctx: Ctx, refusals: Refusals | None, topic: str, reason: str, detail: str, **extra) -> bool:
    """Inside a hall command: log the refusal and record it as an event (rate limited)."""
    log.warning("refused on %s: %s: %s", topic, reason, detail)
    suppressed = (refusals or Refusals()).take(topic, reason)
    if suppressed is None:
        return False
    append_refusal(ctx, topic, reason, detail, suppressed, **extra)
    return True


# ---------------------------------------------------------------- configuration


def take_config(ctx: Ctx, version: int, business, refusals: Refusals | None = None) -> bool:
    """A signed configuration from central: applied when it is the next plausible version;
    a replay of an older one or an absurd jump is refused and recorded. Returns whether applied."""
    current = ctx.catalog.business.version
    if version == current:
        return False  # the one running (the retained message, again on each reconnect)
    topic = wire.config_topic(ctx.hall_id)
    why = wire.config_version_refusal(current, version)
    if why is not None:
        record_refusal(ctx, refusals, topic, *why, version=version)
        return False
    if not apply_business(ctx, version, business):
        record_refusal(ctx, refusals, topic, "invalid", f"version {version} does not pass the hall's checks",
                       version=version)
        return False
    return True


# ---------------------------------------------------------------- appointments


def take_appointments(ctx: Ctx, msg: wire.AppointmentsMessage, refusals: Refusals | None = None) -> bool:
    """Central's bookings for this hall (signed, retained): kept when newer than the ones the
    hall has; an older version (a replay) is refused and recorded. Returns whether kept."""
    current = ctx.store.appointments_version()
    if msg.version == current:
        return False
    if msg.version < current:
        record_refusal(ctx, refusals, wire.appointments_topic(ctx.hall_id), "stale_version",
                       f"bookings version {msg.version} is older than the kept {current} (a replay?)",
                       version=msg.version)
        return False
    appointments.store_message(ctx, msg)
    log.info("bookings version %d kept: %d bookings %s…%s", msg.version, len(msg.bookings), msg.first_day,
             msg.last_day)
    return True


# ---------------------------------------------------------------- time


@dataclass
class TimeGuard:
    """The bound on clock corrections: `max_jump_us` beyond the time floor. `accept_jump` is the
    operator's confirmation (`onestop-edge --accept-clock-jump`): the first beacon after start
    is taken whatever its distance from the floor, and becomes the floor."""

    max_jump_us: int = 31 * DAY_US
    accept_jump: bool = False
    floor: int = 0  # in memory, ahead of the persisted one by less than FLOOR_PERSIST_US
    first: bool = True


def time_floor(ctx: Ctx) -> int:
    try:
        return int(ctx.store.meta(FLOOR_KEY) or 0)
    except ValueError:
        return 0


def _iso(us: int) -> str:
    try:
        return from_micros(us).isoformat(timespec="seconds")
    except (OverflowError, ValueError):
        return f"{us} µs"


def correct_clock(ctx: Ctx, true_us: int, guard: TimeGuard | None = None,
                  refusals: Refusals | None = None) -> int | None:
    """Central's beacon says the time is `true_us`; correct an unverified or drifting clock and
    record it. Simulated clocks are left alone. A beacon before the hall's time floor, or one
    that would move the clock more than the guard's bound beyond the floor, is refused and
    recorded. Returns the offset applied, if any."""
    clock = ctx.clock
    if not isinstance(clock, SystemClock):
        return None
    guard = guard if guard is not None else TimeGuard()
    persisted = time_floor(ctx)
    floor = max(persisted, guard.floor)
    offset = true_us - clock.micros()
    correcting = not (clock.quality == "synced" and abs(offset) < CLOCK_TOLERANCE_US)
    refusal = None
    if floor and true_us < floor - CLOCK_TOLERANCE_US:
        refusal = ("clock_back", f"the beacon says {_iso(true_us)}, before the latest trusted time {_iso(floor)}")
    elif floor and correcting and true_us > floor + guard.max_jump_us:
        refusal = ("clock_jump", f"the beacon says {_iso(true_us)}, {(true_us - floor) / DAY_US:.1f} days after "
                                 f"the latest trusted time {_iso(floor)} (bound {guard.max_jump_us / DAY_US:g} days)")
    first, guard.first = guard.first, False
    confirmed = refusal is not None and guard.accept_jump and first
    if confirmed:
        log.warning("clock jump accepted by the operator (--accept-clock-jump): %s", refusal[1])
        floor = persisted = 0  # the floor starts again from this beacon
    elif refusal is not None:
        record_refusal(ctx, refusals, wire.TIME_TOPIC, *refusal, ts=true_us)
        return None
    guard.floor = max(floor, true_us)
    if guard.floor - persisted >= FLOOR_PERSIST_US or not persisted:
        ctx.store.set_meta(FLOOR_KEY, str(guard.floor))
    if not correcting:
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
    """The hall as the replicator's `Source`. `accept_clock_jump`: the operator confirmed a clock
    jump (the first time beacon is taken whatever its distance from the time floor)."""

    def __init__(self, hall: Hall, *, accept_clock_jump: bool = False) -> None:
        self.hall = hall
        self.store = hall.store
        self.refusals = Refusals()
        self.time_guard = TimeGuard(max_jump_us=int(hall.config.central.max_clock_jump_days * DAY_US),
                                    accept_jump=accept_clock_jump)
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
        rows = self.store.event_rows(epoch, after, limit)
        if rows and rows[-1][0] - after != len(rows):
            # a hole: events compaction deleted after central acknowledged them, asked for again
            # (central lost them): stand-ins say so, and replication goes on past them
            floor = compaction.floor(self.store, epoch)
            log.warning("central asks again for seqs %d… of epoch %s, compacted here up to %d: sending "
                        "log.compacted stand-ins for them", after + 1, epoch, floor)
            rows = compaction.stand_ins(self.hall.config.hall.id, epoch, after, rows, limit, floor)
        return [
            wire.WireEvent(seq=r[0], id=r[1], kind=r[2], schema=r[3], body=r[4], ts=r[5], boot=r[6], mono=r[7],
                           clock=r[8])
            for r in rows
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
        self.hall.submit(take_config, msg.version, msg.business, self.refusals)

    def apply_appointments(self, msg: wire.AppointmentsMessage) -> None:
        self.hall.submit(take_appointments, msg, self.refusals)

    def time_beacon(self, beacon: wire.TimeBeacon) -> None:
        self.hall.submit(correct_clock, beacon.ts, self.time_guard, self.refusals)

    def refused(self, topic: str, reason: str, detail: str) -> None:
        suppressed = self.refusals.take(topic, reason)  # before queueing: a flood never reaches the writer
        if suppressed is not None:
            self.hall.submit(append_refusal, topic, reason, detail, suppressed)

    def now_micros(self) -> int:
        return self.hall.clock.micros()


def trust_of(hall: Hall) -> Trust:
    """Central's public key(s) from the hall file; ValueError when there is none."""
    c = hall.config.central
    return Trust([c.public_key, c.next_public_key])


def start_replication(hall: Hall, broker_url: str, *, username: str = "", password: str = "",
                      accept_clock_jump: bool = False, **options) -> Replicator:
    broker = parse_broker_url(broker_url, username, password)
    trust = trust_of(hall)
    source = HallSource(hall, accept_clock_jump=accept_clock_jump)
    rep = Replicator(hall.config.hall.id, broker, source, trust=trust, **options)
    hall.add_listener(rep.notify)
    rep.start()
    return rep
