"""Every page of the hall, as its user sees it, at its screen's real size (issue 12, "Done when").

One real hall (the test hall with its devices and four more departments and windows, the size of
the example campus's halls, `--simulate`, on a simulated Monday 09:00) served
by uvicorn, one headless Chromium, pages opened in sequence: each page of the hall's route table
(every GET page route, listed from the page controllers so a new page cannot be forgotten) as its
user — public screens without a session, the window console and its cases with a clerk signed
on at W1 serving a number, the manager's page logged in, /sim as in the demo, a waiting number's
phone page (/m/…) — at phone 360×780 and 412×915, kiosk
1080×1920 and 1280×800, console 1366×768, display 1920×1080, everything else 1440×900.

tests/pagecheck.py does the checking; each (page, size, check) is one test, so a failure names
exactly what is wrong where. The checks a page fails on the current code are marked
`xfail(strict=True)` in KNOWN with the problem found: once a fix lands the test passes, strict
turns that into a failure, and the mark is removed. Screenshots: /tmp/onestop-shots/hall-*.png.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import DEVICES_TOML, EVENTS_TOKEN, HALL_TOML, MANAGER_PASSWORD, PIN
from tests.edge.pages.helpers import served
from tests.pagecheck import applicable, check_page, chromium

# one xdist worker runs this file in order (its module-scoped fixtures are shared; `make test`)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("edge.pages.test_every_page")]

CLOCK_START = "2026-11-23T09:00+08:00"  # a Monday morning: the test hall is open
KIOSK = ((1080, 1920), (1280, 800))
CONSOLE = ((1366, 768),)
DISPLAY = ((1920, 1080),)
OTHER = ((1440, 900),)
PHONE = ((360, 780), (412, 915))  # the visitor's phone page (a small and a large phone)
# The test hall grown to the example campus's size (config/halls/north-student.toml: 9 windows,
# 8 departments), so the board and the kiosk are measured with as much on them as in the demo.
DEMO_SIZE_TOML = "".join(f"""
[[business.catalog.departments]]
id = "{d}"
name = "{name}"
prefix = "{prefix}"

[[business.catalog.items]]
id = "{d}-item"
name = "{item}"
department = "{d}"
audience = "在校生"
basis = "管理办法"
process = ["取号", "办理"]

