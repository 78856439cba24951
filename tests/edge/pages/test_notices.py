"""Printable notices (edge/pages/notices.py) and their A4 PDF (edge/pages/notices_pdf.py)."""

from __future__ import annotations

import re
import zlib

import pytest

from tests.conftest import EVENTS_TOKEN, HALL_TOML, edge_client
from tests.edge.pages.helpers import call_and_complete, case_link, flash, sign_on


def test_notices_lists_every_missing_material(client):
    sign_on(client)
    html = call_and_complete(client, "suspension", "notice",
                             missing_notice=["suspension:application", "suspension:medical", "suspension:id-card"])
    assert "已办结：一次性告知" in flash(html) and "打印一次性告知书" in html
    notice = client.get(case_link(html))
    assert notice.status_code == 200
    for text in ("一次性告知书", "休学申请表", "医院诊断证明", "身份证复印件", "测试校区学生事务大厅", "休学办理",
                 "A001", "1号窗口", "李明", "2026年11月23日", "经办人签字", "申请人签收"):
        assert text in notice.text, text
    assert "@page" not in notice.text and "/static/hall.css" in notice.text  # print CSS lives in the stylesheet


def test_notices_refused_notice_shows_reason(client):
    sign_on(client)
    html = call_and_complete(client, "suspension", "refused", reason="不符合休学条件：未满一学期")
    notice = client.get(case_link(html)).text
    assert "不予受理（退件）通知书" in notice and "不符合休学条件：未满一学期" in notice


# ---------------------------------------------------------------------------- the A4 PDF (?format=pdf)


def pdf_text(pdf: bytes) -> str:
    """The text a PDF made by fpdf2 shows, decoded through its embedded font's ToUnicode map:
    the 2-byte glyph codes of every `(…) Tj` of the page content, each string on a line."""
    streams = []
    for m in re.finditer(rb"(?<!end)stream\r?\n", pdf):  # each stream's bytes: /Length of its dictionary
        *_, length = re.findall(rb"/Length (\d+)", pdf[max(0, m.start() - 300):m.start()])
        data = pdf[m.end():m.end() + int(length)]
        try:
            streams.append(zlib.decompress(data))
        except zlib.error:
            streams.append(data)
    to_unicode: dict[int, str] = {}
    for s in streams:
        for code, uni in re.findall(rb"<([0-9A-Fa-f]{4})> <([0-9A-Fa-f]{4,8})>", s if b"beginbfchar" in s else b""):
            to_unicode[int(code, 16)] = bytes.fromhex(uni.decode()).decode("utf-16-be")
    assert to_unicode, "no ToUnicode map: the font is not embedded as a Unicode font"
    escapes = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
    lines = []
    for s in streams:
        for lit in re.findall(rb"\(((?:\\.|[^\\)])*)\) ?Tj", s, re.S):
            raw = re.sub(rb"\\([0-7]{1,3}|.)", lambda e: bytes([int(e.group(1), 8)]) if e.group(1).isdigit()
                         else escapes.get(e.group(1), e.group(1)), lit, flags=re.S)
            lines.append("".join(to_unicode.get(int.from_bytes(raw[i:i + 2], "big"), "\ufffd")
                                 for i in range(0, len(raw), 2)))
    return "\n".join(lines)


def pdf_of(client, link: str) -> tuple[bytes, str]:
    r = client.get(f"{link}?format=pdf")
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"] == "application/pdf"
    pdf = r.content
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 1  # one page
    assert b"/MediaBox [0 0 595.28 841.89]" in pdf  # A4 portrait, in points
    assert re.search(rb"/FontFile[23]? ", pdf)  # the Chinese font is embedded (a subset)
    return pdf, pdf_text(pdf).replace("\n", "")


