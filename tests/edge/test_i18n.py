"""The visitor pages in English (edge/i18n.py, issue 14): the English catalog has every message of
the templates and code (Babel's extraction), the language and the large-text mode are chosen per
visit and dropped when the kiosk returns home idle, staff pages stay Chinese, business data is
marked as Chinese. The browser side (no Chinese outside business data, touch targets, contrast,
no overflow) is in tests/edge/pages/test_every_page.py (the -en / -large visits)."""

from __future__ import annotations

import re
from datetime import datetime
from html.parser import HTMLParser

from babel.messages.pofile import read_po

from edge import i18n
from edge.pages.kiosk import TICKET_STATES
from edge.workflow import TICKET
from tests.conftest import SH
from tests.pagecheck import chinese_text

PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")


def catalog():
    with i18n.catalog_path("en").open("rb") as f:
        return read_po(f, locale="en")


def test_i18n_catalog_has_every_message_translated():
    cat = catalog()
    found = i18n.extract()
    assert len(found) > 100  # the extraction sees the templates and the code
    problems = []
    for msgid, places in found.items():
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        m = cat.get(key)
        strings = m.string if m is not None and isinstance(m.string, tuple) else (m.string,) if m else ()
        if m is None:
            problems.append(f"missing: {msgid!r} ({places[0]})")
        elif m.fuzzy or not all(strings):
            problems.append(f"{'fuzzy' if m.fuzzy else 'empty'}: {msgid!r} ({places[0]})")
        else:
            want = sorted(PLACEHOLDER.findall(key))
            if any(sorted(PLACEHOLDER.findall(s)) not in (want, sorted(set(want) - {"%(count)s", "%(num)s"}))
                   for s in strings):
                problems.append(f"placeholders differ: {msgid!r} → {m.string!r}")
    assert not problems, "run `python -m edge.i18n` and translate:\n" + "\n".join(problems)


def test_i18n_catalog_has_no_stale_message():
    used = {m[0] if isinstance(m, tuple) else m for m in i18n.extract()}
    stale = [m.id for m in catalog() if m.id and (m.id[0] if isinstance(m.id, tuple) else m.id) not in used]
    assert not stale, f"no longer in the sources (run `python -m edge.i18n`): {stale}"


def test_i18n_ticket_states_match_the_workflow():
    assert TICKET_STATES == TICKET.labels


def test_i18n_phone_and_board_texts_match_their_sources():
    """The rating levels and the board's prompt to rate are worded for the catalog where they are
    shown (edge/pages/phone.py, board.py): the same texts as the business config's and rateprompt's."""
    from edge import rateprompt
    from edge.pages import board, phone
    from sync.kernel.business import RATING_LABELS

    assert phone.RATING_LEVELS == RATING_LABELS
    assert board.PROMPT_TEXT == rateprompt.PROMPT_TEXT


def test_i18n_bilingual_label_extracted_and_rendered():
    """`bi` (the display board's labels) is extracted like `_` and renders the Chinese with the
    English after it only when the context says `bilingual`; variables are escaped, a `Both`
    gives each language its own value."""
    from jinja2 import Environment

    assert "各部门等候" in i18n.extract() and "（最后更新 {time}）" in i18n.extract()
    env = Environment(autoescape=True)
    env.globals.update(bi=i18n.bi, both=i18n.Both)
    t = env.from_string('{{ bi("大厅当前不在服务时间，下次开放：%(when)s", when=both("11月24日", "24 Nov <b>")) }}')
    assert t.render(bilingual=False) == "大厅当前不在服务时间，下次开放：11月24日"
    assert t.render(bilingual=True) == ('大厅当前不在服务时间，下次开放：11月24日<span class="en" lang="en">'
                                        "The hall is closed now; next opening: 24 Nov &lt;b&gt;</span>")


def test_i18n_unknown_language_is_chinese():
    assert i18n.choose("fr") == i18n.choose(None) == "zh"
    assert i18n.translations("en").gettext("取号") == "Take a number"
    assert i18n.translations("zh").gettext("取号") == "取号"


class VisibleText(HTMLParser):
    """The text of a page a visitor reads (title, scripts and styles aside; placeholders, labels
    and aria-labels included), each with the language of its nearest `lang` ancestor."""

    VOID = {"br", "input", "meta", "link", "img", "hr", "source", "wbr"}

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, str | None]] = []
        self.texts: list[tuple[str, str]] = []

    def lang(self) -> str:
        return next((lang for _tag, lang in reversed(self.stack) if lang), "")

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in ("placeholder", "aria-label"):
            if a.get(name):
                self.texts.append((a[name], a.get("lang") or self.lang()))
        if tag not in self.VOID:
            self.stack.append((tag, a.get("lang")))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if data.strip() and not any(t in ("title", "script", "style") for t, _ in self.stack):
            self.texts.append((data.strip(), self.lang()))


