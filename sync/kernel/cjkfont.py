"""A font with Chinese glyphs for the PDFs both services make (the hall's A4 notices,
edge.pages.notices_pdf; central's written patrol notices, central.supervision.notice_pdf).

fpdf2 embeds (a subset of) a TrueType/OpenType font; Chinese text needs one with Chinese glyphs.
`find_font` takes a configured file, or else the first usable one of FONT_CANDIDATES (Debian's
CJK fonts; fonts-noto-cjk is the one the installers put on a hall node and on central). A .ttc
collection is read through fontTools like fpdf2 does; its face is `index`, or (index < 0) its
Simplified Chinese face. No usable font: `CjkFontMissing`, whose `missing_message` names the
package to install. fontTools is imported inside the functions (sync stands without the extras).
"""

from __future__ import annotations

import functools
import logging
import os

# (path, Debian package): the fonts looked for when no font is configured, in this order.
FONT_CANDIDATES = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "fonts-noto-cjk"),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", "fonts-noto-cjk"),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "fonts-wqy-microhei"),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "fonts-wqy-zenhei"),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", "fonts-arphic-uming"),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", "fonts-droid-fallback"),
)
PACKAGE = "fonts-noto-cjk"  # what the error tells the operator to install
# glyphs a usable font must have (those of the hall's notices and central's written notice)
PROBE = "一次性告知书容缺受理不予通知申请人经办签收盖章书面通报派驻部门巡查整改反馈"

logging.getLogger("fontTools").setLevel(logging.WARNING)  # its subsetter logs every table at INFO


class CjkFontMissing(Exception):
    """No usable font: `configured` is the configured file that is not usable ("" when none was
    configured and no candidate is installed)."""

    def __init__(self, configured: str = "") -> None:
        super().__init__(configured or "no CJK font")
        self.configured = configured


@functools.lru_cache(maxsize=16)
def _face(path: str, index: int, _mtime: float) -> int | None:
    """The face of font file `path` to use (its number in a collection, 0 otherwise), or None
    when the file is no font or lacks Chinese glyphs (cached per file version)."""
    try:
        from fontTools import ttLib

        with open(path, "rb") as f:
            collection = f.read(4) == b"ttcf"
        if collection:
            fonts = ttLib.TTCollection(path, lazy=True).fonts
        else:
            fonts = [ttLib.TTFont(path, lazy=True)]
        if index >= 0:
            picks = [index] if index < len(fonts) else []
        else:  # the Simplified Chinese face first (Noto's SC), then the others in order
            names = [str(f["name"].getDebugName(1) or "") for f in fonts]
            picks = sorted(range(len(fonts)), key=lambda i: not names[i].endswith(" SC"))
        for i in picks:
            cmap = fonts[i].getBestCmap() or {}
            if all(ord(ch) in cmap for ch in PROBE):
                return i
    except Exception:  # noqa: BLE001 - any unreadable file is "not a usable font"
        return None
    return None


def find_font(font: str = "", index: int = -1, candidates=None) -> tuple[str, int]:
    """(path, face) of a font with Chinese glyphs: `font`, or else the first usable of
    `candidates` ((path, package) pairs; FONT_CANDIDATES when None). Raises CjkFontMissing."""
    paths = [font] if font else [p for p, _ in (FONT_CANDIDATES if candidates is None else candidates)]
    for p in paths:
        try:
            mtime = os.stat(p).st_mtime
        except OSError:
            continue
        face = _face(p, index, mtime)
        if face is not None:
            return p, face
    raise CjkFontMissing(font)


def missing_message(e: CjkFontMissing, host: str, setting: str = "", fallback: str = "") -> str:
    """The Chinese message of a missing font, naming PACKAGE: `host` is the machine ("大厅主机"),
    `setting` the configuration field of the font file (none: not mentioned), `fallback` what
    still works without the PDF."""
    if e.configured:
        where = f"{setting} 指定的字体" if setting else "指定的字体"
        return (f"无法生成 PDF：{where} {e.configured} 不存在或不含中文字形"
                f"（请改为可用的中文字体，或安装 {PACKAGE}：apt-get install {PACKAGE}）")
    message = f"无法生成 PDF：{host}上没有中文字体，请安装 {PACKAGE}（apt-get install {PACKAGE}）"
    if setting:
        message += f"，或在 {setting} 中指定字体文件"
    return message + (f"；{fallback}" if fallback else "")
