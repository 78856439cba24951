"""systemd's notify protocol (sd_notify(3)) without a dependency: datagrams to $NOTIFY_SOCKET.

A unit with ``Type=notify`` waits for ``READY=1`` before it counts the service as started; with
``WatchdogSec=`` systemd sets $WATCHDOG_USEC and kills (and, with ``Restart=on-failure``,
restarts) the service when no ``WATCHDOG=1`` arrives within that time. ``STOPPING=1`` says a
shutdown has begun. Outside systemd ($NOTIFY_SOCKET unset) every call does nothing.

`keep_alive` sends ``WATCHDOG=1`` from the event loop it runs on, but only while `alive()` says
the rest of the process works too: the hall's serve loop asks whether the writer thread beat
recently (edge.hall.Hall.writer_alive), so a hung writer or a hung event loop both stop the
pings and systemd restarts the node.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Callable, Mapping

log = logging.getLogger("onestop.sdnotify")


def notify(*states: str, env: Mapping[str, str] | None = None) -> bool:
    """Send `states` (e.g. "READY=1") to systemd; False when not under systemd or on error."""
    env = os.environ if env is None else env
    address = env.get("NOTIFY_SOCKET", "")
    if not address or not states:
        return False
    if address.startswith("@"):  # an abstract socket
        address = "\0" + address[1:]
    elif not address.startswith("/"):
        log.warning("NOTIFY_SOCKET %r is neither a path nor an abstract socket; not notifying", address)
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.sendto("\n".join(states).encode(), address)
        return True
    except OSError as e:
        log.warning("cannot notify systemd at %s: %s", env.get("NOTIFY_SOCKET"), e)
        return False


def watchdog_seconds(env: Mapping[str, str] | None = None) -> float | None:
    """The watchdog timeout systemd set for this process ($WATCHDOG_USEC; $WATCHDOG_PID, when set,
    must be this process), or None."""
    env = os.environ if env is None else env
    try:
        usec = int(env.get("WATCHDOG_USEC", "0"))
        pid = int(env.get("WATCHDOG_PID", "0") or 0)
    except ValueError:
        return None
    if usec <= 0 or (pid and pid != os.getpid()):
        return None
    return usec / 1e6


async def keep_alive(timeout: float, alive: Callable[[], bool] | None = None) -> None:
    """Ping the watchdog three times per `timeout` while `alive()` (default: always) holds."""
    was_alive = True
    while True:
        ok = True
        if alive is not None:
            try:
                ok = bool(alive())
            except Exception:  # noqa: BLE001 - a broken check counts as not alive
                ok = False
        if ok:
            notify("WATCHDOG=1")
        elif was_alive:
            log.error("not pinging systemd's watchdog: the process is not healthy (a hung writer?)")
        was_alive = ok
        await asyncio.sleep(timeout / 3)
