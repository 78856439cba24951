"""sync.replicator end to end, through real brokers and real `onestop-central` and
`onestop-edge` processes.

Replication under faults: every scenario ends with central holding exactly the union of the
halls' logs (none missing, none twice), and the halls took every ticket asked of them
throughout. The downlink the replicator hands to the hall: central's configuration (newer
applied, older refused, kept offline) and its time beacons (a wrong clock corrected and
re-based; clock jumps leave the log in order)."""

from __future__ import annotations

import hashlib
import shutil
from datetime import datetime, timedelta, timezone

import paho.mqtt.client as paho
import pytest

from central.store import CentralStore
from sync.contract import wire
from tests.brokers import connected_client
from tests.sync.harness import Central, Edge, Traffic, assert_converged, central_keys, start_together, wait_until, write_campus

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
        start_together(*self.edges)
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


def raw_client(url_port: int, protocol: int, user: str = "central-3") -> paho.Client:
    """A plain client signed in as `user` (default: a central worker user no running central
    uses: mosquitto binds client ids to users, so it would disconnect that central)."""
    return connected_client(url_port, user, protocol=protocol)


def sniffer(url_port: int, protocol: int, topic: str, user: str = "central-2") -> tuple[paho.Client, list[bytes]]:
    """A raw client subscribed to `topic` (its SUBACK received) and every payload it gets there
    (amqtt also hands a new subscriber retained messages of other topics: those are left out)."""
    captured: list[bytes] = []
    subacks: list[object] = []
    c = raw_client(url_port, protocol, user)
    c.on_message = lambda cl, u, m: captured.append(m.payload) if m.topic == topic else None
    c.on_subscribe = lambda cl, u, mid, codes, props: subacks.append(codes)
    c.subscribe(topic, qos=1)
    wait_until(lambda: subacks, 10, what=f"the SUBACK for {topic}")
    return c, captured


def last_seq_sent(payloads: list[bytes]) -> int:
    return max((e.seq for p in payloads for e in wire.decode(p, wire.Batch).events), default=0)


def test_replicator_steady_state_and_status(campus, broker, central_db):
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


def test_replicator_broker_restart_mid_stream(campus, broker):
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


@pytest.mark.soak
def test_replicator_central_down_longer_than_broker_queue(campus, broker):
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
def test_replicator_edge_killed(campus, broker, when):
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
        sniff, sent = sniffer(broker.port, c.protocol, wire.events_topic(edge.hall))
        for _ in range(30):
            edge.take()
        last = edge.health()["last_seq"]
        wait_until(lambda: last_seq_sent(list(sent)) >= last, 10, what="the events published")
        sniff.loop_stop()
        sniff.disconnect()
        edge.kill()
        c.central.start()
        edge.start()
    with Traffic(c.edges) as t:
        wait_until(lambda: t.issued >= 20, 30, what="tickets")
    assert not t.failures
    assert_converged(c.db, c.edges)


@pytest.mark.soak
def test_replicator_network_cut_without_fin(campus, broker, proxy):
    if broker.kind == "amqtt":
        # amqtt 0.12 with authenticated (non-anonymous) persistent sessions: a client reconnecting
        # over its own half-open session takes it over, and QoS 1 deliveries to it then time out
        # (PUBACK never awaited on the new connection): central stops receiving. The same with
        # `AmqttBroker(secure=False, anonymous=False)`; only anonymous sessions (no offline
        # queueing) recover. docs/security.md. Not run: it only ever waited 95 s for that (the
        # mosquitto case runs; re-run this by hand when amqtt is upgraded)
        pytest.xfail("amqtt 0.12 persistent-session takeover after a half-open connection")
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


def test_replicator_duplicate_flood(campus, broker):
    c = campus()
    sniff, captured = sniffer(broker.port, c.protocol, wire.events_topic("hall-a"))
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
    for cl in (sniff, flooder):
        cl.loop_stop()
        cl.disconnect()


