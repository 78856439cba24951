"""Histograms of wait and service times (central.facts): buckets, percentiles, JSON form."""

from __future__ import annotations

import json
from collections import Counter

import msgspec


def bucket(seconds: float) -> int:
    """The lower bound (whole seconds) of the histogram bucket holding `seconds`."""
    s = max(0, int(seconds))
    for limit, width in ((60, 1), (600, 5), (3600, 30), (28_800, 300)):
        if s < limit:
            return s - s % width
    return s - s % 3600


def hist_percentile(h: Counter, p: float) -> float | None:
    """Nearest rank over a histogram: the bucket holding the smallest value with at least p % of
    the values at or below it."""
    n = sum(h.values())
    if not n:
        return None
    rank = max(1, -(-p * n // 100))  # ceil(p / 100 * n), at least 1
    seen = 0
    for b in sorted(h):
        seen += h[b]
        if seen >= rank:
            return float(b)
    return None

HISTS_DECODER = msgspec.json.Decoder(list[dict[int, int]])  # JSON object keys decode straight to int buckets


def merge_json(into: Counter, text: str) -> None:
    merge_all(into, [text])


def merge_all(into: Counter, texts: list[str]) -> None:
    """Add the JSON histograms `texts` into `into`, decoded in one call as a JSON array (a
    yearly chart merges thousands; decoding them one call each cost a third of the merge)."""
    if not texts:
        return
    get = into.get
    for h in HISTS_DECODER.decode("[" + ",".join(texts) + "]"):
        for k, v in h.items():
            into[k] = get(k, 0) + v


def hist_json(h: Counter) -> str:
    return json.dumps({str(k): v for k, v in sorted(h.items()) if v})
