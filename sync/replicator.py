"""Edge side of replication: send the hall's log to central until central acknowledges it.

Protocol (DESIGN.md, Replication):
- Events go out in batches (`wire.Batch`, one epoch, seq order), QoS 1. The broker's PUBACK
  means nothing: only central's `Ack` (highest contiguous seq committed at central) moves the
  hall's `acked` mark, which is persisted by the hall.
- At most `max_inflight` events are sent beyond the ack. When no ack progress arrives for
  `ack_timeout` seconds, or after a reconnect, everything above the ack is sent again.
  Central inserts idempotently on (hall, epoch, seq), so resending is always safe.
- Backlog lane and live lane: while a long backlog drains in order, newly committed events are
  also sent at once (central stores out-of-order events and acks only the contiguous prefix),
  so the central office sees live activity during the catch-up.
- Retained `Status` on connect and every `status_interval`; the last will marks the hall
  `offline`. Retained `ConfigMessage`, `AppointmentsMessage` and the `TimeBeacon` are handed
  to the hall.
- The downlink is signed (`sync.contract.signing`): every ack, configuration and time beacon
  must open with `trust` (central's public key) before it is decoded and acted on. What does
  not (unsigned, unknown key, bad signature, another hall's) is dropped and handed to
  `Source.refused`, so the hall records it; without `trust` nothing from central is taken.

Everything the hall owns is reached through `Source`; this module never imports `edge`. The
broker is reached through `sync.transport` (`sync.mqtt` for MQTT), so it never imports paho.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any, Protocol

from .contract import wire
from .contract.signing import Refused, Trust
from .transport import Endpoint, Transport

log = logging.getLogger("onestop.sync.edge")

# The sending thread reads the log through sqlite3, which lets go of the GIL for every row it
# steps; with Python's default 5 ms switch interval each time it wants the GIL back it can wait
# up to 5 ms behind a busy thread (the hall starting its web app, a page being rendered) — the
# convoy effect that halved the backlog drain (docs/benchmarks.md, bench sync). A shorter
# interval bounds that wait. Process-wide; only ever lowered.
SWITCH_INTERVAL = 0.0002


def shorten_switch_interval(seconds: float = SWITCH_INTERVAL) -> None:
    if sys.getswitchinterval() > seconds:
        sys.setswitchinterval(seconds)


class Source(Protocol):
    """What the replicator needs from the hall. Every method is thread-safe."""

    def current_epoch(self) -> str: ...

    def epochs(self) -> list[tuple[str, int]]:
        """Every epoch of the log with its last committed seq, oldest first."""
        ...

    def acked(self, epoch: str) -> int: ...

    def save_acked(self, epoch: str, seq: int) -> None:
        """Set the ack mark (it may go down: central lost data and must get it again)."""
        ...

    def read(self, epoch: str, after: int, limit: int) -> list[wire.WireEvent]: ...

    def renumber(self, epoch: str, from_seq: int) -> None:
        """Central holds other events at `from_seq`… of `epoch` (this database is an old copy):
        move our events from there on to a new epoch, and append to a new epoch from now on."""
        ...

    def retire_epoch(self, epoch: str) -> None:
        """Central holds more of the current epoch than we have: append to a new epoch."""
        ...

    def status(self) -> dict: ...

    def apply_config(self, msg: wire.ConfigMessage) -> None: ...

    def apply_appointments(self, msg: wire.AppointmentsMessage) -> None:
        """The hall's bookings from central (retained, versioned): keep the newest."""
        ...

    def time_beacon(self, beacon: wire.TimeBeacon) -> None: ...

    def refused(self, topic: str, reason: str, detail: str) -> None:
        """A downlink message on `topic` was refused (not signed by central, …): record it."""
        ...

    def now_micros(self) -> int: ...


