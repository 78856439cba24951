"""Central report fixtures: a store (SQLite file or fresh PostgreSQL database) filled by real
`CentralStore.ingest` of msgpack batches holding sync.contract.events bodies, for three halls."""

from __future__ import annotations

import pytest

from tests.central.data import build_directory


@pytest.fixture(autouse=True)
def facts_synchronously(monkeypatch):
    """Every app a test builds refreshes its day facts synchronously: a report first runs the
    refresher until it has caught up (central.facts.refresher, `background=False`), so figures
    are fresh and nothing depends on a thread's timing. Tests of the background behaviour build
    their `Refresher(background=True)` themselves and drive it with `run_until_caught_up`."""
    from central.facts import refresher

    monkeypatch.setattr(refresher, "BACKGROUND", False)


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
