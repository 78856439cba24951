"""tests/brokers.py works: real mosquitto and amqtt brokers, restarted, persistent or not, with
TLS and shared subscriptions, proved with plain paho clients, so that the sync tests built on
them can trust what a broker does. The brokers are secure (tests/brokers.py): every client signs
in as central or a hall and stays within its ACL; the attacks on that security are in
tests/central/test_brokerconf.py."""

from __future__ import annotations

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from tests.brokers import MosquittoBroker, make_test_ca, require_mosquitto, with_credentials
from tests.sync.peers import acked, roundtrip


def test_brokers_roundtrip_qos1(broker, peers):
    sub = peers("sub").connect(broker.url_for("central"))
    sub.subscribe("onestop/v1/halls/+/events")
    pub = peers("pub").connect(broker.url_for("h1"))

    roundtrip(pub, sub, "onestop/v1/halls/h1/events", b"\x93\x01\x02\x03")

    assert sub.messages == [("onestop/v1/halls/h1/events", b"\x93\x01\x02\x03", False)]
    assert broker.url == f"mqtt://127.0.0.1:{broker.port}"


def test_brokers_restart_keeps_port_and_clients_reconnect(broker, peers):
    sub = peers("sub").connect(broker.url_for("central"))
    sub.subscribe("onestop/v1/halls/+/events")
    pub = peers("pub").connect(broker.url_for("h1"))
    port = broker.port

    for round_, hard in enumerate((False, True), start=2):
        broker.restart(hard=hard)
        assert broker.port == port and broker.running
        assert pub.wait(lambda: pub.connects >= round_, 10), f"publisher did not reconnect (hard={hard})"
        assert sub.wait(lambda: sub.connects >= round_ and sub.subacks >= round_, 10)
        roundtrip(pub, sub, "onestop/v1/halls/h1/events", f"after restart hard={hard}".encode())

    assert pub.disconnects >= 2 and sub.disconnects >= 2


def test_brokers_retained_within_one_run(broker, peers):
    pub = peers("pub").connect(broker.url_for("h1"))
    assert acked(pub.publish("onestop/v1/halls/h1/status", b"online", retain=True))

    late = peers("late").connect(broker.url_for("central"))
    late.subscribe("onestop/v1/halls/+/status")

    assert late.received(b"online")
    assert late.messages[0] == ("onestop/v1/halls/h1/status", b"online", True)


@pytest.mark.parametrize("persistence", [True, False], ids=["persistent", "volatile"])
def test_brokers_retained_survives_restart_only_with_persistence(tmp_path, peers, persistence):
    require_mosquitto()
    topic = "onestop/v1/halls/h1/config"
    with MosquittoBroker(tmp_path, persistence=persistence) as broker:
        pub = peers("pub").connect(broker.url_for("central"))
        assert acked(pub.publish(topic, b"config v7", retain=True))
        pub.close()

        broker.restart()  # graceful: mosquitto saves its database on SIGTERM when persistent

        late = peers("late").connect(broker.url_for("central"))
        late.subscribe(topic)
        # A marker published after the SUBACK arrives after any retained message on the topic.
        assert acked(late.publish(topic, b"marker"))
        assert late.received(b"marker")
        first = late.messages[0]
        if persistence:
            assert first == (topic, b"config v7", True)
        else:
            assert first == (topic, b"marker", False)


def test_brokers_persistent_session_gets_messages_sent_while_away_where_the_broker_queues(broker, peers):
    central = peers("central", client_id="central-1", clean_session=False).connect(broker.url_for("central"))
    central.subscribe("onestop/v1/halls/+/events")
    central.close()
    edge = peers("edge").connect(broker.url_for("h1"))
    assert acked(edge.publish("onestop/v1/halls/h1/events", b"while away"))

    back = peers("central-again", client_id="central-1", clean_session=False).connect(broker.url_for("central"))
    # No re-subscription: the session kept it. A marker sent now arrives after anything queued.
    assert acked(edge.publish("onestop/v1/halls/h1/events", b"marker"))
    assert back.received(b"marker")
    assert (b"while away" in back.payloads()) == broker.queues_for_offline_sessions


