"""Central's live view (central.pages.live): the figures per hall and in total, stale halls,
the server-sent event stream (/live/stream) over a real uvicorn server, its end when the
server shuts down, and headless Chromium watching the page update without a reload.

Statuses reach the store as ingest stores them (`CentralStore.hall_status` inside a
transaction, as `CentralService._handle` does), stamped with central's ManualClock."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from central.app import create_app
from central.auth import Auth
from central.config import load
from central.pages.live import LiveSettings, waiting_tickets
from central.projections import Directory
from central.scope import Scope
from central.store import CentralStore
from sync.contract import events as ev
from sync.contract import wire
from sync.kernel.clock import ManualClock
from sync.kernel.serve import GracefulServer, stopping_of
from tests.central.data import SH, Browser, HallLog, at, write_config
from tests.conftest import wait_until
from tests.pagecheck import chromium

DAY = "2026-11-23"  # a Monday
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=SH)
SHOTS = Path("/tmp/onestop-shots")


def today_log() -> HallLog:
    """h-a this morning: T1 waits since 09:00 (academic); T2 was called; T3 was 过号 and
    rejoined at 09:20; F1 (finance, issued 08:50) was transferred to academic at 09:05 and
    keeps its place in time; two ratings (5 and 2)."""
    a = HallLog("h-a")
    a.visit("T1", DAY, "academic", "09:00")
    a.visit("T2", DAY, "academic", "09:10", "09:12", window="W1", staff="s-li")
    a.visit("T3", DAY, "academic", "09:05", "09:07", window="W1", staff="s-li", no_show="09:09")
    a.add(ev.TicketRejoined(ticket="T3"), at(DAY, "09:20"))
    a.visit("F1", DAY, "finance", "08:50")
    a.add(ev.TicketTransferred(ticket="F1", window="W3", staff="s-qian", from_department="finance",
                               to_department="academic", item="transcript"), at(DAY, "09:05"))
    a.visit("F2", DAY, "finance", "09:25")
    a.add(ev.RatingGiven(window="W1", ticket="T2", level=5, staff="s-li", department="academic"), at(DAY, "09:15"))
    a.add(ev.RatingGiven(window="W3", ticket="F0", level=2, staff="s-qian", department="finance"), at(DAY, "09:16"))
    return a


def status(hall: str, *, waiting: dict[str, int], last_seq: int = 0, backlog: int = 0, epoch: str = "e1",
           windows: list | None = None) -> bytes:
    return wire.encode(wire.Status(
        v=wire.V, hall=hall, state="online", epoch=epoch, last_seq=last_seq, acked_seq=last_seq - backlog,
        backlog=backlog, config_version=1, clock={}, ts=0, campus="east", queues=waiting,
        windows=windows if windows is not None else [
            {"id": "W1", "name": "1号窗口", "department": "academic", "state": "serving", "staff": "李明",
             "lamp": "off", "over_limit": False, "paused_seconds": 0, "ticket": "T2"}]))


def report(store: CentralStore, hall: str, received: int, payload: bytes) -> None:
    """A status message as central's ingest worker stores it."""
    with store.db.atomic():
        store.hall_status(hall, payload, received)


class Central:
    def __init__(self, tmp: Path, settings: LiveSettings) -> None:
        cfg, halls = load(write_config(tmp))
        self.store = CentralStore(f"sqlite:///{tmp}/central.db")
        self.store.open()
        self.clock = ManualClock(NOW)
        log = today_log()
        self.store.ingest("h-a", wire.events_topic("h-a"), log.payload(1, 10**6), self.clock.micros())
        self.epoch = log.epoch
        self.directory = Directory.of(halls)
        self.app = create_app(self.store, None, self.directory, Auth(cfg.users), clock=self.clock)
        self.app.state.live.settings = settings

    def report(self, hall: str, payload: bytes, ago_s: float = 0) -> None:
        report(self.store, hall, self.clock.micros() - int(ago_s * 1e6), payload)


