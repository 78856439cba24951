"""sync.transport: the replicator runs on any `Transport`, here an in-process fake (no paho).

`LoopBroker` is an `Endpoint` whose links deliver through one dispatcher thread, with retained
messages and last wills like a broker; `MemorySource` is a hall log in memory (a
`sync.replicator.Source`). A fake central answers batches with acks, as central.service does,
signed with the tests' central key (tests.conftest.SIGNER) that the replicator trusts."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from typing import Any, Callable, Sequence

import pytest

from sync.contract import wire
from sync.contract.signing import Signer, Trust
from sync.kernel.business import Business, Catalog
from sync.mqtt import Link, parse_broker_url
from sync.replicator import Replicator
from sync.transport import Endpoint, MessageHandler, Transport
from tests.conftest import SIGNER
from tests.sync.harness import ROOT, wait_until

HALL = "h-loop"
WAIT = 10.0


def matches(pattern: str, topic: str) -> bool:
    """MQTT topic filter matching (`+` one level, `#` the rest)."""
    pat, top = pattern.split("/"), topic.split("/")
    for i, p in enumerate(pat):
        if p == "#":
            return True
        if i >= len(top) or (p != "+" and p != top[i]):
            return False
    return len(pat) == len(top)


class LoopBroker:
    """An in-process `Endpoint`: every link it opens shares its topics; one thread delivers."""

    def __init__(self) -> None:
        self.links: list[LoopLink] = []
        self.retained: dict[str, bytes] = {}
        self._lock = threading.Lock()
        self._q: queue.Queue = queue.Queue()
        threading.Thread(target=self._deliver, name="loop-broker", daemon=True).start()

    def __str__(self) -> str:
        return "loop://in-process"

    def open(self, client_id: str, *, subscriptions: Sequence[tuple[str, int]] = (),
             on_message: MessageHandler | None = None, on_connect: Callable[[], None] | None = None,
             on_disconnect: Callable[[], None] | None = None, will: tuple[str, bytes] | None = None,
             **options: Any) -> LoopLink:
        link = LoopLink(self, client_id, list(subscriptions), on_message, on_connect, on_disconnect, will, options)
        with self._lock:
            self.links.append(link)
        return link

    def route(self, topic: str, payload: bytes, retain: bool) -> None:
        with self._lock:
            if retain:
                self.retained[topic] = payload
            for link in self.links:
                if link.connected and any(matches(f, topic) for f, _qos in link.subscriptions):
                    self._q.put((link, topic, payload))

    def connect(self, link: LoopLink) -> None:
        self._q.put((link, None, None))

    def settle(self) -> None:
        """Wait until everything routed or connected before has been delivered."""
        done = threading.Event()
        self._q.put((None, done, None))
        assert done.wait(WAIT), "the loop broker did not deliver"

    def _deliver(self) -> None:
        while True:
            link, topic, payload = self._q.get()
            if link is None:
                topic.set()
            elif topic is None:  # a connect: the link's callback, then retained messages it subscribes to
                if link.on_connect:
                    link.on_connect()
                with self._lock:
                    kept = [(t, p) for t, p in self.retained.items()
                            if any(matches(f, t) for f, _qos in link.subscriptions)]
                for t, p in kept:
                    link.on_message and link.on_message(t, p)
            elif link.connected and link.on_message:
                link.on_message(topic, payload)


class LoopLink:
    """A `Transport` of `LoopBroker`; `drop()` is a connection lost without a goodbye."""

    def __init__(self, broker: LoopBroker, client_id: str, subscriptions, on_message, on_connect, on_disconnect,
                 will, options) -> None:
        self.broker = broker
        self.client_id = client_id
        self.subscriptions = subscriptions
        self.on_message, self.on_connect, self.on_disconnect = on_message, on_connect, on_disconnect
        self.will = will
        self.options = options
        self._connected = threading.Event()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        self._connected.set()
        self.broker.connect(self)

    def stop(self, final: tuple[str, bytes] | None = None) -> None:
        if final is not None and self.connected:
            self.publish(final[0], final[1], retain=True)
        self._connected.clear()

    def drop(self) -> None:
        self._connected.clear()
        if self.on_disconnect:
            self.on_disconnect()
        if self.will:
            self.broker.route(self.will[0], self.will[1], retain=True)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> bool:
        if not self.connected:
            return False
        self.broker.route(topic, payload, retain)
        return True


class MemorySource:
    """A hall's log in memory, one epoch at a time; everything the replicator hands over is kept."""

    def __init__(self, epoch: str = "e1") -> None:
        self._lock = threading.Lock()
        self.log: dict[str, list[wire.WireEvent]] = {epoch: []}
        self.marks: dict[str, int] = {}
        self.configs: list[wire.ConfigMessage] = []
        self.beacons: list[wire.TimeBeacon] = []
        self.refusals: list[tuple[str, str, str]] = []

    def append(self, n: int) -> None:
        with self._lock:
            events = self.log[self.current_epoch()]
            for _ in range(n):
                seq = len(events) + 1
                events.append(wire.WireEvent(seq=seq, id=f"ev-{seq}", kind="test", schema=1, body=b"{}",
                                             ts=seq, boot="boot", mono=seq, clock="ok"))

    def current_epoch(self) -> str:
        return list(self.log)[-1]

    def epochs(self) -> list[tuple[str, int]]:
        with self._lock:
            return [(ep, len(evs)) for ep, evs in self.log.items()]

    def acked(self, epoch: str) -> int:
        with self._lock:
            return self.marks.get(epoch, 0)

    def save_acked(self, epoch: str, seq: int) -> None:
        with self._lock:
            self.marks[epoch] = seq

    def read(self, epoch: str, after: int, limit: int) -> list[wire.WireEvent]:
        with self._lock:
            return self.log[epoch][after:after + limit]

    def renumber(self, epoch: str, from_seq: int) -> None:  # pragma: no cover - no stale copy here
        raise AssertionError("unexpected renumber")

    def retire_epoch(self, epoch: str) -> None:  # pragma: no cover - no stale copy here
        raise AssertionError("unexpected retire")

    def status(self) -> dict:
        return {"config_version": 1, "campus": "loop"}

    def apply_config(self, msg: wire.ConfigMessage) -> None:
        self.configs.append(msg)

    def time_beacon(self, beacon: wire.TimeBeacon) -> None:
        self.beacons.append(beacon)

    def refused(self, topic: str, reason: str, detail: str) -> None:
        self.refusals.append((topic, reason, detail))

    def now_micros(self) -> int:
        return 1_700_000_000_000_000


