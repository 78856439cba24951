"""The pages in a real browser: headless Debian Chromium driven by Python playwright against the
real app served by uvicorn.

A visitor takes a number at the kiosk by tapping an item; a staff member signs on at a window
console and taps 叫号; the display board, opened beforehand, shows the number through the live
stream without reloading; the staff member finishes the service as 即办. Screenshots of the
kiosk, the console and the display go to /tmp/onestop-shots/ for a human look.

Needs /usr/bin/chromium (`bash .ci/system-deps` installs it) and the `playwright` wheel (the
`test` extra); `playwright install` is never needed, the system browser is used. Without a
browser the test is skipped on a developer machine but fails under CI (env CI set).
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import EVENTS_TOKEN
from tests.edge.pages.helpers import hall_served
from tests.pagecheck import chromium

SHOTS = Path("/tmp/onestop-shots")
CLOCK_START = "2026-11-23T09:00+08:00"  # a Monday morning: the test hall is open

pytestmark = pytest.mark.slow


@pytest.fixture
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def server(config, tmp_path):
    """The real app on a free port, in a background thread, on a simulated clock."""
    with hall_served(config, tmp_path / "data", "browser-test", CLOCK_START, events_token=EVENTS_TOKEN) as (url, _):
        yield url


def _get_json(url: str):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {EVENTS_TOKEN}"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def test_browser_ticket_call_display_and_finish(server, browser):
    from playwright.sync_api import expect

    SHOTS.mkdir(parents=True, exist_ok=True)
    base = server
    errors: list[str] = []

    # The display board opens first, as on the hall's big screen.
    display_ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    display = display_ctx.new_page()
    display.on("pageerror", lambda e: errors.append(f"display: {e}"))
    display.goto(f"{base}/display")
    expect(display.locator('.win[data-window="W1"]')).to_contain_text("1号窗口")
    display.evaluate("window.__notReloaded = true")

    # A visitor taps an item at the kiosk and takes a number.
    kiosk_ctx = browser.new_context(viewport={"width": 1280, "height": 1024}, has_touch=True)
    kiosk = kiosk_ctx.new_page()
    kiosk.on("pageerror", lambda e: errors.append(f"kiosk: {e}"))
    kiosk.goto(f"{base}/kiosk")
    expect(kiosk.locator('a.dept-tile[data-dept="academic"]')).to_contain_text("教务处")
    kiosk.screenshot(path=str(SHOTS / "kiosk.png"), full_page=True)
    kiosk.locator('a.dept-tile[data-dept="academic"]').click()  # department, then its item
    kiosk.get_by_role("link", name="成绩单打印").click()
    expect(kiosk.get_by_role("heading", name="成绩单打印")).to_be_visible()
    kiosk.screenshot(path=str(SHOTS / "kiosk-item.png"), full_page=True)
    kiosk.get_by_role("button", name="取号", exact=True).click()
    number = kiosk.locator("#ticket-number").inner_text().strip()
    assert number == "A001"
    expect(kiosk.locator(".slip")).to_contain_text("学生证")
    kiosk.screenshot(path=str(SHOTS / "kiosk-ticket.png"), full_page=True)
    expect(display.locator("#queues li").first).to_contain_text("1 人")  # the board counts it live

    # Staff signs on at window W1 and calls.
    console_ctx = browser.new_context(viewport={"width": 1366, "height": 900}, has_touch=True)
    console = console_ctx.new_page()
    console.on("pageerror", lambda e: errors.append(f"console: {e}"))
    console.goto(f"{base}/console/W1")
    console.fill("#staff", "s-li")
    console.fill("#pin", "1234")
    console.get_by_role("button", name="签到").click()
    expect(console.locator(".flash")).to_contain_text("签到成功")
    console.get_by_role("button", name="叫号").click()
    expect(console.locator("#current-number")).to_have_text(number)
    console.screenshot(path=str(SHOTS / "console.png"), full_page=True)

    # The display shows the number without a reload: the live stream updated it.
    expect(display.locator('.win[data-window="W1"] .wnum')).to_have_text(number, timeout=10_000)
    expect(display.locator("#recent li").first).to_contain_text(number)
    assert display.evaluate("window.__notReloaded === true")
    called_row = display.locator('.win[data-window="W1"]')  # only the called window's row flashes
    expect(called_row).to_have_class(re.compile(r"\bflash\b"))
    display.screenshot(path=str(SHOTS / "display-call.png"))
    expect(called_row).not_to_have_class(re.compile(r"\bflash\b"), timeout=15_000)
    display.screenshot(path=str(SHOTS / "display.png"))

    # Finish it as 即办: the item is preselected from the ticket and the outcome follows its mode.
    expect(console.locator('input[name="item"][value="transcript"]')).to_be_checked()
    console.locator('input[name="outcome"][value="instant"]').check()
    console.get_by_role("button", name="办结", exact=True).click()
    expect(console.locator(".flash")).to_contain_text(f"{number} 已办结")
    expect(console.locator("#done-count")).to_have_text("1")
    w1 = next(w for w in _get_json(f"{base}/api/windows") if w["id"] == "W1")
    assert w1["state"] == "idle" and w1["ticket"] is None
    kinds = [e["kind"] for e in _get_json(f"{base}/api/events?limit=100")]
    assert "ticket.completed" in kinds
    # the service ended: the board prompts the visitor to rate it [J 23] (tests/edge/test_rating_prompt.py)
    expect(display.locator('.win[data-window="W1"] .wnum .rate-text')).to_contain_text("请对本次服务进行评价",
                                                                                    timeout=10_000)

    # The console follows the hall by itself: a new ticket shows up in its queue without a tap.
    kiosk.goto(f"{base}/kiosk/items/suspension")
    kiosk.get_by_role("button", name="取号", exact=True).click()
    expect(kiosk.locator("#ticket-number")).to_have_text("A002")
    expect(console.locator(".queue-list")).to_contain_text("A002", timeout=10_000)
    expect(console.get_by_role("button", name="叫号")).to_be_enabled()

    for ctx in (display_ctx, kiosk_ctx, console_ctx):
        ctx.close()
    assert not errors, errors