@pytest.fixture
def central(tmp_path):
    c = Central(tmp_path, LiveSettings(stale_seconds=60, refresh_seconds=0.05, min_ratings=2))
    yield c
    c.store.close()


# ---------------------------------------------------------------- figures


def test_live_waiting_tickets_oldest_per_department_after_rejoin_and_transfer():
    log = today_log()
    rows = []
    for e in log.events:
        if e.kind.startswith("ticket."):
            b = json.loads(e.body)
            rows.append(("h-a", e.kind, e.ts, b["ticket"], b.get("department"), b.get("service_date"),
                         b.get("to_department")))
    # academic: F1 (transferred, queued 08:50), T1 09:00, T3 rejoined 09:20; finance: F2 09:25
    assert waiting_tickets(rows) == {"h-a": {"academic": at(DAY, "08:50"), "finance": at(DAY, "09:25")}}


def test_live_page_headline_figures_per_hall_and_total(central):
    central.report("h-a", status("h-a", waiting={"academic": 3, "finance": 1}, last_seq=12, epoch=central.epoch))
    central.report("h-b", status("h-b", waiting={"finance": 2}))
    with Browser(central.app) as c:
        c.post("/login", data={"username": "admin", "password": "admin123"})
        page = c.get("/live").text
    a = _section(page, "h-a")
    assert "当前排队</dt><dd data-figure=\"waiting\">4 人" in a
    assert "最长等候</dt><dd data-figure=\"longest\">40 分钟" in a  # F1 since 08:50 (kept across the transfer)
    assert "今日好评率</dt><dd data-figure=\"satisfaction\">50%（2 条评价）" in a
    b = _section(page, "h-b")
    assert "数据不足（0 条评价）" in b and "无人等候" in b  # central holds no waiting ticket of h-b
    totals = page.split('id="live-totals"')[1].split("</div>\n</div>")[0]
    assert '<dd data-figure="waiting">6 人' in totals and '<dd data-figure="longest">40 分钟' in totals
    assert "1 离线" in totals  # h-c was never heard from


def test_live_department_head_sees_only_department_figures(central):
    central.report("h-a", status("h-a", waiting={"academic": 3, "finance": 1}, epoch=central.epoch))
    with Browser(central.app) as c:
        c.post("/login", data={"username": "finance-head", "password": "finance123"})
        a = _section(c.get("/live").text, "h-a")
    assert '<dd data-figure="waiting">1 人' in a and '<dd data-figure="longest">5 分钟' in a  # F2 since 09:25
    assert "数据不足（1 条评价）" in a and "1号窗口" not in a  # W1 is academic's


def test_live_hall_manager_sees_only_own_hall(central):
    central.report("h-a", status("h-a", waiting={"academic": 3}, epoch=central.epoch))
    central.report("h-b", status("h-b", waiting={"finance": 2}))
    with Browser(central.app) as c:
        c.post("/login", data={"username": "hb-manager", "password": "hall123"})
        page = c.get("/live").text
    assert 'data-hall="h-b"' in page and 'data-hall="h-a"' not in page
    served = Served(central.app)
    listener = Listener(served.url, "hb-manager", "hall123")
    try:  # the stream is scoped the same way
        first = listener.next()
        assert list(first["halls"]) == ["h-b"] and first["order"] == ["h-b"]
    finally:
        listener.close()
        served.stop()