def test_brokers_supports_v5_says_whether_a_v5_client_gets_in(broker, peers):
    # anonymous: amqtt refuses the protocol before it looks at credentials (a v5 CONNECT with
    # credentials it does not parse at all), a v5 broker gets as far as refusing the anonymous client
    v5 = peers("v5", protocol=MQTTProtocolVersion.MQTTv5).start(broker.url)
    assert v5.wait(lambda: v5.refusals)
    assert ("Unsupported protocol version" not in v5.refused_with[0]) == broker.supports_v5, v5.refused_with
    user = peers("v5-user", protocol=MQTTProtocolVersion.MQTTv5)
    if broker.supports_v5:
        assert user.connect(broker.url_for("central")).connects == 1


def test_brokers_tls_roundtrip(tmp_path, peers, proxy):
    require_mosquitto()
    ca, cert, key = make_test_ca(tmp_path)
    with MosquittoBroker(tmp_path, tls=(ca, cert, key)) as broker:
        assert broker.tls_url == f"mqtts://127.0.0.1:{broker.tls_port}"
        sub = peers("sub").connect(with_credentials(broker.tls_url, "central"), ca=ca)
        sub.subscribe("onestop/v1/halls/+/events")
        pub = peers("pub").connect(with_credentials(broker.tls_url, "h1"), ca=ca)
        roundtrip(pub, sub, "onestop/v1/halls/h1/events", b"over TLS")
        px = proxy(broker, tls=True)
        assert px.url.startswith("mqtts://")
        via = peers("via-proxy").connect(with_credentials(px.url, "h2"), ca=ca)
        roundtrip(via, sub, "onestop/v1/halls/h2/events", b"over TLS through the proxy")
        assert "New connection" in broker.log_text()


def test_brokers_shared_subscription_delivers_each_message_once(mosquitto, peers):
    # two central workers: each its own user (one user is one client id under use_username_as_clientid)
    a = peers("a", protocol=MQTTProtocolVersion.MQTTv5).connect(mosquitto.url_for("central"))
    b = peers("b", protocol=MQTTProtocolVersion.MQTTv5).connect(mosquitto.url_for("central-2"))
    a.subscribe("$share/central/onestop/v1/halls/+/events")
    b.subscribe("$share/central/onestop/v1/halls/+/events")
    pub = peers("pub").connect(mosquitto.url_for("h1"))

    sent = {f"batch-{i}".encode() for i in range(20)}
    infos = [pub.publish("onestop/v1/halls/h1/events", p) for p in sorted(sent)]
    assert all(acked(i) for i in infos)

    def got() -> set[bytes]:
        return set(a.payloads()) | set(b.payloads())

    assert a.wait(lambda: len(got()) == len(sent)), f"missing {sent - got()}"
    assert not set(a.payloads()) & set(b.payloads()), "a message went to both subscribers"
    assert len(a.payloads()) + len(b.payloads()) == len(sent)
    assert a.payloads() and b.payloads(), "mosquitto shares round-robin: both should get some"


def test_brokers_a_port_taken_before_the_first_start_moves_the_broker(tmp_path):
    """free_port's answer may be taken by another process before the broker binds it (tests of
    other sessions run beside ours): the first start moves to a free port; a restart never does."""
    import socket

    from tests.brokers import AmqttBroker, free_port

    taken = free_port()
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", taken))  # bound by a client-to-be, not listening: nothing answers there
    b = AmqttBroker(tmp_dir=tmp_path / "b")
    b.port = taken  # as if free_port had answered this one
    b.log_path = b.tmp_dir / f"{b.kind}-{b.port}.log"
    try:
        b.start()
        assert b.port != taken and b.running
    finally:
        b.stop()
        squatter.close()
