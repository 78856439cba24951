"""The written notice (书面通报) of the monthly patrol bulletin as an A4 PDF (fpdf2): one page
per staff member the bulletin flags — named in `[supervision] notice_bulletins` consecutive
monthly bulletins [C 20] — addressed to their home department (派驻部门), with the months they
were named in and every finding of those months (date, category, problem), the article, a
request for feedback on the rectification, and the centre's name, date and seal (（盖章）).
A month without notices gives one page saying so (本月无需书面通报).

The Chinese font is found by sync.kernel.cjkfont (fonts-noto-cjk on central); none usable:
`CjkFontMissing`, which the page answers 503 with `font_missing_message`.
"""

from __future__ import annotations

from datetime import date, timedelta

from fpdf import FPDF
from fpdf.enums import Align, WrapMode, XPos, YPos

from sync.kernel import cjkfont

from ..projections import Directory
from ..scope import Scope, parse_month
from . import patrols as pt
from .auto import AutoRun

MARGIN = 20  # mm, every side
LINE = 7.5  # mm, body line height
BODY_PT = 12
FAMILY = "notice-cjk"
# [C 20], as the centre's regulation words it (the notice quotes it; the threshold is configuration)
ARTICLE = ("巡查结果每月通报，对于连续通报 2 次以上的工作人员，将书面通报至派驻部门（单位），"
           "通报情况作为窗口及窗口工作人员评优评先的重要依据")
EMPTY = "本月无需书面通报"
CjkFontMissing = cjkfont.CjkFontMissing


def find_font() -> tuple[str, int]:
    """(path, face) of a font with Chinese glyphs on central. Raises cjkfont.CjkFontMissing."""
    return cjkfont.find_font()


def font_missing_message(e: cjkfont.CjkFontMissing) -> str:
    return cjkfont.missing_message(e, "中心服务器", fallback="网页版巡查通报仍可查看")


def month_label(month: str) -> str:
    y, m = month.split("-")
    return f"{int(y)}年{int(m)}月"


def day_label(day: str | date) -> str:
    d = date.fromisoformat(day) if isinstance(day, str) else day
    return f"{d.year}年{d.month}月{d.day}日"


def _months(month: str, n: int) -> list[str]:
    """`month` and the n − 1 months before it, oldest first."""
    first = parse_month(month)[0]
    out = [first]
    for _ in range(n - 1):
        out.append((out[-1] - timedelta(days=1)).replace(day=1))
    return [f"{m:%Y-%m}" for m in reversed(out)]


def notice_data(store, d: Directory, scope: Scope, month: str, notice_bulletins: int = pt.DEFAULT_NOTICE_BULLETINS,
                auto: AutoRun | None = None) -> dict:
    """The bulletin of `month` as `scope` sees it (patrols.bulletin; BadRequest for a bad month)
    and one notice per flagged staff member: the months named and every finding of them, oldest
    first — with `auto`, the automatic findings (电子监察) too."""
    b = pt.bulletin(store, d, scope, month, notice_bulletins, auto)
    months = _months(b["month"], b["threshold"])
    earlier = [p for m in months[:-1] for p in pt.list_patrols(store, d, scope, m, auto=auto)]
    notices = []
    for r in b["notices"]:
        mine = sorted((p for p in earlier + b["findings"] if (p["hall"], p["staff"]) == (r["hall"], r["staff"])),
                      key=pt._order)
        notices.append(r | {"months": months, "items": mine})
    return {"month": b["month"], "threshold": b["threshold"], "notices": notices}


def render(data: dict, centre: str, today: date, font: tuple[str, int]) -> bytes:
    """`data` (notice_data) as an A4 portrait PDF, one page per notice, with `font` embedded."""
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=MARGIN)
    pdf.set_title(f"书面通报 {data['month']}")
    pdf.set_author(centre)
    pdf.set_creator("onestop")
    pdf.add_font(FAMILY, "", font[0], collection_font_number=font[1])
    width = pdf.epw

    def text(s: str, size: float = BODY_PT, align: Align = Align.L, indent: bool = False, h: float = LINE) -> None:
        pdf.set_font(FAMILY, size=size)
        pdf.multi_cell(width, h, ("　　" if indent else "") + s, align=align, wrapmode=WrapMode.CHAR,
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def head() -> None:
        pdf.add_page()
        text(centre, 11, Align.C)
        pdf.ln(2)
        text("书面通报", 20, Align.C, h=12)
        text(f"（{month_label(data['month'])}巡查通报）", 10, Align.C, h=6)
        pdf.ln(4)

    def sign() -> None:
        pdf.ln(12)
        text(f"{centre}（盖章）", align=Align.R)
        text(day_label(today), align=Align.R)

    if not data["notices"]:
        head()
        text(f"{month_label(data['month'])}巡查通报中，没有连续 {data['threshold']} 个月被通报的工作人员，{EMPTY}。",
             indent=True)
        sign()
        return bytes(pdf.output())
    for n in data["notices"]:
        head()
        months = "、".join(month_label(m) for m in n["months"])
        text(f"{n['department_name'] or n['department'] or '派驻部门'}：")
        text(f"贵单位派驻{n['hall_name']}的工作人员{n['staff_name'] or n['staff']}，在 {months} 的巡查通报中连续 "
             f"{len(n['months'])} 个月被通报，巡查发现的问题如下：", indent=True)
        pdf.ln(2)
        pdf.set_font(FAMILY, size=11)
        with pdf.table(col_widths=(34, 34, 102), line_height=6.5, wrapmode=WrapMode.CHAR,
                       text_align=("CENTER", "CENTER", "LEFT"), first_row_as_headings=False) as t:
            for row in [("日期", "方式·类别", "问题"),
                        *[(day_label(p["day"]), f"{p['kind']}·{p['category']}", p["note"]) for p in n["items"]]]:
                r = t.row()
                for cell in row:
                    r.cell(cell)
        pdf.ln(3)
        text(f"根据《服务中心联合管理办法》第二十条“{ARTICLE}”的规定，现将上述情况书面通报贵单位。", indent=True)
        text("请贵单位督促该工作人员认真整改，并于收到本通报后将整改情况书面反馈中心。", indent=True)
        sign()
    return bytes(pdf.output())
