"""Reports as XLSX workbooks (XlsxWriter: pure Python, write-only, in memory).

One sheet named after the report: the header row holds the Chinese column titles (bold,
frozen, with an autofilter), then one row per report row. Counts and seconds are written as
numbers, rates (0–1) as numbers with the percentage format `0.0%`, a missing figure as an empty
cell. Column widths follow the longest text in the column (a CJK character counts twice). A
second sheet, 参数, lists the report's parameters (month, dates, level, weights).
"""

from __future__ import annotations

import io
from typing import Any

import xlsxwriter

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET_NAMES = {"attendance": "考勤月报", "satisfaction": "满意度", "service": "办件统计", "rankings": "考核排名",
               "wait_by_hour": "各时段等候", "satisfaction_distribution": "满意度分布",
               "attendance_by_month": "全年考勤", "area_figures": "分区统计"}
PARAM_NAMES = {"month": "月份", "start": "开始日期", "end": "结束日期", "period": "考核周期", "level": "排名层级",
               "by": "统计层级", "hall": "大厅", "year": "年份", "campus": "校区", "department": "部门"}
# rates that are not named *_rate
RATE_KEYS = {"satisfaction", "attendance", "on_time"}


def is_rate(key: str) -> bool:
    """Columns holding a share between 0 and 1 (printed and formatted as a percentage)."""
    return key in RATE_KEYS or key.endswith("_rate")


def text_width(value: Any) -> int:
    """Display width in Excel character units: CJK and full-width characters count 2."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in str(value))


def _cell(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return int(value)
    return value


def to_xlsx(report: dict) -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                   "strings_to_urls": False})
    head = wb.add_format({"bold": True, "bg_color": "#EEF1F5", "border": 1, "text_wrap": False})
    pct = wb.add_format({"num_format": "0.0%"})
    ws = wb.add_worksheet(SHEET_NAMES.get(report.get("report", ""), "报表")[:31])
    columns = report["columns"]
    widths = []
    for c, (key, title) in enumerate(columns):
        ws.write_string(0, c, title, head)
        widths.append(text_width(title))
    for r, row in enumerate(report["rows"], 1):
        for c, (key, _title) in enumerate(columns):
            value = _cell(row.get(key))
            if value is None:
                ws.write_blank(r, c, None)
                continue
            if isinstance(value, int | float):
                if is_rate(key):
                    ws.write_number(r, c, value, pct)
                    widths[c] = max(widths[c], len(f"{value * 100:.1f}%"))
                else:
                    ws.write_number(r, c, value)
                    widths[c] = max(widths[c], len(str(value)))
            else:
                ws.write_string(r, c, str(value))
                widths[c] = max(widths[c], text_width(value))
    for c, w in enumerate(widths):
        ws.set_column(c, c, min(max(w + 2, 6), 60))
    ws.freeze_panes(1, 0)
    if columns:
        ws.autofilter(0, 0, max(len(report["rows"]), 1), len(columns) - 1)
    params = wb.add_worksheet("参数")
    params.write_string(0, 0, "参数", head)
    params.write_string(0, 1, "值", head)
    i = 1
    for key, name in PARAM_NAMES.items():
        if report.get(key) not in (None, ""):
            params.write_string(i, 0, name)
            params.write_string(i, 1, str(report[key]))
            i += 1
    for key, value in (report.get("weights") or {}).items():
        params.write_string(i, 0, {"satisfaction": "权重：好评率", "attendance": "权重：考勤得分",
                                   "on_time": "权重：按时办结率"}.get(key, f"权重：{key}"))
        params.write_number(i, 1, value)
        i += 1
    params.set_column(0, 0, 16)
    params.set_column(1, 1, 24)
    wb.close()
    return buf.getvalue()


def filename(report: dict, ext: str) -> str:
    """ASCII file name: the report's key and its period (the title is in the sheet)."""
    tag = report.get("month") or report.get("period") or (
        f"{report['start']}_{report['end']}" if report.get("start") else report.get("year") or "")
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in str(tag))
    return f"{report['report']}{'-' + safe if safe else ''}.{ext}"