def test_live_stale_hall_greyed_with_last_contact_and_last_known_backlog(central):
    """h-a last reported 10 minutes ago (stale after 60 s): 离线, 最后联系 09:20, its waiting
    count as 离线前, no current wait, and as backlog the events central knows it lacks (the
    hall's head seq 15, central holds its 12 events: 3 more than the hall's own count of 0)."""
    central.report("h-a", status("h-a", waiting={"academic": 3}, last_seq=15, backlog=0, epoch=central.epoch),
                   ago_s=600)
    with Browser(central.app) as c:
        c.post("/login", data={"username": "admin", "password": "admin123"})
        a = _section(c.get("/live").text, "h-a")
    assert 'data-stale="yes"' in a and "离线" in a and "最后联系 09:20" in a
    assert "离线前排队</dt><dd data-figure=\"waiting\">3 人" in a and '<dd data-figure="longest">—' in a
    assert "离线前待上传 3 条" in a and "待上传 0 条" not in a


def test_live_stale_threshold_is_real_time_on_a_simulated_clock(central):
    """Halls report every `status_interval` REAL seconds: on the demo's 30× clock a status 10
    simulated minutes old (20 real seconds) is fresh, one 40 minutes old (80 s) is stale."""
    from central.pages.live import LiveBoard, Snapshot

    board = LiveBoard(LiveSettings(stale_seconds=60))
    now = central.clock.micros()
    halls = [{"id": hid, "campus": "east", "online": True, "last_seen": now - minutes * 60_000_000, "acked": {},
              "events": 0, "status": {}} for hid, minutes in (("h-a", 10), ("h-b", 40))]
    snap = Snapshot(now=now, today=NOW.date(), halls=halls, figures={}, quarantined=0, speed=30.0)
    view = board.view(snap, Scope(), central.directory)
    assert [(h["id"], h["stale"]) for h in view["halls"]] == [("h-a", False), ("h-b", True)]


