"""The hall's public screens in a real browser at their real sizes: the kiosk (1080×1920 portrait
and 1280×800), the display board (1920×1080) and the guide, on the example hall
(config/halls/north-student.toml: six departments, its real catalog).

Each page fails on: vertical or horizontal overflow (the kiosk and the board never scroll; the
guide may scroll down, never sideways), text smaller than 16 px, a console error, a failed or
refused request, a link to a staff page (窗口 /console, 管理 /manage). The kiosk shows a
department with no open window as not available, with the reason, and it cannot be tapped; the
board flashes only the called window's row and shows 系统连接中断 while the hall node is down.
Screenshots go to /tmp/onestop-shots/hall/ for a person to look at.

One Chromium and one hall server for the module (the server is stopped and started again on
the same port by the connection-lost test); Chromium and playwright as in test_browser.py.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import EVENTS_TOKEN, SH
from tests.pagecheck import chromium

SHOTS = Path("/tmp/onestop-shots/hall")
EXAMPLE_HALL = Path(__file__).resolve().parents[3] / "config" / "halls" / "north-student.toml"
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=SH)  # w08 (international, Mon/Wed) is in service
KIOSK_SIZES = {"portrait": (1080, 1920), "landscape": (1280, 800)}
BOARD_SIZE = (1920, 1080)
# signed on at the start: academic (w01), student affairs (w04), finance (w06); graduate (w03),
# security (w07) and international (w08) are in service today but nobody is there
SIGNED_ON = {"w01": "20050217", "w04": "20090321", "w06": "20100126"}
MIN_TEXT_PX = 16

# one xdist worker runs this file in order (its module-scoped fixtures are shared; `make test`)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("edge.pages.test_public_browser")]

# Everything a page shows that is text: its font size, where it is, and what clips it.
PAGE_FACTS = """() => {
  const vw = window.innerWidth, vh = window.innerHeight, doc = document.documentElement;
  const small = [], outsideX = [], outsideY = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own && !(el.tagName === "INPUT" && el.type !== "hidden")) continue;
    const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    if (r.width === 0 || r.height === 0 || cs.visibility === "hidden") continue;
    const text = (el.innerText || el.value || el.placeholder || "").trim().slice(0, 40);
    if (parseFloat(cs.fontSize) < %(min)d) small.push(`${el.tagName}.${el.className} ${cs.fontSize} «${text}»`);
    const where = `${el.tagName}.${el.className} [${Math.round(r.left)},${Math.round(r.top)},${Math.round(r.right)},${Math.round(r.bottom)}] «${text}»`;
    if (r.right > vw + 1 || r.left < -1) outsideX.push(where);
    if (r.bottom > vh + 1 || r.top < -1) outsideY.push(where);
  }
  // content that spills out of its box (a tile too small for its text): a child's box or the
  // element's own text reaching beyond it (text by more than a third of its size: glyphs of a
  // tight line-height may)
  const spill = [], out = (a, b, t) => a.bottom > b.bottom + t || a.right > b.right + t || a.top < b.top - t || a.left < b.left - t;
  for (const el of document.querySelectorAll("body *")) {
    const er = el.getBoundingClientRect(), cs = getComputedStyle(el);
    if (!er.width || !er.height || cs.position === "fixed" || cs.clip !== "auto") continue;
    for (const c of el.children) {
      const cr = c.getBoundingClientRect(), ccs = getComputedStyle(c);
      if (!cr.width || !cr.height || ccs.position === "fixed" || ccs.position === "absolute") continue;
      if (out(cr, er, 2)) spill.push(`${c.tagName}.${c.className} out of ${el.tagName}.${el.className} ` +
        `(${Math.round(cr.left)}–${Math.round(cr.right)} × ${Math.round(cr.top)}–${Math.round(cr.bottom)} in ` +
        `${Math.round(er.left)}–${Math.round(er.right)} × ${Math.round(er.top)}–${Math.round(er.bottom)})`);
    }
    if (Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim())) {
      const range = document.createRange();
      range.selectNodeContents(el);
      if (out(range.getBoundingClientRect(), er, parseFloat(cs.fontSize) / 3))
        spill.push(`text of ${el.tagName}.${el.className} «${el.textContent.trim().slice(0, 30)}»`);
    }
  }
  const staff = Array.from(document.querySelectorAll("a[href]")).map(a => a.getAttribute("href"))
    .filter(h => /^\\/(console|manage)(\\/|$)/.test(h) || h === "/");
  return {scrollW: doc.scrollWidth, scrollH: doc.scrollHeight, vw, vh, small, outsideX, outsideY, spill, staff};
}""" % {"min": MIN_TEXT_PX}


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as b:
        yield b


class HallServer:
    """The example hall's real app served by uvicorn on a fixed port; `stop()` and `start()`
    take the node down and bring it back (same hall, same data) as a restart would."""

    def __init__(self, hall) -> None:
        self.hall = hall
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.srv = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        import uvicorn

        from edge.app import create_app

        app = create_app(self.hall, tick_seconds=3600, events_token=EVENTS_TOKEN)
        self.srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                 access_log=False, lifespan="on", timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self.srv.run, name="uvicorn-public-test", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.srv.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        assert self.srv is not None and self.thread is not None
        self.srv.should_exit = True
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), "uvicorn did not stop"


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The example hall on a manual clock (Monday 09:00), three windows signed on, one number
    taken for academic; yields (hall, server)."""
    from edge import presence, queue
    from edge.config import load
    from edge.hall import Hall
    from sync.kernel.clock import ManualClock

    hall = Hall(load(EXAMPLE_HALL), tmp_path_factory.mktemp("public") / "data", ManualClock(MONDAY_9))
    hall.start()
    for w, staff in SIGNED_ON.items():
        hall.call(presence.sign_on, w, staff)
    for item in ("transcript", "transcript", "status-change"):
        hall.call(queue.issue, item=item)
    server = HallServer(hall)
    server.start()
    try:
        yield hall, server
    finally:
        server.stop()
        hall.stop()


