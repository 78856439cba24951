"""Charts as inline SVG strings, drawn on the server (no JavaScript, no CDN: halls and the office
may be offline). Every chart is a `<svg role="img">` with a `<title>` and a `<desc>` that lists
every figure as text, a `<title>` tooltip on each bar or point, and the value printed next to
it, so a screen reader and a printout both get the numbers.

Scales start at 0 and end at `nice_max(largest value)` (1, 2, 2.5 or 5 × 10ⁿ); a bar's length is
`value / axis top × plot size`. Missing values (None) draw nothing and print "—". Negative
values are refused (every figure charted here is a count, a duration or a score).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape, quoteattr

PALETTE = ["#2f6db5", "#d9822b", "#3a9a5b", "#b23b3b", "#7d5ba6", "#8c8c8c"]
FONT = 12
# geometry of the vertical charts (bar, grouped, stacked, line)
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 56, 16, 40, 44
# geometry of the horizontal bar chart
LABEL_WIDTH, ROW_HEIGHT, ROW_BAR = 180, 24, 16
_LABEL_MIN = LABEL_WIDTH  # a wider label column only for longer labels


def _text_px(text: str) -> float:
    """The drawn width of `text` at FONT size: CJK and full-width characters one em, others about 0.6."""
    return sum(FONT if ord(ch) > 0x2E7F else FONT * 0.6 for ch in str(text))

Number = float | int


def nice_max(value: float) -> float:
    """The axis top: the smallest 1, 2, 2.5 or 5 × 10ⁿ at or above `value` (1 for nothing)."""
    if value <= 0:
        return 1.0
    k = 10.0 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if m * k >= value * (1 - 1e-12):
            return float(m * k)
    return float(10 * k)  # pragma: no cover - the loop always returns


def default_fmt(value: Number | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f}"
    return str(int(value))


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _val(v: Number) -> str:
    return str(int(v)) if float(v).is_integer() else repr(v)


def _id(kind: str, title: str, labels: Sequence[str]) -> str:
    return f"{kind}-" + hashlib.sha1((title + "\x1f" + "\x1f".join(labels)).encode()).hexdigest()[:10]


def _check(values: Sequence[Number | None]) -> None:
    for v in values:
        if v is not None and (v < 0 or math.isnan(v)):
            raise ValueError(f"a chart value must be a number >= 0, got {v!r}")


def _check_series(labels: Sequence[str], series) -> None:
    for _name, vals in series:
        if len(vals) != len(labels):
            raise ValueError("every series needs one value per label")
        _check(vals)


def _plot(width: int, height: int, n: int) -> tuple[float, float, float]:
    """The plot area's height, the baseline's y and the width of one of `n` label slots."""
    plot_h = height - MARGIN_TOP - MARGIN_BOTTOM
    return plot_h, height - MARGIN_BOTTOM, (width - MARGIN_LEFT - MARGIN_RIGHT) / n


def _open(kind: str, title: str, labels: Sequence[str], desc: str, width: int, height: int) -> list[str]:
    cid = _id(kind, title, labels)
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'aria-labelledby="{cid}-t {cid}-d" font-size="{FONT}">',
            f'<title id="{cid}-t">{escape(title)}</title>',
            f'<desc id="{cid}-d">{escape(desc)}</desc>',
            f'<text class="chart-title" x="8" y="18" font-size="{FONT + 2}" '
            f'font-weight="bold">{escape(title)}</text>']


def _empty(kind: str, title: str, width: int, height: int) -> str:
    out = _open(kind, title, [], "没有数据", width, height)
    out.append(f'<text class="chart-empty" x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#777">'
               f'没有数据</text>')
    return "\n".join(out + ["</svg>"])


def _desc(labels: Sequence[str], series: Sequence[tuple[str, Sequence[Number | None]]], fmt, unit: str) -> str:
    parts = []
    for i, label in enumerate(labels):
        vals = "，".join(f"{name} {fmt(vals[i])}{unit if vals[i] is not None else ''}" if name
                        else f"{fmt(vals[i])}{unit if vals[i] is not None else ''}" for name, vals in series)
        parts.append(f"{label}：{vals}")
    return "；".join(parts)


def ticks(top: float, integer: bool) -> int:
    """How many steps the y axis has: 4 (0, ¼, ½, ¾, top), or for whole-number data the most of
    4, 5, 2, 1 whose step is a whole number (no 0.5 person on the axis)."""
    if not integer:
        return 4
    for n in (4, 5, 2, 1):
        if float(top / n).is_integer():
            return n
    return 4


def _integer(values) -> bool:
    return all(float(v).is_integer() for v in values if v is not None)


def _axis(out: list[str], top: float, width: int, height: int, fmt, unit: str, steps: int = 4) -> None:
    """Y gridlines and tick labels at `steps` equal steps from 0 to the top; the x baseline."""
    plot_h = height - MARGIN_TOP - MARGIN_BOTTOM
    base = height - MARGIN_BOTTOM
    for i in range(steps + 1):
        v = top * i / steps
        y = base - plot_h * i / steps
        out.append(f'<line class="grid" x1="{MARGIN_LEFT}" x2="{width - MARGIN_RIGHT}" y1="{_num(y)}" '
                   f'y2="{_num(y)}" stroke="#e3e6ea"/>')
        out.append(f'<text class="tick" x="{MARGIN_LEFT - 6}" y="{_num(y + 4)}" text-anchor="end" '
                   f'fill="#555">{escape(fmt(v) + (unit if i == steps else ""))}</text>')
    out.append(f'<line class="baseline" x1="{MARGIN_LEFT}" x2="{width - MARGIN_RIGHT}" y1="{base}" y2="{base}" '
               f'stroke="#888"/>')


def _xlabels(out: list[str], labels: Sequence[str], slot: float, height: int) -> None:
    for i, label in enumerate(labels):
        x = MARGIN_LEFT + slot * (i + 0.5)
        out.append(f'<text class="xlabel" x="{_num(x)}" y="{height - MARGIN_BOTTOM + 16}" text-anchor="middle" '
                   f'fill="#333">{escape(label)}</text>')


def _legend(out: list[str], names: Sequence[str], width: int, shape: str = "rect") -> None:
    x = width - MARGIN_RIGHT - sum(18 + FONT * len(name) + 8 for name in names)
    for j, name in enumerate(names):
        if j:
            x += 18 + FONT * len(names[j - 1]) + 8
        color = PALETTE[j % len(PALETTE)]
        if shape == "line":
            out.append(f'<line x1="{_num(x)}" x2="{_num(x + 12)}" y1="30" y2="30" stroke="{color}" '
                       f'stroke-width="2"/>')
        else:
            out.append(f'<rect x="{_num(x)}" y="24" width="12" height="12" fill="{color}"/>')
        out.append(f'<text class="legend" x="{_num(x + 16)}" y="34" fill="#333">{escape(name)}</text>')


def bar_chart(title: str, labels: Sequence[str], values: Sequence[Number | None], *, unit: str = "",
              fmt: Callable[[Number | None], str] = default_fmt, width: int = 640, height: int = 260,
              color: str = PALETTE[0], bar_colors: Sequence[str] | None = None) -> str:
    """One vertical bar per label (`bar_colors`: one colour per bar, else all `color`)."""
    return grouped_bars(title, labels, [("", values)], unit=unit, fmt=fmt, width=width, height=height,
                        colors=[color], kind="bar", bar_colors=bar_colors)


def grouped_bars(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[Number | None]]], *,
                 unit: str = "", fmt: Callable[[Number | None], str] = default_fmt, width: int = 640,
                 height: int = 260, colors: Sequence[str] = PALETTE, kind: str = "grouped",
                 bar_colors: Sequence[str] | None = None) -> str:
    """Side-by-side bars, one per series, in each label's slot."""
    _check_series(labels, series)
    if not labels or not series:
        return _empty(kind, title, width, height)
    top = nice_max(max((v for _n, vals in series for v in vals if v is not None), default=0))
    plot_h, base, slot = _plot(width, height, len(labels))
    bar_w = slot * 0.75 / len(series)
    out = _open(kind, title, labels, _desc(labels, series, fmt, unit), width, height)
    _axis(out, top, width, height, fmt, unit, ticks(top, _integer(v for _n, vals in series for v in vals)))
    for j, (name, vals) in enumerate(series):
        color = colors[j % len(colors)]
        for i, v in enumerate(vals):
            x = MARGIN_LEFT + slot * i + slot * 0.125 + bar_w * j
            if bar_colors:
                color = bar_colors[i % len(bar_colors)]
            text = f"{labels[i]}{'：' + name if name else ''}：{fmt(v)}{unit if v is not None else ''}"
            if v is None:
                out.append(f'<text class="value missing" x="{_num(x + bar_w / 2)}" y="{base - 4}" '
                           f'text-anchor="middle" fill="#777">—<title>{escape(text)}</title></text>')
                continue
            h = v / top * plot_h
            out.append(f'<rect class="bar" data-label={quoteattr(labels[i])} data-series={quoteattr(name)} '
                       f'data-value="{_val(v)}" x="{_num(x)}" y="{_num(base - h)}" width="{_num(bar_w)}" '
                       f'height="{_num(h)}" fill="{color}"><title>{escape(text)}</title></rect>')
            if bar_w >= 14:
                out.append(f'<text class="value" x="{_num(x + bar_w / 2)}" y="{_num(base - h - 3)}" '
                           f'text-anchor="middle" fill="#222" font-size="{FONT - 1}">{escape(fmt(v))}</text>')
    _xlabels(out, labels, slot, height)
    if any(name for name, _v in series):
        _legend(out, [name for name, _v in series], width)
    return "\n".join(out + ["</svg>"])