class FakeCentral:
    """Stores batches and answers with the highest contiguous seq, retained, like central."""

    def __init__(self, broker: LoopBroker) -> None:
        self.seqs: dict[str, list[int]] = {}
        self.answering = True
        self.link = broker.open("central", subscriptions=[(wire.events_topic("+"), 1)], on_message=self._on_message)
        self.link.start()

    def _on_message(self, topic: str, payload: bytes) -> None:
        batch = wire.decode(payload, wire.Batch)
        got = self.seqs.setdefault(batch.epoch, [])
        got.extend(e.seq for e in batch.events)
        if not self.answering:
            return
        have, top = set(got), 0
        while top + 1 in have:
            top += 1
        ack = wire.Ack(v=wire.V, hall=batch.hall, acks={batch.epoch: top}, upto={batch.epoch: batch.events[-1].seq})
        topic = wire.ack_topic(batch.hall)
        self.link.publish(topic, SIGNER.seal(topic, wire.encode(ack)), retain=True)


@pytest.fixture
def loop():
    broker = LoopBroker()
    central = FakeCentral(broker)
    source = MemorySource()
    made: list[Replicator] = []

    def replicator(**options) -> Replicator:
        options = {"batch_size": 10, "status_interval": 0.2, "trust": Trust([SIGNER.public_key]), **options}
        rep = Replicator(HALL, broker, source, **options)
        made.append(rep)
        return rep

    yield broker, central, source, replicator
    for rep in made:
        rep.stop()


