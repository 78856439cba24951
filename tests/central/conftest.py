"""Central report fixtures: a store (SQLite file or fresh PostgreSQL database) filled by real
`CentralStore.ingest` of msgpack batches holding sync.contract.events bodies, for three halls."""

from __future__ import annotations

import pytest

from tests.central.data import build_directory


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