[[business.windows]]
id = "W{n}"
name = "{n}号窗口"
department = "{d}"
""" for n, (d, name, prefix, item) in enumerate([
    ("library", "图书馆", "B", "离校图书清还"), ("card", "校园卡中心", "C", "校园卡补办"),
    ("youth", "团委", "Y", "团组织关系转接"), ("career", "就业指导中心", "J", "就业报到证办理")], start=6))

# Result notices on (edge.outbox), so the cases page shows a case's phone and the manager's page
# the outbox; no sender runs here: a finished case's notice stays queued.
NOTIFY_TOML = """
[notify]
gateway = "file"
"""

# Data the pages show on purpose (ids of the test hall a page names as data): none so far.
DATA_WORDS: tuple[str, ...] = ()


@dataclass(frozen=True)
class Visit:
    name: str  # the screenshot's and the test id's name
    url: str  # may name {ticket} (a waiting ticket) and {case} (an open case)
    user: str  # "anonymous" | "clerk" (s-li signed on at W1, serving a number) | "manager"
    sizes: tuple[tuple[int, int], ...]
    public: bool = False
    fixed: bool = False
    in_view: tuple[str, ...] = ()
    ready: str | None = None
    allow: tuple[str, ...] = field(default=DATA_WORDS)
    devices: bool = False  # the page names the configured pins and readers (data, not words)
    lang: str = "zh"  # "en": a visitor page in English (no Chinese outside business data)
    touch: bool = False  # every link, button and tile ≥ TARGET_PX (the kiosk)
    contrast: bool = False  # every text ≥ 4.5:1 against its background (large-text mode)


# Touch targets on the kiosk: 15 mm at the 96 CSS px per inch the kiosk is assumed to have.
TARGET_PX = 15 / 25.4 * 96  # 56.7
CONTRAST = 4.5  # WCAG AA for text


def kiosk_variants(name: str, url: str) -> list[Visit]:
    """A kiosk page as a visitor sees it in Chinese, in English, in large-text mode and both (issue 14)."""
    sep = "&" if "?" in url else "?"
    return [Visit(name, url, "anonymous", KIOSK, public=True, fixed=True, touch=True),
            Visit(f"{name}-en", f"{url}{sep}lang=en", "anonymous", KIOSK, public=True, fixed=True, touch=True,
                  lang="en"),
            Visit(f"{name}-large", f"{url}{sep}big=1", "anonymous", KIOSK, public=True, fixed=True, touch=True,
                  contrast=True),
            Visit(f"{name}-en-large", f"{url}{sep}lang=en&big=1", "anonymous", KIOSK, public=True, fixed=True,
                  touch=True, contrast=True, lang="en")]


# Every GET page route of the hall → how its user opens it.
VISITS: dict[str, list[Visit]] = {
    "/": [Visit("home", "/", "anonymous", OTHER)],
    "/kiosk": kiosk_variants("kiosk", "/kiosk"),
    "/kiosk/items/{item_id:str}": kiosk_variants("kiosk-item", "/kiosk/items/transcript"),
    "/kiosk/departments/{dept_id:str}": kiosk_variants("kiosk-department", "/kiosk/departments/academic"),
    "/kiosk/rejoin": kiosk_variants("kiosk-rejoin", "/kiosk/rejoin"),
    "/kiosk/tickets/{ticket_id:str}": kiosk_variants("kiosk-ticket", "/kiosk/tickets/{ticket}"),
    "/kiosk/checkin": kiosk_variants("kiosk-checkin", "/kiosk/checkin"),
    "/display": [Visit("display", "/display", "anonymous", DISPLAY, public=True, fixed=True,
                       ready='.win[data-window="W1"]')],
    "/guide": [Visit("guide", "/guide", "anonymous", OTHER, public=True),
               Visit("guide-en", "/guide?lang=en", "anonymous", OTHER, public=True, lang="en")],
    "/guide/{item_id:str}": [Visit("guide-item", "/guide/suspension", "anonymous", OTHER, public=True),
                             Visit("guide-item-en", "/guide/suspension?lang=en", "anonymous", OTHER, public=True,
                                   lang="en")],
    "/console": [Visit("console-list", "/console", "anonymous", CONSOLE)],
    "/console/{window_id:str}": [
        Visit("console-sign-on", "/console/W3", "anonymous", CONSOLE),
        Visit("console", "/console/W1", "clerk", CONSOLE, in_view=("text=办结",)),
    ],
    "/console/{window_id:str}/cases": [Visit("console-cases", "/console/W1/cases", "clerk", CONSOLE)],
    "/notices/{case_id:str}": [Visit("notice", "/notices/{case}", "clerk", CONSOLE)],
    "/manage": [Visit("manage", "/manage", "manager", OTHER)],
    "/manage/login": [Visit("manage-login", "/manage/login", "anonymous", OTHER)],
    "/manage/leave": [Visit("manage-leave", "/manage/leave", "manager", OTHER)],
    "/manage/coverage": [Visit("manage-coverage", "/manage/coverage", "manager", OTHER)],
    "/manage/duty": [Visit("manage-duty", "/manage/duty", "manager", OTHER)],
    "/manage/closing": [Visit("manage-closing", "/manage/closing", "manager", OTHER, devices=True)],
    "/manage/step-aways": [Visit("manage-step-aways", "/manage/step-aways", "manager", OTHER)],
    "/manage/followups": [Visit("manage-followups", "/manage/followups", "manager", OTHER)],
    "/manage/complaints": [Visit("manage-complaints", "/manage/complaints", "manager", OTHER)],
    "/console/{window_id:str}/leave": [Visit("console-leave", "/console/W1/leave", "clerk", CONSOLE)],
    "/sim": [Visit("sim", "/sim", "anonymous", OTHER, devices=True)],
    "/m/{ticket_id:str}/{tag:str}": [Visit("phone", "{phone}", "anonymous", PHONE, public=True),
                                     Visit("phone-en", "{phone}?lang=en", "anonymous", PHONE, public=True, lang="en")],
}

# (visit@size, check) the current code fails, with the problem found; remove a mark once its fix
# has landed (strict: a passing test marked here fails).
KNOWN: dict[tuple[str, str], str] = {
}


def page_routes() -> list[str]:
    """The GET page routes of the hall (simulate on), from its page controllers' route table."""
    from litestar import Litestar
    from litestar.di import Provide

    from edge.pages import page_handlers

    app = Litestar(route_handlers=page_handlers(True), openapi_config=None,
                   dependencies={"hall": Provide(lambda: None, sync_to_thread=False)})
    return sorted({r.path for r in app.routes if "GET" in getattr(r, "methods", ())})


