"""sync.mqtt: broker URLs, and with real brokers and processes per-hall credentials (the broker's
ACL keeps a hall to its own topics) and TLS."""

from __future__ import annotations

import subprocess
import sys

import paho.mqtt.client as paho
import pytest

from sync.contract import wire
from sync.mqtt import BrokerUrl, parse_broker_url
from tests.brokers import MosquittoBroker, make_test_ca
from tests.sync.harness import ROOT, Central, Edge, Traffic, assert_converged, wait_until, write_campus



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
def test_mqtt_security_per_hall_credentials_and_acl(tmp_path):
    central_toml, files = write_campus(tmp_path, ["hall-a", "hall-b"],
                                       central_broker_extra='username = "central"\npassword = "c-secret"\n')
    for h, f in files.items():
        f.write_text(f.read_text(encoding="utf-8").replace(
            "[broker]\n", f'[broker]\nusername = "{h}"\npassword = "{h}-secret"\n', 1), encoding="utf-8")
    out = tmp_path / "brokerconf"
    r = subprocess.run([sys.executable, "-m", "central.cli", "broker-config", "--config", str(central_toml),
                        "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert r.returncode == 0, r.stderr
    acl = (out / "acl").read_text()
    assert "user hall-a\ntopic write onestop/v1/halls/hall-a/events" in acl
    broker = MosquittoBroker(tmp_path / "mq", password_file=str(out / "passwd"), acl_file=str(out / "acl")).start()
    db = f"sqlite:///{tmp_path}/central.db"
    central = Central(tmp_path, central_toml, db, broker.url).start()
    edges = [Edge(tmp_path, files[h], h, broker.url).start() for h in ("hall-a", "hall-b")]
    try:
        for e in edges:
            e.take()
        assert_converged(db, edges)
        assert all(e.health()["sync"]["connected"] for e in edges)
        # hall-a's credentials cannot write into hall-b's records: the broker drops it
        c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="intruder", protocol=paho.MQTTv5)
        c.username_pw_set("hall-a", "hall-a-secret")
        c.connect("127.0.0.1", broker.port)
        c.loop_start()
        forged = wire.Batch(v=wire.V, hall="hall-b", epoch="forged", sent=0, events=[])
        c.publish(wire.events_topic("hall-b"), wire.encode(forged), qos=1).wait_for_publish(5)
        # a wrong password is refused
        bad = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bad", protocol=paho.MQTTv5)
        bad.username_pw_set("hall-b", "guess")
        rc = []
        bad.on_connect = lambda cl, u, f, reason, p: rc.append(reason)
        bad.connect("127.0.0.1", broker.port)
        bad.loop_start()
        wait_until(lambda: rc, 10, what="connack")
        assert rc[0].is_failure
        edges[1].take()
        assert_converged(db, edges)
        halls = {h["id"]: h for h in central.get("/api/halls")}
        assert "forged" not in halls["hall-b"]["acked"]
        assert central.get("/api/quarantine") == []
        for cl in (c, bad):
            cl.loop_stop()
            cl.disconnect()
    finally:
        for p in [*edges, central]:
            p.kill()
        broker.close()


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
