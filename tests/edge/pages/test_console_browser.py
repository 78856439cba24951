"""The window console in a real browser at a counter PC's screen, 1366×768 (issue 12): the
counter bar's buttons (叫号 … 办结 … 签退) are always inside the viewport, however long the page;
no horizontal overflow, console error or failed request; a wrong PIN keeps the 工号; 签退 with
people waiting goes through a confirmation page; the queue shows minutes waited.

One browser and one server (the real app under sync.kernel.serve's GracefulServer, on a manual
hall clock) for the module. Screenshots: /tmp/onestop-shots/hall/console-*.png.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EVENTS_TOKEN, HALL_TOML, MONDAY_9, PIN
from tests.edge.pages.helpers import served as serving
from tests.pagecheck import chromium

# one xdist worker runs this file in order (its module-scoped fixtures are shared; `make test`)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("edge.pages.test_console_browser")]

SHOTS = Path("/tmp/onestop-shots/hall")
W, H = 1366, 768
BAR_ACTIONS = ("叫号", "重呼", "开始办理", "过号", "办结", "暂停服务", "签退")


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(base URL, hall, clock): the real app on a free port in a background thread."""
    from edge.app import create_app
    from edge.config import load
    from edge.hall import Hall
    from sync.kernel.clock import ManualClock

    tmp = tmp_path_factory.mktemp("console-browser")
    (tmp / "hall.toml").write_text(HALL_TOML, encoding="utf-8")
    clock = ManualClock(MONDAY_9)
    hall = Hall(load(tmp / "hall.toml"), tmp / "data", clock)
    hall.start()
    try:
        with serving(create_app(hall, tick_seconds=3600, events_token=EVENTS_TOKEN), "console-browser") as url:
            yield url, hall, clock
    finally:
        hall.stop()


class Watch:
    """Console errors, page errors, failed requests and HTTP errors of one page."""

    def __init__(self, page, name: str) -> None:
        self.problems: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"{name} console: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"{name} page error: {e}"))
        page.on("requestfailed", self._failed)
        page.on("response", lambda r: r.status >= 400 and self.problems.append(f"{name} {r.status} {r.url}"))

    def _failed(self, req) -> None:
        # leaving a page cancels its open event stream and any poll still in flight (the console
        # polls /api/display/prompts): a GET cut short by the navigation is no failure
        if req.method == "GET" and "/api/" in req.url and "ERR_ABORTED" in (req.failure or ""):
            return
        self.problems.append(f"failed request {req.url}: {req.failure}")


@pytest.fixture
def console(browser, served):
    base, hall, clock = served
    ctx = browser.new_context(viewport={"width": W, "height": H}, has_touch=True, locale="zh-CN")
    page = ctx.new_page()
    watch = Watch(page, "console")
    yield page, base, watch
    ctx.close()
    assert not watch.problems, watch.problems


def _api(base: str, method: str, path: str, **kw):
    import httpx

    return httpx.request(method, base + path, headers={"Authorization": f"Bearer {EVENTS_TOKEN}"}, **kw)


