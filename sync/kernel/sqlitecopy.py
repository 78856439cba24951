"""A consistent copy of a live SQLite database (both commands' `backup`).

SQLite's online backup API (`sqlite3.Connection.backup`) copies every page in one step inside
one read transaction: in WAL mode the writers go on, and the copy is the database exactly as
of the last commit before the step began. The copy is written beside its destination, checked
(`PRAGMA quick_check`), made one self-contained file (journal mode DELETE), flushed to disk and
only then renamed over the destination, so a power cut leaves the old copy or the new one,
never half of one.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any


class CopyError(Exception):
    """The copy could not be made; the message names the file. The destination is untouched."""


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_database(src: Path, out: Path, inspect: Callable[[sqlite3.Connection], Any] | None = None) -> Any:
    """Copy the SQLite database at `src` to `out` (replacing it atomically). `inspect` reads
    the finished copy before it is renamed into place (what it holds, for the caller's line);
    its result is returned. Raises CopyError."""
    src, out = Path(src), Path(out)
    if not src.is_file():
        raise CopyError(f"{src} does not exist: nothing to copy")
    if not out.parent.is_dir():
        raise CopyError(f"{out.parent} is not a directory (is the backup medium mounted?)")
    if out.exists() and out.resolve() == src.resolve():
        raise CopyError(f"{out} is the database itself")
    part = out.with_name(out.name + ".part")
    result = None
    try:
        source = sqlite3.connect(src, timeout=10)  # reads only; a WAL database needs its -shm
        try:
            dest = sqlite3.connect(part)
            try:
                source.backup(dest)  # pages=-1: all pages in one step, one read transaction
                dest.execute("PRAGMA journal_mode=DELETE")
                check = dest.execute("PRAGMA quick_check").fetchone()[0]
                if check != "ok":
                    raise CopyError(f"the copy of {src} fails its integrity check: {check}")
                if inspect is not None:
                    result = inspect(dest)
            finally:
                dest.close()
        finally:
            source.close()
        fd = os.open(part, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(part, out)
        _fsync_dir(out.parent)
    except (sqlite3.Error, OSError) as e:
        raise CopyError(f"cannot copy {src} to {out}: {e}") from None
    finally:
        if part.exists():
            part.unlink()
    return result
