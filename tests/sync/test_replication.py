"""Replication under faults, through real brokers and real processes. Every scenario ends with
central holding exactly the union of the halls' logs (none missing, none twice), and the
halls took every ticket asked of them throughout."""

from __future__ import annotations

import shutil
import time

import paho.mqtt.client as paho
import pytest

from sync.contract import wire
from tests.sync.harness import Central, Edge, Traffic, assert_converged, central_keys, wait_until, write_campus

pytestmark = pytest.mark.slow
HALLS = ["hall-a", "hall-b"]


class Campus:
    def __init__(self, tmp, broker, url: str | None = None, halls=HALLS, db: str | None = None) -> None:
        self.protocol = 5 if broker.kind == "mosquitto" else 4
        self.central_toml, self.files = write_campus(tmp, halls, protocol=self.protocol)
        self.url = url or broker.url
        self.db = db or f"sqlite:///{tmp}/central.db"
        self.tmp = tmp
        self.central = Central(tmp, self.central_toml, self.db, self.url)
        self.edges = [Edge(tmp, self.files[h], h, self.url) for h in halls]

    def start(self) -> "Campus":
        self.central.start()
        for e in self.edges:
            e.start()
        return self

    def close(self) -> None:
        for p in [*self.edges, self.central]:
            if p.running:
                p.kill()


@pytest.fixture
def campus(tmp_path, broker):
    made = []

    def make(url=None, halls=HALLS, start=True, db=None) -> Campus:
        c = Campus(tmp_path, broker, url, halls, db)
        made.append(c)
        return c.start() if start else c

    yield make
    for c in made:
        c.close()


def raw_client(url_port: int, protocol: int) -> paho.Client:
    c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="", protocol=paho.MQTTv5 if protocol == 5
                    else paho.MQTTv311)
    c.connect("127.0.0.1", url_port)
    c.loop_start()
    return c


def test_replication_steady_state_and_status(campus, broker, central_db):
    c = campus(db=central_db)
    with Traffic(c.edges) as t:
        wait_until(lambda: t.issued >= 40, 30, what="tickets")
    assert not t.failures
    assert_converged(c.db, c.edges)
    halls = {h["id"]: h for h in c.central.get("/api/halls")}
    assert all(halls[h]["online"] for h in HALLS)
    edge = c.edges[0]
    wait_until(lambda: edge.health()["sync"]["pending"] == 0, 20, what="hall-a fully acked")
    assert edge.health()["sync"]["connected"] is True
    epoch = edge.health()["epoch"]
    assert halls["hall-a"]["acked"][epoch] >= 1


def test_replication_broker_restart_mid_stream(campus, broker):
    c = campus()
    with Traffic(c.edges) as t:
        wait_until(lambda: t.issued >= 20, 30, what="tickets")
        broker.kill()
        before = t.issued
        wait_until(lambda: t.issued >= before + 20, 30, what="tickets while the broker is down")
        broker.restart()
        wait_until(lambda: t.issued >= before + 40, 30, what="tickets after the restart")
    assert not t.failures
    assert_converged(c.db, c.edges)


def test_replication_central_down_longer_than_broker_queue(campus, broker):
    """mosquitto queues at most 1000 messages for an absent client and drops the rest silently;
    the halls' logs, not the broker, make central whole again."""
    c = campus()
    c.central.stop()
    edge = c.edges[0]
    # every ticket commits alone and goes out on the live lane: well over 1000 messages
    for _ in range(1300):
        edge.take()
    c.edges[1].take()
    c.central.start()
    assert_converged(c.db, c.edges, timeout=90)


@pytest.mark.parametrize("when", ["before publish", "before ack"])
def test_replication_edge_killed(campus, broker, when):
    c = campus()
    edge = c.edges[0]
    if when == "before publish":
        # no broker reachable for this hall: events commit but cannot be published
        edge.stop()
        edge.broker_url = "mqtt://127.0.0.1:1"
        edge.start()
        for _ in range(30):
            edge.take()
        edge.kill()
        edge.broker_url = c.url
        edge.start()
    else:
        # central away: events are published but never acked
        c.central.stop()
        for _ in range(30):
            edge.take()
        time.sleep(0.5)
        edge.kill()
        c.central.start()
        edge.start()
    with Traffic(c.edges) as t:
        wait_until(lambda: t.issued >= 20, 30, what="tickets")
    assert not t.failures
    assert_converged(c.db, c.edges)


def test_replication_network_cut_without_fin(campus, broker, proxy):
    p = proxy(broker)
    c = campus(url=p.url)
    with Traffic(c.edges) as t:
        wait_until(lambda: t.issued >= 20, 30, what="tickets")
        p.blackhole()
        before = t.issued
        wait_until(lambda: t.issued >= before + 40, 30, what="tickets during the cut")
        assert len(central_keys(c.db)) < sum(len(e.log_keys()) for e in c.edges)
        p.heal()
        wait_until(lambda: t.issued >= before + 60, 30, what="tickets after healing")
    assert not t.failures
    assert_converged(c.db, c.edges, timeout=90)


