"""The hall's writer (edge.hall) when its database fails under it, and opening a database that
is not the hall's log: refused with one clear line, nothing lost, nothing half-written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from edge.hall import Hall
from edge.store.log import StoreError
from tests.conftest import HALL_TOML

ROOT = Path(__file__).resolve().parents[2]


def set_max_pages(hall: Hall, pages: int | None) -> None:
    """SQLite's own limit on the database size: past it every write fails with SQLITE_FULL,
    exactly as on a full SD card ("database or disk is full")."""

    def limit(ctx):
        n = pages or 1_073_741_823
        ctx.store.db.execute_sql(f"PRAGMA max_page_count = {n}")

    hall.call(limit)


def page_count(hall: Hall) -> int:
    return hall.call(lambda ctx: ctx.store.db.execute_sql("PRAGMA page_count").fetchone()[0])


def issued_numbers(hall: Hall) -> list[str]:
    """The numbers the log holds, checking on the way that it is gap-free."""
    events = hall.store.events(0, 100_000)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    return [msgspec.json.decode(e.body)["number"] for e in events if e.kind == "ticket.issued"]


def test_hall_disk_full_answers_503_health_degraded_and_loses_nothing(hall, client):
    confirmed = [client.post("/api/tickets", json={"item": "transcript"}).json()["number"] for _ in range(3)]
    set_max_pages(hall, page_count(hall))
    refused = None
    for _ in range(2000):  # fill the pages there are; the next one needed is refused
        r = client.post("/api/tickets", json={"item": "transcript"})
        if r.status_code != 201:
            refused = r
            break
        confirmed.append(r.json()["number"])
    assert refused is not None, "the database never filled up"
    assert refused.status_code == 503
    assert refused.json()["code"] == "storage-unavailable" and "未保存" in refused.json()["detail"]
    health = client.get("/api/health").json()
    assert health["status"] == "degraded"
    assert health["storage"]["writable"] is False and "full" in health["storage"]["error"]
    # still full: refused again, and nothing half-written
    assert client.post("/api/tickets", json={"item": "transcript"}).status_code == 503

    set_max_pages(hall, None)  # space freed
    r = client.post("/api/tickets", json={"item": "transcript"})
    assert r.status_code == 201
    confirmed.append(r.json()["number"])
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["storage"] == {"writable": True, "error": None}

    assert issued_numbers(hall) == confirmed


def test_hall_disk_full_in_a_batch_fails_the_whole_batch(hall):
    """Many commands in one group commit: when SQLite drops the transaction under one of them,
    none of the batch is confirmed (an earlier one in the batch is gone with it)."""
    from edge import queue

    set_max_pages(hall, page_count(hall))
    futures = [hall.submit(queue.issue, item="transcript") for _ in range(400)]
    outcomes = []
    for f in futures:
        try:
            outcomes.append(f.result().get("ticket").number)
        except Exception as e:  # noqa: BLE001 - what the caller would be told
            outcomes.append(e)
    set_max_pages(hall, None)
    assert any(isinstance(o, Exception) for o in outcomes)
    assert all(type(o).__name__ == "StorageUnavailable" for o in outcomes if isinstance(o, Exception))
    numbers = issued_numbers(hall)
    assert numbers == [o for o in outcomes if isinstance(o, str)]  # confirmed == stored, in order
    assert hall.call(queue.issue, item="transcript")["ticket"].number not in numbers


def test_hall_corrupt_database_is_one_line_and_exit_2(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "hall.db").write_bytes(b"this is not SQLite" * 100)
    hall_file = tmp_path / "hall.toml"
    hall_file.write_text(HALL_TOML, encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "edge.cli", "--config", str(hall_file), "--data-dir", str(data)],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert str(data / "hall.db") in lines[0] and "not a readable hall database" in lines[0]
    assert (data / "hall.db").read_bytes() == b"this is not SQLite" * 100  # untouched


def test_hall_empty_database_file_is_refused_not_a_new_log(config, clock, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "hall.db").write_bytes(b"")
    with pytest.raises(StoreError, match="empty .*log was expected"):
        Hall(config, data, clock).start()
    assert (data / "hall.db").stat().st_size == 0  # nothing was started in its place
