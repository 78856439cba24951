"""Backing up and restoring the hall's database (`onestop-edge backup` / `restore`, and the
nightly copy of `edge.housekeeping`).

A backup is a consistent copy made while the node runs (`sync.kernel.sqlitecopy`): the log up
to some seq of the current epoch, with the projections of exactly that log. A restore puts
such a copy in place of the database, but only while no node has the database open (every
open store holds a shared lock on `hall.db.lock`; the restore needs it alone), keeps the
database it replaces aside (`hall.db.before-restore-<time>`), and starts a new epoch in the
restored copy: central may already hold later events of the copy's epoch, so new events must
never reuse those seqs (docs/sync.md, "Epochs" — the same rule the replicator applies when it
finds out by itself). The copy's own events keep their epoch and seq; the replicator sends
what central lacks and central ignores what it holds.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sqlite3
from datetime import datetime
from pathlib import Path

import msgspec

from sync.kernel.sqlitecopy import CopyError, copy_database

from . import migrations
from .log import StoreError, lock_path, new_epoch


class Snapshot(msgspec.Struct, frozen=True):
    """What a copy of a hall database holds."""

    hall: str
    epoch: str
    seq: int  # last seq of `epoch` in the copy
    events: int  # all epochs
    schema: int


def describe(con: sqlite3.Connection, name: Path | str) -> Snapshot:
    """The hall, epoch and last seq of a hall database; StoreError if it is none."""
    try:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        epoch = meta["epoch"]
        seq = con.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE epoch = ?", (epoch,)).fetchone()[0]
        events = con.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        return Snapshot(hall=meta["hall"], epoch=epoch, seq=seq, events=events,
                        schema=migrations.read_version(con.execute))
    except (sqlite3.Error, KeyError) as e:
        raise StoreError(f"{name} is not a hall database ({e})") from None


def backup(db: Path, out: Path) -> Snapshot:
    """Copy the hall database `db` (running or not) to `out`, consistently. Raises StoreError."""
    if not Path(db).is_file():
        raise StoreError(f"{db} does not exist: is --data-dir the node's data directory?")
    try:
        return copy_database(db, out, lambda con: describe(con, db))
    except CopyError as e:
        raise StoreError(str(e)) from None


def read(path: Path) -> Snapshot:
    """What the hall database at `path` holds (read only, checked); StoreError if unusable."""
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"{path} does not exist")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise StoreError(f"{path} cannot be opened ({e})") from None
    try:
        try:
            check = con.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.Error as e:
            raise StoreError(f"{path} is not a hall database ({e})") from None
        if check != "ok":
            raise StoreError(f"{path} fails its integrity check: {check}")
        return describe(con, path)
    finally:
        con.close()


def holder(db: Path) -> str:
    """Who holds the store's lock, as its lock file says (a pid), for a message."""
    try:
        pid = lock_path(db).read_text().strip()
    except OSError:
        return "a process"
    return f"pid {pid}" if pid else "a process"


class Restored(msgspec.Struct, frozen=True):
    copy: Snapshot
    epoch: str  # the new epoch the hall writes in from now on
    kept: list[str]  # where the replaced database's files went (empty: there was none)


def restore(db: Path, source: Path, now: datetime) -> Restored:
    """Put the backup `source` in place of the hall database `db`. Raises StoreError, having
    changed nothing, when a node has `db` open, when `source` is not a usable hall database
    (or one newer than this code), or when `db` belongs to another hall."""
    db, source = Path(db), Path(source)
    copy = read(source)
    if copy.schema > migrations.latest():
        raise StoreError(f"{source} has schema version {copy.schema}, newer than this hall's code "
                         f"(schema {migrations.latest()}): restore it with the release that wrote it")
    db.parent.mkdir(parents=True, exist_ok=True)
    if db.exists() and source.resolve() == db.resolve():
        raise StoreError(f"{source} is the hall's database itself")
    fd = os.open(lock_path(db), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreError(f"a node is running on {db} ({holder(db)} holds {lock_path(db)}): stop it "
                             "first (systemctl stop onestop-edge); nothing was changed") from None
        if db.exists():
            current = read(db)
            if current.hall != copy.hall:
                raise StoreError(f"{source} is a backup of hall {copy.hall!r} but {db} belongs to hall "
                                 f"{current.hall!r}: restore into that hall's data directory")
        moved = _set_aside(db, now)
        try:
            copy_database(source, db)
        except CopyError as e:
            for original, target in moved:  # put the replaced database back
                os.replace(target, original)
            raise StoreError(f"{e}; the database was left as it was") from None
        epoch = _start_new_epoch(db, copy, source, now)
        return Restored(copy=copy, epoch=epoch, kept=[t for _, t in moved])
    finally:
        os.close(fd)


def _aside_name(db: Path, now: datetime) -> Path:
    return db.with_name(f"{db.name}.before-restore-{now.strftime('%Y%m%dT%H%M%S')}")


def _set_aside(db: Path, now: datetime) -> list[tuple[str, str]]:
    """Move the database and its WAL and shared-memory files aside, keeping them together (a
    WAL belongs to its database by name)."""
    aside = _aside_name(db, now)
    moved = []
    for suffix in ("", "-wal", "-shm"):
        original, target = str(db) + suffix, str(aside) + suffix
        if Path(target).exists():
            raise StoreError(f"{target} exists: a restore was made this second already; wait and retry")
    for suffix in ("", "-wal", "-shm"):
        original, target = str(db) + suffix, str(aside) + suffix
        if Path(original).exists():
            os.replace(original, target)
            moved.append((original, target))
    return moved


def _start_new_epoch(db: Path, copy: Snapshot, source: Path, now: datetime) -> str:
    """The restored copy's new events go to a new epoch (LogStore.rotate_epoch without moving
    anything, done here while the restore holds the lock)."""
    epoch = new_epoch()
    con = sqlite3.connect(db)
    try:
        with con:
            con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('epoch', ?)", (epoch,))
            con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (f"epoch-from:{epoch}", copy.epoch))
            con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (
                f"restored:{epoch}", json.dumps({"from": str(source), "epoch": copy.epoch, "seq": copy.seq,
                                                 "at": now.isoformat()})))
        con.execute("PRAGMA journal_mode=DELETE")
    finally:
        con.close()
    return epoch


def nightly_name(hall: str, local: datetime) -> str:
    return f"{hall}-{local.strftime('%Y%m%d-%H%M')}.db"


def rotate(folder: Path, hall: str, keep: int) -> list[Path]:
    """Delete all but the newest `keep` nightly copies of `hall` in `folder` (only files named
    as `nightly_name` names them). Returns the deleted ones."""
    pattern = re.compile(rf"^{re.escape(hall)}-\d{{8}}-\d{{4}}\.db$")
    copies = sorted(p for p in Path(folder).iterdir() if pattern.match(p.name))
    gone = copies[:-keep] if keep > 0 else copies
    for p in gone:
        p.unlink()
    return gone