def test_transport_protocols_are_met_by_the_fake_and_by_mqtt():
    broker = LoopBroker()
    assert isinstance(broker, Endpoint) and isinstance(broker.open("x"), Transport)
    url = parse_broker_url("mqtt://127.0.0.1:1")
    assert isinstance(url, Endpoint)
    link = url.open("x", protocol=4)
    assert isinstance(link, Link) and isinstance(link, Transport) and link.protocol == 4


def test_transport_the_replicator_imports_no_paho():
    code = "import sys, sync.replicator, sync.transport; print(sorted(m for m in sys.modules if 'paho' in m))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_transport_replicator_sends_the_log_until_central_acks_it(loop):
    broker, central, source, replicator = loop
    source.append(25)
    rep = replicator(client_id="edge-loop", ca_file="ignored")
    assert rep.link.client_id == "edge-loop" and rep.link.options == {"ca_file": "ignored"}
    assert str(rep.link.broker) == "loop://in-process"
    rep.start()

    wait_until(lambda: source.acked("e1") == 25, WAIT, what="the ack of all 25 events")
    assert central.seqs["e1"][:25] == list(range(1, 26))
    status = wait_until(lambda: broker.retained.get(wire.status_topic(HALL)), WAIT, what="a status")
    st = wire.decode(status, wire.Status)
    assert (st.hall, st.state, st.epoch, st.campus) == (HALL, "online", "e1", "loop")

    source.append(5)
    rep.notify()
    wait_until(lambda: source.acked("e1") == 30, WAIT, what="the ack of the new events")
    wait_until(lambda: wire.decode(broker.retained[wire.status_topic(HALL)], wire.Status).acked_seq == 30, WAIT,
               what="a status with the new ack")

    rep.stop()
    assert broker.retained[wire.status_topic(HALL)] == wire.OFFLINE
    assert not rep.connected


def test_transport_lost_link_leaves_the_will_and_a_reconnect_resends_above_the_ack(loop):
    broker, central, source, replicator = loop
    rep = replicator(ack_timeout=60.0)
    rep.start()
    source.append(10)
    rep.notify()
    wait_until(lambda: source.acked("e1") == 10, WAIT, what="the first ack")

    central.answering = False
    source.append(10)
    rep.notify()
    wait_until(lambda: 20 in central.seqs["e1"], WAIT, what="the unanswered batch")
    rep.link.drop()
    assert broker.retained[wire.status_topic(HALL)] == wire.OFFLINE
    assert source.acked("e1") == 10

    central.answering = True
    rep.link.start()  # the transport is back: everything above the ack goes again
    wait_until(lambda: source.acked("e1") == 20, WAIT, what="the ack after the reconnect")
    assert central.seqs["e1"].count(11) >= 2


def signed(topic: str, msg) -> bytes:
    return SIGNER.seal(topic, wire.encode(msg))


def test_transport_config_and_time_beacons_are_handed_to_the_source(loop):
    broker, _central, source, replicator = loop
    business = Business(version=3, catalog=Catalog(departments=[], items=[]), windows=[])
    topic = wire.config_topic(HALL)
    broker.route(topic, signed(topic, wire.ConfigMessage(v=wire.V, hall=HALL, version=3, business=business)),
                 retain=True)
    rep = replicator()
    rep.start()
    wait_until(lambda: source.configs, WAIT, what="the retained configuration")
    assert source.configs[0].version == 3 and source.configs[0].business == business

    broker.route(wire.TIME_TOPIC, signed(wire.TIME_TOPIC, wire.TimeBeacon(v=wire.V, ts=123)), retain=False)
    broker.route(wire.TIME_TOPIC, b"not msgpack", retain=False)  # refused: not signed
    # signed by central but addressed to another hall, on our topic: refused
    broker.route(topic, signed(topic, wire.ConfigMessage(v=wire.V, hall="other", version=4, business=business)),
                 retain=True)
    broker.route(wire.TIME_TOPIC, signed(wire.TIME_TOPIC, wire.TimeBeacon(v=wire.V, ts=456)), retain=False)
    wait_until(lambda: len(source.beacons) == 2, WAIT, what="both time beacons")
    assert [b.ts for b in source.beacons] == [123, 456]
    assert [c.version for c in source.configs] == [3]
    assert [(t, r) for t, r, _ in source.refusals] == [(wire.TIME_TOPIC, "unsigned"), (topic, "wrong_hall")]


