"""Fuzz the hall's JSON API from its own OpenAPI schema: nothing answers 5xx (issue 11)."""

from __future__ import annotations

from tests.fuzzapi import nasty_errors, operations, server_errors


def test_api_fuzz_no_server_errors_anonymous(client):
    errors = []
    for op in operations(client, skip=lambda m, p: p.startswith("/api/stream")):
        errors += server_errors(client, op) + nasty_errors(client, op)
    assert not errors, "\n".join(errors)
