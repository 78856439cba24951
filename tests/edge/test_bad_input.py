"""Bad input gets a 4xx with a message and changes nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import login_manager


def log_length(client) -> int:
    return len(client.get("/api/events?limit=1000").json())


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("post", "/api/tickets", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400),
        ("post", "/api/tickets", {"json": {"item": "nope"}}, 404),
        ("post", "/api/tickets", {"json": {"department": "nope"}}, 404),
        ("post", "/api/tickets", {"json": {}}, 400),
        ("post", "/api/tickets", {"json": {"item": "transcript", "department": "academic"}}, 400),
        ("post", "/api/tickets", {"json": {"item": "transcript", "colour": "red"}}, 400),
        ("post", "/api/tickets", {"json": {"item": 5}}, 400),
        ("post", "/api/tickets", {"json": {"item": "dorm"}}, 409),  # department has no window here
        ("post", "/api/tickets", {"json": ["transcript"]}, 400),
        ("post", "/api/windows/W9/sign-on", {"json": {"staff": "s-li", "pin": "1234"}}, 404),
        ("post", "/api/windows/W1/sign-on", {"json": {"staff": "nobody", "pin": "1234"}}, 403),
        ("post", "/api/windows/W1/sign-on", {"json": {"staff": "s-li"}}, 400),
        ("post", "/api/tickets/rejoin", {"json": {"number": "Z999"}}, 404),
        ("get", "/api/tickets/does-not-exist", {}, 404),
        ("get", "/api/cases/does-not-exist", {}, 404),
        ("get", "/api/events?limit=0", {}, 400),
        ("get", "/api/events?after=-1", {}, 400),
        ("get", "/api/events?limit=abc", {}, 400),
    ],
)
def test_bad_input_rejected_with_message(client, method, path, kwargs, status):
    before = log_length(client)
    if path.startswith("/api/cases"):
        login_manager(client)
    r = getattr(client, method)(path, **kwargs)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["detail"]
    assert log_length(client) == before


def test_bad_input_window_commands(client, signed_on):
    client.post("/api/tickets", json={"item": "transcript"})
    w = signed_on("W1", "s-li")
    before = log_length(client)
    for path, body, status in [
        ("/api/windows/W1/recall", None, 409),  # nothing called yet
        ("/api/windows/W1/complete", {"outcome": "instant"}, 409),
        ("/api/windows/W1/complete", {"outcome": "maybe"}, 400),
        ("/api/windows/W1/resume", None, 409),  # not paused
        ("/api/windows/W1/transfer", {"department": "finance"}, 409),
        ("/api/windows/W2/call", None, 403),  # not signed on there
    ]:
        r = w.post(path, json=body) if body is not None else w.post(path)
        assert r.status_code == status, (path, r.text)
        assert r.json()["detail"]
    assert log_length(client) == before


def test_bad_input_config_error_stops_the_command(tmp_path, hall_file):
    bad = tmp_path / "bad.toml"
    bad.write_text(hall_file.read_text().replace('department = "finance"\n', 'department = "nowhere"\n', 1))
    r = subprocess.run([sys.executable, "-m", "edge.cli", "--config", str(bad), "--data-dir", str(tmp_path / "d")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "$.business" in lines[0] and "nowhere" in lines[0]
    assert not (tmp_path / "d").exists()
    r = subprocess.run([sys.executable, "-m", "edge.cli", "--config", str(hall_file), "--http", "nonsense"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--http" in r.stderr


def test_bad_input_caller_gone_before_its_command_runs_leaves_the_hall_working(hall):
    """A cancelled request (the client disconnected) is skipped; the writer keeps serving."""
    import threading

    from edge import queue

    gate = threading.Event()
    blocker = hall.submit(lambda ctx: gate.wait(5))  # hold the writer busy
    doomed = hall.submit(queue.issue, item="transcript")
    assert doomed.cancel()  # cancelled while still queued
    gate.set()
    blocker.result(5)
    res = hall.call(queue.issue, item="transcript")
    assert res["ticket"].number == "A001"  # the cancelled one took no number
    assert hall.call(lambda ctx: ctx.store.last_seq) == 1