def test_notices_pdf_notice_is_one_a4_page_with_every_missing_material(client):
    """一次性告知书 as PDF: the same content as the printable page [J 20, B 25]."""
    sign_on(client)
    html = call_and_complete(client, "suspension", "notice",
                             missing_notice=["suspension:application", "suspension:medical", "suspension:id-card"])
    link = case_link(html)
    assert 'href="?format=pdf"' in client.get(link).text  # the printable page links to its PDF
    _, text = pdf_of(client, link)
    for s in ("一次性告知书", "测试校区学生事务大厅", "休学申请表", "医院诊断证明", "身份证复印件", "休学办理",
              "排队号 A001", "1号窗口", "李明", "2026年11月23日", "经办人签字", "申请人签收", "（盖章）",
              "除上述材料外，本事项不再要求您提供其他材料"):
        assert s in text, s
    assert text.index("休学申请表") < text.index("医院诊断证明") < text.index("身份证复印件")


def test_notices_pdf_gaps_and_refused_notices(client):
    sign_on(client)
    html = call_and_complete(client, "suspension", "gaps", missing_gaps=["suspension:medical"], supply_by="2026-11-27")
    _, text = pdf_of(client, case_link(html))
    assert "容缺受理通知书" in text and "请于 2026年11月27日 前补交以下材料" in text and "医院诊断证明" in text
    html = call_and_complete(client, "suspension", "refused", reason="不符合休学条件：未满一学期")
    _, text = pdf_of(client, case_link(html))
    assert "不予受理（退件）通知书" in text and "不符合休学条件：未满一学期" in text


def test_notices_pdf_needs_a_session(client, hall):
    sign_on(client)
    link = case_link(call_and_complete(client, "suspension", "promised"))
    from edge.app import create_app

    with edge_client(create_app(hall, tick_seconds=3600, events_token=EVENTS_TOKEN)) as stranger:
        r = stranger.get(f"{link}?format=pdf", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/console/"
        assert not r.content.startswith(b"%PDF")


def test_notices_pdf_unknown_case_is_404(client):
    sign_on(client)
    r = client.get("/notices/no-such-case?format=pdf")
    assert r.status_code == 404 and "没有编号为 no-such-case 的办件" in r.text


def _font_hall(tmp_path, clock, font: str):
    from edge.app import create_app
    from edge.config import load
    from edge.hall import Hall

    p = tmp_path / "font-hall.toml"
    p.write_text(HALL_TOML + f'\n[notices]\nfont = "{font}"\n', encoding="utf-8")
    h = Hall(load(p), tmp_path / "font-data", clock)
    h.start()
    return h, edge_client(create_app(h, tick_seconds=3600, events_token=EVENTS_TOKEN))


@pytest.mark.parametrize("font", ["missing.ttf", "not-a-font.ttf"])
def test_notices_pdf_without_a_usable_configured_font_is_503_naming_the_package(tmp_path, clock, font):
    (tmp_path / "not-a-font.ttf").write_bytes(b"\x00\x01\x00\x00" + b"no glyphs here" * 10)
    h, c = _font_hall(tmp_path, clock, str(tmp_path / font))
    try:
        with c:
            sign_on(c)
            link = case_link(call_and_complete(c, "suspension", "promised"))
            r = c.get(f"{link}?format=pdf")
            assert r.status_code == 503
            assert "不存在或不含中文字形" in r.text and str(tmp_path / font) in r.text and "fonts-noto-cjk" in r.text
            assert c.get(link).status_code == 200  # the printable page still works
    finally:
        h.stop()


def test_notices_pdf_without_any_system_font_is_503_naming_the_package(client, monkeypatch, tmp_path):
    from edge.pages import notices_pdf

    monkeypatch.setattr(notices_pdf, "FONT_CANDIDATES", ((str(tmp_path / "none.ttc"), "fonts-noto-cjk"),))
    sign_on(client)
    link = case_link(call_and_complete(client, "suspension", "promised"))
    r = client.get(f"{link}?format=pdf")
    assert r.status_code == 503 and "没有中文字体，请安装 fonts-noto-cjk" in r.text


def test_notices_pdf_font_path_must_be_absolute(tmp_path):
    from edge.config import ConfigError, load

    p = tmp_path / "hall.toml"
    p.write_text(HALL_TOML + '\n[notices]\nfont = "fonts/x.ttf"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\$\.notices\.font: must be an absolute path"):
        load(p)
