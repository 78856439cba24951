"""Supervision by systemd without systemd: the test binds the unix datagram socket systemd would
($NOTIFY_SOCKET), gives the real `onestop-edge` a watchdog timeout ($WATCHDOG_USEC), and reads
what the node says: READY=1 once it serves, WATCHDOG=1 pings while its writer thread beats, none
while the writer hangs (so systemd would kill and restart it), pings again once it recovers, and
STOPPING=1 on SIGTERM."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from sync.kernel import sdnotify
from tests.conftest import wait_until
from tests.edge.test_restart import Edge

WATCHDOG_SECONDS = 1.5  # the node pings every 0.5 s and stops once its writer is 0.75 s late


class NotifySocket:
    """What systemd listens on: every datagram, with the monotonic time it arrived."""

    def __init__(self, path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.got: list[tuple[float, str]] = []

    def drain(self) -> list[tuple[float, str]]:
        while True:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                return self.got
            now = time.monotonic()
            self.got += [(now, line) for line in data.decode().splitlines()]

    def count(self, state: str, since: float = 0.0) -> int:
        return sum(1 for t, s in self.drain() if s == state and t >= since)

    def last(self, state: str) -> float:
        return max((t for t, s in self.drain() if s == state), default=0.0)


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    s = NotifySocket(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    monkeypatch.setenv("WATCHDOG_USEC", str(int(WATCHDOG_SECONDS * 1e6)))
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield s
    s.sock.close()


def test_sdnotify_sends_nothing_outside_systemd():
    assert sdnotify.notify("READY=1", env={}) is False
    assert sdnotify.watchdog_seconds(env={}) is None
    assert sdnotify.watchdog_seconds(env={"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"}) is None  # not us
    assert sdnotify.watchdog_seconds(env={"WATCHDOG_USEC": "3000000"}) == 3.0


def test_sdnotify_reaches_an_abstract_socket():
    name = f"onestop-test-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind("\0" + name)
        assert sdnotify.notify("READY=1", "STATUS=x", env={"NOTIFY_SOCKET": "@" + name})
        assert s.recv(100) == b"READY=1\nSTATUS=x"


@pytest.mark.slow
def test_watchdog_pings_stop_while_the_writer_hangs(tmp_path, notify_socket):
    node = Edge(tmp_path)
    node.extra = ["--simulate"]
    node.start()
    try:
        wait_until(lambda: notify_socket.count("READY=1") == 1, timeout=10, what="READY=1")
        ready_at = notify_socket.last("READY=1")
        wait_until(lambda: notify_socket.count("WATCHDOG=1", since=ready_at) >= 3, timeout=10,
                   what=lambda: notify_socket.got)
        r = httpx.post(node.base + "/api/sim/writer/hang", json={"seconds": 6})
        assert r.status_code == 200, r.text
        hung_at = time.monotonic()
        # the pings stop: none for two full ping periods after the writer fell 0.75 s behind
        wait_until(lambda: time.monotonic() - max(notify_socket.last("WATCHDOG=1"), hung_at) > 2 * WATCHDOG_SECONDS / 3 + 0.2
                   and time.monotonic() - hung_at > WATCHDOG_SECONDS,
                   timeout=6, what=lambda: notify_socket.got[-5:])
        silent_from = notify_socket.last("WATCHDOG=1")
        # the last ping came within the timeout of the hang (0.5 s for a loaded machine's scheduling:
        # the writer counts as alive for half the timeout after its last beat, a ping period after that)
        assert silent_from - hung_at < WATCHDOG_SECONDS + 0.5
        assert httpx.get(node.base + "/api/health", timeout=5).status_code == 200  # the HTTP loop itself runs
        bad = httpx.post(node.base + "/api/sim/writer/hang", json={"seconds": 0})
        assert bad.status_code == 400
        # the writer recovers after 6 s: the pings come back (systemd would have restarted it by then)
        wait_until(lambda: notify_socket.count("WATCHDOG=1", since=hung_at + 6) >= 2, timeout=15,
                   what=lambda: notify_socket.got[-5:])
        gaps = [b - a for (a, _), (b, _) in zip(notify_socket.got, notify_socket.got[1:])]
        assert max(gaps) > WATCHDOG_SECONDS  # systemd would have seen the silence
    finally:
        code = node.stop()
    assert code == 0
    assert notify_socket.count("STOPPING=1") == 1
