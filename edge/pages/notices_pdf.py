"""The notices of a case as an A4 PDF (fpdf2): the same text as the printable page
(templates/notice.html) for a printer without a browser, or to keep or send as a file.

Chinese text needs a font with Chinese glyphs, embedded (as a subset) in the PDF: `[notices]
font` of the hall file, or else the first usable one of FONT_CANDIDATES (Debian's CJK fonts;
fonts-noto-cjk is the one the installer puts on a hall node), found by sync.kernel.cjkfont. A
.ttc collection's face is `[notices] font_index`, or its Simplified Chinese face. No usable
font: `NoticeFontMissing` (503) naming the package to install; nothing else fails.
"""

from __future__ import annotations

from sync.kernel import cjkfont

from ..workflow import Refused

# (path, Debian package): the fonts looked for when `[notices] font` is empty (sync.kernel.cjkfont).
FONT_CANDIDATES = cjkfont.FONT_CANDIDATES
PACKAGE = cjkfont.PACKAGE  # what the 503 tells the operator to install
MARGIN = 20  # mm, every side
LINE = 7.5  # mm, body line height
BODY_PT = 12
FAMILY = "notice-cjk"


class NoticeFontMissing(Refused):
    """No font with Chinese glyphs for the PDF notices: 503 (the HTML notice still works)."""

    status = 503

    def __init__(self, message: str) -> None:
        super().__init__("notice-font-missing", message)


def find_font(font: str = "", font_index: int = -1) -> tuple[str, int]:
    """(path, face) of the font for the PDF notices: `font`, or else the first usable of
    FONT_CANDIDATES (sync.kernel.cjkfont.find_font). Raises NoticeFontMissing."""
    try:
        return cjkfont.find_font(font, font_index, FONT_CANDIDATES)
    except cjkfont.CjkFontMissing as e:
        raise NoticeFontMissing(cjkfont.missing_message(e, "大厅主机", "[notices] font", "网页版告知书仍可打印")) from None


def _paragraphs(d: dict) -> list[str]:
    """The body of the notice, as notice.html words it."""
    c, head = d["case"], f"您于 {d['date']} 到本大厅{d['window_name']}申请办理“{d['case']['item_name']}”事项。"
    if d["outcome"] == "notice":
        return [head + "经审查，您提交的申请材料不齐全，现将需补正的全部材料一次性告知如下："]
    if d["outcome"] == "gaps":
        return [head + f"经审查，您的主要申请材料齐全，部分次要材料暂缺，本窗口依据容缺受理制度予以受理。"
                       f"请于 {d['supply_by']} 前补交以下材料："]
    if d["outcome"] == "refused":
        return [head + "经审查，本窗口决定不予受理，现将申请材料退还，理由如下："]
    joint = ""
    if c["outcome"] == "joint":
        joint = f"由{c['department_name']}主办、{'、'.join(x['name'] for x in c['co_departments'])}协办，"
    return [f"您于 {d['date']} 到本大厅{d['window_name']}申请办理的“{c['item_name']}”事项，材料已收到并予以受理，"
            f"{joint}承诺于 {d['deadline'] or '—'} 前办结，办理结果将及时告知您。"]


def _after(d: dict, hall) -> list[str]:
    if d["outcome"] == "notice":
        return ["请补齐上述材料后重新取号办理。除上述材料外，本事项不再要求您提供其他材料。"]
    if d["outcome"] == "gaps":
        return ["逾期未补交的，本事项将按不予办理处理。"
                + (f"材料补齐后，本事项承诺于 {d['deadline']} 前办结。" if d["deadline"] else "")]
    if d["outcome"] == "refused":
        return [f"如对本决定有异议，可向大厅“办不成事”反映窗口反映或拨打 {hall.complaint_phone or '大厅投诉电话'}。"]
    return []