def stacked_bars(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[Number | None]]], *,
                 unit: str = "", fmt: Callable[[Number | None], str] = default_fmt, width: int = 640,
                 height: int = 260, colors: Sequence[str] = PALETTE) -> str:
    """One bar per label made of one segment per series (None counts as 0); the total on top."""
    _check_series(labels, series)
    if not labels or not series:
        return _empty("stacked", title, width, height)
    totals = [sum(vals[i] or 0 for _n, vals in series) for i in range(len(labels))]
    top = nice_max(max(totals))
    plot_h, base, slot = _plot(width, height, len(labels))
    bar_w = slot * 0.6
    out = _open("stacked", title, labels, _desc(labels, series, fmt, unit), width, height)
    _axis(out, top, width, height, fmt, unit, ticks(top, _integer(totals)))
    for i, label in enumerate(labels):
        x = MARGIN_LEFT + slot * i + slot * 0.2
        y = base
        for j, (name, vals) in enumerate(series):
            v = vals[i] or 0
            h = v / top * plot_h
            y -= h
            out.append(f'<rect class="bar" data-label={quoteattr(label)} data-series={quoteattr(name)} '
                       f'data-value="{_val(v)}" x="{_num(x)}" y="{_num(y)}" width="{_num(bar_w)}" height="{_num(h)}" '
                       f'fill="{colors[j % len(colors)]}"><title>{escape(f"{label}：{name}：{fmt(v)}{unit}")}'
                       f'</title></rect>')
        out.append(f'<text class="value" x="{_num(x + bar_w / 2)}" y="{_num(y - 3)}" text-anchor="middle" '
                   f'fill="#222" font-size="{FONT - 1}">{escape(fmt(totals[i]))}</text>')
    _xlabels(out, labels, slot, height)
    _legend(out, [name for name, _v in series], width)
    return "\n".join(out + ["</svg>"])


