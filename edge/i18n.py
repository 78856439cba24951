"""The visitor pages in more than one language: Simplified Chinese (the default, the text written
in the templates and code) and English, from Babel message catalogs.

The message ids are the Chinese texts themselves (`{{ _("请选择办理部门") }}` in a template,
`t.gettext("今日已停止取号")` in code), so a Chinese page needs no catalog and reads as before;
`edge/locale/en/LC_MESSAGES/messages.po` maps them to English. The hall reads the `.po` file
directly when it starts (Babel parses it, `write_mo` turns it into an in-memory `.mo` for the
standard `gettext` classes): no compile step in `make setup` or the package build, nothing
generated to keep in sync with the source. Empty and fuzzy entries are left out, so an entry
not yet translated shows its Chinese text (tests/edge/test_i18n.py fails on such an entry).

Which texts are translated (docs/pages.md): the visitor pages (kiosk, guide, the visitor's phone
page, their error page), and the display board's fixed labels, which it shows in Chinese with the
English under them (`bi`, `[display] bilingual`: one screen for every visitor, no toggle).
The language comes from the request (`?lang=en`, see edge/pages/common.py); staff pages always
render in Chinese. Business data (department and item names, materials, hall name) stays in
Chinese: templates pass it through the `biz` filter, which marks it `lang="zh-CN"` on an English
page (the browser test skips such elements when it looks for untranslated Chinese).

`python -m edge.i18n` adds every new message of the sources to the English catalog (empty,
to translate) and drops the ones no longer used.
"""

from __future__ import annotations

import functools
import gettext as stdgettext
import io
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from jinja2 import pass_context
from markupsafe import Markup

HERE = Path(__file__).parent
LOCALE_DIR = HERE / "locale"
DEFAULT = "zh"
LANGS = {"zh": "zh-CN", "en": "en"}  # our code → the HTML lang attribute
DOMAIN = "messages"

# What the catalog covers: the visitor pages' templates and the code that words their texts.
TEMPLATES = ("kiosk*.html", "guide*.html", "error.html", "public.html", "base.html", "_macros.html", "phone*.html",
             "display.html")
CODE = ("pages/kiosk.py", "pages/guide.py", "pages/common.py", "i18n.py", "printing.py", "pages/checkin.py",
        "pages/phone.py", "pages/board.py")


def N_(message: str) -> str:
    """Marks a text for the catalog where it is defined; translated where it is shown."""
    return message


def choose(value: str | None) -> str:
    """The language asked for, or the default for anything unknown."""
    return value if value in LANGS else DEFAULT


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(lang: str) -> stdgettext.NullTranslations:
    """The translations of `lang` (the default language: none, the texts are already Chinese)."""
    if choose(lang) == DEFAULT:
        return stdgettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with catalog_path(lang).open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return stdgettext.GNUTranslations(buf)


# ---------------------------------------------------------------------------- dates

WEEKDAYS = "一二三四五六日"


def day_label(d: date, lang: str = DEFAULT) -> str:
    """A date with its weekday: 2026年11月23日 星期一 / Monday 23 November 2026."""
    if choose(lang) == DEFAULT:
        return f"{d.year}年{d.month}月{d.day}日 星期{WEEKDAYS[d.weekday()]}"
    from babel.dates import format_date

    return format_date(d, "EEEE d MMMM y", locale=lang)


def date_label(d: date, lang: str = DEFAULT) -> str:
    if choose(lang) == DEFAULT:
        return f"{d.year}年{d.month}月{d.day}日"
    from babel.dates import format_date

    return format_date(d, "d MMMM y", locale=lang)


def month_day(d: date, lang: str = DEFAULT) -> str:
    if choose(lang) == DEFAULT:
        return f"{d.month}月{d.day}日"
    from babel.dates import format_date

    return format_date(d, "d MMM", locale=lang)


# ---------------------------------------------------------------------------- templates


def _lang(context: Any) -> str:
    return choose(context.get("lang"))


@pass_context
def _gettext(context: Any, message: str) -> str:
    return translations(_lang(context)).gettext(message)


@pass_context
def _ngettext(context: Any, singular: str, plural: str, n: int) -> str:
    return translations(_lang(context)).ngettext(singular, plural, n)


