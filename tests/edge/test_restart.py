"""Restart and power-cut safety: a real `onestop-edge` process killed with SIGKILL (no chance to
clean up) loses nothing it confirmed, and its log stays gap-free."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from edge.web import EVENTS_TOKEN_ENV
from tests.conftest import EVENTS_TOKEN, HALL_TOML, PIN, wait_until

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Edge:
    def __init__(self, tmp: Path) -> None:
        self.cfg = tmp / "hall.toml"
        self.cfg.write_text(HALL_TOML, encoding="utf-8")
        self.data = tmp / "data"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.extra: list[str] = []  # more onestop-edge options (e.g. --simulate)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edge.cli", "--config", str(self.cfg), "--data-dir", str(self.data),
             "--http", f"127.0.0.1:{self.port}", "--clock-start", "2026-11-23T09:00+08:00", "--no-sync",
             *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, EVENTS_TOKEN_ENV: EVENTS_TOKEN},
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise AssertionError(self.proc.stderr.read().decode())
            time.sleep(0.05)
        raise AssertionError("edge did not come up")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc.stderr.close()

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(20)
        self.proc.stderr.close()
        return code


@pytest.fixture
def edge(tmp_path):
    e = Edge(tmp_path)
    yield e
    if e.proc and e.proc.poll() is None:
        e.kill()


def all_events(base: str) -> list[dict]:
    out, after = [], 0
    while True:
        page = httpx.get(f"{base}/api/events", params={"after": after, "limit": 1000},
                         headers={"Authorization": f"Bearer {EVENTS_TOKEN}"}).json()
        if not page:
            return out
        out += page
        after = page[-1]["seq"]


def test_restart_kill_between_actions_loses_nothing(edge):
    confirmed: list[str] = []
    for round_ in range(3):
        edge.start()
        with httpx.Client(base_url=edge.base) as c:
            if round_ == 0:
                assert c.post("/api/windows/W1/sign-on", json={"staff": "s-li", "pin": PIN}).status_code == 200
            else:
                # the staff session survived the restart, the window is still signed on
                c.cookies = cookies
            for _ in range(4):
                r = c.post("/api/tickets", json={"item": "transcript"})
                assert r.status_code == 201
                confirmed.append(r.json()["number"])
            assert c.post("/api/windows/W1/call").status_code == 200
            assert c.post("/api/windows/W1/complete", json={"outcome": "instant"}).status_code == 200
            cookies = c.cookies
        edge.kill()
    edge.start()
    events = all_events(edge.base)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))  # gap-free
    issued = [e["body"]["number"] for e in events if e["kind"] == "ticket.issued"]
    assert issued == confirmed == [f"A{n:03d}" for n in range(1, 13)]
    assert sum(e["kind"] == "ticket.completed" for e in events) == 3
    w1 = next(w for w in httpx.get(edge.base + "/api/windows").json() if w["id"] == "W1")
    assert w1["state"] == "idle" and w1["staff"]["id"] == "s-li"
    assert httpx.post(edge.base + "/api/tickets", json={"item": "transcript"}).json()["number"] == "A013"
    assert edge.stop() == 0


def test_restart_power_cut_mid_stream_keeps_every_confirmed_ticket(edge):
    edge.start()
    confirmed: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def issue():
        with httpx.Client(base_url=edge.base, timeout=5) as c:
            while not stop.is_set():
                try:
                    r = c.post("/api/tickets", json={"item": "transcript"})
                except httpx.HTTPError:
                    return  # the process died under us: this one was never confirmed
                if r.status_code == 201:
                    with lock:
                        confirmed.append(r.json()["id"])

    workers = [threading.Thread(target=issue) for _ in range(4)]
    for w in workers:
        w.start()
    wait_until(lambda: len(confirmed) >= 200, 60, what="200 confirmed tickets")
    edge.kill()  # power cut while requests are in flight
    stop.set()
    for w in workers:
        w.join(10)
    edge.start()
    events = all_events(edge.base)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    stored = {e["body"]["ticket"] for e in events if e["kind"] == "ticket.issued"}
    assert set(confirmed) <= stored  # every ticket a visitor saw is still there
    numbers = sorted(int(e["body"]["number"][1:]) for e in events if e["kind"] == "ticket.issued")
    assert numbers == list(range(1, len(numbers) + 1))  # no number given twice or skipped
    assert edge.stop() == 0
