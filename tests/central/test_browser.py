"""Headless Chromium against the real central app (uvicorn on a free port, store filled by
ingest): log in, live view, monthly attendance report; records of different halls merged.
Screenshots: /tmp/onestop-shots/central-*.png. Without /usr/bin/chromium the test is skipped,
except under CI=true where it fails."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from central.app import create_app
from central.auth import Auth
from central.config import load
from central.projections import Directory
from tests.central.data import ingest_all, three_halls, write_config

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path("/tmp/onestop-shots")


@pytest.fixture
def server(store, tmp_path):
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} is missing")
    import uvicorn

    cfg, halls = load(write_config(tmp_path))
    ingest_all(store, three_halls())
    store.ensure_hall("h-a", "east")
    app = create_app(store, None, Directory.of(halls), Auth(cfg.users))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    t.join(10)


def test_browser_login_live_and_monthly_report_merged(server, request):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    db = request.node.callspec.id
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{server}/live")
            assert page.url.endswith("/login")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", "admin123")
            page.click("button[type=submit]")
            page.wait_for_url("**/live")
            for name in ("甲大厅", "乙大厅", "丙大厅"):
                assert page.locator("section.hall", has_text=name).count() == 1
            page.screenshot(path=str(SHOTS / f"central-live-{db}.png"), full_page=True)
            page.goto(f"{server}/reports/attendance?month=2026-11")
            table = page.locator("table.report")
            halls_seen = set(table.locator("tr td:first-child").all_inner_texts())
            assert {"甲大厅", "乙大厅"} <= halls_seen  # punches from two halls merged in one report
            page.screenshot(path=str(SHOTS / f"central-attendance-{db}.png"), full_page=True)
            page.goto(f"{server}/reports/satisfaction?start=2026-11-01&end=2026-11-30&by=window")
            cells = set(page.locator("table.report tr td:first-child").all_inner_texts())
            assert cells == {"甲大厅", "乙大厅", "丙大厅"}
            page.screenshot(path=str(SHOTS / f"central-satisfaction-{db}.png"), full_page=True)
        finally:
            browser.close()