def test_live_stream_requires_login(central):
    with Browser(central.app) as c:
        r = c.get("/live/stream", follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"] == "/login"


# ---------------------------------------------------------------- the stream over real HTTP


class Served:
    """The app on uvicorn (sync.kernel.serve.GracefulServer, as `onestop-central` runs it) in a
    thread on a free port."""

    def __init__(self, app) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = GracefulServer(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on", timeout_graceful_shutdown=30),
                                     stopping_of(app))
        self.thread = threading.Thread(target=self.server.run, name="central-live-uvicorn", daemon=True)
        self.thread.start()
        wait_until(lambda: self.server.started, 10, what="uvicorn to start")

    def stop(self) -> float:
        """Seconds from asking for shutdown to the server's end."""
        t0 = time.monotonic()
        self.server.should_exit = True
        self.thread.join(30)
        return time.monotonic() - t0


class Listener:
    """A logged-in /live/stream reader: its `live` messages (decoded) in a queue; None at its end."""

    def __init__(self, url: str, user: str = "admin", password: str = "admin123") -> None:
        self.client = httpx.Client(base_url=url, headers={"origin": url}, timeout=httpx.Timeout(10, read=None))
        r = self.client.post("/login", data={"username": user, "password": password})
        assert r.status_code in (302, 303), r.text
        self.messages: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._read, name="live-listener", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            with self.client.stream("GET", "/live/stream") as r:
                assert r.headers["content-type"].startswith("text/event-stream")
                event = None
                for line in r.iter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: ") and event == "live":
                        self.messages.put(json.loads(line[6:]))
        except httpx.HTTPError:
            pass
        finally:
            self.messages.put(None)

    def next(self, timeout: float = 5.0) -> dict | None:
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        self.client.close()


def test_live_stream_pushes_a_new_status(central):
    central.report("h-a", status("h-a", waiting={"academic": 3}, epoch=central.epoch))
    served = Served(central.app)
    listener = Listener(served.url)
    try:
        first = listener.next()
        assert set(first["halls"]) == {"h-a", "h-b", "h-c"} and first["order"] == ["h-a", "h-b", "h-c"]
        assert '<dd data-figure="waiting">3 人' in first["halls"]["h-a"]
        quiet = listener.next()  # the next read: nothing changed, nothing but the time
        assert quiet["halls"] == {} and "totals" not in quiet and quiet["order"] == first["order"]
        central.report("h-a", status("h-a", waiting={"academic": 7}, epoch=central.epoch))
        update = listener.next()
        while not update["halls"]:  # reads that came before the report
            update = listener.next()
        assert list(update["halls"]) == ["h-a"]  # only what changed
        assert '<dd data-figure="waiting">7 人' in update["halls"]["h-a"]
        assert '<dd data-figure="waiting">7 人' in update["totals"]
    finally:
        listener.close()
        served.stop()


def test_live_stream_ends_at_logout(central):
    """The stream checks the session without renewing it: logging out ends it."""
    served = Served(central.app)
    listener = Listener(served.url)
    try:
        assert listener.next() is not None
        assert listener.client.post("/logout").status_code in (302, 303)
        assert listener.next(timeout=3) is None
    finally:
        listener.close()
        served.stop()


def test_live_stream_ends_within_2_s_of_shutdown(central):
    """uvicorn's graceful shutdown waits for open responses: the live streams end as soon as it
    begins (the app's `stopping`), so the server stops within 2 s with two pages open."""
    central.app.state.live.settings = LiveSettings(refresh_seconds=30)  # a long wait between reads
    served = Served(central.app)
    listeners = [Listener(served.url), Listener(served.url)]
    try:
        for x in listeners:
            assert x.next() is not None
        took = served.stop()
        assert took < 2.0, f"the server took {took:.1f} s to stop"
        for x in listeners:
            assert x.next(timeout=2) is None  # the stream ended
    finally:
        for x in listeners:
            x.close()
        if served.thread.is_alive():
            served.server.force_exit = True


# ---------------------------------------------------------------- in a browser


@pytest.mark.slow
def test_live_browser_updates_without_reload_and_greys_a_stale_hall(central):
    from playwright.sync_api import expect

    central.report("h-a", status("h-a", waiting={"academic": 3}, epoch=central.epoch))
    central.report("h-b", status("h-b", waiting={"finance": 2}, last_seq=5, backlog=1), ago_s=30)
    served = Served(central.app)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            errors: list[str] = []
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{served.url}/login")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", "admin123")
            page.click("button[type=submit]")
            page.wait_for_url("**/live")
            page.wait_for_selector("#live-state[data-state=live]", timeout=5000)
            page.evaluate("window.__sameDocument = true")  # gone if the page reloads
            hall_a = page.locator("section.hall[data-hall=h-a]")
            assert hall_a.locator("[data-figure=waiting]").inner_text() == "3 人"

            central.report("h-a", status("h-a", waiting={"academic": 9}, epoch=central.epoch))
            expect(hall_a.locator("[data-figure=waiting]")).to_have_text("9 人", timeout=5000)
            assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
            assert page.locator("#live-totals [data-figure=waiting]").inner_text() == "11 人"

            hall_b = page.locator("section.hall[data-hall=h-b]")
            assert hall_b.get_attribute("data-stale") == "no"
            central.clock.advance(seconds=45)  # h-b's status is now 75 s old: stale after 60 s
            page.wait_for_selector("section.hall[data-hall=h-b][data-stale=yes]", timeout=5000)
            assert "最后联系 09:29" in hall_b.inner_text() and "离线前待上传 5 条" in hall_b.inner_text()
            grey = hall_b.evaluate("e => getComputedStyle(e).filter + '|' + getComputedStyle(e).opacity")
            assert "grayscale" in grey or not grey.endswith("|1"), grey
            assert page.locator("#live-totals [data-figure=waiting]").inner_text() == "9 人"
            assert page.evaluate("window.__sameDocument === true")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 1440, f"horizontal overflow: {width} px"
            page.screenshot(path=str(SHOTS / "central-live-1440.png"), full_page=True)
            assert not errors, errors
    finally:
        served.stop()


# ---------------------------------------------------------------- helpers


def _section(page: str, hall: str) -> str:
    start = page.index(f'data-hall="{hall}"')
    return page[start:page.index("</section>", start)]
