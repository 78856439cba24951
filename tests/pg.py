"""A fresh PostgreSQL database per test, on the machine's server (127.0.0.1:5432, trust auth).
Without a reachable server the test is skipped, except under CI=true where it fails: CI
machines have PostgreSQL and the PostgreSQL runs must not silently disappear."""

from __future__ import annotations

import os
import uuid

import pytest

ADMIN_URL = os.environ.get("ONESTOP_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _connect(url: str):
    import psycopg2

    conn = psycopg2.connect(url, connect_timeout=3)
    conn.autocommit = True
    return conn


def pg_available() -> str | None:
    try:
        _connect(ADMIN_URL).close()
        return None
    except Exception as e:  # noqa: BLE001 - any failure means no server for us
        return str(e).strip().splitlines()[0]


def fresh_database():
    """Yields the URL of a new empty database; drops it afterwards."""
    problem = pg_available()
    if problem:
        message = f"PostgreSQL not reachable at {ADMIN_URL}: {problem}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    name = f"onestop_t_{uuid.uuid4().hex[:12]}"
    admin = _connect(ADMIN_URL)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