def size_id(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def cases() -> list:
    out = []
    for route in page_routes():
        visits = VISITS.get(route)
        if not visits:
            out.append(pytest.param(route, None, None, "document", id=f"{route}-unvisited"))
            continue
        for v in visits:
            for size in v.sizes:
                for check in applicable(v.public, v.fixed, v.in_view, lang=v.lang, touch=v.touch,
                                        contrast=v.contrast):
                    key = (f"{v.name}@{size_id(size)}", check)
                    marks = [pytest.mark.xfail(strict=True, reason=KNOWN[key])] if key in KNOWN else []
                    out.append(pytest.param(route, v, size, check, marks=marks, id=f"{key[0]}-{check}"))
    return out


@pytest.fixture(scope="module")
def hall_server(tmp_path_factory):
    """The test hall with its devices, `--simulate` (as `make demo` runs a hall), served by
    uvicorn on a free port; yields (base URL, app)."""
    from edge.app import create_app
    from edge.config import load
    from edge.hall import Hall
    from edge.hardware import Hardware
    from edge.printing import Printing
    from sync.kernel.clock import make_clock
    from tests.edge.test_printing import PRINTER_TOML

    tmp = tmp_path_factory.mktemp("every-page")
    hall_file = tmp / "hall.toml"
    # with [hall] public_url: the kiosk slip carries its phone page's QR code
    hall_file.write_text((HALL_TOML + DEMO_SIZE_TOML + DEVICES_TOML + PRINTER_TOML + NOTIFY_TOML).replace(
        "[hall]\n", '[hall]\npublic_url = "http://192.168.10.2:8100"\n', 1), encoding="utf-8")
    hall = Hall(load(hall_file), tmp / "data", make_clock(CLOCK_START, None))
    hall.start()
    hw = Hardware(hall, simulate=True, reopen_min=0.02)
    hw.start()
    printing = Printing(hall, hall.config.devices.printer, simulate=True)  # /sim shows its slips
    printing.start()
    app = create_app(hall, simulate=True, hardware=hw, tick_seconds=3600, events_token=EVENTS_TOKEN,
                     printing=printing)
    try:
        with served(app, "every-page") as url:
            yield url, app
    finally:
        printing.stop()
        hw.stop()
        hall.stop()


def _ok(r, what: str):
    assert r.ok, f"{what}: {r.status} {r.text()[:300]}"
    return r.json() if r.headers.get("content-type", "").startswith("application/json") else None


@pytest.fixture(scope="module")
def users(hall_server):
    """One browser; a context per user, set up through the API as the pages' users would be:
    an open case (a 休学 number completed as promised at W2), the clerk s-li signed on at W1
    serving a 成绩单 number, a waiting number for the kiosk's ticket page, the manager logged in."""
    base, app = hall_server
    with chromium() as browser:
        contexts = {u: browser.new_context(locale="zh-CN") for u in ("anonymous", "clerk", "manager", "w2")}
        try:
            w2 = contexts["w2"].request
            _ok(w2.post(f"{base}/api/windows/W2/sign-on", data={"staff": "s-wang", "pin": PIN}), "W2 sign-on")
            _ok(w2.post(f"{base}/api/tickets", data={"item": "suspension"}), "ticket")
            for step in ("call", "start"):
                _ok(w2.post(f"{base}/api/windows/W2/{step}"), f"W2 {step}")
            _ok(w2.post(f"{base}/api/windows/W2/complete", data={"outcome": "promised", "phone": "13812345678"}),
                "W2 complete")
            case = _ok(w2.get(f"{base}/api/cases?state=open"), "cases")[0]["id"]
            _ok(w2.post(f"{base}/api/tickets", data={"item": "suspension"}), "ticket")  # a finished case's notice
            for step in ("call", "start"):
                _ok(w2.post(f"{base}/api/windows/W2/{step}"), f"W2 {step}")
            _ok(w2.post(f"{base}/api/windows/W2/complete", data={"outcome": "promised", "phone": "0431-85166666"}),
                "W2 complete")
            done = next(c for c in _ok(w2.get(f"{base}/api/cases?state=open"), "cases") if c["id"] != case)
            _ok(w2.post(f"{base}/api/cases/{done['id']}/finish", data={"note": "已审批"}), "W2 finish")
            clerk = contexts["clerk"].request
            _ok(clerk.post(f"{base}/api/tickets", data={"item": "transcript"}), "ticket")
            ticket = _ok(clerk.post(f"{base}/api/tickets", data={"item": "transcript"}), "ticket")["id"]
            _ok(clerk.post(f"{base}/api/tickets", data={"department": "finance"}), "ticket")
            _ok(clerk.post(f"{base}/api/windows/W1/sign-on", data={"staff": "s-li", "pin": PIN}), "W1 sign-on")
            for step in ("call", "start"):
                _ok(clerk.post(f"{base}/api/windows/W1/{step}"), f"W1 {step}")
            _ok(contexts["manager"].request.post(f"{base}/api/login",
                                                 data={"manager": "manager", "password": MANAGER_PASSWORD}), "login")
            anon = contexts["anonymous"].request
            pins = _ok(anon.get(f"{base}/api/sim/pins"), "pins")
            readers = _ok(anon.get(f"{base}/api/sim/readers"), "readers")
            devices = [p["name"] for p in pins] + [r["name"] for r in readers] + [r["protocol"] for r in readers]
            devices += [f"GPIO{p['pin']}" if isinstance(p["pin"], int) else str(p["pin"]) for p in pins]
            from edge import phone

            link = app.state["hall"].call(phone.ticket_path, ticket)  # the waiting ticket's phone page
            yield {"base": base, "contexts": contexts, "params": {"ticket": ticket, "case": case, "phone": link},
                   "results": {},
                   "devices": tuple(devices)}
        finally:
            for c in contexts.values():
                c.close()


def visit(users, v: Visit, size: tuple[int, int]) -> list:
    """The problems of one visit, measured once and shared by its checks' tests."""
    key = (v.name, size)
    results = users["results"]
    if key not in results:
        page = users["contexts"][v.user].new_page()
        try:
            results[key] = check_page(page, users["base"] + v.url.format(**users["params"]), size, public=v.public,
                                      fixed=v.fixed, in_view=v.in_view, ready=v.ready,
                                      allow_words=v.allow + (users["devices"] if v.devices else ()),
                                      name=f"hall-{v.name}-{size_id(size)}", lang=v.lang,
                                      min_target_px=TARGET_PX if v.touch else None,
                                      min_contrast=CONTRAST if v.contrast else None)
        finally:
            page.close()
    return results[key]


@pytest.mark.parametrize("route,v,size,check", cases())
def test_every_page_passes_its_checks(users, route, v, size, check):
    assert v is not None, (f"the page route {route} has no visit in VISITS of {Path(__file__).name}: "
                           "say who opens it, with which parameters, at which screen size")
    problems = [p for p in visit(users, v, size) if p.check == check]
    assert not problems, f"{v.url} at {size_id(size)} as {v.user}:\n" + "\n".join(f"  {p}" for p in problems)


def test_every_page_route_of_the_app_is_visited(hall_server):
    """The real app's route table (simulate on): every GET route that is not the API, a static
    file or the schema is a page, and VISITS says how to open it."""
    _base, app = hall_server
    pages = {r.path for r in app.routes if "GET" in getattr(r, "methods", ())
             and not re.match(r"^/(api|static|schema)(/|$)", r.path)}
    assert pages == set(VISITS), (f"pages without a visit: {sorted(pages - set(VISITS))}; "
                                  f"visits of no page: {sorted(set(VISITS) - pages)}")


@pytest.mark.parametrize("size", KIOSK, ids=size_id)
def test_every_page_kiosk_large_text_is_half_again_larger(users, size, tmp_path):
    """Large-text mode (适老化, issue 14): the kiosk's text is at least 1.5× the normal mode's
    (body text, headings, buttons; the huge waiting figures shrink to make room), and a screenshot
    of it is taken for a person to look at."""
    sizes = {}
    for mode, url in (("normal", "/kiosk/items/transcript"), ("large", "/kiosk/items/transcript?big=1")):
        page = users["contexts"]["anonymous"].new_page()
        try:
            page.set_viewport_size({"width": size[0], "height": size[1]})
            page.goto(users["base"] + url, wait_until="load")
            sizes[mode] = page.evaluate("""() => Object.fromEntries(['body', 'h1', 'h2', '.materials li', 'button.green',
                'a.btn', '.kwait', '.muted'].map(s => [s, parseFloat(getComputedStyle(document.querySelector(s)).fontSize)]))""")
            if mode == "large":
                shot = tmp_path / "large.png"
                page.screenshot(path=str(shot))
                assert shot.stat().st_size > 10_000
                page.screenshot(path=f"/tmp/onestop-shots/hall-kiosk-item-large-screenshot-{size_id(size)}.png")
        finally:
            page.close()
    small = {sel: sizes["large"][sel] / sizes["normal"][sel] for sel in sizes["normal"]
             if sizes["large"][sel] < 1.5 * sizes["normal"][sel] - 0.01}
    assert not small, f"text less than 1.5× in large-text mode: {small} ({sizes})"