# ---------------------------------------------------------------- the signed downlink under attack
# A real hall (SQLite file) behind the replicator on the in-process broker. Anyone may publish
# on its topics (as on an anonymous broker); only what central's key signed for that topic is
# taken, and every refusal is a downlink.refused event in the hall's log, which goes to central.

ATTACKER = Signer.generate()  # a key pair that is not central's


@pytest.fixture
def signed_hall(config, tmp_path):
    """(broker, hall, source, replicator): a hall on the system clock, replicating to FakeCentral."""
    from edge.hall import Hall
    from edge.syncing import HallSource, trust_of
    from sync.kernel.clock import SystemClock

    broker = LoopBroker()
    FakeCentral(broker)
    hall = Hall(config, tmp_path / "signed-hall", SystemClock("unverified"))
    hall.start()
    source = HallSource(hall)
    rep = Replicator(config.hall.id, broker, source, trust=trust_of(hall), status_interval=0.2)
    rep.start()
    broker.settle()  # connected, and the retained messages handed over
    yield broker, hall, source, rep
    rep.stop()
    hall.stop()


def refusals(hall) -> list[dict]:
    import msgspec

    hall.call(lambda ctx: None)  # everything submitted before has run
    return [msgspec.json.decode(e.body) for e in hall.store.events(0, 1000) if e.kind == "downlink.refused"]


def forged_business(hall, version: int):
    """The hall's configuration with a new PIN for every staff member and a new manager password."""
    import msgspec

    from edge.auth import hash_secret

    b = hall.ctx.catalog.business
    pin = hash_secret("0000", iterations=1000)
    return msgspec.structs.replace(
        b, version=version, staff=[msgspec.structs.replace(s, pin_hash=pin) for s in b.staff],
        managers=[msgspec.structs.replace(m, password_hash=pin) for m in b.managers])


def test_transport_forged_config_unsigned_or_badly_signed_is_refused_and_recorded(signed_hall):
    broker, hall, _source, rep = signed_hall
    hid = hall.config.hall.id
    topic = wire.config_topic(hid)
    evil = forged_business(hall, 2**63 - 1)
    msg = wire.ConfigMessage(v=wire.V, hall=hid, version=evil.version, business=evil)
    forged_sig = SIGNER.seal(topic, wire.encode(wire.ConfigMessage(v=wire.V, hall=hid, version=2,
                                                                   business=hall.ctx.catalog.business)))
    sealed = wire.decode(forged_sig, wire.Sealed)
    tampered = wire.encode(wire.Sealed(v=wire.V, kid=sealed.kid, sig=sealed.sig, body=wire.encode(msg)))
    for payload in (wire.encode(msg),  # unsigned, as before the signed downlink
                    ATTACKER.seal(topic, wire.encode(msg)),  # signed, by the wrong key
                    tampered,  # central's signature of another message
                    SIGNER.seal(wire.config_topic("other-hall"), wire.encode(msg))):  # signed for another topic
        broker.route(topic, payload, retain=True)
    wait_until(lambda: rep.stats["refused"] >= 4, WAIT, what="four refusals")
    assert hall.ctx.catalog.business.version == 1
    assert all(s.pin_hash != evil.staff[0].pin_hash for s in hall.ctx.catalog.business.staff)
    assert [(r["topic"], r["reason"]) for r in refusals(hall)] == [
        (topic, "unsigned"), (topic, "unknown_key"), (topic, "bad_signature")]  # the fourth: same reason, counted
    assert "downlink.refused" in [e.kind for e in hall.store.events(0, 1000)]
    # the refusals travel to central like every event
    wait_until(lambda: rep.source.acked(hall.store.epoch) >= len(hall.store.events(0, 1000)), WAIT,
               what="the refusal events acked by central")


