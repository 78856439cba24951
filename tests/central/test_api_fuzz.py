"""Fuzz central's JSON API from its own OpenAPI schema, signed in as the central admin and as
nobody: nothing answers 5xx (issue 11). SQLite only: the parsing under test is the same on both
databases, and the store tests cover PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from litestar.testing import TestClient

from central.app import create_app
from central.auth import Auth
from central.config import load
from central.projections import Directory
from central.store import CentralStore
from sync.kernel.clock import ManualClock
from tests.central.data import ingest_all, three_halls, write_config
from tests.fuzzapi import nasty_errors, operations, server_errors

ADMIN = {"authorization": "Basic YWRtaW46YWRtaW4xMjM="}  # admin / admin123 (tests/central/data.py)


@pytest.fixture
def client(tmp_path):
    store = CentralStore(f"sqlite:///{tmp_path}/central.db")
    store.open()
    cfg, halls = load(write_config(tmp_path))
    ingest_all(store, three_halls())
    clock = ManualClock(datetime(2026, 11, 2, tzinfo=timezone.utc))
    auth = Auth(cfg.users, session_minutes=30, clock=lambda: clock.monotonic() / 1e9)
    with TestClient(create_app(store, None, Directory.of(halls), auth)) as c:
        yield c
    store.close()


def test_api_fuzz_no_server_errors(client):
    errors = []
    for op in operations(client):
        for headers in (ADMIN, {}):
            errors += server_errors(client, op, headers=headers) + nasty_errors(client, op, headers=headers)
    assert not errors, "\n".join(errors)
