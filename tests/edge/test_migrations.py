"""The hall database's numbered migrations (edge.store.migrations): every earlier schema opens
with today's code without losing anything, each migration runs once and in one transaction,
and a database newer than the code is refused with one line."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from edge.store import Store, migrations
from edge.store.log import StoreError
from sync.kernel.clock import ManualClock
from tests.conftest import HALL_TOML, MONDAY_9

FIXTURES = Path(__file__).parent / "fixtures"
EARLIER = sorted(FIXTURES.glob("hall-v*.db"))


def rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table of the database at `path`, sorted, read with plain sqlite3."""
    con = sqlite3.connect(path)
    try:
        names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {n: sorted(con.execute(f'SELECT * FROM "{n}"').fetchall(), key=repr) for n in names}
    finally:
        con.close()


def structure(path: Path) -> dict[str, tuple]:
    """Each table's columns (name, type, not null, default, key) and indexes (name, unique,
    columns): the schema as a comparison that does not depend on how a column was added."""
    con = sqlite3.connect(path)
    try:
        out = {}
        for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"):
            cols = tuple(r[1:] for r in con.execute(f'PRAGMA table_info("{n}")'))
            idx = tuple(sorted(
                (i[1], i[2], tuple(c[2] for c in con.execute(f'PRAGMA index_info("{i[1]}")')))
                for i in con.execute(f'PRAGMA index_list("{n}")')))
            out[n] = (cols, idx)
        return out
    finally:
        con.close()