def test_replicator_garbage_oversized_and_wrong_hall_are_quarantined(campus, broker):
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
    # each acknowledged by the broker before the next, the oversized one last: mosquitto drops the
    # connection that sent it, and paho would resend every unacknowledged message on reconnecting
    # (at-least-once), which quarantines them twice on a loaded machine
    for payload in (b"\x00garbage\xff", wire.encode(batch_b), wire.encode(unknown)):
        bad.publish(wire.events_topic("hall-a"), payload, qos=1).wait_for_publish(timeout=20)
    bad.publish(wire.events_topic("hall-a"), b"x" * (wire.MAX_PAYLOAD + 1), qos=1)
    for _ in range(10):
        c.edges[0].take()
        c.edges[1].take()
    # mosquitto refuses the oversized payload itself (message_size_limit); amqtt passes it on
    n = 3 if broker.limits_message_size else 4
    q = wait_until(lambda: (lambda q: q if len(q) >= n else None)(c.central.get("/api/quarantine")), 30,
                   what=f"{n} quarantined payloads")
    assert len(q) == n
    reasons = " | ".join(x["reason"] for x in q)
    assert "not a valid Batch" in reasons and "hall-b" in reasons and "alien" in reasons
    assert ("over the" in reasons) == (not broker.limits_message_size)
    for x in q:  # a bounded prefix is kept, with the whole payload's size and hash
        assert len(bytes.fromhex(x["preview"])) <= 200 and len(x["sha256"]) == 64
    if not broker.limits_message_size:
        big = next(x for x in q if "over the" in x["reason"])
        assert big["size"] == wire.MAX_PAYLOAD + 1 and big["kept"] == 4096
        assert big["sha256"] == hashlib.sha256(b"x" * (wire.MAX_PAYLOAD + 1)).hexdigest()
    assert_converged(c.db, c.edges)
    assert real_a["number"] == "A001"
    # the unknown event was acked (counted) so it cannot block its epoch
    assert c.central.get("/api/halls")[0]["acked"].get("junk-epoch") == 1
    bad.loop_stop()
    bad.disconnect()


def test_replicator_restored_from_old_copy_reuses_no_seq(campus, broker):
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