def render(d: dict, hall, font: tuple[str, int]) -> bytes:
    """The notice `d` (edge.pages.notices.notice_data) of `hall` ([hall] of the hall file) as
    an A4 portrait PDF with `font` (find_font) embedded."""
    # fpdf2 (and Pillow with it) on the first PDF, not when the hall starts (docs/benchmarks.md, the Pi budget)
    from fpdf import FPDF
    from fpdf.enums import Align, WrapMode, XPos, YPos

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=MARGIN)
    pdf.set_title(f"{d['title']} {d['case']['number']}")
    pdf.set_author(hall.name)
    pdf.set_creator("onestop")
    pdf.add_font(FAMILY, "", font[0], collection_font_number=font[1])
    pdf.add_page()
    width = pdf.epw

    def text(s: str, size: float = BODY_PT, align: Align = Align.L, indent: bool = False, h: float = LINE) -> None:
        pdf.set_font(FAMILY, size=size)
        pdf.multi_cell(width, h, ("　　" if indent else "") + s, align=align, wrapmode=WrapMode.CHAR,
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    org = "　".join(x for x in (hall.centre, hall.name) if x)
    text(org, 11, Align.C)
    pdf.ln(2)
    text(d["title"], 20, Align.C, h=12)
    text(f"编号：{d['case']['id']}", 9, Align.R, h=6)
    pdf.ln(3)
    text(f"申请人（排队号 {d['case']['number']}）：")
    for p in _paragraphs(d):
        text(p, indent=True)
    pdf.ln(2)
    pdf.set_font(FAMILY, size=11)
    if d["outcome"] in ("notice", "gaps"):
        head = "所缺材料" if d["outcome"] == "notice" else "容缺材料"
        with pdf.table(col_widths=(12, 62, 16, 80), line_height=6.5, wrapmode=WrapMode.CHAR,
                       text_align=("CENTER", "LEFT", "CENTER", "LEFT"), first_row_as_headings=False) as t:
            for row in [("序号", head, "份数", "说明"),
                        *[(str(i), m["name"], "" if m["copies"] in (None, "") else str(m["copies"]), m["note"] or "") for i, m in
                          enumerate(d["missing"], start=1)]]:
                r = t.row()
                for cell in row:
                    r.cell(cell)
        pdf.ln(2)
    elif d["outcome"] == "refused":
        pdf.set_font(FAMILY, size=BODY_PT)
        pdf.multi_cell(width, LINE, d["case"]["reason"] or "", border=1, wrapmode=WrapMode.CHAR, padding=3,
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
    for p in _after(d, hall):
        text(p, indent=True)
    pdf.ln(3)

    dept = d["dept"]
    place = f"{d['window_name']}（{dept.name if dept else d['case']['department_name']}"
    place += f"，电话 {dept.phone}）" if dept and getattr(dept, "phone", "") else "）"
    pdf.set_font(FAMILY, size=11)
    with pdf.table(col_widths=(30, 140), line_height=6.5, wrapmode=WrapMode.CHAR,
                   first_row_as_headings=False) as t:
        for label, value in (("受理窗口", place), ("经办人", d["staff_name"]), ("日期", f"{d['date']} {d['time']}")):
            r = t.row()
            r.cell(label)
            r.cell(value)

    pdf.ln(14)
    pdf.set_font(FAMILY, size=BODY_PT)
    half = width / 2
    pdf.cell(half, LINE, "经办人签字：" + "＿" * 8)
    pdf.cell(half, LINE, "申请人签收：" + "＿" * 8, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(12)
    text(f"{hall.name}（盖章）", align=Align.R)
    text(d["date"], align=Align.R)
    if hall.complaint_phone:
        pdf.ln(6)
        text(f"办不成事反映 / 投诉电话：{hall.complaint_phone}", 9)
    return bytes(pdf.output())


def font_of(notices) -> tuple[str, int]:
    """The font of a hall's `[notices]` configuration (find_font)."""
    return find_font(notices.font, notices.font_index)

