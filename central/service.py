"""Central's replication service: ingest hall batches, ack after commit, track liveness,
publish each hall's business configuration and bookings (retained) and the time beacon.

Everything it sends to the halls (acks, configurations, beacons) goes out through `_send`, the
one place that signs (`sync.contract.signing.Signer`): a hall takes nothing unsigned.

MQTT callbacks only queue work. A decoder thread decodes each batch and its event bodies
(`central.store.prepare`) while one worker thread, which owns the store's write path, writes the
batches before it: decoding and inserting overlap (SQLite and PostgreSQL release the GIL while
they work). Both queues are bounded, so a slow commit pushes back on the broker connection
instead of piling up in memory.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

from msgspec import Struct

from sync.contract import wire
from sync.contract.signing import Signer
from sync.kernel.clock import Clock
from sync.mqtt import BrokerUrl, Link
from sync.replicator import shorten_switch_interval

from .store import CentralStore, IngestResult, Prepared, prepare

log = logging.getLogger("onestop.central")
_STOP = object()
GROUP = 64  # messages per group commit at most (one transaction, one fsync)
DECODE_AHEAD = 4  # decoded batches waiting for the writer on SQLite (a whole GROUP on PostgreSQL)
SHARE_GROUP = "onestop-central"


class CentralService:
    def __init__(
        self,
        store: CentralStore,
        broker: BrokerUrl,
        clock: Clock,
        *,
        signer: Signer,
        configs: dict[str, wire.ConfigMessage] | None = None,
        worker_id: str = "1",
        shared: bool = False,
        protocol: int = 5,
        beacon_interval: float = 10.0,
        ca_file: str | None = None,
    ) -> None:
        if shared and protocol != 5:
            raise ValueError("shared subscriptions need MQTT 5")
        self.store = store
        self.clock = clock
        self.signer = signer
        self.configs = dict(configs or {})
        # called before the configs are (re)published on connect; answers the current ones
        # (central.configedit.ConfigEditor.refresh: revisions another worker stored)
        self.config_source: Callable[[], dict[str, wire.ConfigMessage]] | None = None
        # called on connect: every hall's bookings message (central.appointments.AppointmentBook.messages)
        self.appointments_source: Callable[[], list[wire.AppointmentsMessage]] | None = None
        # called after every ingest commit (central.facts.refresher.Refresher.wake: the day facts'
        # refresher looks for the days the commit marked dirty)
        self.after_commit: Callable[[], None] | None = None
        self._in_group = False  # the worker is inside a group commit (`busy`)
        self.beacon_interval = beacon_interval
        events = f"{wire.ROOT}/halls/+/events"
        if shared:
            events = f"$share/{SHARE_GROUP}/{events}"
        self._raw: queue.Queue = queue.Queue(maxsize=64)  # as received, for the decoder
        # decoded, for the writer. On PostgreSQL a group is gathered from this queue before it is
        # stored (its halls are locked first, in one order), so it holds a whole group; on SQLite
        # the writer takes one message at a time and a few decoded batches ahead are enough: more
        # is only memory the writer touches cold (docs/benchmarks.md, "Central SQLite ingest")
        self._q: queue.Queue = queue.Queue(maxsize=GROUP if store.postgres else DECODE_AHEAD)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.stats = {"batches": 0, "stored": 0, "duplicates": 0, "quarantined": 0, "acks": 0}
        self.link = Link(
            broker,
            f"onestop-central-{worker_id}",
            subscriptions=[(events, 1), (f"{wire.ROOT}/halls/+/status", 1)],
            on_message=self._on_message,
            on_connect=self._on_connect,
            protocol=protocol,
            ca_file=ca_file,
        )

    def start(self) -> None:
        shorten_switch_interval()  # the writer steps rows through sqlite3 too (sync.replicator)
        for name, target in (("central-decode", self._decoder), ("central-ingest", self._worker),
                             ("central-beacon", self._beacon)):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        self.link.start()

    def stop(self) -> None:
        self._stop.set()
        self.link.stop()
        self._raw.put(_STOP)  # the decoder hands it on to the worker
        for t in self._threads:
            t.join(10)
        self._threads.clear()

    # -- network thread

    def _on_connect(self) -> None:
        if self.config_source is not None:
            try:
                for hall, msg in self.config_source().items():
                    cur = self.configs.get(hall)
                    if cur is None or msg.version > cur.version:
                        self.configs[hall] = msg
            except Exception:  # the database may be away; publish what this worker has
                log.exception("could not re-read stored configurations before publishing")
        for msg in self.configs.values():
            self._send(wire.config_topic(msg.hall), msg, retain=True)
        if self.appointments_source is not None:
            try:
                for booked in self.appointments_source():
                    self.publish_appointments(booked)
            except Exception:  # the database may be away; the next booking change publishes again
                log.exception("could not read the bookings to publish")
        # what this database really holds replaces any retained ack a previous database left
        # at the broker, so halls resend whatever central no longer has
        self._raw.put(("acks", b""))

    def _send(self, topic: str, msg: Struct, *, retain: bool, qos: int = 1) -> bool:
        """Publish a downlink message, signed for `topic`: the only way anything reaches a hall."""
        return self.link.publish(topic, self.signer.seal(topic, wire.encode(msg)), qos=qos, retain=retain)

    def _on_message(self, topic: str, payload: bytes) -> None:
        self._raw.put((topic, payload))  # blocks when the worker is behind: backpressure

    # -- decoder

    def _decoder(self) -> None:
        """Decode event batches ahead of the writer, in arrival order (everything else passes
        through untouched, so the worker sees messages in the order they came)."""
        while True:
            item = self._raw.get()
            if item is _STOP:
                self._q.put(_STOP)
                return
            topic, payload = item
            parts = wire.split_hall_topic(topic) if topic != "acks" else None
            if parts is not None and parts[1] == "events":
                try:
                    item = (topic, prepare(parts[0], topic, payload, self.clock.micros(), copy=self.store.postgres))
                except Exception:  # noqa: BLE001 - the worker decodes it again and quarantines
                    log.exception("decoding a batch on %s failed", topic)
            self._q.put(item)

    def publish_config(self, msg: wire.ConfigMessage) -> bool:
        """Store and publish (retained) a hall's business configuration."""
        self.configs[msg.hall] = msg
        return self._send(wire.config_topic(msg.hall), msg, retain=True)

    def publish_appointments(self, msg: wire.AppointmentsMessage) -> bool:
        """Publish (retained) a hall's bookings of today and the next days."""
        return self._send(wire.appointments_topic(msg.hall), msg, retain=True)

    # -- worker

    def _worker(self) -> None:
        """Group commit: every message waiting (up to GROUP) is handled in one transaction (each
        in its own savepoint), then the acks of the halls it touched go out — after the commit.
        On PostgreSQL the transaction first locks the halls of its batches in one order
        (CentralStore.holding), so workers sharing the subscription never deadlock; hall
        statuses, which every worker receives, are written after it, each on its own."""
        self._stopping = False
        while not self._stopping:
            first = self._q.get()
            if first is _STOP:
                break
            self._in_group = True
            group = self._group(first)
            if self.store.postgres:  # gathered first: its halls are locked before anything is written
                group = list(group)
            statuses: list = []
            upto: dict[str, dict[str, int]] = {}  # hall → epoch → last seq of its batches here
            acks: list[wire.Ack] = []
            try:
                preps = [payload for _topic, payload in group if isinstance(payload, Prepared)] \
                    if self.store.postgres else []
                with self.store.db.atomic(), self.store.holding(preps):
                    for topic, payload in group:
                        if topic.endswith("/status"):
                            statuses.append((topic, payload))
                            continue
                        try:
                            with self.store.db.atomic():
                                done = self._handle(topic, payload)
                        except Exception:  # noqa: BLE001 - one bad message never stops ingest
                            log.exception("ingest of a message on %s failed", topic)
                            continue
                        if done is not None:
                            mine = upto.setdefault(done.hall, {})
                            for epoch, seq in done.upto.items():
                                mine[epoch] = max(seq, mine.get(epoch, 0))
                    now = self.clock.micros()
                    for hall, marks in upto.items():
                        acks.append(wire.Ack(v=wire.V, hall=hall, acks=self.store.acks(hall),
                                             conflicts=self.store.conflicts(hall), upto=marks, ts=now))
            except Exception:  # noqa: BLE001 - the commit failed: nothing acked, halls resend
                log.exception("ingest commit failed")
                acks = []
            self._in_group = False
            if upto and self.after_commit is not None:
                self.after_commit()
            for topic, payload in statuses:
                try:
                    with self.store.db.atomic():
                        self._handle_raw(topic, payload)
                except Exception:  # noqa: BLE001
                    log.exception("storing a status on %s failed", topic)
            for ack in acks:
                hall = ack.hall
                if self._send(wire.ack_topic(hall), ack, retain=True):
                    self.stats["acks"] += 1
        self.store.close()

    def busy(self) -> bool:
        """Batches are waiting or being stored (the facts refresher holds back meanwhile)."""
        return self._in_group or not self._q.empty() or not self._raw.empty()

    def _group(self, first):
        """The messages of one group commit: `first`, then every message already waiting, up to
        GROUP, ending at _STOP (which ends the worker after this group). Lazy: on SQLite each
        message is taken when the one before it is stored, so the decoder works on the next ones
        meanwhile and the writer handles each batch while its decoded rows are still in cache
        (gathering 64 decoded batches before storing any cost ~15 % of the ingest rate there)."""
        yield first
        for _ in range(GROUP - 1):
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                return
            if item is _STOP:
                self._stopping = True
                return
            yield item

    def _publish_all_acks(self) -> None:
        for hall in self.configs:
            ack = wire.Ack(v=wire.V, hall=hall, acks=self.store.acks(hall), conflicts=self.store.conflicts(hall),
                           ts=self.clock.micros())
            self._send(wire.ack_topic(hall), ack, retain=True)

    def _handle(self, topic: str, payload: bytes) -> IngestResult | None:
        """Handle one message inside the worker's transaction; returns what a batch did."""
        if topic == "acks":
            self._publish_all_acks()
            return None
        if isinstance(payload, Prepared):
            result = self.store.store_prepared(payload)
        else:
            result = self._handle_raw(topic, payload)
            if result is False:
                return None
        self.stats["batches"] += 1
        if result is None:
            self.stats["quarantined"] += 1
            return None
        self.stats["stored"] += result.stored
        self.stats["duplicates"] += result.duplicates
        self.stats["quarantined"] += result.quarantined
        return result

    def _handle_raw(self, topic: str, payload: bytes) -> IngestResult | None | bool:
        """A message the decoder passed through: False when it was not an event batch."""
        received = self.clock.micros()
        parts = wire.split_hall_topic(topic)
        if parts is None:
            return False
        hall, leaf = parts
        if leaf == "status":
            self.store.hall_status(hall, payload, received)
            return False
        if leaf != "events":
            return False
        return self.store.ingest(hall, topic, payload, received)

    def _beacon(self) -> None:
        while not self._stop.wait(self.beacon_interval):
            if self.link.connected:
                beacon = wire.TimeBeacon(v=wire.V, ts=self.clock.micros())
                self._send(wire.TIME_TOPIC, beacon, retain=False, qos=0)