def hall_of(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT value FROM meta WHERE key = 'hall'").fetchone()[0]
    finally:
        con.close()


def opened(path: Path) -> Store:
    s = Store(path, hall_of(path), ManualClock(MONDAY_9))
    s.open()
    return s


@pytest.fixture
def fresh(tmp_path):
    """A new database after all migrations."""
    path = tmp_path / "fresh" / "hall.db"
    s = Store(path, "test-hall", ManualClock(MONDAY_9))
    s.open()
    s.close()
    return path


def test_migrations_there_is_a_fixture_of_every_earlier_schema():
    versions = sorted(int(p.stem.split("-v")[1]) for p in EARLIER)
    assert versions == list(range(1, migrations.latest() + 1))[:len(versions)] and versions
    # the last release's schema is either today's or has its fixture
    assert versions[-1] >= migrations.latest() - 1


@pytest.mark.parametrize("fixture", EARLIER, ids=lambda p: p.stem)
def test_migrations_upgrade_from_every_earlier_schema_keeps_everything(fixture, fresh, tmp_path):
    path = tmp_path / "hall.db"
    shutil.copy(fixture, path)
    before = rows(path)
    assert before["events"], "a fixture holds a log"
    found = int(fixture.stem.split("-v")[1])
    s = opened(path)
    try:
        assert s.schema == (found, migrations.latest()) and s.schema_version() == migrations.latest()
        assert s.last_seq == len(before["events"])
    finally:
        s.close()
    after = rows(path)
    for table, old in before.items():  # nothing lost: every row of every earlier table is there
        if table == "meta":  # kept, plus the keys a newer hall makes on opening (edge.phone's link key)
            assert set(old) <= set(after[table]) and {k for k, _ in set(after[table]) - set(old)} <= {"link-key"}
        elif table != migrations.VERSION_TABLE:
            assert after[table] == old, table
    stamped = after[migrations.VERSION_TABLE]
    assert [v for v, _, _ in stamped] == list(range(1, migrations.latest() + 1))
    assert structure(path) == structure(fresh)  # an upgraded database is a new one's equal

    s = opened(path)  # projections rebuilt from the upgraded log equal the upgraded projections
    try:
        s.ensure_windows({w[0]: w[1] for w in after["windows"]})  # the configured windows, as the hall does
        s.rebuild()
    finally:
        s.close()
    assert rows(path) == after


def test_migrations_a_database_from_before_migrations_is_stamped_version_1(tmp_path):
    path = tmp_path / "hall.db"
    shutil.copy(FIXTURES / "hall-v1.db", path)
    assert migrations.VERSION_TABLE not in rows(path)
    opened(path).close()
    (v, name, applied), = rows(path)[migrations.VERSION_TABLE][:1]
    assert v == 1 and name == migrations.MIGRATIONS[0][1] and applied > 0


def _synthetic(calls: list[str]):
    """A migration 2 of the shape a real one has: a new table filled from the log."""
    def m2(store) -> None:
        calls.append("m2")
        store.db.execute_sql("CREATE TABLE tickets_per_department (department TEXT PRIMARY KEY, n INTEGER NOT NULL)")
        store.db.execute_sql("INSERT INTO tickets_per_department SELECT department, COUNT(*) FROM tickets "
                             "GROUP BY department")
    return m2


def test_migrations_a_new_migration_runs_once_in_order_and_is_recorded(tmp_path, monkeypatch):
    path = tmp_path / "hall.db"
    shutil.copy(FIXTURES / "hall-v1.db", path)
    calls: list[str] = []
    real = list(migrations.MIGRATIONS)
    n = migrations.latest() + 1  # the synthetic migration comes after today's real ones
    monkeypatch.setattr(migrations, "MIGRATIONS", [*real, (n, "tickets per department", _synthetic(calls))])
    before = rows(path)
    s = opened(path)
    assert s.schema == (1, n) and s.schema_version() == n
    s.close()
    opened(path).close()  # a second open finds nothing to do
    assert calls == ["m2"]
    after = rows(path)
    assert [(v, name) for v, name, _ in after[migrations.VERSION_TABLE]] == [
        *((v, name) for v, name, _ in real), (n, "tickets per department")]
    con = sqlite3.connect(FIXTURES / "hall-v1.db")
    per_dept = dict(con.execute("SELECT department, COUNT(*) FROM tickets GROUP BY department").fetchall())
    con.close()
    assert dict(after["tickets_per_department"]) == per_dept
    assert after["events"] == before["events"] and after["tickets"] == before["tickets"]


def test_migrations_a_failing_migration_changes_nothing(tmp_path, monkeypatch):
    """All pending migrations and their records commit together or not at all."""
    path = tmp_path / "hall.db"
    shutil.copy(FIXTURES / "hall-v1.db", path)
    before = rows(path)

    def m3(store) -> None:
        store.db.execute_sql("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("migration 3 failed half way")

    n = migrations.latest() + 1
    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, (n, "ok", _synthetic([])), (n + 1, "bad", m3)])
    s = Store(path, "test-hall", ManualClock(MONDAY_9))
    with pytest.raises(RuntimeError, match="half way"):
        s.open()
    assert rows(path) == before  # not even the stamp of version 1
    monkeypatch.undo()
    opened(path).close()  # today's code opens it as before


def _newer(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    path = data / "hall.db"
    shutil.copy(FIXTURES / "hall-v1.db", path)
    opened(path).close()
    con = sqlite3.connect(path)
    con.execute(f"INSERT INTO {migrations.VERSION_TABLE} VALUES (?, 'from the future', 0)", (migrations.latest() + 1,))
    con.commit()
    con.close()
    return path


def test_migrations_a_database_newer_than_the_code_is_refused(tmp_path):
    path = _newer(tmp_path)
    before = rows(path)
    s = Store(path, "test-hall", ManualClock(MONDAY_9))
    with pytest.raises(StoreError) as e:
        s.open()
    text = str(e.value)
    assert "\n" not in text and str(path) in text
    assert f"schema version {migrations.latest() + 1}" in text and f"(schema {migrations.latest()})" in text
    assert rows(path) == before


def test_migrations_onestop_edge_refuses_a_newer_database_with_one_line_and_exit_2(tmp_path):
    path = _newer(tmp_path)
    conf = tmp_path / "test-hall.toml"
    conf.write_text(HALL_TOML, encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "edge.cli", "--config", str(conf), "--data-dir", str(path.parent),
                        "--no-sync", "--http", "127.0.0.1:0"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"onestop-edge: {path} has schema version"), r.stderr
