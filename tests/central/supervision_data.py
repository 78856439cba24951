"""The supervision records' test setup (central.supervision): three halls' events plus more
ratings of hall h-b, the HTTP app with a logged-in browser (`client`) and a script sending HTTP
Basic (`api`), the test users, the audit trail and row counts. Test modules import the fixtures
they use by name."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from central.app import create_app
from central.auth import Auth
from central.config import load
from central.projections import Directory
from sync.contract import events as ev
from sync.contract import wire
from tests.central.data import HallLog, at, ingest_all, three_halls, write_config

ADMIN = ("admin", "admin123")
FINANCE = ("finance-head", "finance123")
HB = ("hb-manager", "hall123")


def extra_ratings() -> HallLog:
    """More ratings of hall h-b (a second epoch of its log)."""
    b = HallLog("h-b")
    b.add(ev.RatingGiven(window="W3", ticket="X1", level=1, staff="s-qian", department="finance"),
          at("2026-09-29", "10:00"))
    b.add(ev.RatingGiven(window="W3", ticket="X2", level=3, staff="s-qian", department="finance"),
          at("2026-11-05", "10:00"))
    b.add(ev.RatingGiven(window="W1", ticket="X3", level=2, staff="s-li", department="academic"),
          at("2026-11-06", "15:00"))
    return b


@pytest.fixture
def parts(store, tmp_path):
    cfg, halls = load(write_config(tmp_path))
    logs = three_halls()
    ingest_all(store, logs)
    extra = extra_ratings()
    store.ingest("h-b", wire.events_topic("h-b"), extra.payload(1, 10**6), 5)
    return store, Directory.of(halls), Auth(cfg.users), logs, extra


@pytest.fixture
def app(parts):
    store, directory, auth, _logs, _extra = parts
    return create_app(store, None, directory, auth)


@pytest.fixture
def client(app):
    """The browser: logs in through the form, keeps the session cookie."""
    with TestClient(app) as c:
        yield c


@pytest.fixture
def api(app):
    """A script: never logged in, sends HTTP Basic per request."""
    with TestClient(app) as c:
        yield c


def login(c: TestClient, who: tuple[str, str]) -> None:
    r = c.post("/login", data={"username": who[0], "password": who[1]}, follow_redirects=False)
    assert r.status_code in (302, 303)


def actions(store) -> list[tuple[str, str]]:
    return [(e["who"], e["action"]) for e in reversed(store.audit_log(1000)) if "." in e["action"]]


def count(store, model: str) -> int:
    return getattr(store.records, model).select().count()
