"""Server-drawn SVG charts (central/charts.py) and the figures behind them (central/hourly.py):
well-formed SVG with a title and the figures as text, bar sizes proportional to the values
(computed by hand here), empty data; waits by hour, satisfaction distribution, attendance by
month and campus/hall figures against hand-computed values from tests/central/data.py, on
SQLite and PostgreSQL."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest

from central import charts, hourly
from central.errors import BadRequest
from central.scope import Scope
from tests.central.data import ingest_all, three_halls

SVG = "{http://www.w3.org/2000/svg}"
TODAY = date(2026, 11, 6)


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on anything not well-formed
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    return root


def bars(root: ET.Element) -> list[ET.Element]:
    return root.findall(f".//{SVG}rect[@class='bar']")


def test_charts_nice_max_scale_tops():
    assert [charts.nice_max(v) for v in (0, 0.3, 1, 7, 10, 11, 37, 240, 600, 1800)] == \
        [1, 0.5, 1, 10, 10, 20, 50, 250, 1000, 2000]


def test_charts_axis_steps_whole_for_counts():
    assert [charts.ticks(t, True) for t in (1, 2, 5, 10, 25, 250, 500)] == [1, 2, 5, 5, 5, 5, 4]
    assert charts.ticks(2, False) == 4
    root = parse(charts.bar_chart("取号", ["9时", "10时"], [2, 1]))
    assert [t.text for t in root.findall(f".//{SVG}text[@class='tick']")] == ["0", "1", "2"]
    root = parse(charts.line_chart("等候", ["9时"], [("P50", [1.5])]))
    assert [t.text for t in root.findall(f".//{SVG}text[@class='tick']")] == ["0", "0.5", "1", "1.5", "2"]


def test_charts_bar_heights_proportional_to_values():
    svg = charts.bar_chart("各时段取号数", ["9时", "10时", "11时"], [3, 7, 10], unit="人")
    root = parse(svg)
    assert root.find(f"{SVG}title").text == "各时段取号数"
    # plot height = 260 − 40 (top) − 44 (bottom) = 176 px; axis top = 10 → 3/10, 7/10, 10/10 of it
    got = [(b.get("data-label"), float(b.get("height"))) for b in bars(root)]
    assert got == [("9时", 52.8), ("10时", 123.2), ("11时", 176.0)]
    base = 260 - 44
    assert [float(b.get("y")) + float(b.get("height")) for b in bars(root)] == [base] * 3
    # the figures as text: in the description, in each bar's tooltip, printed above the bars
    assert root.find(f"{SVG}desc").text == "9时：3人；10时：7人；11时：10人"
    assert [b.find(f"{SVG}title").text for b in bars(root)] == ["9时：3人", "10时：7人", "11时：10人"]
    assert [t.text for t in root.findall(f".//{SVG}text[@class='value']")] == ["3", "7", "10"]
    labelled = root.get("aria-labelledby").split()
    assert [root.find(f"*[@id='{i}']").tag for i in labelled] == [f"{SVG}title", f"{SVG}desc"]


def test_charts_grouped_bars_share_one_scale_and_skip_missing():
    root = parse(charts.grouped_bars("考勤", ["10月", "11月"], [("迟到", [0, 3]), ("缺勤", [72, None])]))
    # axis top nice_max(72) = 100; 176 px plot → 72 → 126.72 px, 3 → 5.28 px, 0 → 0
    got = {(b.get("data-series"), b.get("data-label")): float(b.get("height")) for b in bars(root)}
    assert got == {("迟到", "10月"): 0.0, ("迟到", "11月"): 5.28, ("缺勤", "10月"): 126.72}
    assert "11月：迟到 3，缺勤 —" in root.find(f"{SVG}desc").text
    assert [t.text for t in root.findall(f".//{SVG}text[@class='legend']")] == ["迟到", "缺勤"]


def test_charts_stacked_bars_segments_sum_to_total():
    root = parse(charts.stacked_bars("分布", ["甲", "乙"], [("好", [2, 1]), ("差", [3, 0])]))
    # totals 5 and 1, axis top 5: segment heights 2/5, 3/5, 1/5, 0 of 176 px, stacked upwards
    segs = [(b.get("data-label"), b.get("data-series"), float(b.get("height")), float(b.get("y")))
            for b in bars(root)]
    assert segs == [("甲", "好", 70.4, 216 - 70.4), ("甲", "差", 105.6, 216 - 176.0),
                    ("乙", "好", 35.2, 216 - 35.2), ("乙", "差", 0.0, 216 - 35.2)]
    assert [t.text for t in root.findall(f".//{SVG}text[@class='value']")] == ["5", "1"]


def test_charts_line_points_and_gaps():
    root = parse(charts.line_chart("等候", ["9时", "10时", "11时", "14时"],
                                   [("P50", [120, 240, None, 1800])], unit="秒"))
    # axis top nice_max(1800) = 2000; y = 216 − v/2000 × 176; x = 56 + slot × (i + ½), slot = 568/4 = 142
    pts = [(float(c.get("cx")), float(c.get("cy"))) for c in root.findall(f".//{SVG}circle")]
    assert pts == [(127.0, 205.44), (269.0, 194.88), (553.0, 57.6)]
    lines = root.findall(f".//{SVG}polyline")
    assert [ln.get("points") for ln in lines] == ["127,205.44 269,194.88"]  # the None breaks the line


def test_charts_hbar_widths_on_fixed_scale():
    root = parse(charts.hbar_chart("排名", ["1. 甲", "2. 乙", "3. 丙"], [90.5, 45.0, None], max_value=100))
    # plot width = 640 − 180 (labels) − 60 = 400 px; 90.5/100 and 45/100 of it; the None row prints —
    assert [float(b.get("width")) for b in bars(root)] == [362.0, 180.0]
    assert root.find(f".//{SVG}text[@class='value missing']").text == "—"
    assert int(root.get("height")) == 40 + 3 * 24 + 12


def test_charts_empty_data_and_escaping():
    for svg in (charts.bar_chart("空", [], []), charts.grouped_bars("空", [], []), charts.stacked_bars("空", [], []),
                charts.line_chart("空", ["9时"], [("P50", [None])]), charts.hbar_chart("空", [], [])):
        root = parse(svg)
        assert root.find(f"{SVG}title").text == "空" and bars(root) == []
        assert root.find(f".//{SVG}text[@class='chart-empty']").text == "没有数据"
    root = parse(charts.bar_chart('<甲> & "乙"', ['a<b'], [1]))
    assert root.find(f"{SVG}title").text == '<甲> & "乙"' and bars(root)[0].get("data-label") == "a<b"
    root = parse(charts.bar_chart("零", ["a", "b"], [0, 0]))
    assert [float(b.get("height")) for b in bars(root)] == [0.0, 0.0]


def test_charts_bad_values_refused():
    with pytest.raises(ValueError):
        charts.bar_chart("x", ["a"], [-1])
    with pytest.raises(ValueError):
        charts.grouped_bars("x", ["a", "b"], [("s", [1])])


# ---------------------------------------------------------------- the figures behind the charts


def test_charts_hourly_wait_by_hour(store, directory):
    ingest_all(store, three_halls())
    rows = hourly.wait_by_hour(store, directory, "2026-11-01", "2026-11-30")["rows"]
    # issued 09:00 (wait 120), 09:01 (600) at h-a; 10:00 (240), 10:01 (300, no-show) at h-b;
    # 14:00 (1800) at h-c. Nearest rank: of two waits p50 = the 1st, p90 = the 2nd.
    assert [(r["hour"], r["visits"], r["called"], r["wait_p50"], r["wait_p90"]) for r in rows] == [
        (9, 2, 2, 120, 600), (10, 2, 2, 240, 300), (11, 0, 0, None, None), (12, 0, 0, None, None),
        (13, 0, 0, None, None), (14, 1, 1, 1800, 1800)]
    assert rows[0]["hour_label"] == "09:00–10:00"
    assert [r["hour"] for r in hourly.wait_by_hour(store, directory, "2026-11-01", "2026-11-30", "h-c")["rows"]] == [14]
    finance = Scope(role="department", department="finance")
    assert [(r["hour"], r["visits"]) for r in hourly.wait_by_hour(
        store, directory, "2026-11-01", "2026-11-30", scope=finance)["rows"]] == [(10, 2)]
    assert hourly.wait_by_hour(store, directory, "2026-12-01", "2026-12-31")["rows"] == []
    with pytest.raises(BadRequest):
        hourly.wait_by_hour(store, directory, "2026-11-30", "2026-11-01")


def test_charts_hourly_satisfaction_distribution(store, directory):
    ingest_all(store, three_halls())
    rep = hourly.satisfaction_distribution(store, directory, "2026-11-01", "2026-11-30")
    # ratings 5 (h-a T1), 2 (h-a T2), 4 (h-b T1); completed h-a T1, T2, h-b T1, h-c T9 (never rated)
    assert [(r["label"], r["count"]) for r in rep["rows"]] == [
        ("非常满意", 1), ("满意", 1), ("基本满意", 0), ("不满意", 1), ("非常不满意", 0), ("未评价", 1)]
    assert (rep["ratings"], rep["good_rate"], rep["completed"], rep["unrated_rate"]) == (3, 0.6667, 4, 0.25)
    hb = hourly.satisfaction_distribution(store, directory, "2026-11-01", "2026-11-30",
                                          scope=Scope(role="hall", hall="h-b"))
    assert [r["count"] for r in hb["rows"]] == [0, 1, 0, 0, 0, 0] and hb["completed"] == 1


def test_charts_hourly_attendance_by_month(store, directory):
    ingest_all(store, three_halls())
    rows = {r["month"]: r for r in hourly.attendance_by_month(store, directory, 2026, "h-a", today=TODAY)["rows"]}
    assert list(rows) == [f"2026-{m:02d}" for m in range(1, 13)]
    pick = ("staff", "late", "early", "absent", "missing")
    # November (open days up to 11-05): s-li late 11-03 + one missing out-punch; s-wang late and
    # early 11-02; s-qian (fixed W3) and s-sun (periodic W4, Tue/Thu) never punched: s-qian absent
    # 4 days, s-sun only on the 2 days W4 opened (11-03, 11-05) [B 10]
    assert tuple(rows["2026-11"][k] for k in pick) == (4, 2, 1, 6, 1)
    # October: before h-a's first records (2026-11-02) nobody can be absent (the hall did not
    # run onestop yet), though October has 18 open days
    assert tuple(rows["2026-10"][k] for k in pick) == (4, 0, 0, 0, 0)
    assert tuple(rows["2026-12"][k] for k in pick) == (4, 0, 0, 0, 0)  # after `today`: nothing due yet
    with pytest.raises(BadRequest):
        hourly.attendance_by_month(store, directory, "20x6")


def test_charts_hourly_area_figures_by_campus_and_hall(store, directory):
    ingest_all(store, three_halls())
    rows = hourly.area_figures(store, directory, "2026-11-01", "2026-11-30")["rows"]
    got = {r["campus"]: (r["campus_name"], r["halls"], r["visits"], r["completed"], r["wait_p50"], r["wait_p90"],
                         r["ratings"], r["good_rate"], r["unrated_rate"]) for r in rows}
    assert got == {"east": ("东校区", 1, 2, 2, 120, 600, 2, 0.5, 0.0),
                   "south": ("南校区", 1, 1, 1, 1800, 1800, 0, None, 1.0),
                   "west": ("西校区", 1, 2, 1, 240, 300, 1, 1.0, 0.0)}
    halls = hourly.area_figures(store, directory, "2026-11-01", "2026-11-30", "hall", "west")["rows"]
    assert [(r["hall"], r["hall_name"], r["visits"]) for r in halls] == [("h-b", "乙大厅", 2)]
    finance = hourly.area_figures(store, directory, "2026-11-01", "2026-11-30",
                                  scope=Scope(role="department", department="finance"))["rows"]
    assert {r["campus"]: (r["visits"], r["ratings"]) for r in finance} == {"east": (0, 0), "south": (0, 0),
                                                                           "west": (2, 1)}
    mine = hourly.area_figures(store, directory, "2026-11-01", "2026-11-30", scope=Scope(role="hall", hall="h-b"))
    assert [r["campus"] for r in mine["rows"]] == ["west"]
    with pytest.raises(BadRequest):
        hourly.area_figures(store, directory, "2026-11-01", "2026-11-30", "hall", "north")




def test_charts_hbar_long_labels_get_a_wider_label_column():
    """A ranking label longer than the default column (a hall's full name and a window) is not
    cut off: the bars start after the longest label."""
    label = "1. 北校区学生事务服务大厅 12号综合服务窗口"
    root = parse(charts.hbar_chart("排名", [label, "2. 甲"], [80.0, 40.0], max_value=100))
    x = float(bars(root)[0].get("x"))
    assert x >= charts._text_px(label) + 8 > charts.LABEL_WIDTH
    assert float(bars(root)[1].get("x")) == x  # one column for every row
