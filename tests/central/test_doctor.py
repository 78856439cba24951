"""`onestop-central doctor` against real parts: the secure test broker (central's credentials
from broker-config), a real SQLite database (migrations applied, missing or newer), halls seen
or not."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from central import doctor
from central.store import CentralStore
from sync.contract import wire
from tests.brokers import MosquittoBroker, require_mosquitto
from tests.sync.harness import write_campus

# one xdist worker runs this file in order (its module-scoped fixtures are shared; `make test`)
pytestmark = pytest.mark.xdist_group("central.test_doctor")

HALLS = ["hall-a", "hall-b"]


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    require_mosquitto()
    b = MosquittoBroker(tmp_path_factory.mktemp("central-doctor-broker")).start()
    yield b
    b.close()


def campus(tmp_path: Path, broker, password: str | None = None) -> tuple[Path, str]:
    db = f"sqlite:///{tmp_path}/central.db"
    extra = f'url = "{broker.url}"\n' + (f'password = "{password}"\n' if password else "") + f'\n[db]\nurl = "{db}"\n'
    central, _ = write_campus(tmp_path, HALLS, central_broker_extra=extra)
    if password:  # the later `password` key wins over write_campus's: TOML refuses duplicates, so replace
        text = central.read_text(encoding="utf-8")
        text = text.replace('password = "central-secret"\n', "", 1)
        central.write_text(text, encoding="utf-8")
    return central, db


def status(hall: str, ts: int) -> bytes:
    return wire.encode(wire.Status(v=wire.V, hall=hall, state="online", epoch="e1", last_seq=0, acked_seq=0,
                                   backlog=0, config_version=1, clock={}, ts=ts, campus="test"))


def by_name(checks):
    return {c.name: c for c in checks}


def test_central_doctor_healthy_and_hall_faults(tmp_path, broker):
    central, db = campus(tmp_path, broker)
    before = by_name(doctor.run(central))
    assert before["config"].mark == doctor.OK and before["signing key"].mark == doctor.OK
    assert before["database"].mark == doctor.SKIP and before["halls"].mark == doctor.SKIP
    assert before["broker"].mark == doctor.OK, before["broker"].line()

    store = CentralStore(db)
    store.open()
    now = time.time_ns() // 1000
    store.hall_status("hall-a", status("hall-a", now), now)
    store.close()
    found = by_name(doctor.run(central))
    assert found["database"].mark == doctor.OK and "(current)" in found["database"].detail
    assert found["hall hall-a"].mark == doctor.OK and "online" in found["hall hall-a"].detail
    assert found["hall hall-b"].failed and "never seen" in found["hall hall-b"].detail
    later = by_name(doctor.run(central, doctor.Options(now_us=lambda: now + 3600 * 10**6)))
    assert later["hall hall-a"].failed and "last seen 60 min ago" in later["hall hall-a"].detail


def test_central_doctor_migrations_pending_or_newer_fail(tmp_path, broker):
    central, db = campus(tmp_path, broker)
    store = CentralStore(db)
    store.open()
    store.close()
    path = db[len("sqlite:///"):]
    with sqlite3.connect(path) as con:
        newest = con.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
        con.execute("DELETE FROM schema_migrations WHERE version = ?", (newest,))
    con.close()
    pending = by_name(doctor.run(central))["database"]
    assert pending.failed and "1 migration(s) pending" in pending.detail
    with sqlite3.connect(path) as con:
        con.execute("INSERT INTO schema_migrations (version, name, applied) VALUES (?, 'x', 0), (999, 'future', 0)",
                    (newest,))
    con.close()
    newer = by_name(doctor.run(central))["database"]
    assert newer.failed and "newer than this code" in newer.detail


def test_central_doctor_wrong_broker_password_and_unreadable_key(tmp_path, broker):
    central, _ = campus(tmp_path, broker, password="wrong")
    (tmp_path / "keys" / "central.key").write_text("not a key")
    found = by_name(doctor.run(central))
    assert found["broker"].failed and "username/password" in found["broker"].fix
    assert found["signing key"].failed


def test_central_doctor_cli_exit_code(tmp_path, broker):
    central, _ = campus(tmp_path, broker)
    cmd = [sys.executable, "-m", "central.cli", "doctor", "--config", str(central)]
    root = Path(__file__).parents[2]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == "no problem found"
    bad = subprocess.run(cmd + ["--db", "postgresql://nobody@127.0.0.1:1/none"], capture_output=True, text=True,
                         timeout=60, cwd=root)
    assert bad.returncode == 1 and any(x.startswith("✗ database:") for x in bad.stdout.splitlines())
    assert "Traceback" not in bad.stderr