def test_replicator_restored_with_onestop_edge_restore_loses_nothing_and_duplicates_nothing(campus, broker):
    """The same as above through the real commands (docs/operations.md): `onestop-edge backup`
    while the hall runs, `onestop-edge restore` after it stopped; the restore starts the new
    epoch itself, and central ends with both timelines, each event once."""
    import subprocess
    import sys

    c = campus(halls=["hall-a"])
    edge = c.edges[0]
    for _ in range(10):
        edge.take()
    assert_converged(c.db, c.edges)
    copy = c.tmp / "hall-a-backup.db"
    r = subprocess.run([sys.executable, "-m", "edge.cli", "backup", "--data-dir", str(edge.data), "--out", str(copy)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    for _ in range(15):
        edge.take()
    assert_converged(c.db, c.edges)
    first_timeline = edge.log_keys()
    edge.stop()
    r = subprocess.run([sys.executable, "-m", "edge.cli", "restore", "--data-dir", str(edge.data), "--from", str(copy)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    edge.start()
    for _ in range(7):
        edge.take()
    stored = assert_converged(c.db, c.edges, timeout=60, extra=first_timeline)
    slots = {(hall, epoch, seq) for hall, epoch, seq, _ in stored}
    assert len(slots) == len(stored) == 10 + 15 + 7  # both timelines, each event once, no slot twice
    assert len({eid for *_, eid in stored}) == len(stored)
    assert len(edge.health()["epochs"]) == 2  # the copy's epoch and the one the restore started


def test_replicator_two_central_workers_one_killed(tmp_path, mosquitto, central_db):
    central_toml, files = write_campus(tmp_path, HALLS)
    db = central_db
    w1 = Central(tmp_path, central_toml, db, mosquitto.url, worker_id="1", shared=True).start()
    w2 = Central(tmp_path, central_toml, db, mosquitto.url, worker_id="2", shared=True).start()
    edges = start_together(*(Edge(tmp_path, files[h], h, mosquitto.url) for h in HALLS))
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


def test_replicator_central_database_lost_is_refilled(campus, broker, tmp_path):
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


# -- the downlink: configuration and time ------------------------------------------------

def bump_version(path, version: int, extra_item: str = "") -> None:
    text = path.read_text(encoding="utf-8").replace("[business]\nversion = 1", f"[business]\nversion = {version}", 1)
    if extra_item:
        text = text.replace("[[business.catalog.items]]", f"""[[business.catalog.items]]
id = "{extra_item}"
name = "新增事项"
department = "academic"
audience = "在校生"
basis = "新规定"
process = ["受理"]

[[business.catalog.items]]""", 1)
    path.write_text(text, encoding="utf-8")


def catalog_ids(edge: Edge) -> set[str]:
    return {i["id"] for i in edge.get("/api/catalog")["items"]}


def test_replicator_downlink_newer_config_applied_older_refused_kept_offline(tmp_path, broker):
    protocol = 5 if broker.kind == "mosquitto" else 4
    central_toml, files = write_campus(tmp_path, ["hall-a"], protocol=protocol)
    db = f"sqlite:///{tmp_path}/central.db"
    edge = Edge(tmp_path, files["hall-a"], "hall-a", broker.url).start()
    hall_file_v1 = files["hall-a"].read_text(encoding="utf-8")
    # central runs version 2 of the hall's business configuration (one more item)
    bump_version(files["hall-a"], 2, extra_item="new-item")
    central = Central(tmp_path, central_toml, db, broker.url).start()
    try:
        wait_until(lambda: edge.health()["business_version"] == 2, 30, what="version 2 at the hall")
        assert "new-item" in catalog_ids(edge)
        assert edge.take("new-item")["department"] == "academic"
        # central restarted with an older version: the hall keeps version 2
        central.stop()
        files["hall-a"].write_text(hall_file_v1, encoding="utf-8")
        central = Central(tmp_path, central_toml, db, broker.url).start()
        wait_until(lambda: central.get("/api/halls")[0]["online"], 20, what="hall online again")
        assert edge.health()["business_version"] == 2
        # a cold start with no central and no broker: the hall runs the newest version it has
        central.stop()
        edge.stop()
        broker.stop()
        edge.start()
        assert edge.health()["business_version"] == 2 and "new-item" in catalog_ids(edge)
        assert edge.take("new-item")["number"] == "A002"
        kinds = [e["kind"] for e in edge.get("/api/events", limit=1000)]
        assert kinds.count("config.applied") == 1
    finally:
        edge.kill()
        central.kill()


def _next_weekday_nine() -> datetime:
    sh = timezone(timedelta(hours=8))
    day = datetime.now(sh) + timedelta(days=3)
    while day.isoweekday() > 4:  # a Monday–Thursday, away from any closure
        day += timedelta(days=1)
    return day.replace(hour=9, minute=30, second=0, microsecond=0)


def test_replicator_time_wrong_clock_offline_cold_start_is_corrected_and_rebased(tmp_path, mosquitto):
    """A Pi without an RTC boots offline with its clock days off; its events carry the wrong
    time and 'unverified'. Once central's beacon arrives the hall records a correction and
    central re-bases that boot's events to the true time."""
    central_toml, files = write_campus(tmp_path, ["hall-a"])
    # open every day, so the true date (whenever the test runs) is a working day too
    text = files["hall-a"].read_text(encoding="utf-8")
    for line in ('holidays = [{start = 2026-10-01, end = 2026-10-07, name = "国庆节"}]\n',
                 'workdays = [{date = 2026-10-10, name = "国庆调休"}]\n'):
        assert line in text
        text = text.replace(line, "")
    text = text.replace('timezone = "Asia/Shanghai"\n', 'timezone = "Asia/Shanghai"\nweekend = []\n', 1)
    files["hall-a"].write_text(text, encoding="utf-8")
    db = f"sqlite:///{tmp_path}/central.db"
    wrong = _next_weekday_nine()
    skew = (wrong - datetime.now(timezone.utc)).total_seconds()
    edge = Edge(tmp_path, files["hall-a"], "hall-a", mosquitto.url, clock_start=None,
                extra=["--clock-skew", str(skew)]).start()
    central = None
    try:
        assert edge.health()["clock"]["quality"] == "unverified"
        for _ in range(3):
            edge.take()
        central = Central(tmp_path, central_toml, db, mosquitto.url, extra=["--beacon-interval", "0.5"]).start()
        wait_until(lambda: edge.health()["clock"]["quality"] == "synced", 30, what="clock corrected")
        edge.take()
        assert_converged(db, [edge])
        store = CentralStore(db)
        store.open()
        rows = store.events(hall="hall-a", limit=100)
        store.close()
        corr = [r for r in rows if r["kind"] == "clock.corrected"]
        assert len(corr) == 1 and abs(corr[0]["body"]["offset_us"] / 1e6 + skew) < 30
        now_us = datetime.now(timezone.utc).timestamp() * 1e6
        tickets = sorted((r for r in rows if r["kind"] == "ticket.issued"), key=lambda r: r["seq"])
        assert len(tickets) == 4
        for r in tickets:
            assert abs(r["ts_true"] - now_us) < 120e6, "re-based to the true time"
        assert all(abs(r["ts"] - r["ts_true"]) > 3600e6 for r in tickets[:3])  # stamped wrong, re-based
        assert tickets[3]["clock"] == "synced" and tickets[3]["ts"] == tickets[3]["ts_true"]
    finally:
        edge.kill()
        if central:
            central.kill()


def test_replicator_time_clock_jumps_do_not_disturb_the_log(tmp_path, mosquitto):
    """Simulated clock jumping backwards and forwards between restarts: seqs keep order, central
    holds exactly the log."""
    central_toml, files = write_campus(tmp_path, ["hall-a"])
    db = f"sqlite:///{tmp_path}/central.db"
    central = Central(tmp_path, central_toml, db, mosquitto.url).start()
    edge = Edge(tmp_path, files["hall-a"], "hall-a", mosquitto.url, clock_start="2026-11-24T10:00+08:00").start()
    try:
        for start in ("2026-11-24T10:00+08:00", "2026-11-23T09:00+08:00", "2026-11-26T15:00+08:00"):
            if edge.clock_start != start:
                edge.stop()
                edge.clock_start = start
                edge.start()
            for _ in range(5):
                edge.take()
        stored = assert_converged(db, [edge])
        assert [s[2] for s in stored] == list(range(1, len(stored) + 1))  # gap-free, in order
        kinds = [e["kind"] for e in edge.get("/api/events", limit=100)]
        # 15 tickets; moving on to the 26th expired the 10 unfinished numbers of earlier days
        assert kinds.count("ticket.issued") == 15 and kinds.count("ticket.expired") == 10
        numbers = [e["body"]["number"] for e in edge.get("/api/events", limit=100) if e["kind"] == "ticket.issued"]
        assert numbers[:5] == [f"A00{i}" for i in range(1, 6)]  # 24th
        assert numbers[5:10] == [f"A00{i}" for i in range(1, 6)]  # back to the 23rd: a new day's numbers
    finally:
        edge.kill()
        central.kill()


def test_replicator_forged_downlink_on_the_broker_is_refused_and_central_sees_it(tmp_path, broker, peers):
    """Whoever holds central-side broker credentials (a leaked worker password; the ACL lets it
    write configs and beacons) publishes a retained config for a hall (version 2**63-1, new PIN
    hashes) and a time beacon for 2028. Without central's signature the hall takes neither,
    records each refusal, and central receives the refusals like any event."""
    import msgspec

    from sync.kernel.configfile import load_hall_business

    protocol = 5 if broker.kind == "mosquitto" else 4
    central_toml, files = write_campus(tmp_path, ["hall-a"], protocol=protocol)
    db = f"sqlite:///{tmp_path}/central.db"
    central = Central(tmp_path, central_toml, db, broker.url).start()
    edge = Edge(tmp_path, files["hall-a"], "hall-a", broker.url).start()
    try:
        wait_until(lambda: central.get("/api/halls")[0]["online"], 30, what="hall online")
        attacker = peers("central-3").connect(broker.url_for("central-3"))
        _ident, business = load_hall_business(files["hall-a"])
        evil = msgspec.structs.replace(business, version=2**63 - 1, staff=[
            msgspec.structs.replace(s, pin_hash=business.managers[0].password_hash) for s in business.staff])
        forged = wire.ConfigMessage(v=wire.V, hall="hall-a", version=evil.version, business=evil)
        attacker.publish(wire.config_topic("hall-a"), wire.encode(forged), retain=True)
        attacker.publish(wire.TIME_TOPIC, wire.encode(wire.TimeBeacon(v=wire.V, ts=1_830_297_600_000_000)))

        def refused_at_central():
            store = CentralStore(db)
            store.open()
            try:
                rows = [r for r in store.events(hall="hall-a", limit=1000) if r["kind"] == "downlink.refused"]
            finally:
                store.close()
            return rows if len(rows) >= 2 else None

        rows = wait_until(refused_at_central, 30, interval=0.5, what="central to hold the refusals")
        assert {(r["body"]["topic"], r["body"]["reason"]) for r in rows} == {
            (wire.config_topic("hall-a"), "unsigned"), (wire.TIME_TOPIC, "unsigned")}
        assert edge.health()["business_version"] == 1
        assert edge.health()["clock"]["now"].startswith("2026-11-23")  # the simulated clock, untouched
    finally:
        edge.kill()
        central.kill()
