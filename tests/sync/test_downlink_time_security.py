"""Config downlink, time corrections, clock jumps, per-hall credentials and TLS — with real
brokers and processes."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone

import paho.mqtt.client as paho
import pytest

from central.store import CentralStore
from sync.contract import wire
from tests.brokers import MosquittoBroker, make_test_ca
from tests.sync.harness import ROOT, Central, Edge, Traffic, assert_converged, wait_until, write_campus

pytestmark = pytest.mark.slow


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


def test_downlink_newer_config_applied_older_refused_kept_offline(tmp_path, broker):
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


def test_time_wrong_clock_offline_cold_start_is_corrected_and_rebased(tmp_path, mosquitto):
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


def test_time_clock_jumps_do_not_disturb_the_log(tmp_path, mosquitto):
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


def test_security_per_hall_credentials_and_acl(tmp_path):
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


def test_security_tls(tmp_path):
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
