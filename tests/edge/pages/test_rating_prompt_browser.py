"""The prompt to rate and 亮身份 in a real browser (Chromium, playwright): the display board at
1920×1080 with every window's full 亮身份 (photo, post, phone, a long pledge) and a prompt card
passes the page checks of tests/pagecheck.py; a service ending shows the prompt live (SSE) on the
board and on the window's console, the board says it (its own Chinese voice, or the hall node's
espeak-ng audio when the browser has none), and a rating button ends it on both screens
[J 23, J 18, H 5]."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest

from tests.conftest import EVENTS_TOKEN, PIN
from tests.edge.pages.helpers import served
from tests.edge.pages.test_every_page import DEMO_SIZE_TOML
from tests.edge.test_rating_prompt import hall_toml, png
from tests.pagecheck import check_page, chromium

# one xdist worker runs this file in order (its module-scoped fixtures are shared; `make test`)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("edge.pages.test_rating_prompt_browser")]

CLOCK_START = "2026-11-23T09:00+08:00"  # a Monday morning: the test hall is open
STAFF_TOML = "".join(f"""
[[business.staff]]
id = "s-w{n}"
name = "{name}"
department = "{dept}"
windows = ["W{n}"]
title = "{title}"
phone = "0431-8516{n}{n}01"
photo = "s-w{n}.png"
pledge = "热情接待，一次告知，限时办结，不让办事人跑第二次，欢迎监督评价"
""" for n, name, dept, title in [(6, "周晓燕", "library", "流通阅览部馆员"), (7, "欧阳明远", "card", "校园卡管理中心副主任"),
                                 (8, "李娜", "youth", "组织部干事"), (9, "司马静", "career", "就业服务科科长")])


@pytest.fixture(scope="module")
def board_hall(tmp_path_factory):
    """The test hall grown to the example's size, every open window staffed with photo and
    pledge, its devices simulated, served by uvicorn; yields (base URL, hall, hardware)."""
    from edge import presence
    from edge.app import create_app
    from edge.config import load
    from edge.hall import Hall
    from edge.hardware import Hardware
    from sync.kernel.clock import make_clock

    tmp = tmp_path_factory.mktemp("rating-prompt")
    photos = tmp / "photos"
    photos.mkdir()
    for name in ("s-li", "s-w6", "s-w7", "s-w8", "s-w9"):
        (photos / f"{name}.png").write_bytes(png(30, 40))
    f = tmp / "hall.toml"
    # the devices table of hall_toml stays last: the grown hall's tables go before it
    base = hall_toml(photos)
    cut = base.index("\n[devices]")
    f.write_text(base[:cut] + DEMO_SIZE_TOML + STAFF_TOML + base[cut:], encoding="utf-8")
    hall = Hall(load(f), tmp / "data", make_clock(CLOCK_START, None))
    hall.start()
    for w, s in (("W2", "s-wang"), ("W3", "s-qian"), ("W6", "s-w6"), ("W7", "s-w7"), ("W8", "s-w8"), ("W9", "s-w9")):
        hall.call(presence.sign_on, w, s)
    hw = Hardware(hall, simulate=True)
    hw.start()
    app = create_app(hall, simulate=True, hardware=hw, tick_seconds=3600, events_token=EVENTS_TOKEN)
    try:
        with served(app, "rating-prompt") as url:
            yield url, hall, hw
    finally:
        hw.stop()
        hall.stop()


def _serve_one(hall, window: str, staff: str) -> str:
    """A 成绩单 number served at `window` (W1 or W2, 教务处): the service ends."""
    from edge import cases, queue

    hall.call(queue.issue, item="transcript")
    t = hall.call(queue.call_next, window, staff)
    hall.call(cases.complete, window, staff, "instant", item="transcript")
    return t.number


def test_rating_prompt_browser_board_with_full_identity_fits_1920x1080(board_hall):
    """[J 18, H 5] Seven staffed windows with photos, long posts and pledges, one prompting to
    rate: the board passes every check at its screen's size (no overflow, no small text, every
    photo loads)."""
    url, hall, _hw = board_hall
    _serve_one(hall, "W2", "s-wang")
    with chromium() as browser:
        ctx = browser.new_context(locale="zh-CN")
        try:
            page = ctx.new_page()
            problems = check_page(page, f"{url}/display", (1920, 1080), public=True, fixed=True,
                                  ready='.win.rating[data-window="W2"]', name="hall-display-identity-1920x1080")
            assert not problems, "\n".join(map(str, problems))
            assert page.locator("img.wphoto").count() == 4  # W6–W9 have photos; 王芳/钱红 show initials
            assert page.evaluate("() => Array.from(document.images).every(i => i.complete && i.naturalWidth === 30)")
        finally:
            ctx.close()


def test_rating_prompt_browser_board_and_console_show_say_and_end_it(board_hall):
    """[J 23] A service ends at W1: the board (live) shows the prompt and says it — with the hall
    node's audio when the browser has no Chinese voice — and the W1 console shows it with the
    seconds left; a rating button press ends it on both."""
    from playwright.sync_api import expect

    url, hall, hw = board_hall
    with chromium() as browser:
        board_ctx = browser.new_context(locale="zh-CN", viewport={"width": 1920, "height": 1080})
        clerk_ctx = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
        try:
            r = clerk_ctx.request.post(f"{url}/api/windows/W1/sign-on", data={"staff": "s-li", "pin": PIN})
            assert r.ok, r.text()
            board, console = board_ctx.new_page(), clerk_ctx.new_page()
            board.goto(f"{url}/display")
            board.wait_for_function("() => document.body.dataset.live === '1'")
            board.click("#voice")  # what staff do once when the board starts (browsers want a touch)
            own_voice = board.evaluate(
                "() => !!window.speechSynthesis && speechSynthesis.getVoices().some(v => /^(zh|cmn)/i.test(v.lang))")
            console.goto(f"{url}/console/W1")
            expect(console.locator("#rate-prompt")).to_be_hidden()

            # without a Chinese voice of its own the board plays the hall node's audio
            heard = (contextlib.nullcontext() if own_voice else
                     board.expect_response(lambda resp: "/api/display/voice?what=rate" in resp.url, timeout=15_000))
            with heard as got:
                number = _serve_one(hall, "W1", "s-li")
                card = board.locator('.win[data-window="W1"]')
                expect(card).to_have_class(re.compile(r"\bidle rating\b"))
                # bilingual board ([display] bilingual, the default): the English under the Chinese
                expect(card.locator(".rate-text")).to_have_text("请对本次服务进行评价Please rate this service")
                expect(card.locator(".rate-text .en")).to_have_text("Please rate this service")
                expect(card.locator(".rate-sub")).to_contain_text(f"{number} 号")
                expect(console.locator("#rate-prompt")).to_be_visible()
                expect(console.locator("#rate-prompt-number")).to_have_text(number)
                left = int(console.locator("#rate-prompt-left").inner_text())
                assert 100 < left <= 120
            if own_voice:
                assert board.evaluate("() => document.body.dataset.voice") == "browser"
            else:
                said = got.value
                assert said.url.endswith(f"/api/display/voice?what=rate&window=W1&number={number}")
                assert said.status == 200 and said.headers["content-type"] == "audio/wav"
            hw.sim_drive("rate5-W1", "press")
            hw.drain()
            expect(card).not_to_have_class(re.compile(r"\brating\b"))
            expect(console.locator("#rate-prompt")).to_be_hidden()
            board.screenshot(path=str(Path("/tmp/onestop-shots") / "hall-display-rated.png"))
        finally:
            board_ctx.close()
            clerk_ctx.close()
