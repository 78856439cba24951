"""Fixtures of the simulator tests."""

from __future__ import annotations

import pytest

from edge.web import EVENTS_TOKEN_ENV
from tests.conftest import EVENTS_TOKEN


@pytest.fixture(autouse=True)
def _events_token(monkeypatch):
    """The halls a campus starts (the demo, outages) inherit this environment: their /api/events
    answers this read token, which the tests' log readers send."""
    monkeypatch.setenv(EVENTS_TOKEN_ENV, EVENTS_TOKEN)
