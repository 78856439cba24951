"""`onestop-central backup`: a consistent copy of central's SQLite database while it is being
written; for PostgreSQL the pg_dump command (docs/operations.md)."""

from __future__ import annotations

import sqlite3
import threading

from central.cli import main
from central.store import CentralStore
from tests.central.data import write_config
from tests.conftest import wait_until


def _ids(path, table: str) -> list[int]:
    con = sqlite3.connect(path)
    try:
        return [r[0] for r in con.execute(f"SELECT id FROM {table} ORDER BY id")]
    finally:
        con.close()


def test_backup_central_sqlite_while_written_is_a_consistent_prefix(tmp_path, capsys):
    db = tmp_path / "central.db"
    store = CentralStore(f"sqlite:///{db}")
    store.open()
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            store.quarantine("h-a", "halls/h-a/events", b"x" * 200, f"bad {n}", received=n)
            written.append(n)

    t = threading.Thread(target=writer, name="central-writer")
    t.start()
    try:
        wait_until(lambda: len(written) >= 50, 10, what="50 rows before the backup")
        out = tmp_path / "central-backup.db"
        assert main(["backup", "--db", f"sqlite:///{db}", "--out", str(out)]) == 0
        wait_until(lambda: len(written) >= 50 + 50, 10, what="rows after the backup")
    finally:
        stop.set()
        t.join(10)
        store.close()
    copied, live = _ids(out, "quarantine"), _ids(db, "quarantine")
    assert copied and copied == live[:len(copied)] and len(live) > len(copied)
    assert copied == list(range(1, len(copied) + 1))  # whole transactions, none half-copied
    line = capsys.readouterr().out.strip()
    assert line == f"backed up central's database to {out}: 0 events, schema {CentralStore(f'sqlite:///{out}').schema_version()}"
    copy = CentralStore(f"sqlite:///{out}")
    copy.open()  # the copy is a database central opens as it is
    copy.close()


def test_backup_central_postgresql_names_the_pg_dump_command_and_a_bad_source_is_refused(tmp_path, capsys):
    assert main(["backup", "--db", "postgresql://central@db:5432/onestop", "--out", str(tmp_path / "c.dump")]) == 2
    err = capsys.readouterr().err
    assert "pg_dump --format=custom --file" in err and "postgresql://central@db:5432/onestop" in err
    assert main(["backup", "--db", f"sqlite:///{tmp_path}/missing.db", "--out", str(tmp_path / "c.db")]) == 2
    assert "missing.db does not exist" in capsys.readouterr().err
    assert not (tmp_path / "c.db").exists() and not (tmp_path / "missing.db").exists()
    central = write_config(tmp_path)  # --config: the [db] url of central's configuration
    central.write_text(central.read_text() + f'\n[db]\nurl = "sqlite:///{tmp_path}/cfg.db"\n')
    s = CentralStore(f"sqlite:///{tmp_path}/cfg.db")
    s.open()
    s.close()
    assert main(["backup", "--config", str(central), "--out", str(tmp_path / "nowhere" / "c.db")]) == 2
    assert "nowhere is not a directory (is the backup medium mounted?)" in capsys.readouterr().err
    assert main(["backup", "--config", str(central), "--out", str(tmp_path / "c.db")]) == 0
    assert capsys.readouterr().out.startswith(f"backed up central's database to {tmp_path / 'c.db'}: 0 events")