class Replicator:
    """Replicates `source` through a transport opened at `broker` (`sync.mqtt.BrokerUrl` for
    MQTT); `transport_options` go to `broker.open` (for MQTT: protocol, ca_file). `trust`
    holds central's public key(s): only messages signed by it are taken from the downlink."""

    def __init__(
        self,
        hall: str,
        broker: Endpoint,
        source: Source,
        *,
        batch_size: int = 1000,
        max_inflight: int = 20000,
        ack_timeout: float = 10.0,
        status_interval: float = 15.0,
        live_batch: int = 100,
        client_id: str | None = None,
        trust: Trust | None = None,
        **transport_options: Any,
    ) -> None:
        self.hall = hall
        self.trust = trust
        self.source = source
        self.batch_size = batch_size
        self.max_inflight = max_inflight
        self.ack_timeout = ack_timeout
        self.status_interval = status_interval
        self.live_batch = live_batch
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._heard: list[wire.Ack] = []  # acks not yet taken in by the sending loop
        self._sent: dict[str, int] = {}  # epoch → highest seq sent in order on this connection
        self._live_from = 0  # the live lane sent seqs _live_from+1 … _live_upto of _live_epoch
        self._live_upto = 0
        self._live_epoch: str | None = None
        self._verify: dict[str, int] = {}  # stale epoch → last seq we must see central answer
        self._lower: dict[str, tuple[int, float]] = {}  # epoch → (lower ack heard, since when)
        self._synced = False  # an ack has been taken in on this connection
        self._last_progress = time.monotonic()
        self._reset = True
        self._status_due = True
        self._thread: threading.Thread | None = None
        self.stats = {"batches": 0, "events_sent": 0, "resends": 0, "acks": 0, "renumbered": 0, "refused": 0}
        self.link: Transport = broker.open(
            client_id or f"onestop-edge-{hall}",
            subscriptions=[(wire.ack_topic(hall), 1), (wire.config_topic(hall), 1),
                           (wire.appointments_topic(hall), 1), (wire.TIME_TOPIC, 0)],
            on_message=self._on_message,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
            will=(wire.status_topic(hall), wire.OFFLINE),
            **transport_options,
        )

    # -- lifecycle

    def start(self) -> None:
        shorten_switch_interval()
        self._thread = threading.Thread(target=self._run, name="sync-edge", daemon=True)
        self._thread.start()
        self.link.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(10)
        self.link.stop(final=(wire.status_topic(self.hall), wire.OFFLINE))

    def notify(self, *_: object) -> None:
        """New events were committed (the hall calls this after each commit)."""
        self._wake.set()

    @property
    def connected(self) -> bool:
        return self.link.connected

    # -- network thread callbacks

    def _on_connect(self) -> None:
        with self._lock:
            self._reset = True
        self._wake.set()

    def _on_disconnect(self) -> None:
        with self._lock:
            self._reset = True

    def _refuse(self, topic: str, reason: str, detail: str) -> None:
        log.warning("refused a message on %s: %s: %s", topic, reason, detail)
        with self._lock:
            self.stats["refused"] += 1
        try:
            self.source.refused(topic, reason, detail)
        except Exception:  # noqa: BLE001 - never let a refusal break the network thread
            log.exception("could not record the refusal")

    def _opened(self, topic: str, payload: bytes, kind: type) -> Any:
        """The message of `kind` central signed for `topic`, or None (refused and recorded)."""
        if self.trust is None:
            self._refuse(topic, "no_key", "this hall has no public key of central ([central] public_key)")
            return None
        try:
            body = self.trust.open(topic, payload)
        except Refused as r:
            self._refuse(topic, r.reason, r.detail)
            return None
        try:
            return wire.decode(body, kind)
        except wire.WireError as e:
            self._refuse(topic, "undecodable", str(e)[:300])
            return None

    def _on_message(self, topic: str, payload: bytes) -> None:
        if topic == wire.TIME_TOPIC:
            beacon = self._opened(topic, payload, wire.TimeBeacon)
            if beacon is not None:
                self.source.time_beacon(beacon)
            return
        parts = wire.split_hall_topic(topic)
        if parts is None or parts[0] != self.hall:
            return
        leaf = parts[1]
        if leaf == "ack":
            ack = self._opened(topic, payload, wire.Ack)
            if ack is None:
                return
            if ack.hall != self.hall:
                self._refuse(topic, "wrong_hall", f"an ack addressed to {ack.hall[:64]!r}")
                return
            with self._lock:
                self._heard.append(ack)
                self.stats["acks"] += 1
            self._wake.set()
        elif leaf == "config":
            msg = self._opened(topic, payload, wire.ConfigMessage)
            if msg is None:
                return
            if msg.hall != self.hall:
                self._refuse(topic, "wrong_hall", f"a configuration addressed to {msg.hall[:64]!r}")
                return
            self.source.apply_config(msg)
        elif leaf == "appointments":
            booked = self._opened(topic, payload, wire.AppointmentsMessage)
            if booked is None:
                return
            if booked.hall != self.hall:
                self._refuse(topic, "wrong_hall", f"bookings addressed to {booked.hall[:64]!r}")
                return
            self.source.apply_appointments(booked)

    # -- the sending loop (its own thread)

    def _run(self) -> None:
        last_status = 0.0
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            if self._stop.is_set():
                break
            if not self.link.connected:
                continue
            try:
                self._take_acks()
                self._send()
                now = time.monotonic()
                if self._status_due or now - last_status >= self.status_interval:
                    self._publish_status()
                    last_status = now
            except Exception:  # noqa: BLE001 - keep replicating; the log is the truth
                log.exception("replication step failed")
                self._stop.wait(1.0)

    def _restart_sending(self) -> None:
        self._sent = {}
        self._live_from = self._live_upto = 0
        self._live_epoch = None
        self._last_progress = time.monotonic()

    def _take_acks(self) -> None:
        with self._lock:
            heard, self._heard = self._heard, []
            reset, self._reset = self._reset, False
        if reset:
            self._synced = False
            self._status_due = True
            self._restart_sending()
        for ack in heard:
            self._take_ack(ack)
        self._apply_lower_acks()
        if self._sent and time.monotonic() - self._last_progress > self.ack_timeout:
            if any(self._sent.get(ep, 0) > self.source.acked(ep) for ep, _ in self.source.epochs()):
                log.info("no ack progress for %.0f s: resending above the ack", self.ack_timeout)
                self.stats["resends"] += 1
                self._restart_sending()

    def _take_ack(self, ack: wire.Ack) -> None:
        epochs = dict(self.source.epochs())
        current = self.source.current_epoch()
        for epoch, seq in ack.conflicts.items():
            if epoch in epochs and seq <= epochs[epoch]:
                log.error("central holds other events at seq %d… of epoch %s: this database is an old "
                          "copy; moving our events from there to a new epoch", seq, epoch)
                self.source.renumber(epoch, seq)
                self.stats["renumbered"] += 1
                self._verify.pop(epoch, None)
                self._restart_sending()
                epochs = dict(self.source.epochs())
        now = time.monotonic()
        for epoch, last in epochs.items():
            central = ack.acks.get(epoch, 0)
            mark = self.source.acked(epoch)
            if central < mark and epoch not in self._verify:
                # central holds less than it once acknowledged (its database was restored or
                # replaced). One late ack proves nothing; a lower ack that stands for the ack
                # timeout does: then our mark follows central's and the rest is sent again.
                since = self._lower.setdefault(epoch, (central, now))[1]
                self._lower[epoch] = (central, since)
                continue
            self._lower.pop(epoch, None)
            if central > last:
                if epoch == current:
                    log.error("central has seq %d of epoch %s but our log ends at %d: this database is "
                              "an old copy; new events go to a new epoch", central, epoch, last)
                    self.source.retire_epoch(epoch)
                    current = self.source.current_epoch()
                if epoch not in self._verify and self.source.acked(epoch) < last:
                    # what we hold beyond our own ack mark must be compared by central first
                    self._verify[epoch] = last
                if epoch in self._verify:
                    if ack.upto.get(epoch, 0) >= self._verify[epoch] and epoch not in ack.conflicts:
                        del self._verify[epoch]
                        self.source.save_acked(epoch, last)
                        self._last_progress = time.monotonic()
                    continue
                central = last
            if central > mark:
                self.source.save_acked(epoch, central)
                self._last_progress = time.monotonic()
        self._synced = True

    def _apply_lower_acks(self) -> None:
        now = time.monotonic()
        for epoch, (central, since) in list(self._lower.items()):
            if now - since >= self.ack_timeout:
                log.warning("central acknowledges only %d of epoch %s, below our mark %d: sending it again",
                            central, epoch, self.source.acked(epoch))
                del self._lower[epoch]
                self.source.save_acked(epoch, central)
                self._restart_sending()

    def _send(self) -> None:
        inflight = 0
        epochs = self.source.epochs()
        for epoch, last in epochs:
            acked = self.source.acked(epoch)
            sent = max(self._sent.get(epoch, 0), acked)
            inflight += sent - acked
            while sent < last and inflight < self.max_inflight:
                room = min(self.batch_size, self.max_inflight - inflight)
                if epoch == self._live_epoch and self._live_from <= sent < self._live_upto:
                    # the live lane already sent these on this connection: no duplicate (when one
                    # was lost, the ack stops short and the ack timeout sends everything again)
                    inflight += self._live_upto - sent
                    sent = self._live_upto
                    continue
                if epoch == self._live_epoch and sent < self._live_from:
                    room = min(room, self._live_from - sent)  # up to where the live lane began
                events = self.source.read(epoch, sent, room)
                if not events or not self._publish(epoch, events):
                    self._sent[epoch] = sent
                    return
                inflight += events[-1].seq - sent
                sent = events[-1].seq
                if self._stop.is_set():
                    break
            self._sent[epoch] = sent
            if inflight >= self.max_inflight:
                break
        # live lane: while the backlog is held back by the in-flight bound, the newest events of
        # the current epoch go at once (only once central has answered on this connection, and
        # never while a stale copy is being checked)
        current = self.source.current_epoch()
        last = dict(epochs).get(current, 0)
        if self._synced and not self._verify and last > self._sent.get(current, 0):
            live_upto = self._live_upto if current == self._live_epoch else 0
            start = max(live_upto, self._sent.get(current, 0), last - self.live_batch)
            if start < last:
                events = self.source.read(current, start, self.live_batch)
                if events and self._publish(current, events):
                    if start != live_upto or current != self._live_epoch:  # a new live range
                        self._live_from, self._live_epoch = start, current
                    self._live_upto = events[-1].seq
        if inflight < self.max_inflight and any(self._sent.get(ep, 0) < ls for ep, ls in epochs):
            self._wake.set()

    def _publish(self, epoch: str, events: list[wire.WireEvent]) -> bool:
        batch = wire.Batch(v=wire.V, hall=self.hall, epoch=epoch, events=events, sent=self.source.now_micros())
        ok = self.link.publish(wire.events_topic(self.hall), wire.encode(batch), qos=1)
        if ok:
            self.stats["batches"] += 1
            self.stats["events_sent"] += len(events)
        return ok

    def _publish_status(self) -> None:
        self._status_due = False
        extra = self.source.status()
        current = self.source.current_epoch()
        epochs = self.source.epochs()
        backlog = sum(last - self.source.acked(ep) for ep, last in epochs)
        status = wire.Status(
            v=wire.V, hall=self.hall, state="online", epoch=current, last_seq=dict(epochs).get(current, 0),
            acked_seq=self.source.acked(current), backlog=backlog,
            config_version=extra.get("config_version", 0), clock=extra.get("clock", {}),
            ts=self.source.now_micros(), campus=extra.get("campus", ""),
            windows=extra.get("windows", []), queues=extra.get("queues", {}), closing=extra.get("closing", {}),
        )
        self.link.publish(wire.status_topic(self.hall), wire.encode(status), qos=1, retain=True)
