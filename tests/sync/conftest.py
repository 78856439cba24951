"""Real MQTT brokers for the sync tests.

- ``broker``: a fresh broker per test, parametrized over mosquitto and the embedded amqtt
  broker (test ids ``[mosquitto]`` and ``[amqtt]``).
- ``mosquitto``: a fresh mosquitto only, for what amqtt cannot do (MQTT v5, shared
  subscriptions, TLS, persistence).
- ``proxy``: a factory, ``proxy(broker)`` -> a started ``TcpProxy`` in front of it, closed at
  teardown.
- ``peers``: a factory, ``peers(name, **options)`` -> a plain paho client (tests.sync.peers.Peer),
  closed at teardown.

Without the mosquitto binary the mosquitto cases are skipped, except under CI=true where they
fail: ``make test`` installs it (.ci/system-deps).
"""

from __future__ import annotations

import pytest

from tests.brokers import AmqttBroker, Broker, MosquittoBroker, require_mosquitto
from tests.netfaults import TcpProxy
from tests.sync.peers import Peer


def _start(request, broker: Broker):
    broker.start()
    failed_before = request.session.testsfailed
    try:
        yield broker
    finally:
        broker.close()
        if request.session.testsfailed > failed_before:  # the call failed: show what the broker saw
            tail = "\n".join(broker.log_text().splitlines()[-80:])
            print(f"---- {broker.kind} log ({broker.log_path}), last lines ----\n{tail}")


@pytest.fixture(params=["mosquitto", "amqtt"], ids=["mosquitto", "amqtt"])
def broker(request, tmp_path):
    if request.param == "mosquitto":
        require_mosquitto()
        b: Broker = MosquittoBroker(tmp_path / "broker")
    else:
        b = AmqttBroker(tmp_dir=tmp_path / "broker")
    yield from _start(request, b)


@pytest.fixture
def mosquitto(request, tmp_path):
    require_mosquitto()
    yield from _start(request, MosquittoBroker(tmp_path / "mosquitto"))


@pytest.fixture
def proxy():
    made: list[TcpProxy] = []

    def make(target: Broker, *, tls: bool = False) -> TcpProxy:
        """A started TcpProxy to `target`'s plain port, or its TLS port with tls=True."""
        if tls:
            if getattr(target, "tls_port", None) is None:
                raise ValueError(f"{target!r} has no TLS listener")
            p = TcpProxy(target.host, target.tls_port, scheme="mqtts")
        else:
            p = TcpProxy(target.host, target.port)
        made.append(p)
        return p.start()

    yield make
    for p in made:
        p.close()


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