def _shot(page, name: str) -> None:
    """What the clerk sees: the viewport (a full-page capture would draw the fixed bar mid-page)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"console-{name}.png"))


def _no_horizontal_overflow(page) -> None:
    sw, cw = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert sw <= cw, f"horizontal overflow: {sw} > {cw}"


def _bar_in_view(page) -> None:
    """Every counter-bar button lies inside the viewport and nothing covers it."""
    for label in BAR_ACTIONS:
        btn = page.locator(".actionbar").get_by_role("button", name=label)
        assert btn.count() == 1, label
        box = btn.bounding_box()
        assert box is not None, label
        assert box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= W and box["y"] + box["height"] <= H, \
            (label, box)
        on_top = page.evaluate("([x, y]) => { const e = document.elementFromPoint(x, y); return e && e.closest('button') "
                               "? e.closest('button').textContent.trim() : (e ? e.tagName : null); }",
                               [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
        assert on_top is not None and on_top.startswith(label), (label, on_top)


def _bar_places(page) -> dict[str, float]:
    return {label: page.locator(".actionbar").get_by_role("button", name=label).bounding_box()["x"]
            for label in ("叫号", "重呼", "开始办理", "过号", "办结")}


def _check_layout(page, name: str) -> None:
    _no_horizontal_overflow(page)
    _bar_in_view(page)
    _shot(page, name)
    # scrolled to the end, the bar still shows and the page's last content is not hidden under it
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    _bar_in_view(page)
    _shot(page, f"{name}-end")
    bar_top = page.locator(".actionbar").bounding_box()["y"]
    ends = page.evaluate("(() => { const c = document.querySelectorAll('main .card'); const f = "
                         "document.querySelector('footer'); return [c[c.length - 1].getBoundingClientRect().bottom, "
                         "f ? f.getBoundingClientRect().bottom : 0]; })()")
    assert max(ends) <= bar_top + 1, f"the page ends at {ends}, under the bar at {bar_top}"
    page.evaluate("window.scrollTo(0, 0)")


def _sign_on(page, base: str, window: str = "W1", staff: str = "s-li") -> None:
    page.goto(f"{base}/console/{window}")
    page.fill("#staff", staff)
    page.fill("#pin", PIN)
    page.get_by_role("button", name="签到").click()
    from playwright.sync_api import expect

    expect(page.locator(".flash")).to_contain_text("签到成功")


def test_console_browser_wrong_pin_keeps_staff_id_and_signs_on(console):
    from playwright.sync_api import expect

    page, base, _ = console
    page.goto(f"{base}/console/W1")
    page.fill("#staff", "s-li")
    page.fill("#pin", "9999")
    page.get_by_role("button", name="签到").click()
    expect(page.locator(".flash")).to_contain_text("工号或密码不正确")
    expect(page.locator("#staff")).to_have_value("s-li")
    expect(page.locator("#pin")).to_have_value("")
    expect(page.locator("#pin")).to_be_focused()
    _no_horizontal_overflow(page)
    _shot(page, "signon-wrong-pin")
    page.fill("#pin", PIN)
    page.get_by_role("button", name="签到").click()
    expect(page.locator(".flash")).to_contain_text("签到成功")
    _bar_in_view(page)


def test_console_browser_action_bar_stays_in_view_and_finishes_a_service(console, served):
    from playwright.sync_api import expect

    page, base, _ = console
    _, hall, clock = served
    for item in ("suspension", "transcript", "transcript", "graduation", "transcript"):
        assert _api(base, "POST", "/api/tickets", json={"item": item}).status_code == 201
        clock.advance(minutes=3)
    _sign_on(page, base, "W2", "s-zhao")
    _check_layout(page, "idle")
    places = _bar_places(page)
    # minutes waited on the hall clock: the first ticket was taken 15 minutes ago
    first = page.locator(".queue-list li").first
    expect(first).to_contain_text("已等 15 分钟")

    page.locator(".actionbar").get_by_role("button", name="叫号").click()
    expect(page.locator("#current-number")).to_be_visible()
    number = page.locator("#current-number").inner_text().strip()
    expect(page.locator(".actionbar .ab-num")).to_have_text(number)
    page.locator('input[name="outcome"][value="notice"]').check()  # the longest form: every material
    assert page.evaluate("document.documentElement.scrollHeight") > H  # the page does scroll …
    _check_layout(page, "serving")  # … and the bar stays
    assert _bar_places(page) == places  # the buttons keep their places whatever the state
    page.locator('input[name="outcome"][value="promised"]').check()
    page.locator(".actionbar").get_by_role("button", name="办结").click()  # submits the 办结 form
    expect(page.locator(".flash")).to_contain_text(f"{number} 已办结")
    expect(page.locator("#done-count")).to_have_text("1")

    # pause from the bar, resume from the bar
    page.locator(".actionbar").get_by_role("button", name="暂停服务").click()
    expect(page.locator(".flash")).to_contain_text("已暂停服务")
    _no_horizontal_overflow(page)
    resume = page.locator(".actionbar").get_by_role("button", name="恢复服务")
    expect(resume).to_be_in_viewport()
    _shot(page, "paused")
    resume.click()
    expect(page.locator(".flash")).to_contain_text("已恢复服务")


def test_console_browser_sign_off_with_people_waiting_is_confirmed_first(console, served):
    from playwright.sync_api import expect

    page, base, _ = console
    _sign_on(page, base, "W1", "s-li")
    waiting = next(q["waiting"] for q in _api(base, "GET", "/api/queue").json() if q["department"] == "academic")
    assert waiting >= 1
    page.locator(".actionbar").get_by_role("button", name="签退").click()
    expect(page.get_by_role("heading", name="确认签退？")).to_be_visible()
    expect(page.locator("#waiting-count")).to_have_text(str(waiting))
    _no_horizontal_overflow(page)
    _shot(page, "signoff-confirm")
    page.get_by_role("link", name="返回工作台").click()  # cancel: still signed on
    expect(page.locator(".actionbar")).to_be_visible()
    w1 = next(w for w in _api(base, "GET", "/api/windows").json() if w["id"] == "W1")
    assert w1["staff"]["id"] == "s-li"
    page.locator(".actionbar").get_by_role("button", name="签退").click()
    page.get_by_role("button", name="仍然签退").click()
    expect(page.locator(".flash")).to_contain_text("已签退")
    expect(page.locator("#pin")).to_be_visible()
    w1 = next(w for w in _api(base, "GET", "/api/windows").json() if w["id"] == "W1")
    assert w1["staff"] is None
