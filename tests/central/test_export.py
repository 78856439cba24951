"""XLSX export (central/export.py) through the real app: every /api/reports/* answers
`?format=xlsx`; the workbook read back with openpyxl equals the JSON report (Chinese titles,
numbers as numbers, rates as percentages, frozen header, widths); the charts' figures download
as XLSX too. On SQLite and PostgreSQL."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from central.export import XLSX_TYPE, text_width, to_xlsx
from tests.central.test_dashboard import app_parts, client, login  # noqa: F401  (fixtures)

ADMIN = ("admin", "admin123")
REPORTS = ["/api/reports/attendance?month=2026-11",
           "/api/reports/satisfaction?start=2026-11-01&end=2026-11-30&by=window",
           "/api/reports/service?start=2026-11-01&end=2026-11-30",
           "/api/reports/rankings?period=month:2026-11&level=window"]


def sheet(content: bytes):
    wb = load_workbook(io.BytesIO(content))
    return wb, wb.worksheets[0]


@pytest.mark.parametrize("url", REPORTS)
def test_export_xlsx_round_trip_equals_json(client, url):  # noqa: F811
    js = client.get(url, auth=ADMIN).json()
    r = client.get(url + "&format=xlsx", auth=ADMIN)
    assert r.status_code == 200 and r.headers["content-type"] == XLSX_TYPE
    assert r.headers["content-disposition"].startswith(f'attachment; filename="{js["report"]}-')
    _wb, ws = sheet(r.content)
    values = [list(row) for row in ws.iter_rows(values_only=True)]
    keys = [c["key"] for c in js["columns"]]
    assert values[0] == [c["title"] for c in js["columns"]]
    expected = [[None if row.get(k) in (None, "") else row.get(k) for k in keys] for row in js["rows"]]
    assert values[1:] == expected and len(expected) > 0
    assert ws.freeze_panes == "A2"
    for c, key in enumerate(keys, 1):
        cells = [ws.cell(row=i, column=c) for i in range(2, len(expected) + 2)]
        numeric = [x for x in cells if isinstance(x.value, int | float)]
        if key.endswith("_rate") or key in ("satisfaction", "attendance", "on_time"):
            assert all(x.number_format == "0.0%" for x in numeric)
        else:
            assert all(x.number_format == "General" for x in numeric)
        letter = ws.cell(row=1, column=c).column_letter
        assert ws.column_dimensions[letter].width >= text_width(js["columns"][c - 1]["title"])


def test_export_xlsx_satisfaction_figures_and_scope(client):  # noqa: F811
    r = client.get("/api/reports/satisfaction?start=2026-11-01&end=2026-11-30&by=window&format=xlsx", auth=ADMIN)
    _wb, ws = sheet(r.content)
    rows = list(ws.iter_rows(values_only=True))
    head = rows[0]
    by = {(row[head.index("大厅")], row[head.index("窗口")]): row for row in rows[1:]}
    good, overall = head.index("主动评价好评率"), head.index("好评率（含默认好评）")
    # h-a W2: one rating of level 2 → 好评率 0 %; one completed service, rated → 未评价率 0 %
    w2 = by[("甲大厅", "2号窗口")]
    assert (w2[head.index("不满意")], w2[good], w2[head.index("未评价率")], w2[overall]) == (1, 0, 0, 0)
    # h-c W1: T9 never rated → 主动评价好评率 empty, 未评价 1 (100 %), counted as a default 满意
    c1 = by[("丙大厅", "1号窗口")]
    assert (c1[head.index("评价数")], c1[good], c1[head.index("未评价数")], c1[head.index("未评价率")],
            c1[overall]) == (0, None, 1, 1, 1)
    assert login(client, "finance-head", "finance123").status_code in (301, 302, 303)
    _wb, ws = sheet(client.get("/api/reports/satisfaction?start=2026-11-01&end=2026-11-30&format=xlsx").content)
    assert [row[:2] for row in ws.iter_rows(min_row=2, values_only=True)] == [("乙大厅", "3号窗口")]


def test_export_xlsx_parameters_sheet_and_bad_format(client):  # noqa: F811
    wb, _ws = sheet(client.get("/api/reports/rankings?period=month:2026-11&level=hall&format=xlsx",
                               auth=ADMIN).content)
    assert wb.sheetnames == ["考核排名", "参数"]
    params = dict(wb["参数"].iter_rows(min_row=2, values_only=True))
    assert params["考核周期"] == "month:2026-11" and params["排名层级"] == "hall"
    assert params["权重：好评率"] == 0.5 and params["权重：考勤得分"] == 0.3
    r = client.get("/api/reports/attendance?month=2026-11&format=pdf", auth=ADMIN)
    assert r.status_code == 400 and "xlsx" in r.json()["detail"]


def test_export_chart_data_xlsx_from_dashboard(client):  # noqa: F811
    login(client, "admin", "admin123")
    r = client.get("/reports/charts/data?chart=wait_by_hour&month=2026-11&format=xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX_TYPE
    _wb, ws = sheet(r.content)
    rows = list(ws.iter_rows(values_only=True))
    # issued at 9 h: waits 120, 600; 10 h: 240, 300; 14 h: 1800 (nearest-rank p50/p90)
    assert rows[0] == ("时段", "取号数", "已叫号", "等候P50(秒)", "等候P90(秒)")
    assert rows[1] == ("09:00–10:00", 2, 2, 120, 600) and rows[2] == ("10:00–11:00", 2, 2, 240, 300)
    assert rows[-1] == ("14:00–15:00", 1, 1, 1800, 1800) and rows[3] == ("11:00–12:00", 0, 0, None, None)
    csv = client.get("/reports/charts/data?chart=satisfaction_distribution&month=2026-11&format=csv")
    assert csv.content.decode("utf-8-sig").splitlines() == ["评价,数量", "非常满意,1", "满意,1", "基本满意,0",
                                                            "不满意,1", "非常不满意,0", "未评价,1"]
    for bad in ("chart=pie&month=2026-11", "chart=wait_by_hour&month=2026-13",
                "chart=wait_by_hour&month=2026-11&format=ods"):
        r = client.get(f"/reports/charts/data?{bad}")
        assert r.status_code == 400 and r.json()["detail"]


def test_export_to_xlsx_blanks_text_widths():
    report = {"report": "attendance", "month": "2026-11",
              "columns": [("hall_name", "大厅"), ("staff", "工号"), ("late", "迟到"), ("good_rate", "好评率")],
              "rows": [{"hall_name": "一个很长的大厅名字", "staff": "s-li", "late": 3, "good_rate": 0.8333},
                       {"hall_name": "乙", "staff": None, "late": 0, "good_rate": None}]}
    wb, ws = sheet(to_xlsx(report))
    assert ws.title == "考勤月报"
    assert list(ws.iter_rows(values_only=True)) == [("大厅", "工号", "迟到", "好评率"),
                                                    ("一个很长的大厅名字", "s-li", 3, 0.8333),
                                                    ("乙", None, 0, None)]
    assert ws["D2"].number_format == "0.0%" and ws["C2"].number_format == "General"
    # nine CJK characters, two units each, + 2 (XlsxWriter stores Excel's padded width, +0.71)
    assert ws.column_dimensions["A"].width == pytest.approx(9 * 2 + 2, abs=1)
    assert ws.column_dimensions["B"].width == pytest.approx(6, abs=1)  # "s-li" + 2 → the 6 minimum
    assert ws.auto_filter.ref == "A1:D3"
    assert dict(wb["参数"].iter_rows(min_row=2, values_only=True)) == {"月份": "2026-11"}