def test_transport_forged_ack_is_refused_and_the_log_stays_unacked(signed_hall):
    broker, hall, source, rep = signed_hall
    hid = hall.config.hall.id
    topic = wire.ack_topic(hid)
    epoch = hall.store.epoch
    lie = wire.Ack(v=wire.V, hall=hid, acks={epoch: 1_000_000}, upto={epoch: 1_000_000})
    acks_before = rep.stats["acks"]
    broker.route(topic, wire.encode(lie), retain=True)
    broker.route(topic, ATTACKER.seal(topic, wire.encode(lie)), retain=True)
    wait_until(lambda: rep.stats["refused"] >= 2, WAIT, what="both forged acks refused")
    assert rep.stats["acks"] == acks_before
    assert {r["reason"] for r in refusals(hall)} >= {"unsigned", "unknown_key"}
    # central (FakeCentral, signing) acks the real log only: the refusal events
    wait_until(lambda: source.acked(epoch) == hall.store.events(0, 1000)[-1].seq, WAIT, what="real acks")
    assert source.acked(epoch) < 1_000_000


def test_transport_forged_beacon_is_refused_and_the_clock_left_alone(signed_hall):
    broker, hall, _source, rep = signed_hall
    before = hall.clock.offset_us
    year_2028 = 1_830_297_600_000_000
    beacon = wire.TimeBeacon(v=wire.V, ts=year_2028)
    broker.route(wire.TIME_TOPIC, wire.encode(beacon), retain=False)
    broker.route(wire.TIME_TOPIC, ATTACKER.seal(wire.TIME_TOPIC, wire.encode(beacon)), retain=False)
    # central's beacon for the time topic, replayed on the ack topic: the topic is signed too
    broker.route(wire.ack_topic(hall.config.hall.id), SIGNER.seal(wire.TIME_TOPIC, wire.encode(beacon)), retain=False)
    wait_until(lambda: rep.stats["refused"] == 3, WAIT, what="three refusals")
    assert hall.clock.offset_us == before and hall.clock.quality == "unverified"
    assert [r["reason"] for r in refusals(hall)] == ["unsigned", "unknown_key", "bad_signature"]


def test_transport_replayed_old_config_and_absurd_version_are_refused(signed_hall):
    broker, hall, _source, _rep = signed_hall
    hid = hall.config.hall.id
    topic = wire.config_topic(hid)

    def publish(version: int) -> None:
        b = msgspec_replace(hall.ctx.catalog.business, version)
        broker.route(topic, SIGNER.seal(topic, wire.encode(wire.ConfigMessage(v=wire.V, hall=hid, version=version,
                                                                               business=b))), retain=True)

    publish(2)  # central's real next version
    wait_until(lambda: hall.ctx.catalog.business.version == 2, WAIT, what="version 2 applied")
    publish(1)  # an old message central once signed, replayed
    publish(2 + wire.MAX_VERSION_STEP + 1)  # signed, but an absurd jump
    publish(2**63 - 1)
    wait_until(lambda: len(refusals(hall)) == 2, WAIT, what="the refusals")
    assert hall.ctx.catalog.business.version == 2
    got = refusals(hall)
    assert [(r["reason"], r["version"]) for r in got] == [("stale_version", 1), ("version_jump", 1003)]
    publish(2 + wire.MAX_VERSION_STEP)  # within the bound: taken
    wait_until(lambda: hall.ctx.catalog.business.version == 1002, WAIT, what="version 1002 applied")
    hall.call(lambda ctx: None)
    assert [r.get("suppressed", 0) for r in refusals(hall)] == [0, 0]  # the 2**63-1 one is counted, not yet recorded


