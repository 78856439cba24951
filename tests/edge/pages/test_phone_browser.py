"""The visitor's phone page in a real browser at a phone's size (360×780): it follows the ticket
live from its event stream as the window calls it (no reload), shows the reminder when three
numbers are ahead and vibrates once for it and once for the call, and after the service the
visitor rates it once from the phone (一次一评 [J 23, U 19, B 23, C 11(7)]).

The test hall served by uvicorn (tests.edge.pages.helpers.served) on a ManualClock; the clerk
drives W1 through the JSON API from a second browser context. Playwright's `expect` waits for
what the page shows (no sleeps). Screenshots: /tmp/onestop-shots/phone-*.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PIN
from tests.edge.pages.helpers import served
from tests.pagecheck import chromium

pytestmark = pytest.mark.slow

SHOTS = Path("/tmp/onestop-shots")
PHONE = {"width": 360, "height": 780}
# what navigator.vibrate was asked to do (headless Chromium has no vibrator to ask)
RECORD_VIBRATIONS = """
window.__vibrations = [];
Object.defineProperty(navigator, "vibrate", {value: (p) => { window.__vibrations.push(p); return true; }});
"""


def test_phone_browser_page_follows_the_call_live_and_rates_once(hall):
    from playwright.sync_api import expect

    from edge import phone
    from edge.app import create_app

    app = create_app(hall, tick_seconds=3600)
    with served(app, "phone") as base, chromium() as browser:
        clerk = browser.new_context().request
        visitor = browser.new_context(locale="zh-CN", viewport=PHONE, is_mobile=True, has_touch=True)
        try:
            ids = [clerk.post(f"{base}/api/tickets", data={"item": "transcript"}).json()["id"] for _ in range(5)]
            assert clerk.post(f"{base}/api/windows/W1/sign-on", data={"staff": "s-li", "pin": PIN}).ok
            page = visitor.new_page()
            page.add_init_script(RECORD_VIBRATIONS)
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(base + hall.call(phone.ticket_path, ids[4]))
            expect(page.locator("#phone-number")).to_have_text("A005")
            expect(page.locator("#phone-ahead")).to_have_text("4")
            expect(page.locator("#remind")).to_have_count(0)
            page.locator("#vibrate").click()  # the tap that lets the browser vibrate later
            # the window calls A001: three are ahead now, the page says so without a reload
            assert clerk.post(f"{base}/api/windows/W1/call").ok
            expect(page.locator("#phone-ahead")).to_have_text("3")
            expect(page.locator("#remind")).to_contain_text("前面只剩 3 人")
            page.screenshot(path=str(SHOTS / "phone-remind-360x780.png"))
            for _ in range(4):  # A001 … A004 served, then A005 is called
                assert clerk.post(f"{base}/api/windows/W1/complete", data={"outcome": "instant"}).ok
                assert clerk.post(f"{base}/api/windows/W1/call").ok
            expect(page.locator("#phone-call")).to_have_text("请到 1号窗口 办理")
            page.screenshot(path=str(SHOTS / "phone-called-360x780.png"))
            vibrations = page.evaluate("window.__vibrations")
            assert vibrations[0] == 80  # the tap on 开启振动提醒
            assert len(vibrations) == 3, vibrations  # then once for the reminder and once for the call
            assert clerk.post(f"{base}/api/windows/W1/complete", data={"outcome": "instant"}).ok
            expect(page.locator("#rate")).to_be_visible()
            page.screenshot(path=str(SHOTS / "phone-rate-360x780.png"), full_page=True)
            page.get_by_role("button", name="满意", exact=True).click()
            expect(page.locator(".flash-ok")).to_have_text("感谢您的评价：满意")
            expect(page.locator("#rated")).to_contain_text("本次服务已评价：满意")
            expect(page.locator("#rate")).to_have_count(0)
            assert sum(e.kind == "rating.given" for e in hall.store.events(0, 1000)) == 1
            assert not errors, errors
        finally:
            visitor.close()