class Watch:
    """A page's console errors, uncaught exceptions, failed requests and 4xx/5xx answers."""

    def __init__(self, page) -> None:
        self.problems: list[str] = []
        self.expect_stream_loss = False
        page.on("console", lambda m: m.type == "error" and self._add(f"console: {m.text}"))
        page.on("pageerror", lambda e: self._add(f"page error: {e}"))
        page.on("requestfailed", lambda r: self._failed(r))
        page.on("response", lambda r: r.status >= 400 and self._add(f"{r.status} {r.url}"))

    def _add(self, text: str) -> None:
        if self.expect_stream_loss and ("ERR_CONNECTION_REFUSED" in text or "/api/stream" in text):
            return
        self.problems.append(text)

    def _failed(self, r) -> None:
        # the live stream is cut when the page goes away: not a failure of the page
        if r.url.endswith("/api/stream") and "ERR_ABORTED" in (r.failure or ""):
            return
        self._add(f"failed: {r.url} {r.failure}")


def _open(browser, size: tuple[int, int], touch: bool = True):
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, has_touch=touch, locale="zh-CN")
    page = ctx.new_page()
    return ctx, page, Watch(page)


def _check(page, watch: Watch, name: str, scroll_down_ok: bool = False) -> dict:
    """Screenshot `page` as `name`, then fail on overflow, small text, staff links and problems."""
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    f = page.evaluate(PAGE_FACTS)
    assert f["scrollW"] <= f["vw"], f"{name}: {f['scrollW']} px wide in a {f['vw']} px window"
    assert not f["outsideX"], f"{name}: text beside the screen: {f['outsideX'][:5]}"
    if not scroll_down_ok:
        assert f["scrollH"] <= f["vh"], f"{name}: {f['scrollH']} px tall in a {f['vh']} px window"
        assert not f["outsideY"], f"{name}: text below the screen: {f['outsideY'][:5]}"
    assert not f["spill"], f"{name}: content spills out of its box: {f['spill'][:5]}"
    assert not f["small"], f"{name}: text under {MIN_TEXT_PX} px: {f['small'][:8]}"
    assert not f["staff"], f"{name}: links to staff pages on a public screen: {f['staff']}"
    assert not watch.problems, f"{name}: {watch.problems}"
    return f


# ---------------------------------------------------------------------------- kiosk