def line_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[Number | None]]], *,
               unit: str = "", fmt: Callable[[Number | None], str] = default_fmt, width: int = 640,
               height: int = 260, colors: Sequence[str] = PALETTE) -> str:
    """One line per series through the label slots' centres; a None breaks the line."""
    _check_series(labels, series)
    if not labels or not series or all(v is None for _n, vals in series for v in vals):
        return _empty("line", title, width, height)
    top = nice_max(max(v for _n, vals in series for v in vals if v is not None))
    plot_h, base, slot = _plot(width, height, len(labels))
    out = _open("line", title, labels, _desc(labels, series, fmt, unit), width, height)
    _axis(out, top, width, height, fmt, unit, ticks(top, _integer(v for _n, vals in series for v in vals)))
    for j, (name, vals) in enumerate(series):
        color = colors[j % len(colors)]
        runs: list[list[tuple[float, float]]] = [[]]
        points = []
        for i, v in enumerate(vals):
            if v is None:
                runs.append([])
                continue
            x, y = MARGIN_LEFT + slot * (i + 0.5), base - v / top * plot_h
            runs[-1].append((x, y))
            points.append((i, v, x, y))
        for run in runs:
            if len(run) > 1:
                out.append(f'<polyline class="line" data-series={quoteattr(name)} fill="none" stroke="{color}" '
                           f'stroke-width="2" points="{" ".join(f"{_num(x)},{_num(y)}" for x, y in run)}"/>')
        for i, v, x, y in points:
            out.append(f'<circle class="point" data-label={quoteattr(labels[i])} data-series={quoteattr(name)} '
                       f'data-value="{_val(v)}" cx="{_num(x)}" cy="{_num(y)}" r="3.5" fill="{color}">'
                       f'<title>{escape(f"{labels[i]}：{name}：{fmt(v)}{unit}")}</title></circle>')
    _xlabels(out, labels, slot, height)
    _legend(out, [name for name, _v in series], width, shape="line")
    return "\n".join(out + ["</svg>"])


