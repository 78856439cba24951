"""Central report fixtures: a store (SQLite file or fresh PostgreSQL database) filled by real
`CentralStore.ingest` of msgpack batches holding sync.contract.events bodies, for three halls."""

from __future__ import annotations

import pytest

from tests.central.data import build_directory


@pytest.fixture(params=["sqlite", "postgresql"])
def central_db(request, tmp_path):
    """Central's database URL: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/central.db"
    else:
        from tests.pg import fresh_database

        yield from fresh_database()


@pytest.fixture
def store(central_db):
    from central.store import CentralStore

    s = CentralStore(central_db)
    s.open()
    yield s
    s.close()


@pytest.fixture
def directory(tmp_path):
    return build_directory(tmp_path)
