"""A pseudo-terminal standing in for a badge reader's serial port.

`PtyPort` opens a pty pair in raw mode and gives its slave side a stable path (a symlink, as
udev's /dev/serial/by-id/… links do), which the reader opens with pyserial as it would a USB
adapter. Bytes written with `write` arrive at the reader exactly as from a real device.
`unplug()` closes the pair and removes the link (the reader's next read fails with EIO and its
reopen finds no device); `plug()` makes a new pair behind the same path.
"""

from __future__ import annotations

import os
import tempfile
import threading
import tty
from pathlib import Path


class PtyPort:
    def __init__(self, link: str | os.PathLike | None = None) -> None:
        self._tmpdir: Path | None = None
        if link is None:
            self._tmpdir = Path(tempfile.mkdtemp(prefix="onestop-pty-"))
            link = self._tmpdir / "ttyBADGE"
        self.link = Path(link)
        self._master: int | None = None
        self._slave: int | None = None
        self._lock = threading.Lock()
        self.plug()

    @property
    def path(self) -> str:
        """What the reader opens (stays the same across unplug/plug)."""
        return str(self.link)

    @property
    def plugged(self) -> bool:
        return self._master is not None

    @property
    def device(self) -> str | None:
        return os.ttyname(self._slave) if self._slave is not None else None

    def plug(self) -> None:
        with self._lock:
            if self._master is not None:
                return
            master, slave = os.openpty()
            tty.setraw(slave)  # no echo, no line editing, before any reader opens it
            self._master, self._slave = master, slave
            self.link.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.link.with_name(self.link.name + ".new")
            if tmp.is_symlink() or tmp.exists():
                tmp.unlink()
            os.symlink(os.ttyname(slave), tmp)
            os.replace(tmp, self.link)

    def unplug(self) -> None:
        with self._lock:
            if self._master is None:
                return
            if self.link.is_symlink():
                self.link.unlink()
            for fd in (self._master, self._slave):
                try:
                    os.close(fd)  # type: ignore[arg-type]
                except OSError:
                    pass
            self._master = self._slave = None

    def write(self, data: bytes) -> None:
        with self._lock:
            if self._master is None:
                raise OSError("the simulated reader is unplugged")
            view = memoryview(data)
            while view:
                n = os.write(self._master, view)
                view = view[n:]

    def close(self) -> None:
        self.unplug()
        if self._tmpdir is not None:
            try:
                self._tmpdir.rmdir()
            except OSError:
                pass
            self._tmpdir = None
