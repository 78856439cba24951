"""The written patrol notice as an A4 PDF (central.supervision.notice_pdf, GET /patrols/bulletin.pdf)
through the real HTTP app, on both databases; findings recorded through the patrol form."""

from __future__ import annotations

import re

from tests.central.supervision_data import ADMIN, FINANCE, app, client, login, parts  # noqa: F401 - fixtures
from tests.edge.pages.test_notices import pdf_text


def record(client, *findings: tuple[str, str, str, str, str]) -> None:
    for day, hall, staff, category, note in findings:
        r = client.post("/patrols", data={"day": day, "hall": hall, "staff": staff, "category": category,
                                          "kind": "现场巡查", "note": note, "inspector": "督查组"},
                        follow_redirects=False)
        assert r.status_code == 303, r.text


def notices_pdf(client, month: str) -> tuple[int, str]:
    """(pages, text) of the month's written notices as the logged-in `client` gets them."""
    r = client.get(f"/patrols/bulletin.pdf?month={month}")
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"] == "application/pdf"
    pdf = r.content
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert b"/MediaBox [0 0 595.28 841.89]" in pdf  # A4 portrait, in points
    assert re.search(rb"/FontFile[23]? ", pdf)  # the Chinese font is embedded (a subset)
    return len(re.findall(rb"/Type /Page\b", pdf)), pdf_text(pdf).replace("\n", "")


def test_patrol_notice_pdf_names_staff_named_two_months_running(client):
    """C 20: s-li (李明, 教务处), named in October and November, gets one page addressed to 教务处;
    s-wang, named in November only, none."""
    login(client, ADMIN)
    record(client, ("2026-10-30", "h-a", "s-li", "纪律", "离岗未挂牌"),
           ("2026-11-03", "h-a", "s-li", "态度", "对办事人语气生硬"),
           ("2026-11-12", "h-a", "s-wang", "效率", "窗口积压无人处理"))
    page = client.get("/patrols/bulletin?month=2026-11")
    assert 'href="/patrols/bulletin.pdf?month=2026-11"' in page.text and "下载书面通报（PDF）" in page.text
    pages, text = notices_pdf(client, "2026-11")
    assert pages == 1
    for s in ("书面通报", "教务处：", "李明", "2026年10月、2026年11月", "2026年10月30日", "离岗未挂牌",
              "2026年11月3日", "对办事人语气生硬", "第二十条", "连续通报 2 次以上", "整改情况书面反馈", "（盖章）"):
        assert s in text, s
    assert "王芳" not in text and "窗口积压无人处理" not in text
    assert text.index("离岗未挂牌") < text.index("对办事人语气生硬")  # oldest first


def test_patrol_notice_pdf_month_without_notices_says_so(client):
    login(client, ADMIN)
    record(client, ("2026-11-12", "h-a", "s-wang", "效率", "窗口积压无人处理"))
    pages, text = notices_pdf(client, "2026-11")
    assert pages == 1 and "本月无需书面通报" in text and "王芳" not in text


def test_patrol_notice_pdf_needs_a_session_and_a_good_month(client):
    r = client.get("/patrols/bulletin.pdf?month=2026-11", follow_redirects=False)
    assert r.status_code in (302, 303) and r.headers["location"] == "/login"
    assert not r.content.startswith(b"%PDF")
    login(client, ADMIN)
    r = client.get("/patrols/bulletin.pdf?month=2026-13")
    assert r.status_code == 400 and not r.content.startswith(b"%PDF")


def test_patrol_notice_pdf_department_head_sees_only_their_department(client):
    """Scope: the finance head's PDF has 钱红 (财务处) and not 李明 (教务处), though both are due a notice."""
    login(client, ADMIN)
    record(client, ("2026-10-05", "h-a", "s-li", "纪律", "离岗未挂牌"), ("2026-11-03", "h-a", "s-li", "纪律", "迟到"),
           ("2026-10-08", "h-b", "s-qian", "态度", "语气生硬"), ("2026-11-09", "h-b", "s-qian", "效率", "积压"))
    pages, text = notices_pdf(client, "2026-11")
    assert pages == 2 and "李明" in text and "钱红" in text
    client.get("/logout")
    login(client, FINANCE)
    pages, text = notices_pdf(client, "2026-11")
    assert pages == 1 and "钱红" in text and "财务处：" in text and "李明" not in text and "离岗未挂牌" not in text


def test_patrol_notice_pdf_without_a_chinese_font_is_503_naming_the_package(client, monkeypatch, tmp_path):
    from sync.kernel import cjkfont

    monkeypatch.setattr(cjkfont, "FONT_CANDIDATES", ((str(tmp_path / "none.ttc"), "fonts-noto-cjk"),))
    login(client, ADMIN)
    r = client.get("/patrols/bulletin.pdf?month=2026-11")
    assert r.status_code == 503 and "没有中文字体，请安装 fonts-noto-cjk" in r.text