def test_replication_duplicate_flood(campus, broker):
    c = campus()
    captured: list[bytes] = []
    sniffer = raw_client(broker.port, c.protocol)
    sniffer.on_message = lambda cl, u, m: captured.append(m.payload)
    sniffer.subscribe(wire.events_topic("hall-a"), qos=1)
    time.sleep(0.3)
    for _ in range(20):
        c.edges[0].take()
    wait_until(lambda: len(captured) >= 1, 10, what="captured batches")
    assert_converged(c.db, c.edges)
    flooder = raw_client(broker.port, c.protocol)
    for _ in range(50):
        for payload in captured:
            flooder.publish(wire.events_topic("hall-a"), payload, qos=1)
    c.edges[0].take()
    wait_until(lambda: c.central.get("/api/health")["ingest"]["duplicates"] >= 20, 30, what="duplicates seen")
    assert_converged(c.db, c.edges)
    for cl in (sniffer, flooder):
        cl.loop_stop()
        cl.disconnect()


def test_replication_garbage_oversized_and_wrong_hall_are_quarantined(campus, broker):
    c = campus()
    bad = raw_client(broker.port, c.protocol)
    real_a = c.edges[0].take()
    wait_until(lambda: central_keys(c.db), 20, what="first event")
    # garbage, an oversized payload, a batch of hall-b published on hall-a's topic, an event of
    # an unknown kind inside an otherwise good batch of a made-up epoch
    batch_b = wire.Batch(v=wire.V, hall="hall-b", epoch="e", sent=0, events=[
        wire.WireEvent(seq=1, id="x", kind="ticket.issued", schema=1, body=b"{}", ts=0, boot="b", mono=0,
                       clock="simulated")])
    unknown = wire.Batch(v=wire.V, hall="hall-a", epoch="junk-epoch", sent=0, events=[
        wire.WireEvent(seq=1, id="y", kind="alien.landed", schema=1, body=b"{}", ts=0, boot="b", mono=0,
                       clock="simulated")])
    for payload in (b"\x00garbage\xff", b"x" * (wire.MAX_PAYLOAD + 1), wire.encode(batch_b), wire.encode(unknown)):
        bad.publish(wire.events_topic("hall-a"), payload, qos=1)
    for _ in range(10):
        c.edges[0].take()
        c.edges[1].take()
    q = wait_until(lambda: (lambda q: q if len(q) >= 4 else None)(c.central.get("/api/quarantine")), 30,
                   what="4 quarantined payloads")
    reasons = " | ".join(x["reason"] for x in q)
    assert "not a valid Batch" in reasons and "over the" in reasons and "hall-b" in reasons and "alien" in reasons
    assert_converged(c.db, c.edges)
    assert real_a["number"] == "A001"
    # the unknown event was acked (counted) so it cannot block its epoch
    assert c.central.get("/api/halls")[0]["acked"].get("junk-epoch") == 1
    bad.loop_stop()
    bad.disconnect()


def test_replication_restored_from_old_copy_reuses_no_seq(campus, broker):
    c = campus(halls=["hall-a"])
    edge = c.edges[0]
    for _ in range(10):
        edge.take()
    assert_converged(c.db, c.edges)
    edge.stop()
    backup = c.tmp / "backup"
    shutil.copytree(edge.data, backup)  # the SD card image made today
    edge.start()
    for _ in range(15):
        edge.take()
    assert_converged(c.db, c.edges)
    first_timeline = edge.log_keys()
    edge.stop()
    shutil.rmtree(edge.data)
    shutil.copytree(backup, edge.data)  # restored: 15 events of the old timeline are gone locally
    edge.start()
    for _ in range(7):
        edge.take()
    # central keeps everything both timelines produced; no (epoch, seq) means two events
    stored = assert_converged(c.db, c.edges, timeout=60, extra=first_timeline)
    by_slot: dict[tuple, str] = {}
    for hall, epoch, seq, eid in stored:
        assert (hall, epoch, seq) not in by_slot
        by_slot[(hall, epoch, seq)] = eid
    assert len(edge.health()["epochs"]) == 2
    assert len(stored) == 10 + 15 + 7  # both timelines, each event once


def test_replication_two_central_workers_one_killed(tmp_path, mosquitto, central_db):
    central_toml, files = write_campus(tmp_path, HALLS)
    db = central_db
    w1 = Central(tmp_path, central_toml, db, mosquitto.url, worker_id="1", shared=True).start()
    w2 = Central(tmp_path, central_toml, db, mosquitto.url, worker_id="2", shared=True).start()
    edges = [Edge(tmp_path, files[h], h, mosquitto.url).start() for h in HALLS]
    try:
        with Traffic(edges) as t:
            wait_until(lambda: t.issued >= 40, 30, what="tickets")
            w1.kill()
            before = t.issued
            wait_until(lambda: t.issued >= before + 40, 30, what="tickets after a worker died")
        assert not t.failures
        assert_converged(db, edges, timeout=60)
        assert w2.get("/api/health")["ingest"]["stored"] > 0
    finally:
        for p in [*edges, w1, w2]:
            p.kill()


def test_replication_central_database_lost_is_refilled(campus, broker, tmp_path):
    """Central restarted on an empty database (a restore gone wrong): the broker still retains
    the old acks, but central announces what it really holds and the halls send it all again."""
    c = campus()
    for e in c.edges:
        for _ in range(15):
            e.take()
    assert_converged(c.db, c.edges)
    c.central.stop()
    (tmp_path / "central.db").unlink()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"central.db{suffix}").unlink(missing_ok=True)
    c.central.start()
    c.edges[0].take()
    assert_converged(c.db, c.edges, timeout=60)