@pass_context
def biz(context: Any, value: Any) -> Any:
    """Business data (names from the catalog, in Chinese): marked `lang="zh-CN"` on a page in
    another language, as it is on a Chinese page."""
    if value is None or value == "" or _lang(context) == DEFAULT:
        return value
    return Markup('<span lang="zh-CN">{}</span>').format(value)


class Both(NamedTuple):
    """A value of a `bi` label that differs by language (a date: 11月24日 / 24 Nov)."""

    zh: Any
    en: Any


def _fill(message: str, variables: dict, lang: str) -> Markup:
    """A template's message (trusted, may hold markup) with its `%(name)s` variables (escaped)."""
    if not variables:
        return Markup(message)
    return Markup(message) % {k: getattr(v, lang) if isinstance(v, Both) else v for k, v in variables.items()}


@pass_context
def bi(context: Any, message: str, **variables: Any) -> Markup:
    """A fixed label of the display board, the one screen every visitor reads: the Chinese text
    and, when the context's `bilingual` is true, its English after it, `<span class="en"
    lang="en">` (the board's CSS sets it on a smaller line under the Chinese, or beside it).
    `{{ bi("等待叫号") }}`; variables as in `{% trans %}` (`%(n)s`), a `Both` for one that differs
    by language. `python -m edge.i18n` extracts `bi` like `_`."""
    zh_text = _fill(message, variables, "zh")
    if not context.get("bilingual"):
        return zh_text
    en_text = _fill(translations("en").gettext(message), variables, "en")
    return Markup('{}<span class="en" lang="en">{}</span>').format(zh_text, en_text)


@pass_context
def zh(context: Any) -> Markup:
    """` lang="zh-CN"` for an element holding business data on a page in another language."""
    return Markup("") if _lang(context) == DEFAULT else Markup(' lang="zh-CN"')


def install(engine: Any) -> None:
    """Jinja's i18n extension in the hall's template engine (litestar's JinjaTemplateEngine,
    TemplateConfig.engine_callback): `_`, `gettext`, `ngettext` and `{% trans %}` translate into
    the language of the page's context (`lang`), and the `biz` filter and `zh()`."""
    env = engine.engine
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)
    env.filters["biz"] = biz
    env.globals["zh"] = zh
    env.globals["bi"] = bi
    env.globals["both"] = Both


# ---------------------------------------------------------------------------- the catalog's sources

KEYWORDS = {"bi": None}  # besides gettext's: the display board's bilingual labels (`bi`)


def extract() -> dict[str | tuple[str, ...], list[str]]:
    """Every translatable message of the sources (TEMPLATES, CODE) with where it is used:
    msgid (a tuple of singular and plural for ngettext) → ["file:line", ...]."""
    from babel.messages.extract import DEFAULT_KEYWORDS
    from babel.messages.extract import extract as babel_extract
    from jinja2.ext import babel_extract as jinja_extract

    found: dict[str | tuple[str, ...], list[str]] = {}
    sources = [(p, jinja_extract) for pattern in TEMPLATES for p in sorted((HERE / "templates").glob(pattern))]
    sources += [(HERE / name, "python") for name in CODE]
    for path, method in sources:
        with path.open("rb") as f:
            for lineno, message, _comments, _context in babel_extract(
                    method, f, keywords=KEYWORDS | DEFAULT_KEYWORDS,
                    options={"trimmed": "true", "newstyle_gettext": "true"}):
                found.setdefault(message, []).append(f"{path.relative_to(HERE)}:{lineno}")
    return found


def update(lang: str = "en") -> None:
    """Bring the catalog of `lang` up to the sources: new messages added empty, unused dropped."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    path = catalog_path(lang)
    old = (read_po(path.open("rb"), locale=lang) if path.exists()
           else Catalog(locale=lang, project="onestop", version="0.1", fuzzy=False))
    # the dates of the existing catalog are kept: an update without new messages changes nothing
    template = Catalog(locale=lang, project="onestop", creation_date=old.creation_date)
    for msgid, places in extract().items():
        template.add(msgid, locations=[(p.rsplit(":", 1)[0], int(p.rsplit(":", 1)[1])) for p in places])
    old.update(template, no_fuzzy_matching=True)
    old.obsolete.clear()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, old, width=120, sort_output=False, include_lineno=False)


if __name__ == "__main__":
    update()
    print(f"updated {catalog_path('en')}")
