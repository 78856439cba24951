"""`onestop-edge doctor` finds each injected fault against the real parts: a pseudo-terminal pair
for the badge reader, gpiozero's MockFactory for the pins, the secure test broker (the password
file and ACL `onestop-central broker-config` writes), a real SQLite file and a real read-only
mount."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from devices.frames import rdm6300_frame
from devices.ptyport import PtyPort
from edge import doctor
from sync.contract import wire
from sync.contract.signing import Signer
from sync.mqtt import parse_broker_url
from tests.brokers import MosquittoBroker, password_for, require_mosquitto
from tests.conftest import HALL_TOML, MONDAY_9, SIGNER

# one xdist worker runs this file in order (its module-scoped fixtures are shared; `make test`)
pytestmark = pytest.mark.xdist_group("edge.test_doctor")

HALL = "test-hall"


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    require_mosquitto()
    b = MosquittoBroker(tmp_path_factory.mktemp("doctor-broker")).start()
    yield b
    b.close()


@pytest.fixture(scope="module")
def central_link(broker):
    """A central-side client (user central-3) that publishes what central signs."""
    link = parse_broker_url(broker.url_for("central-3")).open("central-3", protocol=5)
    link.start()
    assert link.wait_connected(10)
    yield link
    link.stop()


def write_hall(tmp_path: Path, broker=None, *, password: str | None = None, extra: str = "",
               public_key: str | None = None) -> Path:
    text = HALL_TOML
    if public_key is not None:
        text = text.replace(SIGNER.public_key, public_key)
    if broker is not None:
        text += (f'\n[broker]\nurl = "{broker.url}"\nusername = "{HALL}"\n'
                 f'password = "{password if password is not None else password_for(HALL)}"\n')
    path = tmp_path / "hall.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def make_database(config_path: Path, data_dir: Path) -> Path:
    from edge.config import load
    from edge.hall import Hall
    from sync.kernel.clock import ManualClock

    hall = Hall(load(config_path), data_dir, ManualClock(MONDAY_9))
    hall.start()
    hall.stop()
    return data_dir / "hall.db"


def by_name(checks: list[doctor.Check]) -> dict[str, doctor.Check]:
    return {c.name: c for c in checks}


def opts(tmp_path: Path, **kw) -> doctor.Options:
    kw.setdefault("data_dir", tmp_path / "data")
    kw.setdefault("wait", 0.0)
    kw.setdefault("listen", 0.3)
    kw.setdefault("min_free_mb", 1)
    return doctor.Options(**kw)


class Beacons:
    """Central's time beacon, signed, every 50 ms (as central's beacon thread, faster)."""

    def __init__(self, link, skew_us: int = 0) -> None:
        self.link, self.skew_us = link, skew_us
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.05):
            ts = time.time_ns() // 1000 + self.skew_us
            body = wire.encode(wire.TimeBeacon(v=wire.V, ts=ts))
            self.link.publish(wire.TIME_TOPIC, SIGNER.seal(wire.TIME_TOPIC, body), qos=0)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)


def test_doctor_healthy_hall_every_check_passes_and_the_key_verifies(tmp_path, broker, central_link):
    hall_file = write_hall(tmp_path, broker)
    make_database(hall_file, tmp_path / "data")
    topic = wire.config_topic(HALL)
    central_link.publish(topic, SIGNER.seal(topic, b"a configuration"), retain=True)
    with Beacons(central_link):
        checks = doctor.run(hall_file, opts(tmp_path, wait=5.0))
    lines = "\n".join(c.line() for c in checks)
    assert not any(c.failed for c in checks), lines
    found = by_name(checks)
    assert "passes quick_check" in found["database"].detail
    assert found["broker"].mark == doctor.OK
    assert found["broker acl"].mark == doctor.OK and "publishing refused too" in found["broker acl"].detail
    assert found["central key"].mark == doctor.OK and "verifies" in found["central key"].detail
    assert "offset to central's beacon" in found["clock"].detail
    assert found["serial"].mark == doctor.SKIP and found["gpio"].mark == doctor.SKIP


def test_doctor_wrong_broker_password_fails_naming_the_credentials(tmp_path, broker):
    hall_file = write_hall(tmp_path, broker, password="not-the-password")
    found = by_name(doctor.run(hall_file, opts(tmp_path)))
    assert found["broker"].failed
    assert "username/password" in found["broker"].fix
    assert "broker acl" not in found


def test_doctor_unreachable_broker_fails(tmp_path):
    from tests.brokers import free_port

    hall_file = write_hall(tmp_path, extra=f'\n[broker]\nurl = "mqtt://127.0.0.1:{free_port()}"\n')
    found = by_name(doctor.run(hall_file, opts(tmp_path)))
    assert found["broker"].failed and "cannot reach" in found["broker"].detail


def test_doctor_acl_that_lets_a_hall_reach_another_halls_topics_fails(tmp_path):
    require_mosquitto()
    from central import brokerconf

    auth = brokerconf.write_files(tmp_path / "auth", {HALL: password_for(HALL)}, [HALL], [], amqtt=False)
    acl = tmp_path / "loose.acl"
    acl.write_text(f"user {HALL}\ntopic readwrite {wire.ROOT}/#\n")
    with MosquittoBroker(tmp_path / "loose", password_file=auth.passwd, acl_file=acl,
                         conf_extra="") as loose:
        hall_file = write_hall(tmp_path, loose)
        found = by_name(doctor.run(hall_file, opts(tmp_path)))
    assert found["broker"].mark == doctor.OK
    acl_check = found["broker acl"]
    assert acl_check.failed, acl_check.line()
    assert f"may read {wire.ack_topic(doctor.OTHER_HALL)}" in acl_check.detail
    assert f"may publish to {wire.events_topic(doctor.OTHER_HALL)}" in acl_check.detail
    assert "broker-config" in acl_check.fix


def test_doctor_reads_the_bookings_topic_and_checks_centrals_key_on_it(tmp_path, broker, central_link):
    """The doctor subscribes to the hall's bookings topic (central's retained, signed
    `AppointmentsMessage`) as to its config: with only bookings retained, it verifies central's
    key on them, and a wrong key fails naming that topic."""
    config, booked = wire.config_topic(HALL), wire.appointments_topic(HALL)
    central_link.publish(config, b"", retain=True)  # an empty retained message clears the topic
    central_link.publish(booked, SIGNER.seal(booked, b"bookings"), retain=True)
    try:
        good = by_name(doctor.run(write_hall(tmp_path, broker), opts(tmp_path, wait=1.0)))
        bad = by_name(doctor.run(write_hall(tmp_path, broker, public_key=Signer.generate().public_key),
                                 opts(tmp_path, wait=1.0)))
    finally:
        central_link.publish(booked, b"", retain=True)
    assert good["broker acl"].mark == doctor.OK, good["broker acl"].line()
    assert good["central key"].mark == doctor.OK and booked in good["central key"].detail
    assert bad["central key"].failed and booked in bad["central key"].detail
    assert "unknown_key" in bad["central key"].detail


def test_doctor_key_that_does_not_verify_centrals_message_fails(tmp_path, broker, central_link):
    topic = wire.config_topic(HALL)
    central_link.publish(topic, SIGNER.seal(topic, b"a configuration"), retain=True)
    hall_file = write_hall(tmp_path, broker, public_key=Signer.generate().public_key)
    found = by_name(doctor.run(hall_file, opts(tmp_path, wait=1.0)))
    assert found["central key"].failed and "unknown_key" in found["central key"].detail


def test_doctor_missing_serial_port_fails_with_the_fix(tmp_path):
    extra = f'\n[[devices.readers]]\nname = "hall-reader"\nport = "{tmp_path}/ttyNOPE"\n'
    found = by_name(doctor.run(write_hall(tmp_path, extra=extra), opts(tmp_path, no_sync=True)))
    check = found["serial hall-reader"]
    assert check.failed and "does not open" in check.detail and "dialout" in check.fix


def test_doctor_serial_reader_opens_and_sees_frames(tmp_path):
    port = PtyPort(tmp_path / "ttyREADER")
    stop = threading.Event()

    def present_card() -> None:
        while not stop.wait(0.05):
            port.write(rdm6300_frame("0A1B2C3D4E"))

    extra = f'\n[[devices.readers]]\nname = "hall-reader"\nport = "{port.path}"\n'
    hall_file = write_hall(tmp_path, extra=extra)
    try:
        idle = by_name(doctor.run(hall_file, opts(tmp_path, no_sync=True)))["serial hall-reader"]
        feeder = threading.Thread(target=present_card, daemon=True)
        feeder.start()
        busy = by_name(doctor.run(hall_file, opts(tmp_path, no_sync=True, listen=5.0)))["serial hall-reader"]
    finally:
        stop.set()
        port.close()
    assert idle.mark == doctor.OK and "no frame yet" in idle.detail
    assert busy.mark == doctor.OK and "frame(s)" in busy.detail


def test_doctor_gpio_pins_on_the_mock_factory(tmp_path):
    extra = ('\n[devices.pins]\nlamp-W1 = { pin = 17, role = "lamp", window = "W1" }\n'
             'door-main = { pin = "GPIO24", role = "door" }\n'
             'bad = { pin = "BOARD1", role = "power" }\n')  # BOARD1 is the 3V3 supply pin, no GPIO line
    checks = doctor.run(write_hall(tmp_path, extra=extra), opts(tmp_path, no_sync=True, simulate=True))
    found = by_name(checks)
    assert found["gpio factory"].mark == doctor.OK and found["gpio factory"].detail == "MockFactory"
    assert found["gpio lamp-W1"].mark == doctor.OK and found["gpio door-main"].mark == doctor.OK
    assert found["gpio bad"].failed and "BOARD1" in found["gpio bad"].detail
    assert "$.devices.pins.bad.pin" in found["gpio bad"].fix


def test_doctor_pin_collision_names_the_file_and_field(tmp_path):
    extra = ('\n[devices.pins]\nlamp-W1 = { pin = 17, role = "lamp", window = "W1" }\n'
             'door-main = { pin = "GPIO17", role = "door" }\n')
    checks = doctor.run(write_hall(tmp_path, extra=extra), opts(tmp_path, no_sync=True, simulate=True))
    assert len(checks) == 1 and checks[0].failed
    assert "hall.toml" in checks[0].detail and "$.devices.pins.door-main.pin" in checks[0].detail


def test_doctor_read_only_data_dir_fails(tmp_path):
    data = tmp_path / "ro"
    data.mkdir()
    mounted = False
    if os.geteuid() == 0:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(data)], capture_output=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a read-only tmpfs: {r.stderr.decode().strip()}")
        mounted = True
    else:
        data.chmod(0o555)
    try:
        found = by_name(doctor.run(write_hall(tmp_path), opts(tmp_path, data_dir=data, no_sync=True)))
    finally:
        if mounted:
            subprocess.run(["umount", str(data)], check=True)
        else:
            data.chmod(0o755)
    assert found["data dir"].failed and "cannot be written" in found["data dir"].detail


def test_doctor_too_little_free_space_fails(tmp_path):
    found = by_name(doctor.run(write_hall(tmp_path), opts(tmp_path, no_sync=True, min_free_mb=10**9)))
    assert found["data dir"].failed and "free" in found["data dir"].detail


def test_doctor_corrupt_database_fails(tmp_path):
    hall_file = write_hall(tmp_path)
    db = make_database(hall_file, tmp_path / "data")
    ok = by_name(doctor.run(hall_file, opts(tmp_path, no_sync=True)))["database"]
    assert ok.mark == doctor.OK
    with db.open("r+b") as f:  # damage the pages past the header: the b-trees no longer parse
        size = db.stat().st_size
        f.seek(4096)
        f.write(os.urandom(size - 4096))
    bad = by_name(doctor.run(hall_file, opts(tmp_path, no_sync=True)))["database"]
    assert bad.failed and "restore" in bad.fix
    db.write_bytes(b"this is not a database" * 300)
    worse = by_name(doctor.run(hall_file, opts(tmp_path, no_sync=True)))["database"]
    assert worse.failed


def test_doctor_clock_before_the_time_floor_fails(tmp_path):
    hall_file = write_hall(tmp_path)
    db = make_database(hall_file, tmp_path / "data")
    future = time.time_ns() // 1000 + 3 * 86400 * 10**6
    with sqlite3.connect(db) as con:
        con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('time_floor', ?)", (str(future),))
    con.close()
    found = by_name(doctor.run(hall_file, opts(tmp_path, no_sync=True)))
    assert found["clock"].failed and "before the latest trusted time" in found["clock"].detail


def test_doctor_clock_skewed_from_centrals_beacon_fails(tmp_path, broker, central_link):
    hall_file = write_hall(tmp_path, broker)
    with Beacons(central_link, skew_us=-3600 * 10**6):  # central is an hour behind this box
        found = by_name(doctor.run(hall_file, opts(tmp_path, wait=5.0)))
    assert found["clock"].failed and "+3600" in found["clock"].detail, found["clock"].line()


def test_doctor_cli_prints_one_line_per_check_and_exits_1_on_a_fault(tmp_path):
    extra = f'\n[[devices.readers]]\nname = "hall-reader"\nport = "{tmp_path}/ttyNOPE"\n'
    hall_file = write_hall(tmp_path, extra=extra)
    cmd = [sys.executable, "-m", "edge.cli", "doctor", "--config", str(hall_file), "--data-dir",
           str(tmp_path / "data"), "--no-sync", "--listen", "0.2", "--min-free-mb", "1"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[2])
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("✔ config:")
    assert any(line.startswith("✗ serial hall-reader:") and "— fix:" in line for line in lines)
    assert lines[-1] == "1 problem(s) found"
    assert "Traceback" not in r.stderr
    good = subprocess.run(cmd[:4] + ["--config", str(write_hall(tmp_path)), *cmd[6:]], capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).parents[2])
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.splitlines()[-1] == "no problem found"


def test_doctor_database_schema_current_or_newer_than_the_code(tmp_path):
    """The database line names the schema version the migrations recorded; a database written by
    a newer release fails (the node would refuse to open it)."""
    import sqlite3

    from edge.store import migrations

    hall_file = write_hall(tmp_path)
    db = make_database(hall_file, tmp_path / "data")
    ok = by_name(doctor.run(hall_file, opts(tmp_path, no_sync=True)))["database"]
    assert ok.mark == doctor.OK and f"schema {migrations.latest()} (current)" in ok.detail
    con = sqlite3.connect(db)
    with con:
        con.execute(f"INSERT INTO {migrations.VERSION_TABLE} (version, name, applied) VALUES (?, 'future', 0)",
                    (migrations.latest() + 1,))
    con.close()
    newer = by_name(doctor.run(hall_file, opts(tmp_path, no_sync=True)))["database"]
    assert newer.failed and "newer than this code" in newer.detail
