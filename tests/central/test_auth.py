"""Dashboard logins (central.auth) through the real login form and HTTP Basic: the session id
is the server's and changes at login, the cookie is HttpOnly and SameSite=Strict, guesses are
throttled per account and per source with every failure audited, and an unknown name costs
the same PBKDF2 work as a known one."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from central.app import create_app
from central.auth import COOKIE, Auth
from central.config import User, load
from central.projections import Directory
from sync.kernel.clock import ManualClock
from sync.kernel.passwords import ITERATIONS, hash_secret
from tests.central.data import Browser, write_config


@pytest.fixture
def parts(store, tmp_path):
    cfg, halls = load(write_config(tmp_path))
    clock = ManualClock(datetime(2026, 11, 2, tzinfo=timezone.utc))
    auth = Auth(cfg.users, session_minutes=30, clock=lambda: clock.monotonic() / 1e9)
    return store, Directory.of(halls), auth, clock


@pytest.fixture
def client(parts):
    store, directory, auth, _clock = parts
    with Browser(create_app(store, None, directory, auth)) as c:
        yield c


def login(c, name, password):
    return c.post("/login", data={"username": name, "password": password}, follow_redirects=False)


def test_auth_login_rotates_a_chosen_session_id(client, parts):
    _store, _d, auth, _clock = parts
    client.cookies.set(COOKIE, "attacker-chosen", domain="testserver.local")
    r = login(client, "admin", "admin123")
    token = client.cookies.get(COOKIE)
    assert r.status_code in (302, 303) and token and token != "attacker-chosen"
    assert auth.session("attacker-chosen") is None and auth.session(token).user.name == "admin"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie  # plain HTTP here
    # a second login from the same browser ends the first session
    login(client, "admin", "admin123")
    assert auth.session(token) is None and client.get("/api/config").status_code == 200


def test_auth_cookie_is_secure_under_tls(parts):
    store, directory, auth, _clock = parts
    with Browser(create_app(store, None, directory, auth), base_url="https://central.example") as c:
        r = login(c, "admin", "admin123")
    assert r.status_code in (302, 303) and "secure" in r.headers["set-cookie"].lower()
    assert "max-age=31536000" in r.headers["strict-transport-security"]


def test_auth_login_throttled_per_account_and_every_failure_audited(client, parts):
    store, _d, _auth, clock = parts
    for _ in range(5):
        assert login(client, "finance-head", "guess").status_code == 401
    locked = login(client, "finance-head", "finance123")  # even the right password waits now
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) == 30 and "秒后再试" in locked.text
    failed = [e for e in store.audit_log(100) if e["action"] == "login_failed"]
    assert len(failed) == 6 and all(e["who"] == "finance-head" for e in failed)
    assert "form from" in failed[-1]["detail"] and "wrong password" in failed[-1]["detail"]
    assert "locked" in failed[0]["detail"]
    clock.advance(seconds=31)
    assert login(client, "finance-head", "guess").status_code == 401  # one more failure: locked twice as long
    clock.advance(seconds=31)
    assert login(client, "finance-head", "finance123").status_code == 429
    clock.advance(seconds=31)
    assert login(client, "finance-head", "finance123").status_code in (302, 303)
    assert login(client, "admin", "admin123").status_code in (302, 303)  # other accounts were never locked


def test_auth_basic_failures_throttled_and_audited(client, parts):
    store = parts[0]
    for _ in range(5):
        assert client.get("/api/config", auth=("admin", "nope")).status_code == 401
    r = client.get("/api/config", auth=("admin", "admin123"))
    assert r.status_code == 429 and r.headers["retry-after"]
    failed = [e for e in store.audit_log(100) if e["action"] == "login_failed"]
    assert len(failed) == 6 and "basic from" in failed[-1]["detail"]


def test_auth_login_throttled_per_source(client):
    for n in range(20):  # a different name every time: no account reaches its limit
        assert login(client, f"nobody-{n}", "x").status_code == 401
    assert login(client, "admin", "admin123").status_code == 429


def test_auth_unknown_user_costs_the_same_work(parts, tmp_path):
    _store, _d, auth, _clock = parts
    real = [u.password_hash.split("$") for u in auth.users.values()]
    dummy = auth.dummy_hash.split("$")
    assert {(r[0], r[1]) for r in real} == {(dummy[0], dummy[1])} == {("pbkdf2_sha256", "1000")}
    assert len(dummy[2]) == len(real[0][2]) and len(dummy[3]) == len(real[0][3])
    prod = Auth([User(name="a", role="admin", password_hash=hash_secret("pw"))])
    assert prod.dummy_hash.split("$")[1] == str(ITERATIONS)
    assert Auth([]).dummy_hash.split("$")[1] == str(ITERATIONS)
