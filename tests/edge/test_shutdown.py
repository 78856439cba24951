"""SIGTERM with display boards connected: a real `onestop-edge` process ends its open
`/api/stream` connections and exits with 0 within 2 s (under systemd a hang means a SIGKILL on
every restart). A quiet stream carries `heartbeat` events, so a board can tell a lost connection."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import HALL_TOML, wait_until
from tests.edge.test_restart import Edge

pytestmark = pytest.mark.slow

HEARTBEAT = 0.3  # [http] stream_heartbeat_seconds of the node under test


class StreamReader(threading.Thread):
    """Reads `/api/stream` as a board does; records the events and how the stream ended."""

    def __init__(self, base: str) -> None:
        super().__init__(name="stream-reader", daemon=True)
        self.base = base
        self.events: list[str] = []
        self.ended: str | None = None  # "closed" by the server, or the error

    def run(self) -> None:
        try:
            with httpx.stream("GET", self.base + "/api/stream", timeout=httpx.Timeout(5.0, read=30.0)) as r:
                assert r.headers["content-type"].startswith("text/event-stream")
                for line in r.iter_lines():
                    if line.startswith("event:"):
                        self.events.append(line.split(":", 1)[1].strip())
            self.ended = "closed"
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.ended = f"{type(e).__name__}: {e}"


@pytest.fixture
def node(tmp_path):
    e = Edge(tmp_path)
    e.cfg.write_text(HALL_TOML + f"\n[http]\nstream_heartbeat_seconds = {HEARTBEAT}\n", encoding="utf-8")
    e.start()
    yield e
    if e.proc and e.proc.poll() is None:
        e.kill()


@pytest.fixture
def example_node(tmp_path):
    """The demo's largest hall (config/halls/north-student.toml) with --simulate: 10 badge readers
    on ptys and 69 GPIO lines on MockFactory pins, all to be closed on the way out."""
    e = Edge(tmp_path)
    e.cfg = Path(__file__).parents[2] / "config" / "halls" / "north-student.toml"
    e.extra = ["--simulate"]
    e.start()
    yield e
    if e.proc and e.proc.poll() is None:
        e.kill()


@pytest.mark.parametrize("which", ["node", "example_node"])
def test_shutdown_sigterm_with_open_streams_exits_within_2_s(which, request):
    node = request.getfixturevalue(which)
    readers = [StreamReader(node.base) for _ in range(3)]
    for r in readers:
        r.start()
    # every board got its first snapshot and, the hall being quiet, a heartbeat
    wait_until(lambda: all("board" in r.events for r in readers), timeout=10, what=lambda: [r.events for r in readers])
    if which == "node":  # a quiet hall: the heartbeat arrives
        wait_until(lambda: all("heartbeat" in r.events for r in readers), timeout=10,
                   what=lambda: [r.events for r in readers])
    t0 = time.monotonic()
    node.proc.send_signal(signal.SIGTERM)
    code = node.proc.wait(timeout=2)
    elapsed = time.monotonic() - t0
    node.proc.stderr.close()
    assert code == 0
    assert elapsed < 2.0
    for r in readers:
        r.join(timeout=2)
        assert not r.is_alive()
        assert r.ended == "closed"  # the server ended the stream, not a broken connection


def test_shutdown_stream_heartbeat_carries_hall_time_and_news_still_arrive(node):
    with httpx.stream("GET", node.base + "/api/stream", timeout=httpx.Timeout(5.0, read=10.0)) as r:
        lines = r.iter_lines()
        seen: list[tuple[str, str]] = []
        event = None
        for line in lines:
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event:
                seen.append((event, line.split(":", 1)[1].strip()))
                if event == "heartbeat" and sum(e == "heartbeat" for e, _ in seen) == 1:
                    # news after a heartbeat: the stream did not lose its subscription
                    assert httpx.post(node.base + "/api/tickets", json={"item": "transcript"}).status_code == 201
                if event == "board" and any(e == "heartbeat" for e, _ in seen):
                    break
        beat = json.loads(next(d for e, d in seen if e == "heartbeat"))
        assert beat["now"].startswith("2026-11-23T09:")  # the hall's (simulated) clock, local time
        first, last = json.loads(seen[0][1]), json.loads(seen[-1][1])
        assert seen[0][0] == "board" and sum(q["waiting"] for q in first["queues"]) == 0
        assert sum(q["waiting"] for q in last["queues"]) == 1  # the ticket taken after the heartbeat
    assert node.stop() == 0