def hbar_chart(title: str, labels: Sequence[str], values: Sequence[Number | None], *, max_value: float | None = None,
               unit: str = "", fmt: Callable[[Number | None], str] = default_fmt, width: int = 640,
               color: str = PALETTE[0]) -> str:
    """One horizontal bar per row (a ranking: the rows in their order); the scale ends at
    `max_value` when given (100 for scores), else at nice_max of the largest value."""
    if len(values) != len(labels):
        raise ValueError("one value per label")
    _check(values)
    height = MARGIN_TOP + ROW_HEIGHT * max(1, len(labels)) + 12
    if not labels:
        return _empty("hbar", title, width, 120)
    top = max_value if max_value else nice_max(max((v for v in values if v is not None), default=0))
    # the label column fits the longest label (CJK characters are about one FONT wide, others half)
    LABEL_WIDTH = max(_LABEL_MIN, min(width // 2, 16 + max(_text_px(label) for label in labels)))
    plot_w = width - LABEL_WIDTH - 60
    out = _open("hbar", title, labels, _desc(labels, [("", values)], fmt, unit), width, height)
    for i, (label, v) in enumerate(zip(labels, values)):
        y = MARGIN_TOP + ROW_HEIGHT * i
        out.append(f'<text class="ylabel" x="{LABEL_WIDTH - 8}" y="{_num(y + ROW_BAR - 3)}" text-anchor="end" '
                   f'fill="#333">{escape(label)}</text>')
        text = f"{label}：{fmt(v)}{unit if v is not None else ''}"
        if v is None:
            out.append(f'<text class="value missing" x="{LABEL_WIDTH + 4}" y="{_num(y + ROW_BAR - 3)}" '
                       f'fill="#777">—<title>{escape(text)}</title></text>')
            continue
        w = min(v, top) / top * plot_w
        out.append(f'<rect class="bar" data-label={quoteattr(label)} data-value="{_val(v)}" x="{LABEL_WIDTH}" '
                   f'y="{_num(y)}" width="{_num(w)}" height="{ROW_BAR}" fill="{color}">'
                   f'<title>{escape(text)}</title></rect>')
        out.append(f'<text class="value" x="{_num(LABEL_WIDTH + w + 4)}" y="{_num(y + ROW_BAR - 3)}" '
                   f'fill="#222">{escape(fmt(v) + unit)}</text>')
    out.append(f'<line class="baseline" x1="{LABEL_WIDTH}" x2="{LABEL_WIDTH}" y1="{MARGIN_TOP - 4}" '
               f'y2="{height - 10}" stroke="#888"/>')
    return "\n".join(out + ["</svg>"])