def untranslated(html: str) -> list[str]:
    p = VisibleText()
    p.feed(html)
    return [t for t, lang in p.texts if not lang.startswith("zh") and chinese_text(t)]


def test_kiosk_english_visit_keeps_its_choices(client):
    r = client.get("/kiosk?lang=en&big=1")
    assert '<html lang="en">' in r.text and 'class="kiosk public large"' in r.text
    assert "Choose a department" in r.text and "请选择办理部门" not in r.text
    assert 'href="/kiosk/departments/academic?lang=en&amp;big=1"' in r.text
    assert 'href="/kiosk/rejoin?lang=en&amp;big=1"' in r.text
    assert '<span class="kname" lang="zh-CN">教务处</span>' in r.text  # business data, marked
    assert 'href="/kiosk?big=1" data-toggle="lang" lang="zh-CN">中文' in r.text
    assert 'href="/kiosk?lang=en" data-toggle="big">Normal text' in r.text
    assert untranslated(r.text) == []
    for path in ("/kiosk/departments/academic", "/kiosk/items/transcript", "/kiosk/rejoin",
                 "/guide", "/guide/suspension"):
        page = client.get(f"{path}?lang=en").text
        assert '<html lang="en">' in page, path
        assert untranslated(page) == [], path
    # taking a number keeps the choices; the slip is in English
    r = client.post("/kiosk/tickets?lang=en&big=1", data={"item": "transcript"})
    assert re.search(r"/kiosk/tickets/[^?]+\?lang=en&big=1$", str(r.url))
    assert "Your number" in r.text and "ahead" in r.text and "large" in r.text
    assert untranslated(r.text) == []
    # "Done" ends the visit: back to the plain kiosk
    assert '<a class="btn big secondary" href="/kiosk">Done</a>' in r.text


def test_kiosk_idle_home_returns_to_chinese():
    from edge.pages.kiosk import IDLE_SECONDS, HOME_REFRESH, home_refresh

    prefs = {"lang": "en", "big": True}
    assert home_refresh({"lang": "zh", "big": False}, None) == str(HOME_REFRESH)
    assert home_refresh(prefs, None) == f"{HOME_REFRESH};url=/kiosk?lang=en&big=1&idle=1"
    last = IDLE_SECONDS // HOME_REFRESH - 1
    assert home_refresh(prefs, str(last - 1)) == f"{HOME_REFRESH};url=/kiosk?lang=en&big=1&idle={last}"
    assert home_refresh(prefs, str(last)) == f"{HOME_REFRESH};url=/kiosk"
    assert home_refresh(prefs, "x" * 9) == f"{HOME_REFRESH};url=/kiosk?lang=en&big=1&idle=1"


def test_kiosk_idle_pages_return_home_without_the_choices(client):
    for path in ("/kiosk/departments/academic", "/kiosk/items/transcript", "/kiosk/rejoin"):
        assert 'content="120;url=/kiosk"' in client.get(f"{path}?lang=en").text, path
    assert 'content="30;url=/kiosk"' in client.get("/kiosk?lang=en&idle=3").text


def test_kiosk_refusal_in_english(client, clock):
    clock.set(datetime(2026, 11, 23, 20, 0, tzinfo=SH))
    r = client.post("/kiosk/tickets?lang=en", data={"item": "transcript"})
    assert str(r.url).endswith("/kiosk/items/transcript?lang=en")
    assert "The hall is closed now: no numbers are given." in r.text
    assert untranslated(r.text) == []


def test_kiosk_error_page_in_english(client):
    r = client.get("/kiosk/items/nope?lang=en")
    assert r.status_code == 404
    assert "There is no such service." in r.text and 'href="/kiosk?lang=en"' in r.text
    assert untranslated(r.text) == []


def test_kiosk_chinese_by_default(client):
    r = client.get("/kiosk")
    assert '<html lang="zh-CN">' in r.text and "请选择办理部门" in r.text
    assert 'lang="zh-CN">' not in r.text.split("<body", 1)[1].replace('data-toggle="lang" lang="en">English', "")
    assert 'content="30"' in r.text


def test_staff_pages_ignore_the_language(client):
    r = client.get("/console?lang=en")
    assert '<html lang="zh-CN">' in r.text and "English" not in r.text
