"""The link a visitor's phone follows from the slip's QR code to the ticket's own page.

The link names the ticket and carries a tag only this hall can make (HMAC-SHA256 of the ticket id
under the hall's `link-key`, made once with the database and never sent anywhere), so a phone
can follow its own ticket and rate its own service, and nobody can guess the link of another
visitor's ticket from the numbers on the display board. The page answers on the hall's network
at `[hall] public_url`; no internet is involved.
"""

from __future__ import annotations

import hashlib
import hmac
import string

from . import i18n
from .context import Ctx

TAG_CHARS = 20  # hex characters of the tag: 80 bits


def _key(ctx: Ctx) -> bytes:
    key = ctx.store.meta("link-key")
    if not key:  # made by Store.open for every database; a missing one is a broken store
        raise RuntimeError("the hall database has no link-key")
    return bytes.fromhex(key)


def ticket_tag(ctx: Ctx, ticket_id: str) -> str:
    return hmac.new(_key(ctx), ticket_id.encode(), hashlib.sha256).hexdigest()[:TAG_CHARS]


def tag_matches(ctx: Ctx, ticket_id: str, tag: str) -> bool:
    """Whether `tag` is this hall's tag of `ticket_id` (anything that is not TAG_CHARS hex
    characters is not, without comparing: compare_digest refuses non-ASCII text)."""
    if len(tag) != TAG_CHARS or not all(c in string.hexdigits for c in tag):
        return False
    return hmac.compare_digest(ticket_tag(ctx, ticket_id), tag.lower())


def ticket_path(ctx: Ctx, ticket_id: str) -> str:
    """The path of the ticket's phone page on the hall node: /m/{ticket id}/{tag}."""
    return f"/m/{ticket_id}/{ticket_tag(ctx, ticket_id)}"


def ticket_link(ctx: Ctx, ticket_id: str, lang: str = i18n.DEFAULT) -> str | None:
    """The whole link for the slip's QR code, or None while `[hall] public_url` is not set. A
    ticket taken in English (`lang="en"`) opens its page in English (`?lang=en`); Chinese, the
    default, adds nothing (the printed slip's link)."""
    base = ctx.public_url.rstrip("/")
    if not base:
        return None
    query = "" if i18n.choose(lang) == i18n.DEFAULT else f"?lang={i18n.choose(lang)}"
    return f"{base}{ticket_path(ctx, ticket_id)}{query}"


def qr_svg(link: str, title: str = "") -> str:
    """The QR code of `link` as inline SVG (no size: the page's CSS sizes it), drawn by the
    server (segno), so the kiosk needs no script and no internet to show it. Error correction
    M (15 %): a slip held crooked or a screen's glare still scans."""
    import segno  # on the first slip, not at start (docs/benchmarks.md, the Pi budget)

    code = segno.make(link, error="m", micro=False)
    return code.svg_inline(omitsize=True, svgclass="qr", lineclass=None, title=title or None, dark="#000", light="#fff")
