"""tests/netfaults.py works: the TCP proxy in front of a real broker black-holes, stalls,
refuses and resets as it says, proved with plain paho clients, so that the sync tests built on
it can trust what a fault does. The brokers are secure: the subscriber signs in as central, the
clients behind the proxy as halls (one user each: mosquitto binds client ids to users)."""

from __future__ import annotations

import time

from tests.brokers import with_credentials
from tests.sync.peers import acked, roundtrip

T = "onestop/v1/halls/h1/events"  # what hall h1 may publish
T2 = "onestop/v1/halls/h2/events"


def behind_proxy(broker, proxy, peers, name: str, **kwargs):
    """A subscriber to every hall's events straight on `broker` (as central), a proxy in front of
    it, and a client `name` connected through the proxy as hall h1: (subscriber, proxy, client)."""
    sub = peers("sub").connect(broker.url_for("central"))
    sub.subscribe("onestop/v1/halls/+/events")
    px = proxy(broker)
    return sub, px, peers(name, **kwargs).connect(with_credentials(px.url, "h1"))


def test_netfaults_blackhole_drops_silently_and_heal_lets_a_new_connection_through(broker, proxy, peers):
    sub, px, pub = behind_proxy(broker, proxy, peers, "pub", keepalive=2)
    roundtrip(pub, sub, T, b"before")
    assert px.accepted == 1 and px.bytes_up > 0 and px.bytes_down > 0

    px.blackhole()
    lost = pub.publish(T, b"lost")
    assert not acked(lost, 2.0), "a PUBACK crossed the blackhole"
    # No FIN, no RST: the client still believes in its connection, the proxy still holds it.
    assert pub.disconnects == 0 and px.active == 1
    assert px.bytes_dropped > 0
    assert b"lost" not in sub.payloads()

    px.heal()
    assert pub.wait(lambda: pub.disconnects >= 1, 8), "keepalive did not notice the dead connection"
    assert pub.wait(lambda: pub.connects >= 2, 8), "no reconnection after heal"
    roundtrip(pub, sub, T, b"after")
    assert px.accepted >= 2


def test_netfaults_stall_delays_without_loss(mosquitto, proxy, peers):
    sub, px, pub = behind_proxy(mosquitto, proxy, peers, "pub")

    px.stall()
    info = pub.publish(T, b"delayed")
    assert not acked(info, 0.5)
    assert b"delayed" not in sub.payloads()

    px.forward()
    assert acked(info)
    assert sub.received(b"delayed")
    assert pub.connects == 1 and pub.disconnects == 0 and px.bytes_dropped == 0


def test_netfaults_refuse_blocks_new_connections_only(mosquitto, proxy, peers):
    sub, px, old = behind_proxy(mosquitto, proxy, peers, "old")

    px.refuse()
    new = peers("new").start(with_credentials(px.url, "h2"))
    assert not new.wait(lambda: new.connects > 0, 1.5), "a new connection got through refuse()"
    assert px.accepted >= 2 and new.refusals + new.disconnects >= 1
    roundtrip(old, sub, T, b"old connection still flows")

    px.heal()
    assert new.wait(lambda: new.connects == 1), "no connection after heal"
    roundtrip(new, sub, T2, b"new connection flows")


def test_netfaults_reset_all_disconnects_at_once(mosquitto, proxy, peers):
    sub, px, pub = behind_proxy(mosquitto, proxy, peers, "pub", keepalive=60)

    started = time.monotonic()
    assert px.reset_all() == 1
    assert pub.wait(lambda: pub.disconnects >= 1, 2.0), "the reset did not reach the client"
    assert time.monotonic() - started < 2.0  # not the 60 s keepalive
    assert pub.wait(lambda: pub.connects >= 2)
    roundtrip(pub, sub, T, b"after reset")
