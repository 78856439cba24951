"""One page as its user sees it, checked in a real browser (issue 12, "Done when"): the checker
behind the every-page suites of the hall (tests/edge/pages/test_every_page.py) and of central.

    from tests.pagecheck import chromium, check_page

    with chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        problems = check_page(page, "http://127.0.0.1:8000/kiosk", (1080, 1920), public=True, fixed=True,
                              name="kiosk-1080x1920")
        assert not problems, "\\n".join(map(str, problems))

`check_page` opens the URL in `page` at that viewport and returns every `Problem` found, each
with the check it failed (one of CHECKS) and a message naming what and where:

- `document`: the main answer is not `text/html`, has a status ≥ 400, ended somewhere else (a
  redirect to a login page: the session did not work), the `ready` selector never showed, or its
  `<title>` is empty, longer than 80 characters or holds markup (a template block gone wrong);
- `console`: an error on the browser console or an uncaught exception (CSP violations land here);
- `request`: a request that failed or was answered ≥ 400 while the page loaded, and the page's
  icon (`<link rel=icon>`, else `/favicon.ico`) when it does not load;
- `overflow-x`: the page is wider than the viewport (the elements sticking out are named);
- `overflow-y` (`fixed=True` or `in_view`): a fixed-height screen (kiosk, display) taller than
  the viewport; an `in_view` element (e.g. the console's 办结 button) below or beside the fold;
- `small-text` (`public=True`): visible text smaller than `min_font_px` (16 px);
- `english`: Latin words (2+ letters) in the visible text, placeholders and button labels of a
  Chinese UI, except the few abbreviations of ALLOWED_WORDS and the page's `allow_words` (data
  such as staff ids the page shows on purpose) and text marked `lang="en"` (the English toggle);
- `chinese` (`lang="en"`, the inverse): Chinese characters or punctuation in the visible text,
  placeholders and labels of an English page, except in elements marked `lang="zh…"` (business
  data from the catalog, shown in Chinese on purpose);
- `touch` (`min_target_px`): a link, button or tile smaller than that in either direction (a
  kiosk's targets are ≥ 15 mm: 57 CSS px at 96 px per inch);
- `contrast` (`min_contrast`): visible text whose colour against its background (the nearest
  ancestor with one, blended over white) has a WCAG contrast ratio below that (AA: 4.5).

A screenshot is saved as `{shots}/{name}.png` (default folder SHOTS, /tmp/onestop-shots; the
viewport only for a fixed screen, the whole page otherwise) for a person to look at. The
checker waits for nothing but the page's `load` event and `ready`: no sleeps.

`chromium()` launches the system Chromium (/usr/bin/chromium) with the flags the project's
browser tests use; it skips the test when the browser or the playwright wheel is missing, and
fails instead under CI (env CI set).
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
SHOTS = Path(os.environ.get("ONESTOP_SHOTS", "/tmp/onestop-shots"))
CHECKS = ("document", "console", "request", "overflow-x", "overflow-y", "small-text", "english", "chinese", "touch",
          "contrast")
MIN_FONT_PX = 16

# Latin abbreviations a Chinese UI uses as they are (kept tight: anything else is English to
# translate). Ticket numbers (A001) and window ids (W1) have a single letter and never match.
ALLOWED_WORDS = frozenset({"PIN", "QR", "ID", "CSV", "PDF", "Excel", "XLSX", "MQTT", "SSE", "A/B", "AB",
                           "AM", "PM", "AM/PM"})
TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-/.'’_][A-Za-z0-9]+)*")
WORD = re.compile(r"[A-Za-z]{2,}")
CJK = re.compile(r"[\u3001-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uff5e]")  # U+3000 is a space
HEX_ID = re.compile(r"[0-9a-fA-F]+(?:-[0-9a-fA-F]+)*")  # uuids, hashes: data, not words
EXAMPLES = 8  # at most this many examples per problem message


@dataclass(frozen=True)
class Problem:
    check: str  # one of CHECKS
    message: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.message}"


def applicable(public: bool = False, fixed: bool = False, in_view: Iterable[str] = (), *, lang: str = "zh",
               touch: bool = False, contrast: bool = False) -> tuple[str, ...]:
    """The checks `check_page` runs for a page with these flags."""
    wanted = {"overflow-y": fixed or bool(tuple(in_view)), "small-text": public, "english": lang == "zh",
              "chinese": lang != "zh", "touch": touch, "contrast": contrast}
    return tuple(c for c in CHECKS if wanted.get(c, True))


def english_words(text: str, allow: Iterable[str] = ()) -> list[str]:
    """The Latin words of `text` a Chinese UI should not show (ALLOWED_WORDS and `allow` aside)."""
    allowed = ALLOWED_WORDS | set(allow)
    return [t for t in TOKEN.findall(text) if WORD.search(t) and t not in allowed
            and not all(p in allowed for p in re.split(r"[-/]", t))
            and not (len(t) >= 8 and HEX_ID.fullmatch(t) and re.search(r"\d", t))]


def chinese_text(text: str) -> list[str]:
    """The Chinese characters and punctuation of `text` (an English page should have none)."""
    return CJK.findall(text)


def missing_browser(what: str) -> None:
    import pytest

    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{what} (under CI the browser tests must run: `bash .ci/system-deps`, `pip install -e '.[test]'`)")
    pytest.skip(what)


@contextlib.contextmanager
def chromium() -> Iterator:
    """The system Chromium, headless, through playwright's sync API (one per test session or
    module: starting it costs about a second)."""
    if not os.path.exists(CHROMIUM):
        missing_browser(f"{CHROMIUM} is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_browser("python playwright is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


# What the page itself measures, in one evaluate: sizes, the elements sticking out, the text.
_MEASURE = r"""
({inView, minFont, minTarget, minContrast}) => {
  const W = window.innerWidth, H = window.innerHeight, doc = document.documentElement;
  const describe = el => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    else if (typeof el.className === 'string' && el.className.trim()) s += '.' + el.className.trim().split(/\s+/).join('.');
    const t = (el.innerText || el.value || '').trim().replace(/\s+/g, ' ');
    return t ? `${s} 「${t.slice(0, 24)}」` : s;
  };
  const shown = el => el.checkVisibility ? el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})
                                         : !!(el.offsetWidth || el.offsetHeight);
  // the outermost elements sticking out (their children stick out with them)
  const outside = test => {
    const out = [];
    const walk = el => {
      for (const c of el.children) {
        if (!shown(c)) continue;
        const r = c.getBoundingClientRect();
        if (r.width > 0 && r.height > 0 && test(r)) { out.push(`${describe(c)} (${Math.round(r.left)}–${Math.round(r.right)} × ${Math.round(r.top + scrollY)}–${Math.round(r.bottom + scrollY)} px)`); continue; }
        walk(c);
      }
    };
    walk(document.body);
    return out;
  };
  const texts = [], small = [], lowContrast = [], smallTargets = [];
  const langOf = el => { const l = el.closest('[lang]'); return l ? l.lang : ''; };
  const rgba = c => { const m = c.match(/[\d.]+/g) || [0, 0, 0, 0]; return m.map(Number).concat([1]).slice(0, 4); };
  const lum = ([r, g, b]) => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
                               return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) return c.slice(0, 3).map(v => v * c[3] + 255 * (1 - c[3]));
    }
    return [255, 255, 255];
  };
  const ratio = el => { const fg = rgba(getComputedStyle(el).color), bg = background(el);
                        const col = fg.slice(0, 3).map((v, i) => v * fg[3] + bg[i] * (1 - fg[3]));
                        const a = lum(col), b = lum(bg); return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); };
  const skip = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'OPTION']);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.nodeValue.trim();
    const el = n.parentElement;
    if (!text || !el || skip.has(el.tagName) || !shown(el)) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    const r = range.getBoundingClientRect();
    const box = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2 || box.width < 2 || box.height < 2) continue;  // clipped away (screen-reader-only text)
    texts.push({t: text, l: langOf(el)});
    if (minContrast) { const q = ratio(el); if (q < minContrast) lowContrast.push(`${describe(el).split(' ')[0]} 「${text.slice(0, 20)}」 ${q.toFixed(2)}:1`); }
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < minFont) small.push({text: text.slice(0, 30), size, where: describe(el).split(' ')[0]});
  }
  for (const el of document.querySelectorAll('input[placeholder], textarea[placeholder]'))
    if (shown(el)) texts.push({t: el.placeholder, l: langOf(el)});
  for (const el of document.querySelectorAll('input[type=submit], input[type=button], input[type=reset]'))
    if (shown(el)) texts.push({t: el.value, l: langOf(el)});
  for (const el of document.querySelectorAll('select'))
    if (shown(el) && el.selectedOptions.length) texts.push({t: el.selectedOptions[0].text, l: langOf(el)});
  if (minTarget)
    for (const el of document.querySelectorAll('a[href], button, input[type=submit], input[type=button], [role=button], .ktile')) {
      if (!shown(el)) continue;
      const r = el.getBoundingClientRect();
      if (r.width < 2 || r.height < 2) continue;  // clipped away
      if (r.width < minTarget - 0.5 || r.height < minTarget - 0.5) smallTargets.push(`${describe(el)} ${Math.round(r.width)}×${Math.round(r.height)} px`);
    }
  const views = inView.map(sel => {
    // "text=办结": the button or link reading exactly that; anything else is a CSS selector
    const el = sel.startsWith('text=')
      ? [...document.querySelectorAll('button, a, input[type=submit], input[type=button]')]
          .find(e => shown(e) && (e.innerText || e.value || '').trim() === sel.slice(5))
      : [...document.querySelectorAll(sel)].find(shown);
    if (!el) return {sel, found: false};
    const r = el.getBoundingClientRect();
    return {sel, found: true, what: describe(el), top: r.top, bottom: r.bottom, left: r.left, right: r.right};
  });
  const icon = document.querySelector('link[rel~="icon"]');
  return {W, H, scrollW: doc.scrollWidth, scrollH: doc.scrollHeight,
          wide: doc.scrollWidth > W ? outside(r => r.right > W + 0.5 || r.left < -0.5) : [],
          tall: doc.scrollHeight > H ? outside(r => r.bottom > H + 0.5) : [],
          texts, small, views, lowContrast, smallTargets, icon: icon ? icon.href : new URL('/favicon.ico', location.href).href};
}
"""


_FETCH = """async url => {
  try { return (await fetch(url, {cache: 'no-store', credentials: 'same-origin'})).status; }
  catch (e) { return String(e); }
}"""


def _examples(items: list[str]) -> str:
    more = len(items) - EXAMPLES
    return "; ".join(items[:EXAMPLES]) + (f"; … and {more} more" if more > 0 else "")


def check_page(page, url: str, viewport: tuple[int, int], *, public: bool = False, fixed: bool = False,
               in_view: Iterable[str] = (), ready: str | None = None, allow_words: Iterable[str] = (),
               name: str | None = None, shots: Path | None = None, min_font_px: float = MIN_FONT_PX,
               lang: str = "zh", min_target_px: float | None = None, min_contrast: float | None = None,
               timeout_ms: float = 10_000) -> list[Problem]:
    """Open `url` in `page` at `viewport` (width, height) as the page's context is signed in, and
    return the problems found (empty: the page passed every applicable check). `public`: a screen
    for visitors (text ≥ `min_font_px`); `fixed`: a fixed-height screen (no vertical scrolling);
    `in_view`: elements that must be inside the viewport without scrolling, each a CSS selector
    or `text=办结` (the button or link whose text is exactly that); `ready`: a selector to wait for before
    measuring (content a script fills in); `lang`: the page's language ("zh": no English words, "en": no
    Chinese outside `lang="zh…"` elements); `min_target_px`, `min_contrast`: the touch and contrast checks."""
    in_view = tuple(in_view)
    problems: list[Problem] = []
    recording = [True]

    def add(check: str, message: str) -> None:
        if recording[0]:
            problems.append(Problem(check, message))

    def on_console(msg) -> None:
        # a failed resource load is also a console error: reported once, under "request"
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            add("console", f"console error: {msg.text}")

    def on_response(resp) -> None:
        if resp.status >= 400:
            add("request", f"{resp.request.method} {resp.url} answered {resp.status}")

    def on_failed(req) -> None:
        add("request", f"{req.method} {req.url} failed: {req.failure}")

    listeners = [("console", on_console), ("pageerror", lambda e: add("console", f"uncaught exception: {e}")),
                 ("response", on_response), ("requestfailed", on_failed)]
    for event, fn in listeners:
        page.on(event, fn)
    try:
        page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
        try:
            resp = page.goto(url, wait_until="load", timeout=timeout_ms)
        except Exception as e:  # noqa: BLE001 - a page that does not load is this check's finding
            add("document", f"{url} did not load: {e}")
            return problems
        if resp is None:
            add("document", f"{url} gave no answer")
            return problems
        ctype = resp.headers.get("content-type", "")
        if not ctype.startswith("text/html"):  # the browser shows the source: nothing else to measure
            add("document", f"{url} answered content-type {ctype or '(none)'}, not text/html")
            return problems
        if page.url.split("#")[0] != url.split("#")[0]:
            add("document", f"{url} ended at {page.url} (redirected: not signed in, or the page moved)")
        if ready:
            try:
                page.wait_for_selector(ready, state="visible", timeout=timeout_ms)
            except Exception:  # noqa: BLE001
                add("document", f"{ready!r} never became visible on {url}")
        title = page.title()  # the tab's and the task switcher's name: short plain text
        if not title.strip() or "<" in title or len(title) > 80:
            add("document", f"{url} has no usable <title>: {title[:100]!r}")
        m = page.evaluate(_MEASURE, {"inView": list(in_view), "minFont": min_font_px, "minTarget": min_target_px or 0,
                                     "minContrast": min_contrast or 0})
        if not m["icon"].startswith("data:"):  # what the browser fetches for the tab, asked for once here
            recording[0] = False
            status = page.evaluate(_FETCH, m["icon"])
            recording[0] = True
            if not isinstance(status, int) or status >= 400:
                add("request", f"the page icon {m['icon']} answered {status}")
        if m["scrollW"] > m["W"]:
            add("overflow-x", f"page is {m['scrollW']} px wide in a {m['W']} px viewport; sticking out: "
                              f"{_examples(m['wide']) or '(no single element)'}")
        if fixed and m["scrollH"] > m["H"]:
            add("overflow-y", f"fixed screen is {m['scrollH']} px tall in a {m['H']} px viewport; below the fold: "
                              f"{_examples(m['tall']) or '(no single element)'}")
        for v in m["views"]:
            if not v["found"]:
                add("overflow-y", f"{v['sel']!r} is not on the page (expected inside the viewport)")
            elif v["bottom"] > m["H"] + 0.5 or v["top"] < -0.5 or v["right"] > m["W"] + 0.5 or v["left"] < -0.5:
                add("overflow-y", f"{v['what']} ({v['sel']}) is at {round(v['top'])}–{round(v['bottom'])} px, "
                                  f"outside the {m['W']}×{m['H']} viewport without scrolling")
        if public and m["small"]:
            add("small-text", f"{len(m['small'])} visible text(s) smaller than {min_font_px:g} px: " + _examples(
                [f"「{s['text']}」 {s['size']:g}px in {s['where']}" for s in m["small"]]))
        if lang == "zh":
            words = [w for t in m["texts"] if not t["l"].startswith("en") for w in english_words(t["t"], allow_words)]
            if words:
                add("english", "English in the Chinese UI: " + _examples(list(dict.fromkeys(words))))
        else:
            chinese = [t["t"][:30] for t in m["texts"] if not t["l"].startswith("zh") and chinese_text(t["t"])]
            if chinese:
                add("chinese", "Chinese in the English UI (not marked lang=\"zh-CN\" as business data): "
                    + _examples([f"「{t}」" for t in dict.fromkeys(chinese)]))
        if min_target_px and m["smallTargets"]:
            add("touch", f"{len(m['smallTargets'])} target(s) smaller than {min_target_px:g} px: "
                + _examples(m["smallTargets"]))
        if min_contrast and m["lowContrast"]:
            add("contrast", f"{len(m['lowContrast'])} text(s) below {min_contrast:g}:1: " + _examples(m["lowContrast"]))
        if name:
            folder = shots or SHOTS
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / f"{name}.png"), full_page=not fixed)
        return problems
    finally:
        recording[0] = False  # closing the page aborts its streams: not the page's fault
        for event, fn in listeners:
            page.remove_listener(event, fn)
