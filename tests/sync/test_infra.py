"""The broker and network-fault test infrastructure works: real brokers, real paho clients.

These tests prove tests/brokers.py, tests/netfaults.py and the fixtures of tests/sync/conftest.py,
so that sync tests built on them can trust what a broker or a fault does."""

from __future__ import annotations

import threading
import time
import uuid
from urllib.parse import urlsplit

import pytest
from paho.mqtt.client import CallbackAPIVersion, Client, MQTTMessageInfo
from paho.mqtt.enums import MQTTProtocolVersion

from tests.brokers import MosquittoBroker, make_test_ca, require_mosquitto

WAIT = 5.0  # bound for anything that should happen promptly


class Peer:
    """A paho 2.x client on its own network thread; what it sees is counted, and can be awaited."""

    def __init__(self, name: str, *, keepalive: int = 60, client_id: str | None = None,
                 clean_session: bool | None = None, username: str | None = None,
                 protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv311) -> None:
        self.name = name
        self.keepalive = keepalive
        self.client = Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id or f"{name}-{uuid.uuid4().hex[:8]}",
            clean_session=clean_session,
            protocol=protocol,
        )
        self.client.reconnect_delay_set(min_delay=0.1, max_delay=0.5)
        if username is not None:
            self.client.username_pw_set(username)
        self._cond = threading.Condition()
        self.connects = 0  # successful CONNACKs
        self.refusals = 0  # failed CONNACKs or failed connection attempts
        self.disconnects = 0
        self.subacks = 0
        self.messages: list[tuple[str, bytes, bool]] = []
        self._topics: list[tuple[str, int]] = []
        c = self.client
        c.on_connect = self._on_connect
        c.on_connect_fail = self._on_connect_fail
        c.on_disconnect = self._on_disconnect
        c.on_subscribe = self._on_subscribe
        c.on_message = self._on_message

    # -- callbacks (paho's thread) ----------------------------------------------------------
    def _bump(self, attr: str) -> None:
        with self._cond:
            setattr(self, attr, getattr(self, attr) + 1)
            self._cond.notify_all()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._bump("refusals")
            return
        for topic, qos in self._topics:  # a clean session forgets subscriptions
            client.subscribe(topic, qos)
        self._bump("connects")

    def _on_connect_fail(self, client, userdata) -> None:
        self._bump("refusals")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._bump("disconnects")

    def _on_subscribe(self, client, userdata, mid, reason_code_list, properties) -> None:
        assert not any(rc.is_failure for rc in reason_code_list), reason_code_list
        self._bump("subacks")

    def _on_message(self, client, userdata, message) -> None:
        with self._cond:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))
            self._cond.notify_all()

    # -- driving ----------------------------------------------------------------------------
    def wait(self, predicate, timeout: float = WAIT) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def start(self, url: str, *, ca: str | None = None) -> "Peer":
        """Connect in the background (paho retries until it gets in); do not wait."""
        u = urlsplit(url)
        if u.scheme == "mqtts":
            self.client.tls_set(ca_certs=ca)
        self.client.connect_async(u.hostname, u.port, keepalive=self.keepalive)
        self.client.loop_start()
        return self

    def connect(self, url: str, *, ca: str | None = None, timeout: float = WAIT) -> "Peer":
        self.start(url, ca=ca)
        assert self.wait(lambda: self.connects >= 1, timeout), f"{self.name} did not connect to {url}"
        return self

    def subscribe(self, topic: str, qos: int = 1) -> None:
        self._topics.append((topic, qos))
        before = self.subacks
        self.client.subscribe(topic, qos)
        assert self.wait(lambda: self.subacks > before), f"{self.name}: no SUBACK for {topic}"

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> MQTTMessageInfo:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        assert info.rc == 0, f"{self.name}: publish not queued: rc={info.rc}"
        return info

    def payloads(self) -> list[bytes]:
        with self._cond:
            return [p for _t, p, _r in self.messages]

    def received(self, payload: bytes, timeout: float = WAIT) -> bool:
        return self.wait(lambda: any(p == payload for _t, p, _r in self.messages), timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def acked(info: MQTTMessageInfo, timeout: float = WAIT) -> bool:
    """Did the QoS 1 publish get its PUBACK within `timeout`?"""
    info.wait_for_publish(timeout)
    return info.is_published()


@pytest.fixture
def peers():
    made: list[Peer] = []

    def make(name: str, **kwargs) -> Peer:
        p = Peer(name, **kwargs)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


def roundtrip(pub: Peer, sub: Peer, topic: str, payload: bytes) -> None:
    assert acked(pub.publish(topic, payload)), f"no PUBACK for {payload!r}"
    assert sub.received(payload), f"{payload!r} not delivered; got {sub.payloads()}"


# -- brokers -----------------------------------------------------------------------------------

def test_infra_roundtrip_qos1(broker, peers):
    sub = peers("sub").connect(broker.url)
    sub.subscribe("onestop/v1/halls/+/events")
    pub = peers("pub").connect(broker.url)

    roundtrip(pub, sub, "onestop/v1/halls/h1/events", b"\x93\x01\x02\x03")

    assert sub.messages == [("onestop/v1/halls/h1/events", b"\x93\x01\x02\x03", False)]
    assert broker.url == f"mqtt://127.0.0.1:{broker.port}"


def test_infra_restart_keeps_port_and_clients_reconnect(broker, peers):
    sub = peers("sub").connect(broker.url)
    sub.subscribe("t/#")
    pub = peers("pub").connect(broker.url)
    port = broker.port

    for round_, hard in enumerate((False, True), start=2):
        broker.restart(hard=hard)
        assert broker.port == port and broker.running
        assert pub.wait(lambda: pub.connects >= round_, 10), f"publisher did not reconnect (hard={hard})"
        assert sub.wait(lambda: sub.connects >= round_ and sub.subacks >= round_, 10)
        roundtrip(pub, sub, "t/x", f"after restart hard={hard}".encode())

    assert pub.disconnects >= 2 and sub.disconnects >= 2


def test_infra_retained_within_one_run(broker, peers):
    pub = peers("pub").connect(broker.url)
    assert acked(pub.publish("onestop/v1/halls/h1/status", b"online", retain=True))

    late = peers("late").connect(broker.url)
    late.subscribe("onestop/v1/halls/+/status")

    assert late.received(b"online")
    assert late.messages[0] == ("onestop/v1/halls/h1/status", b"online", True)


@pytest.mark.parametrize("persistence", [True, False], ids=["persistent", "volatile"])
def test_infra_retained_survives_restart_only_with_persistence(tmp_path, peers, persistence):
    require_mosquitto()
    topic = "onestop/v1/halls/h1/config"
    with MosquittoBroker(tmp_path, persistence=persistence) as broker:
        pub = peers("pub").connect(broker.url)
        assert acked(pub.publish(topic, b"config v7", retain=True))
        pub.close()

        broker.restart()  # graceful: mosquitto saves its database on SIGTERM when persistent

        late = peers("late").connect(broker.url)
        late.subscribe(topic)
        # A marker published after the SUBACK arrives after any retained message on the topic.
        assert acked(late.publish(topic, b"marker"))
        assert late.received(b"marker")
        first = late.messages[0]
        if persistence:
            assert first == (topic, b"config v7", True)
        else:
            assert first == (topic, b"marker", False)


def test_infra_persistent_session_gets_messages_sent_while_away_where_the_broker_queues(broker, peers):
    central = peers("central", client_id="central-1", clean_session=False, username="central").connect(broker.url)
    central.subscribe("onestop/v1/halls/+/events")
    central.close()
    edge = peers("edge", username="edge").connect(broker.url)
    assert acked(edge.publish("onestop/v1/halls/h1/events", b"while away"))

    back = peers("central-again", client_id="central-1", clean_session=False, username="central").connect(broker.url)
    # No re-subscription: the session kept it. A marker sent now arrives after anything queued.
    assert acked(edge.publish("onestop/v1/halls/h1/events", b"marker"))
    assert back.received(b"marker")
    assert (b"while away" in back.payloads()) == broker.queues_for_offline_sessions


def test_infra_supports_v5_says_whether_a_v5_client_gets_in(broker, peers):
    v5 = peers("v5", protocol=MQTTProtocolVersion.MQTTv5).start(broker.url)
    assert v5.wait(lambda: v5.connects or v5.refusals or v5.disconnects)
    assert bool(v5.connects) == broker.supports_v5


def test_infra_tls_roundtrip(tmp_path, peers, proxy):
    require_mosquitto()
    ca, cert, key = make_test_ca(tmp_path)
    with MosquittoBroker(tmp_path, tls=(ca, cert, key)) as broker:
        assert broker.tls_url == f"mqtts://127.0.0.1:{broker.tls_port}"
        sub = peers("sub").connect(broker.tls_url, ca=ca)
        sub.subscribe("t/#")
        pub = peers("pub").connect(broker.tls_url, ca=ca)
        roundtrip(pub, sub, "t/tls", b"over TLS")
        px = proxy(broker, tls=True)
        assert px.url.startswith("mqtts://")
        via = peers("via-proxy").connect(px.url, ca=ca)
        roundtrip(via, sub, "t/tls", b"over TLS through the proxy")
        assert "New connection" in broker.log_text()


def test_infra_shared_subscription_delivers_each_message_once(mosquitto, peers):
    a = peers("a", protocol=MQTTProtocolVersion.MQTTv5).connect(mosquitto.url)
    b = peers("b", protocol=MQTTProtocolVersion.MQTTv5).connect(mosquitto.url)
    a.subscribe("$share/central/onestop/v1/halls/+/events")
    b.subscribe("$share/central/onestop/v1/halls/+/events")
    pub = peers("pub").connect(mosquitto.url)

    sent = {f"batch-{i}".encode() for i in range(20)}
    infos = [pub.publish("onestop/v1/halls/h1/events", p) for p in sorted(sent)]
    assert all(acked(i) for i in infos)

    def got() -> set[bytes]:
        return set(a.payloads()) | set(b.payloads())

    assert a.wait(lambda: len(got()) == len(sent)), f"missing {sent - got()}"
    assert not set(a.payloads()) & set(b.payloads()), "a message went to both subscribers"
    assert len(a.payloads()) + len(b.payloads()) == len(sent)
    assert a.payloads() and b.payloads(), "mosquitto shares round-robin: both should get some"


# -- network faults ----------------------------------------------------------------------------

def test_infra_blackhole_drops_silently_and_heal_lets_a_new_connection_through(broker, proxy, peers):
    sub = peers("sub").connect(broker.url)
    sub.subscribe("t/#")
    px = proxy(broker)
    pub = peers("pub", keepalive=2).connect(px.url)
    roundtrip(pub, sub, "t/x", b"before")
    assert px.accepted == 1 and px.bytes_up > 0 and px.bytes_down > 0

    px.blackhole()
    lost = pub.publish("t/x", b"lost")
    assert not acked(lost, 2.0), "a PUBACK crossed the blackhole"
    # No FIN, no RST: the client still believes in its connection, the proxy still holds it.
    assert pub.disconnects == 0 and px.active == 1
    assert px.bytes_dropped > 0
    assert b"lost" not in sub.payloads()

    px.heal()
    assert pub.wait(lambda: pub.disconnects >= 1, 8), "keepalive did not notice the dead connection"
    assert pub.wait(lambda: pub.connects >= 2, 8), "no reconnection after heal"
    roundtrip(pub, sub, "t/x", b"after")
    assert px.accepted >= 2


def test_infra_stall_delays_without_loss(mosquitto, proxy, peers):
    sub = peers("sub").connect(mosquitto.url)
    sub.subscribe("t/#")
    px = proxy(mosquitto)
    pub = peers("pub").connect(px.url)

    px.stall()
    info = pub.publish("t/x", b"delayed")
    assert not acked(info, 0.5)
    assert b"delayed" not in sub.payloads()

    px.forward()
    assert acked(info)
    assert sub.received(b"delayed")
    assert pub.connects == 1 and pub.disconnects == 0 and px.bytes_dropped == 0


def test_infra_refuse_blocks_new_connections_only(mosquitto, proxy, peers):
    sub = peers("sub").connect(mosquitto.url)
    sub.subscribe("t/#")
    px = proxy(mosquitto)
    old = peers("old").connect(px.url)

    px.refuse()
    new = peers("new").start(px.url)
    assert not new.wait(lambda: new.connects > 0, 1.5), "a new connection got through refuse()"
    assert px.accepted >= 2 and new.refusals + new.disconnects >= 1
    roundtrip(old, sub, "t/x", b"old connection still flows")

    px.heal()
    assert new.wait(lambda: new.connects == 1), "no connection after heal"
    roundtrip(new, sub, "t/x", b"new connection flows")


def test_infra_reset_all_disconnects_at_once(mosquitto, proxy, peers):
    sub = peers("sub").connect(mosquitto.url)
    sub.subscribe("t/#")
    px = proxy(mosquitto)
    pub = peers("pub", keepalive=60).connect(px.url)

    started = time.monotonic()
    assert px.reset_all() == 1
    assert pub.wait(lambda: pub.disconnects >= 1, 2.0), "the reset did not reach the client"
    assert time.monotonic() - started < 2.0  # not the 60 s keepalive
    assert pub.wait(lambda: pub.connects >= 2)
    roundtrip(pub, sub, "t/x", b"after reset")
