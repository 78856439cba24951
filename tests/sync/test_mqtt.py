"""sync.mqtt: broker URLs, and with real brokers and processes per-hall credentials (the broker's
ACL keeps a hall to its own topics) and TLS."""

from __future__ import annotations

import paho.mqtt.client as paho
import pytest

from sync.contract import wire
from sync.mqtt import BrokerUrl, parse_broker_url
from tests.brokers import MosquittoBroker, connected_client, make_test_ca
from tests.sync.harness import Central, Edge, Traffic, assert_converged, wait_until, write_campus



def test_mqtt_broker_url_parsing_and_printing():
    assert parse_broker_url("mqtt://127.0.0.1") == BrokerUrl(tls=False, host="127.0.0.1", port=1883)
    url = parse_broker_url("mqtts://hall-a:s%40cret@broker.example:8884")
    assert url == BrokerUrl(tls=True, host="broker.example", port=8884, username="hall-a", password="s@cret")
    assert str(url) == "mqtts://hall-a@broker.example:8884"  # never the password
    assert parse_broker_url("mqtts://b.example", "u", "p") == BrokerUrl(True, "b.example", 8883, "u", "p")
    for bad in ("http://x:1", "mqtt://", "mqtt://x:port"):
        with pytest.raises(ValueError):
            parse_broker_url(bad)


@pytest.mark.slow
def test_mqtt_security_per_hall_credentials_and_acl(tmp_path, broker):
    """Real processes on the secure test broker (broker-config's files): every node signs in
    from its file's [broker] credentials; a hall's credentials cannot write another's records."""
    protocol = 5 if broker.supports_v5 else 4
    central_toml, files = write_campus(tmp_path, ["hall-a", "hall-b"], protocol=protocol)
    db = f"sqlite:///{tmp_path}/central.db"
    central = Central(tmp_path, central_toml, db, broker.url).start()
    edges = [Edge(tmp_path, files[h], h, broker.url).start() for h in ("hall-a", "hall-b")]
    try:
        for e in edges:
            e.take()
        assert_converged(db, edges)
        assert all(e.health()["sync"]["connected"] for e in edges)
        # hall-a's credentials cannot write into hall-b's records: the broker drops it
        c = connected_client(broker.port, "hall-a", client_id="intruder")
        forged = wire.Batch(v=wire.V, hall="hall-b", epoch="forged", sent=0, events=[])
        c.publish(wire.events_topic("hall-b"), wire.encode(forged), qos=1).wait_for_publish(5)
        edges[1].take()
        assert_converged(db, edges)
        halls = {h["id"]: h for h in central.get("/api/halls")}
        assert "forged" not in halls["hall-b"]["acked"]
        assert central.get("/api/quarantine") == []
        c.loop_stop()
        c.disconnect()
    finally:
        for p in [*edges, central]:
            p.kill()


@pytest.mark.slow
def test_mqtt_security_tls(tmp_path):
    ca, cert, key = make_test_ca(tmp_path)
    broker = MosquittoBroker(tmp_path / "mq", tls=(ca, cert, key)).start()
    central_toml, files = write_campus(tmp_path, ["hall-a"], broker_extra=f'ca_file = "{ca}"\n',
                                       central_broker_extra=f'ca_file = "{ca}"\n')
    db = f"sqlite:///{tmp_path}/central.db"
    central = Central(tmp_path, central_toml, db, broker.tls_url).start()
    edge = Edge(tmp_path, files["hall-a"], "hall-a", broker.tls_url).start()
    try:
        with Traffic([edge]) as t:
            wait_until(lambda: t.issued >= 10, 30, what="tickets")
        assert_converged(db, [edge])
        assert edge.health()["sync"]["broker"].startswith("mqtts://")
    finally:
        edge.kill()
        central.kill()
        broker.close()
