"""Backup and restore of the hall's database (edge.store.backup, `onestop-edge backup` /
`restore`) and the nightly copy to a second medium (edge.housekeeping, `[backup]`)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from edge.config import load
from edge.hall import Hall
from edge.housekeeping import tick
from edge.store import Store
from edge.store import backup as bk
from edge.store.log import StoreError
from sync.contract import events as ev
from sync.kernel.clock import ManualClock
from tests.conftest import HALL_TOML, MONDAY_9, SH, wait_until
from tests.edge.test_migrations import rows as tables
from tests.edge.test_restart import Edge

EVENT_COLUMNS = "epoch, seq, id, kind, schema, body, ts, boot, mono, clock"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edge.cli", *args], capture_output=True, text=True, timeout=60)


def events(path: Path, epoch: str | None = None, upto: int | None = None) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        q, args = f"SELECT {EVENT_COLUMNS} FROM events", []
        if epoch is not None:
            q += " WHERE epoch = ? AND seq <= ?"
            args = [epoch, upto if upto is not None else 2**62]
        return con.execute(q + " ORDER BY pos", args).fetchall()
    finally:
        con.close()


def meta(path: Path) -> dict[str, str]:
    con = sqlite3.connect(path)
    try:
        return dict(con.execute("SELECT key, value FROM meta").fetchall())
    finally:
        con.close()


class Issuer(threading.Thread):
    """A kiosk issuing numbers over HTTP as fast as the node answers."""

    def __init__(self, base: str) -> None:
        super().__init__(name="kiosk-issuer", daemon=True)
        self.base, self.numbers, self.errors = base, [], []
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=10) as c:
            while not self.stop.is_set():
                r = c.post("/api/tickets", json={"item": "transcript"})
                if r.status_code == 201:
                    self.numbers.append(r.json()["number"])
                else:
                    self.errors.append(r.text)


@pytest.mark.slow
def test_backup_while_tickets_are_issued_restores_to_the_log_at_its_seq(tmp_path):
    node = Edge(tmp_path)
    node.start()
    issuer = Issuer(node.base)
    out = tmp_path / "usb" / "hall-backup.db"
    out.parent.mkdir()
    try:
        issuer.start()
        wait_until(lambda: len(issuer.numbers) >= 30, 30, what="30 tickets before the backup")
        before = len(issuer.numbers)
        r = cli("backup", "--data-dir", str(node.data), "--out", str(out))
        during = len(issuer.numbers)
        assert r.returncode == 0, r.stderr
        wait_until(lambda: len(issuer.numbers) >= during + 20, 30, what="20 tickets after the backup")
        issuer.stop.set()
        issuer.join(10)
        assert not issuer.errors

        # while the node runs, a restore is refused and changes nothing
        refused = cli("restore", "--data-dir", str(node.data), "--from", str(out))
        assert refused.returncode == 2
        assert refused.stderr.startswith(f"onestop-edge restore: a node is running on {node.data / 'hall.db'} (pid "), \
            refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        assert node.stop() == 0
    finally:
        issuer.stop.set()
        if node.proc and node.proc.poll() is None:
            node.kill()

    live = node.data / "hall.db"
    snap = bk.read(out)
    assert r.stdout.strip() == (f"backed up hall test-hall to {out}: epoch {snap.epoch} up to seq {snap.seq} "
                                f"({snap.events} events, schema {snap.schema})")
    copied = events(out)
    # the copy is the live log up to the backup's seq: a prefix, taken while tickets were issued
    assert copied == events(live, snap.epoch, snap.seq) and copied == events(live)[:len(copied)]
    issued_in_copy = sum(1 for e in copied if e[3] == "ticket.issued")
    assert before <= issued_in_copy <= during + 1 and len(events(live)) > len(copied)
    assert {e[0] for e in events(live)} == {snap.epoch}

    # the copy's projections are those of its log (rebuilt from it, they come out equal)
    probe = tmp_path / "probe.db"
    bk.backup(out, probe)
    s = Store(probe, "test-hall", ManualClock(MONDAY_9))
    s.open()
    try:
        projected = tables(probe)
        s.ensure_windows({w[0]: w[1] for w in projected["windows"]})
        s.rebuild()
    finally:
        s.close()
    assert tables(probe) == projected

    # restore it into the stopped node's data directory
    live_events = events(live)
    r = cli("restore", "--data-dir", str(node.data), "--from", str(out))
    assert r.returncode == 0, r.stderr
    m = meta(live)
    new = m["epoch"]
    assert new != snap.epoch and m[f"epoch-from:{new}"] == snap.epoch
    assert events(live) == copied
    kept = sorted(node.data.glob("hall.db.before-restore-*"))
    assert kept and events(kept[0]) == live_events  # the replaced database, kept whole
    assert f"new events start epoch {new}; the replaced database is kept as {kept[0]}" in r.stdout

    # the node runs on the restored copy; new events go to the new epoch
    node.start()
    try:
        t = httpx.post(node.base + "/api/tickets", json={"item": "transcript"}, timeout=10)
        assert t.status_code == 201
        assert node.stop() == 0
    finally:
        if node.proc and node.proc.poll() is None:
            node.kill()
    after = events(live)
    assert after[:len(copied)] == copied
    assert [(e[0], e[1]) for e in after[len(copied):]][0] == (new, 1)
    assert all(e[0] == new for e in after[len(copied):])


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "data" / "hall.db"
    s = Store(path, "test-hall", ManualClock(MONDAY_9))
    s.open()
    s.ensure_windows({"W1": "academic"})
    with s.atomic():
        s.append(ev.TicketIssued(ticket="t1", number="A001", department="academic", item="transcript",
                                 service_date="2026-11-23"))
    s.close()
    return path


def test_restore_refuses_another_halls_copy_and_a_bad_file_changing_nothing(db, tmp_path):
    other = tmp_path / "other" / "hall.db"
    s = Store(other, "other-hall", ManualClock(MONDAY_9))
    s.open()
    s.close()
    before = tables(db)
    now = datetime(2026, 11, 24, 3, 0, tzinfo=SH)
    with pytest.raises(StoreError, match="is a backup of hall 'other-hall' but .* belongs to hall 'test-hall'"):
        bk.restore(db, other, now)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="junk.db"):
        bk.restore(db, junk, now)
    with pytest.raises(StoreError, match="does not exist"):
        bk.restore(db, tmp_path / "missing.db", now)
    assert tables(db) == before and not list(db.parent.glob("*.before-restore-*"))


def test_restore_into_an_empty_data_dir_starts_a_new_epoch(db, tmp_path):
    copy = tmp_path / "copy.db"
    snap = bk.backup(db, copy)
    fresh = tmp_path / "new-sd" / "hall.db"
    done = bk.restore(fresh, copy, datetime(2026, 11, 24, 3, 0, tzinfo=SH))
    assert done.kept == [] and done.copy == snap and meta(fresh)["epoch"] == done.epoch != snap.epoch
    s = Store(fresh, "test-hall", ManualClock(MONDAY_9))
    s.open()  # a node opens it; the restore's lock is gone
    try:
        assert s.epoch == done.epoch and s.epochs() == [(snap.epoch, 1), (done.epoch, 0)]
        assert s.ticket("t1").number == "A001"
    finally:
        s.close()


def test_restore_is_refused_while_a_store_has_the_database_open(db, tmp_path):
    copy = tmp_path / "copy.db"
    bk.backup(db, copy)
    s = Store(db, "test-hall", ManualClock(MONDAY_9))
    s.open()
    try:
        with pytest.raises(StoreError, match=r"a node is running on .*hall.db \(pid \d+ holds"):
            bk.restore(db, copy, datetime(2026, 11, 24, 3, 0, tzinfo=SH))
    finally:
        s.close()


# ---------------------------------------------------------------- the nightly copy


@pytest.fixture
def usb(tmp_path):
    d = tmp_path / "usb"
    d.mkdir()
    return d


@pytest.fixture
def nightly(tmp_path, usb):
    conf = tmp_path / "hall.toml"
    conf.write_text(HALL_TOML + f'\n[backup]\ndir = "{usb}"\nkeep = 2\nat = "02:30"\n', encoding="utf-8")
    clock = ManualClock(datetime(2026, 11, 23, 1, 0, tzinfo=SH))
    h = Hall(load(conf), tmp_path / "data", clock)
    h.start()
    yield h, clock
    h.stop()


def test_backup_nightly_copy_at_its_time_once_a_day_keeping_the_newest(nightly, usb):
    hall, clock = nightly
    assert "backup" in hall.call(tick) and hall.call(tick)["backup"] is None  # 01:00: not yet
    assert list(usb.iterdir()) == []
    made = []
    for day in range(4):
        clock.set(datetime(2026, 11, 23 + day, 2, 30, tzinfo=SH))
        done = hall.call(tick)["backup"]
        assert done["file"] == str(usb / f"test-hall-202611{23 + day}-0230.db")
        made.append(done["file"])
        clock.advance(hours=3)
        assert hall.call(tick)["backup"] is None  # once a day
        assert sorted(str(p) for p in usb.iterdir()) == made[-2:]  # keep = 2
        snap = bk.read(Path(done["file"]))
        assert (snap.hall, snap.seq) == ("test-hall", done["seq"])


def test_backup_nightly_copy_with_the_medium_missing_is_reported_and_writes_nothing(nightly, usb):
    hall, clock = nightly
    usb.rmdir()  # the stick is not mounted
    clock.set(datetime(2026, 11, 23, 2, 45, tzinfo=SH))
    done = hall.call(tick)["backup"]
    assert "is not a directory: is the backup medium mounted?" in done["error"]
    assert not usb.exists()
    assert "is not a directory" in hall.call(lambda ctx: ctx.store.meta("backup:error"))
    clock.advance(hours=1)
    assert hall.call(tick)["backup"] is None  # one attempt a day
    usb.mkdir()
    clock.advance(days=1)
    assert hall.call(tick)["backup"]["file"].startswith(str(usb))


def test_backup_config_dir_must_be_absolute(tmp_path):
    from edge.config import ConfigError

    conf = tmp_path / "hall.toml"
    conf.write_text(HALL_TOML + '\n[backup]\ndir = "usb"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\$\.backup\.dir: must be an absolute path"):
        load(conf)
