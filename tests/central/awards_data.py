"""Test data for the assessment outcomes (tests/central/test_awards.py): the three test halls
with a distinct staff member per hall (ids prefixed a-/b-/c-, so nobody is stationed in two
halls) and one day of events with a clear order of windows and staff.

Pattern of the day (every A-role staff member punches in and out on time unless said):

| hall | window | staff   | ratings (levels) | attendance     | other                        |
|------|--------|---------|------------------|----------------|------------------------------|
| h-a  | W1     | a-li    | 5 5 5 5 5        |                | (tests add an upheld complaint) |
| h-a  | W2     | a-wang  | 5 5 5 5 1        |                |                              |
| h-b  | W1     | b-li    | 5 5 5 5 4        |                | (tests add one patrol finding) |
| h-b  | W3     | b-qian  | 5 4 5 4 5        |                |                              |
| h-b  | W4     | b-sun   |                  | no punch: absent |                            |
| h-c  | W1     | c-li    | 5 5 5 5          | late in        |                              |
| h-c  | W2     | c-wang  | 5 5              |                |                              |

W4 is a fixed window here (the plain test hall's W4 opens on Tuesdays and Thursdays only, and
the test days are a Monday and a Friday): b-sun is expected, so his missing punch is an absence.
"""

from __future__ import annotations

from pathlib import Path

from central.config import load
from central.projections import Directory
from sync.contract import events as ev
from tests.central import data
from tests.central.data import HALLS, HallLog, at

PREFIX = {"h-a": "a", "h-b": "b", "h-c": "c"}
RATINGS = {("h-a", "W1", "a-li"): [5, 5, 5, 5, 5], ("h-a", "W2", "a-wang"): [5, 5, 5, 5, 1],
           ("h-b", "W1", "b-li"): [5, 5, 5, 5, 4], ("h-b", "W3", "b-qian"): [5, 4, 5, 4, 5],
           ("h-c", "W1", "c-li"): [5, 5, 5, 5], ("h-c", "W2", "c-wang"): [5, 5]}
LATE = {("h-c", "c-li")}
ABSENT = {("h-b", "b-sun")}
A_ROLE = {"li": "W1", "wang": "W2", "qian": "W3", "sun": "W4"}  # staff → primary window (s-zhao: B-role)
DEPARTMENT = {"li": "academic", "wang": "academic", "qian": "finance", "sun": "security", "zhao": "academic"}


def write_config(tmp: Path) -> Path:
    path = data.write_config(tmp, PREFIX)
    for f in (tmp / "cfg" / "halls").glob("*.toml"):
        text = f.read_text(encoding="utf-8")
        f.write_text(text.replace('kind = "periodic"\nweekdays = [2, 4]\n', "", 1), encoding="utf-8")
    return path


def build_directory(tmp: Path) -> Directory:
    _cfg, halls = load(write_config(tmp))
    return Directory.of(halls)


def day_logs(day: str) -> dict[str, HallLog]:
    logs = {h: HallLog(h) for h in HALLS}
    n = 0
    for hall, log in logs.items():
        p = PREFIX[hall]
        for name in A_ROLE:
            staff = f"{p}-{name}"
            if (hall, staff) in ABSENT:
                continue
            late = (hall, staff) in LATE
            log.punch(staff, day, "08:10" if late else "07:55", "in", "late" if late else "on_time", 0)
            log.punch(staff, day, "16:35", "out", "on_time", 1)
    for (hall, window, staff), levels in RATINGS.items():
        for level in levels:
            n += 1
            logs[hall].add(ev.RatingGiven(window=window, ticket=f"T{n}", level=level, staff=staff,
                                          department=DEPARTMENT[staff.split("-")[1]]), at(day, "10:00", n))
    return logs


def ingest(store, logs: dict[str, HallLog]) -> None:
    from sync.contract import wire

    for i, (hall, log) in enumerate(logs.items(), 1):
        store.ingest(hall, wire.events_topic(hall), log.payload(1, 10**6), i)


def score(levels: list[int] | None, incidents: int, expected: int = 1) -> float:
    """The ranking score by hand: 100 × (0.5·好评率 + 0.3·(1 − incidents/expected)) over the
    defined parts (no cases here: 按时办结率 undefined)."""
    att = max(0.0, 1 - incidents / expected)
    if not levels:
        return round(100 * 0.3 * att / 0.3, 2)
    good = sum(x >= 4 for x in levels) / len(levels)
    return round(100 * (0.5 * good + 0.3 * att) / 0.8, 2)
