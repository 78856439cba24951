"""simulators.amqtt_broker: the embedded amqtt broker with its subscription-table race mended.

amqtt 0.12.1, as installed, kills a connecting client's session (after its CONNACK, so the client
waits for a SUBACK that never comes) when another client subscribes to a new filter while the
broker is handing the newcomer retained messages; CI met it when a campus's halls and a test
client connected at once. The race is made certain here: retained messages that match many
filters (so the hand-over awaits once per filter), and a client adding new filters all the time."""

from __future__ import annotations

import sys
import threading

import pytest

from simulators.amqtt_broker import SnapshotDict
from tests.brokers import AmqttBroker, connected_client

RETAINED_FILTERS = ["#", "onestop/#", "onestop/v1/#", "onestop/v1/halls/#", "onestop/v1/halls/+/status",
                    "onestop/v1/halls/h1/status", "onestop/v1/halls/h1/+", "onestop/v1/+/h1/status",
                    "+/v1/halls/h1/status", "+/+/+/+/status", "+/+/+/h1/#", "onestop/+/+/+/+", "+/#"]


class UnmendedAmqtt(AmqttBroker):
    """amqtt's own script, to show the race is real where it is not mended."""

    def _command(self) -> list[str]:
        return [sys.executable, "-m", "amqtt.scripts.broker_script", "-c", str(self.conf_path)]


def subacks_while_filters_change(broker: AmqttBroker, clients: int) -> int:
    """How many of `clients` successive newcomers got their SUBACK within 3 s while another
    client kept subscribing to new filters."""
    hall = connected_client(broker.port, "h1")
    hall.publish("onestop/v1/halls/h1/status", b"online", qos=1, retain=True).wait_for_publish(5)
    watcher = connected_client(broker.port, "central", client_id="watcher")
    subscribed = threading.Event()
    watcher.on_subscribe = lambda *a: subscribed.set()
    watcher.subscribe([(f, 1) for f in RETAINED_FILTERS])
    assert subscribed.wait(5)
    churn = connected_client(broker.port, "central-2", client_id="churn")
    stop = threading.Event()

    def add_filters() -> None:
        n = 0
        while not stop.wait(0.0005):
            churn.subscribe(f"onestop/v1/halls/h{n}/events", qos=1)
            n += 1

    adder = threading.Thread(target=add_filters, daemon=True)
    adder.start()
    answered = 0
    try:
        for i in range(clients):
            got = threading.Event()
            c = connected_client(broker.port, "central-3", client_id=f"newcomer-{i}")
            c.on_subscribe = lambda *a, got=got: got.set()
            c.subscribe("onestop/v1/halls/+/status", qos=1)
            answered += got.wait(3)
            c.disconnect()
            c.loop_stop()
    finally:
        stop.set()
        adder.join(5)
        for c in (hall, watcher, churn):
            c.disconnect()
            c.loop_stop()
    return answered


def test_amqtt_broker_answers_a_newcomer_while_other_clients_add_filters(tmp_path):
    broker = AmqttBroker(tmp_dir=tmp_path / "broker").start()
    try:
        assert subacks_while_filters_change(broker, clients=4) == 4
        assert "changed size during iteration" not in broker.log_path.read_text(errors="replace")
    finally:
        broker.stop()


@pytest.mark.soak
def test_amqtt_unmended_loses_newcomers_while_other_clients_add_filters(tmp_path):
    broker = UnmendedAmqtt(tmp_dir=tmp_path / "broker").start()
    try:
        assert subacks_while_filters_change(broker, clients=2) < 2
        assert "changed size during iteration" in broker.log_path.read_text(errors="replace")
    finally:
        broker.stop()


def test_snapshot_dict_iterates_what_was_there_when_the_loop_began():
    d = SnapshotDict(a=1, b=2)
    seen = []
    for k in d:
        seen.append(k)
        d[k + "+"] = 0
    for k, _v in d.items():
        del d[k]
    assert seen == ["a", "b"] and d == {} and isinstance(d, dict)
