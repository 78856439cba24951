"""central.brokerconf: the files `onestop-central broker-config` writes, and the attacks they stop
on a real broker configured with them (mosquitto and amqtt, tests/brokers.py: the test brokers run
exactly these settings). A hall's credentials may publish only its own events and status, read
only its own ack and config and the time beacon; nobody gets in without a password; on mosquitto
a hall cannot take another client's id, nor pass a payload over the wire's limit. What amqtt 0.12
cannot enforce is asserted as its documented gap (docs/security.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from central import brokerconf
from sync.contract import wire
from tests.brokers import password_for
from tests.sync.conftest import broker, peers  # noqa: F401 - the fixtures, used by the tests below
from tests.sync.harness import ROOT, write_campus
from tests.sync.peers import WAIT, acked


def run_broker_config(*args: str):
    return subprocess.run([sys.executable, "-m", "central.cli", "broker-config", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_brokerconf_writes_passwords_acl_and_a_locked_down_mosquitto_conf(tmp_path):
    central_toml, files = write_campus(tmp_path, ["hall-a", "hall-b"])
    # hall-b signs in as "b-user": its topics are still those of hall id hall-b
    files["hall-b"].write_text(files["hall-b"].read_text(encoding="utf-8").replace(
        'username = "hall-b"', 'username = "b-user"'), encoding="utf-8")
    out = tmp_path / "out"
    r = run_broker_config("--config", str(central_toml), "--out", str(out), "--workers", "2", "--listen", "8883")
    assert r.returncode == 0, r.stderr
    assert "generated password" not in r.stdout  # every password came from the files

    users = [line.split(":", 1)[0] for line in (out / "passwd").read_text().splitlines()]
    assert users == ["central", "central-2", "hall-a", "b-user"]
    assert all(h.split(":", 1)[1].startswith("$7$101$") for h in (out / "passwd").read_text().splitlines())
    assert (out / "passwd").stat().st_mode & 0o077 == 0
    acl = (out / "acl").read_text()
    assert ("user b-user\ntopic write onestop/v1/halls/hall-b/events\ntopic write onestop/v1/halls/hall-b/status\n"
            "topic read onestop/v1/halls/hall-b/ack\ntopic read onestop/v1/halls/hall-b/config\n"
            "topic read onestop/v1/halls/hall-b/appointments\n"
            "topic read onestop/v1/time\n") in acl
    assert "user central-2\ntopic readwrite onestop/v1/#\n" in acl
    assert "hall-a/config" not in acl.split("user hall-a\n")[0]  # no other user reads hall-a's config

    conf = (out / "mosquitto.conf").read_text().splitlines()
    settings = [line for line in conf if line and not line.startswith("#")]
    assert "allow_anonymous false" in settings and "allow_anonymous true" not in settings
    assert f"message_size_limit {wire.MAX_PAYLOAD}" in settings
    assert f"password_file {(out / 'passwd').resolve()}" in settings
    # a listener option applies to the listener above it: use_username_as_clientid follows it
    assert settings[-2:] == ["listener 8883", "use_username_as_clientid true"]

    amqtt = json.loads((out / "amqtt.yaml").read_text())
    plugins = amqtt["plugins"]
    assert "amqtt.plugins.authentication.AnonymousAuthPlugin" not in plugins
    acl_plugin = plugins["amqtt.plugins.topic_checking.TopicAccessControlListPlugin"]
    assert acl_plugin["publish_acl"]["b-user"] == ["onestop/v1/halls/hall-b/events", "onestop/v1/halls/hall-b/status"]
    assert acl_plugin["acl"]["b-user"] == ["onestop/v1/halls/hall-b/ack", "onestop/v1/halls/hall-b/config",
                                           "onestop/v1/halls/hall-b/appointments", "onestop/v1/time"]
    assert amqtt["listeners"]["default"]["bind"] == "0.0.0.0:8883"
    assert all(line.split(":", 1)[1].startswith("$argon2id$")
               for line in (out / "amqtt-passwd").read_text().splitlines())


def test_brokerconf_generates_a_missing_password_once_and_refuses_bad_arguments(tmp_path):
    central_toml, _ = write_campus(tmp_path, ["hall-a"], credentials=False)
    out = tmp_path / "out"
    r = run_broker_config("--config", str(central_toml), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "generated password for central:" in r.stdout and "generated password for hall hall-a:" in r.stdout
    assert run_broker_config("--config", str(central_toml), "--out", str(out), "--listen", "x").returncode == 2
    assert run_broker_config("--config", str(tmp_path / "nope.toml"), "--out", str(out)).returncode == 2


def test_brokerconf_worker_users():
    assert brokerconf.worker_user("central", "1") == "central"
    assert brokerconf.worker_user("central", "3") == "central-3"
    assert brokerconf.central_users("c", 3) == ["c", "c-2", "c-3"]


# -- the attacks, on a real broker -----------------------------------------------------------


def test_brokerconf_anonymous_and_wrong_password_are_refused(broker, peers):  # noqa: F811
    anonymous = peers("anonymous").start(broker.url)
    guess = peers("guess").start(broker.url_for("hall-b", "1234"))
    stranger = peers("stranger").start(broker.url_for("nobody", "x"))
    for p in (anonymous, guess, stranger):
        assert p.wait(lambda p=p: p.refusals), f"{p.name} was not refused"
        assert p.connects == 0
    assert peers("hall-b").connect(broker.url_for("hall-b")).connects == 1


def test_brokerconf_a_hall_cannot_publish_as_another_hall_or_as_central(broker, peers):  # noqa: F811
    central = peers("central").connect(broker.url_for("central"))
    central.subscribe(f"{wire.ROOT}/#")
    hall_b = peers("hall-b").connect(broker.url_for("hall-b"))
    for t in (wire.ack_topic("hall-b"), wire.config_topic("hall-b"), wire.TIME_TOPIC):
        hall_b.subscribe(t)
    intruder = peers("intruder").connect(broker.url_for("hall-a"))
    forged = {
        wire.events_topic("hall-b"): b"forged events of hall-b",  # into another hall's record
        wire.status_topic("hall-b"): b"forged status of hall-b",
        wire.events_topic("no-such-hall"): b"events of a hall that does not exist",
        wire.config_topic("hall-b"): b"forged config for hall-b",  # central's downlink
        wire.config_topic("hall-a"): b"forged config for itself",
        wire.ack_topic("hall-b"): b"forged ack",
        wire.TIME_TOPIC: b"forged time beacon",
    }
    for topic, payload in forged.items():
        intruder.publish(topic, payload, retain=topic.endswith("config"))
    # the intruder's own topic still works, and arrives after anything published before it
    assert acked(intruder.publish(wire.events_topic("hall-a"), b"marker"))
    assert central.received(b"marker")
    assert central.payloads() == [b"marker"]
    # nothing reached the hall either, retained or not
    assert acked(central.publish(wire.TIME_TOPIC, b"real beacon"))
    assert hall_b.received(b"real beacon")
    assert hall_b.payloads() == [b"real beacon"]


def test_brokerconf_a_hall_cannot_read_another_halls_config_or_acks(broker, peers):  # noqa: F811
    central = peers("central").connect(broker.url_for("central"))
    # retained configs (they hold PIN hashes) and acks of both halls
    for h in ("hall-a", "hall-b"):
        assert acked(central.publish(wire.config_topic(h), f"config of {h}".encode(), retain=True))
        assert acked(central.publish(wire.ack_topic(h), f"ack of {h}".encode(), retain=True))
        # bookings (phone tails, masked names): each hall reads its own only
        assert acked(central.publish(wire.appointments_topic(h), f"bookings of {h}".encode(), retain=True))
    spy = peers("spy").connect(broker.url_for("hall-a"))
    for topic in (wire.config_topic("hall-b"), wire.ack_topic("hall-b"), f"{wire.ROOT}/halls/+/config",
                  wire.appointments_topic("hall-b"), f"{wire.ROOT}/halls/+/appointments",
                  f"{wire.ROOT}/#", "#", wire.events_topic("hall-b")):
        spy.try_subscribe(topic)  # refused (SUBACK failure), or granted and never delivered
    spy.subscribe(wire.config_topic("hall-a"))
    spy.subscribe(wire.appointments_topic("hall-a"))
    assert spy.received(b"config of hall-a") and spy.received(b"bookings of hall-a")
    assert acked(central.publish(wire.config_topic("hall-b"), b"new config of hall-b", retain=True))
    assert acked(central.publish(wire.events_topic("hall-b"), b"events of hall-b"))
    assert acked(central.publish(wire.config_topic("hall-a"), b"marker", retain=True))
    assert spy.received(b"marker")
    assert [p for p in spy.payloads() if b"hall-b" in p] == []
    assert b"config of hall-a" in spy.payloads()


def test_brokerconf_a_hall_cannot_take_over_another_clients_id(broker, peers):  # noqa: F811
    victim = peers("victim", client_id="onestop-edge-hall-b", clean_session=False)
    victim.connect(broker.url_for("hall-b"))
    # hall-a's credentials, hall-b's client id; then no valid credentials at all
    thief = peers("thief", client_id="onestop-edge-hall-b", clean_session=False).start(broker.url_for("hall-a"))
    stranger = peers("stranger", client_id="onestop-edge-hall-b").start(broker.url_for("hall-b", "guess"))
    assert thief.wait(lambda: thief.connects or thief.refusals)
    assert stranger.wait(lambda: stranger.refusals)
    if not broker.client_id_takeover:
        # mosquitto, use_username_as_clientid: the thief is "hall-a" there, not the victim
        assert thief.connects == 1
        assert victim.disconnects == 0 and victim.client.is_connected()
        central = peers("central").connect(broker.url_for("central"))
        assert acked(central.publish(wire.ack_topic("hall-b"), b"for hall-b"))
        victim.subscribe(wire.ack_topic("hall-b"))
        assert acked(central.publish(wire.ack_topic("hall-b"), b"for hall-b, again"))
        assert victim.received(b"for hall-b, again")
        assert victim.disconnects == 0
    else:
        # amqtt 0.12 (docs/security.md): a CONNECT with the victim's id may take its session over
        # before the credentials are checked — whether it does is a race inside amqtt, so this
        # records the known gap instead of asserting either outcome
        pytest.xfail("amqtt 0.12 cannot bind client ids to users (use mosquitto in production)")


def test_brokerconf_an_oversized_payload_is_refused(broker, peers):  # noqa: F811
    central = peers("central").connect(broker.url_for("central"))
    central.subscribe(wire.events_topic("hall-a"))
    hall_a = peers("hall-a").connect(broker.url_for("hall-a"))
    hall_a.publish(wire.events_topic("hall-a"), b"x" * (brokerconf.MESSAGE_SIZE_LIMIT + 1))
    at_limit = b"y" * brokerconf.MESSAGE_SIZE_LIMIT
    assert acked(hall_a.publish(wire.events_topic("hall-a"), at_limit), 30)
    assert central.received(at_limit, 30)
    oversized = [p for p in central.payloads() if len(p) > brokerconf.MESSAGE_SIZE_LIMIT]
    if broker.limits_message_size:
        assert oversized == []
    else:  # amqtt 0.12 (documented): no limit; central quarantines it (wire.MAX_PAYLOAD)
        assert len(oversized) == 1


@pytest.mark.parametrize("user", ["central", "central-2", "hall-a"])
def test_brokerconf_test_passwords_are_each_halls_own(user):
    assert password_for(user) != password_for("hall-b")