def msgspec_replace(b, version: int):
    import msgspec

    return msgspec.structs.replace(b, version=version)


def test_transport_clock_jump_beyond_the_bound_from_the_time_floor_is_refused(signed_hall):
    from edge.syncing import DAY_US, FLOOR_KEY

    broker, hall, source, _rep = signed_hall

    def beacon(ts: int) -> None:
        broker.route(wire.TIME_TOPIC, SIGNER.seal(wire.TIME_TOPIC, wire.encode(wire.TimeBeacon(v=wire.V, ts=ts))),
                     retain=False)

    true_now = hall.clock.micros() + 5_000_000  # the hall's clock is 5 s behind
    beacon(true_now)
    wait_until(lambda: hall.clock.quality == "synced", WAIT, what="the first correction")
    hall.call(lambda ctx: None)  # committed
    floor = int(hall.store.meta(FLOOR_KEY))
    assert floor == true_now
    beacon(floor + 40 * DAY_US)  # 40 days ahead: over the 31-day bound
    beacon(floor - 3600 * 1_000_000)  # an hour before the floor: an old beacon replayed
    beacon(0)  # 1970
    wait_until(lambda: len(refusals(hall)) == 2, WAIT, what="two refusals")
    assert [r["reason"] for r in refusals(hall)] == ["clock_jump", "clock_back"]
    assert abs(hall.clock.micros() - true_now) < 60_000_000  # still the true time
    assert int(hall.store.meta(FLOOR_KEY)) == floor
    kinds = [e.kind for e in hall.store.events(0, 1000)]
    assert kinds.count("clock.corrected") == 1


def test_transport_operator_accepts_a_clock_jump_with_the_flag(config, tmp_path):
    """`onestop-edge --accept-clock-jump`: the first beacon after the start is taken however far it
    is from the floor, and becomes the floor."""
    from edge.hall import Hall
    from edge.syncing import DAY_US, FLOOR_KEY, HallSource, trust_of
    from sync.kernel.clock import SystemClock

    broker = LoopBroker()
    hall = Hall(config, tmp_path / "jump", SystemClock("unverified"))
    hall.start()
    far = hall.clock.micros() + 60 * DAY_US
    hall.call(lambda ctx: ctx.store.set_meta(FLOOR_KEY, str(hall.clock.micros())))
    rep = Replicator(config.hall.id, broker, HallSource(hall, accept_clock_jump=True), trust=trust_of(hall))
    rep.start()
    broker.settle()
    try:
        broker.route(wire.TIME_TOPIC, SIGNER.seal(wire.TIME_TOPIC, wire.encode(wire.TimeBeacon(v=wire.V, ts=far))),
                     retain=False)
        wait_until(lambda: hall.clock.quality == "synced", WAIT, what="the confirmed jump")
        hall.call(lambda ctx: None)  # committed
        assert abs(hall.clock.micros() - far) < 60_000_000 and int(hall.store.meta(FLOOR_KEY)) == far
        assert refusals(hall) == []
    finally:
        rep.stop()
        hall.stop()


def test_transport_live_lane_events_are_not_sent_again_by_the_backlog(loop):
    """A backlog drains while the live lane has already sent the newest events: the backlog
    lane skips what the live lane sent on this connection (bench sync saw 100 duplicates)."""
    broker, central, source, replicator = loop
    source.append(400)
    rep = replicator(batch_size=10, max_inflight=40, live_batch=5, ack_timeout=60.0)
    rep.start()
    wait_until(lambda: source.acked("e1") == 400, WAIT, what="the ack of the whole backlog")
    got = central.seqs["e1"]
    assert got.index(400) < got.index(300)  # the live lane sent the newest before the backlog reached them
    assert len(got) == len(set(got)) == 400  # and nothing twice
    assert rep.stats["resends"] == 0
