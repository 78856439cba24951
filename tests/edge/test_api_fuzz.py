"""Fuzz the hall's JSON API from its own OpenAPI schema, as nobody and as the hall manager:
nothing answers 5xx (issue 11). Which routes answer without a session is checked route by route
in tests/edge/test_web.py."""

from __future__ import annotations

from tests.conftest import login_manager
from tests.fuzzapi import nasty_errors, operations, server_errors


def fuzz(client) -> list[str]:
    errors: list[str] = []
    # the event stream never ends; logging out would end the manager's pass early
    for op in operations(client, skip=lambda m, p: p.startswith("/api/stream") or p == "/api/logout"):
        errors += server_errors(client, op) + nasty_errors(client, op)
    return errors


def test_api_fuzz_no_server_errors_as_nobody_and_as_the_manager(client):
    errors = fuzz(client)
    login_manager(client)
    errors += fuzz(client)
    assert not errors, "\n".join(errors)
