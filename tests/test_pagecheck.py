"""The page checker (tests/pagecheck.py) finds each kind of problem it promises, and nothing on a
clean page: synthetic pages from a local HTTP server in the real browser."""

from __future__ import annotations

import pytest

from tests.pagecheck import applicable, check_page, chromium, english_words

# one xdist worker runs this file in order (its module-scoped fixtures are shared; `make test`)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("test_pagecheck")]

CLEAN = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>测试页</title><link rel="icon" href="data:,">
<style>body{margin:0;font-size:18px} button{font-size:18px} .tall{height:2000px}</style></head>
<body><main><h1>请选择要办理的事项</h1><p>您的号码 A001，请到 1号窗口。PIN 码、QR 码、A/B 角。</p>
<p class="sr" style="position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)">tiny hidden</p>
<p style="display:none;font-size:10px">hidden English</p>
<button>办结</button></main></body></html>"""
PAGES = {
    "/clean": ("text/html; charset=utf-8", CLEAN),
    "/json": ("application/json", '{"detail": "x"}'),
    "/broken": ("text/html", CLEAN.replace("</body>", '<img src="/missing.png"><script src="/boom.js"></script></body>')),
    "/boom.js": ("text/javascript", "throw new Error('boom');"),
    "/wide": ("text/html", CLEAN.replace("<main>", '<main><div style="width:3000px">宽</div>')),
    "/tall": ("text/html", CLEAN.replace("<button>办结</button>", '<div class="tall"></div><button>办结</button>')),
    "/small": ("text/html", CLEAN.replace("</main>", '<small style="font-size:12px">小字说明</small></main>')),
    "/english": ("text/html", CLEAN.replace("</main>", '<p>Submit 提交</p><input placeholder="Search"></main>')),
    "/noicon": ("text/html", CLEAN.replace('<link rel="icon" href="data:,">', "")),
}


@pytest.fixture(scope="module")
def server():
    """The synthetic pages on a local HTTP server (playwright's request routing skips favicons)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            ctype, body = PAGES.get(self.path, ("text/plain", "not found"))
            self.send_response(200 if self.path in PAGES else 404)
            self.send_header("Content-Type", ctype)
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    thread = threading.Thread(target=srv.serve_forever, name="pagecheck-pages", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def page():
    with chromium() as browser:
        context = browser.new_context()
        yield context.new_page()
        context.close()


def checks(problems) -> set[str]:
    return {p.check for p in problems}


def test_pagecheck_clean_page_has_no_problem(server, page, tmp_path):
    BASE = server
    assert check_page(page, f"{BASE}/clean", (800, 600), public=True, fixed=True, in_view=("text=办结",),
                      name="clean", shots=tmp_path) == []
    assert (tmp_path / "clean.png").stat().st_size > 0


def test_pagecheck_finds_each_problem(server, page):
    BASE = server
    assert checks(check_page(page, f"{BASE}/json", (800, 600))) == {"document"}
    broken = check_page(page, f"{BASE}/broken", (800, 600))
    assert checks(broken) == {"console", "request"}, broken
    assert any("missing.png answered 404" in p.message for p in broken)
    assert any("boom" in p.message for p in broken if p.check == "console")
    wide = check_page(page, f"{BASE}/wide", (800, 600))
    assert checks(wide) == {"overflow-x"} and "3000" in wide[0].message
    assert check_page(page, f"{BASE}/tall", (800, 600)) == []  # a page that may scroll
    tall = check_page(page, f"{BASE}/tall", (800, 600), fixed=True, in_view=("text=办结",))
    assert [p.check for p in tall] == ["overflow-y", "overflow-y"], tall
    small = check_page(page, f"{BASE}/small", (800, 600), public=True)
    assert checks(small) == {"small-text"} and "小字说明" in small[0].message
    assert check_page(page, f"{BASE}/small", (800, 600)) == []  # not a public screen
    english = check_page(page, f"{BASE}/english", (800, 600))
    assert checks(english) == {"english"} and "Submit" in english[0].message and "Search" in english[0].message
    noicon = check_page(page, f"{BASE}/noicon", (800, 600))
    assert [p.check for p in noicon] == ["request"] and "favicon.ico answered 404" in noicon[0].message


def test_pagecheck_english_words_whitelist():
    assert english_words("PIN 码 QR 码 A001 W12 A/B 角 AM/PM CSV Excel 0a1b2c3d-0f0f-4e4e") == []
    assert english_words("Loading… s-li Not Found 12px") == ["Loading", "s-li", "Not", "Found", "12px"]
    assert english_words("s-li 工号", allow=["s-li"]) == []
    assert applicable() == ("document", "console", "request", "overflow-x", "english")
    assert applicable(public=True, fixed=True) == ("document", "console", "request", "overflow-x", "overflow-y",
                                                   "small-text", "english")


def test_pagecheck_english_page_checks(server, page):
    """An English page: Chinese outside `lang="zh…"` elements is found, marked business data is
    not; small touch targets and low-contrast text are found when asked for (issue 14)."""
    BASE = server
    PAGES["/en"] = ("text/html", """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test page</title><link rel="icon" href="data:,">
<style>body{margin:0;font-size:18px} a{display:inline-block;padding:4px} .faint{color:#bbb}</style></head>
<body><main><h1>Choose a department</h1><p><span lang="zh-CN">教务处</span> · 请选择</p>
<a href="/x">Go</a><p class="faint">Faint text</p></main></body></html>""")
    problems = check_page(page, f"{BASE}/en", (800, 600), lang="en", min_target_px=57, min_contrast=4.5)
    assert checks(problems) == {"chinese", "touch", "contrast"}, problems
    chinese = next(p for p in problems if p.check == "chinese").message
    assert "请选择" in chinese and "教务处" not in chinese
    assert "Go" in next(p for p in problems if p.check == "touch").message
    assert "Faint text" in next(p for p in problems if p.check == "contrast").message
    assert applicable(lang="en", touch=True, contrast=True) == ("document", "console", "request", "overflow-x",
                                                                 "chinese", "touch", "contrast")
