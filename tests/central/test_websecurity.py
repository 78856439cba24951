"""Cross-site requests and the security headers (central.websecurity), through the real app:
a page of another origin cannot post a form or a `text/plain` body that changes anything."""

from __future__ import annotations

import json

import pytest
from litestar.testing import TestClient

from central.app import create_app
from central.auth import Auth
from central.config import load
from central.projections import Directory
from tests.central.data import Browser, write_config

ADMIN = ("admin", "admin123")
COMPLAINT = {"received": "2026-11-02 09:00", "channel": "窗口", "hall": "h-a", "department": "academic",
             "content": "态度差", "complexity": "一般"}


@pytest.fixture
def app(store, tmp_path):
    cfg, halls = load(write_config(tmp_path))
    return create_app(store, None, Directory.of(halls), Auth(cfg.users))


def complaints(store) -> int:
    return store.records.Complaint.select().count()


def test_websecurity_cross_origin_form_post_refused(app, store):
    with Browser(app) as c:
        assert c.post("/login", data={"username": "admin", "password": "admin123"}).status_code == 200
        evil = {"origin": "http://evil.example"}
        r = c.post("/complaints", data=COMPLAINT, headers=evil, follow_redirects=False)
        assert r.status_code == 403 and "跨站" in r.json()["detail"]
        same_site_other_port = {"origin": "http://testserver.local:8201"}  # SameSite ignores ports; this does not
        assert c.post("/complaints", data=COMPLAINT, headers=same_site_other_port).status_code == 403
        r = c.post("/complaints", data=COMPLAINT, headers={"sec-fetch-site": "cross-site", "origin": ""})
        assert r.status_code == 403
        assert complaints(store) == 0
        ok = c.post("/complaints", data=COMPLAINT, follow_redirects=False)  # the page's own form
        assert ok.status_code == 303 and complaints(store) == 1


def test_websecurity_form_post_without_origin_refused(app, store):
    with TestClient(app) as c:  # a cookie but no Origin: not a browser on our page
        c.post("/login", data={"username": "admin", "password": "admin123"}, headers={"origin": str(c.base_url)})
        r = c.post("/complaints", data=COMPLAINT, follow_redirects=False)
        assert r.status_code == 403 and "Origin" in r.json()["detail"]
        assert c.post("/login", data={"username": "admin", "password": "admin123"}).status_code == 403
    assert complaints(store) == 0


def test_websecurity_json_api_needs_application_json(app, store):
    with Browser(app) as c:
        c.post("/login", data={"username": "admin", "password": "admin123"})
        body = json.dumps(COMPLAINT)
        r = c.post("/api/complaints", content=body, headers={"content-type": "text/plain"})
        assert r.status_code == 415 and "application/json" in r.json()["detail"]
        r = c.post("/api/complaints", content=body, headers={"content-type": "text/plain", "origin": "http://evil.example"})
        assert r.status_code == 403
        assert complaints(store) == 0
        assert c.post("/api/complaints", json=COMPLAINT).status_code == 201
    with TestClient(app) as script:  # a script: HTTP Basic, JSON, no Origin
        assert script.post("/api/complaints", json=COMPLAINT, auth=ADMIN).status_code == 201
    assert complaints(store) == 2


def test_websecurity_headers_on_every_answer(app):
    with Browser(app) as c:
        for path in ("/login", "/api/health", "/static/central.css", "/api/events"):
            h = c.get(path).headers
            assert "default-src 'self'" in h["content-security-policy"] and "frame-ancestors 'none'" in h[
                "content-security-policy"], path
            assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff", path
            assert h["referrer-policy"] == "same-origin" and h["x-request-id"], path