@pytest.mark.parametrize("shape", sorted(KIOSK_SIZES))
def test_public_kiosk_every_screen_fits_without_scrolling(browser, example, shape):
    """Departments, a department's items, the item with the most materials, the keypad and the
    ticket slip each fit the screen; a taken number's slip names the window, not the halls."""
    from playwright.sync_api import expect

    hall, server = example
    ctx, page, watch = _open(browser, KIOSK_SIZES[shape])
    try:
        page.goto(f"{server.url}/kiosk")
        expect(page.locator(".dept-tile")).to_have_count(6)
        _check(page, watch, f"kiosk-{shape}")
        page.locator('a.dept-tile[data-dept="academic"]').click()
        expect(page.get_by_role("heading", name="教务处")).to_be_visible()
        _check(page, watch, f"kiosk-{shape}-department")
        cfg = hall.config.business
        here = {w.department for w in cfg.windows}
        crowded = max(here, key=lambda d: sum(1 for i in cfg.catalog.items if i.department == d))
        page.goto(f"{server.url}/kiosk/departments/{crowded}")
        _check(page, watch, f"kiosk-{shape}-department-most-items")
        longest = max((i for i in cfg.catalog.items if i.department in here), key=lambda i: len(i.materials))
        page.goto(f"{server.url}/kiosk/items/{longest.id}")
        _check(page, watch, f"kiosk-{shape}-item-most-materials")
        open_now = {w.department for w in cfg.windows if w.id in SIGNED_ON}
        bring = max((i for i in cfg.catalog.items if i.department in open_now), key=lambda i: len(i.materials))
        page.goto(f"{server.url}/kiosk/items/{bring.id}")
        page.get_by_role("button", name="取号", exact=True).click()
        expect(page.locator("#ticket-number")).to_have_text(re.compile(r"^[A-Z]\d{3}$"))
        windows = "、".join(w.name for w in cfg.windows if w.department == bring.department and w.kind == "fixed")
        expect(page.locator("#slip-window")).to_have_text(f"办理窗口：{windows}")
        slip = page.locator(".slip").inner_text()
        assert slip.count("大厅") == 1, slip  # this hall, once; no list of the centre's halls
        assert len(bring.materials) >= 5 and bring.materials[-1].name in slip
        _check(page, watch, f"kiosk-{shape}-ticket")
        page.goto(f"{server.url}/kiosk/rejoin")
        _check(page, watch, f"kiosk-{shape}-rejoin")
    finally:
        ctx.close()


def test_public_kiosk_department_without_open_window_cannot_be_tapped(browser, example):
    """graduate's only window (w03) is in service today but nobody has signed on: its tile says
    so, shows no estimated wait and is not a link; tapping it leaves the kiosk where it was [J 22]."""
    from playwright.sync_api import expect

    _, server = example
    ctx, page, watch = _open(browser, KIOSK_SIZES["landscape"])
    try:
        page.goto(f"{server.url}/kiosk")
        tile = page.locator('.dept-tile[data-dept="graduate"]')
        expect(tile).to_have_class("ktile dept-tile off")
        expect(tile).to_contain_text("窗口暂未开放")
        expect(tile).not_to_contain_text("预计等候")
        assert tile.evaluate("e => e.tagName") == "DIV"
        tile.tap()
        assert page.url == f"{server.url}/kiosk"
        open_tile = page.locator('.dept-tile[data-dept="academic"]')
        expect(open_tile).to_contain_text("预计等候约")
        assert open_tile.evaluate("e => e.tagName") == "A"
        assert not watch.problems, watch.problems
    finally:
        ctx.close()


def test_public_kiosk_rejoin_with_the_on_screen_keypad(browser, example):
    """A missed number (过号) rejoins by tapping its letter and digits; no keyboard needed."""
    from playwright.sync_api import expect

    from edge import queue

    hall, server = example
    t = hall.call(queue.issue, department="finance")["ticket"]
    assert hall.call(queue.call_next, "w06", SIGNED_ON["w06"]).id == t.id
    hall.call(queue.recall, "w06", SIGNED_ON["w06"])
    hall.call(queue.recall, "w06", SIGNED_ON["w06"])
    hall.call(queue.no_show, "w06", SIGNED_ON["w06"])
    ctx, page, watch = _open(browser, KIOSK_SIZES["portrait"])
    try:
        page.goto(f"{server.url}/kiosk")
        page.get_by_role("link", name="过号了？重新排队").click()
        for key in [t.number[0], "9", "删除", *t.number[1:]]:
            page.locator(".keypad button", has_text=key).first.tap()
        expect(page.locator("#rejoin-number")).to_have_value(t.number)
        page.get_by_role("button", name="重新排队").click()
        expect(page.locator("#ticket-number")).to_have_text(t.number)
        expect(page.locator(".slip")).to_contain_text("前面还有")
        assert not watch.problems, watch.problems
    finally:
        ctx.close()


# ---------------------------------------------------------------------------- guide


def test_public_guide_has_no_staff_links_and_no_small_text(browser, example):
    _, server = example
    ctx, page, watch = _open(browser, KIOSK_SIZES["landscape"])
    try:
        page.goto(f"{server.url}/guide")
        _check(page, watch, "guide", scroll_down_ok=True)
        page.locator(".guide-dept li a").first.click()
        page.wait_for_load_state()
        _check(page, watch, "guide-item", scroll_down_ok=True)
    finally:
        ctx.close()


# ---------------------------------------------------------------------------- display board


def _board(browser, server):
    ctx, page, watch = _open(browser, BOARD_SIZE, touch=False)
    page.goto(f"{server.url}/display")
    page.wait_for_function("() => document.querySelectorAll('.win').length > 0")
    return ctx, page, watch


def test_public_display_fits_1920x1080_and_hides_nothing(browser, example):
    """Every department's queue and every window in view with the list of latest calls full,
    nothing under the voice button."""
    from playwright.sync_api import expect

    from edge import cases, queue

    hall, server = example
    staff = SIGNED_ON["w06"]
    for _ in range(10):  # more calls than the board lists
        hall.clock.advance(minutes=1)
        hall.call(queue.issue, item="reimbursement")
        hall.call(queue.call_next, "w06", staff)
        hall.call(queue.start, "w06", staff)
        hall.call(cases.complete, "w06", staff, "instant", item="reimbursement")
    ctx, page, watch = _board(browser, server)
    try:
        expect(page.locator("#queues li")).to_have_count(6)
        expect(page.locator("#recent li")).to_have_count(8)  # 14 rows - 6 departments
        _check(page, watch, "display")
        covered = page.evaluate("""() => {
          const b = document.getElementById("voice").getBoundingClientRect();
          return Array.from(document.querySelectorAll(".board-body *")).filter(el => {
            const r = el.getBoundingClientRect();
            return r.width && r.height && r.left < b.right && r.right > b.left && r.top < b.bottom && r.bottom > b.top;
          }).map(el => el.textContent.trim().slice(0, 30));
        }""")
        assert not covered, f"under the voice button: {covered}"
        # at lunch the closed note takes a line too; a card nobody holds adds the alerts line
        from edge import attendance
        before = hall.clock.now()
        try:
            hall.clock.set(datetime(2026, 11, 23, 12, 0, tzinfo=SH))
            hall.call(attendance.record_unknown, "hall-reader", "00000000FF")  # the board updates live
            expect(page.locator("#closed-note")).to_be_visible()
            expect(page.locator("#alerts")).to_be_visible()
            _check(page, watch, "display-lunch-with-alert")
            assert page.locator("#recent li:visible").count() >= 3
        finally:
            hall.clock.set(before)
    finally:
        ctx.close()


def test_public_display_flashes_only_the_called_row(browser, example):
    from playwright.sync_api import expect

    from edge import queue

    hall, server = example
    ctx, page, watch = _board(browser, server)
    try:
        page.wait_for_function("() => document.body.dataset.live === '1'")  # the stream is open
        hall.call(queue.issue, item="transcript")
        called = hall.call(queue.call_next, "w01", SIGNED_ON["w01"])
        row = page.locator('.win[data-window="w01"]')
        expect(row).to_have_class("win serving flash")
        expect(row.locator(".wnum")).to_have_text(called.number)
        assert page.locator(".win.flash").count() == 1
        animated = page.evaluate("""() => Array.from(document.querySelectorAll("body *"))
          .filter(el => getComputedStyle(el).animationName !== "none")
          .map(el => el.dataset.window || el.id || el.className)""")
        assert animated == ["w01"], animated
        page.screenshot(path=str(SHOTS / "display-call.png"))
        expect(row).to_have_class("win serving", timeout=10_000)  # the flash ends by itself
        assert not watch.problems, watch.problems
    finally:
        ctx.close()


def test_public_display_shows_connection_lost_and_recovers(browser, example):
    """The hall node goes down: a banner says 系统连接中断, the figures dim and the clock stops;
    the node comes back: the banner goes and the board is live again (a call shows up)."""
    from playwright.sync_api import expect

    from edge import queue

    hall, server = example
    ctx, page, watch = _board(browser, server)
    try:
        page.wait_for_function("() => document.body.dataset.live === '1'")  # the stream is open
        expect(page.locator("#lost")).to_be_hidden()
        watch.expect_stream_loss = True
        server.stop()
        expect(page.locator("#lost")).to_be_visible(timeout=10_000)
        expect(page.locator("#lost")).to_contain_text("系统连接中断，正在重连…")
        expect(page.locator("body")).to_have_class(re.compile(r"\bboard\b.*\boffline\b"))
        assert float(page.locator("#board").evaluate("e => getComputedStyle(e).opacity")) < 0.5
        stopped = page.locator("#clock").inner_text()
        page.wait_for_function("t0 => Date.now() - t0 > 2200", arg=page.evaluate("Date.now()"))
        assert page.locator("#clock").inner_text() == stopped, "the clock kept ticking while offline"
        assert stopped in page.locator("#lost-since").inner_text()
        page.screenshot(path=str(SHOTS / "display-connection-lost.png"))

        server.start()
        expect(page.locator("#lost")).to_be_hidden(timeout=15_000)
        expect(page.locator("body")).not_to_have_class(re.compile(r"\boffline\b"))
        watch.expect_stream_loss = False
        hall.call(queue.issue, department="student-affairs")
        called = hall.call(queue.call_next, "w04", SIGNED_ON["w04"])
        expect(page.locator('.win[data-window="w04"] .wnum')).to_have_text(called.number)
        page.screenshot(path=str(SHOTS / "display-reconnected.png"))
    finally:
        ctx.close()
