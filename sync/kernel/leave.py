"""Leave arithmetic shared by the hall and central, so both count a leave day the same way.

A leave runs from `start` (`start_half`) to `end` (`end_half`), local dates; halves: am = the
first work period of the day, pm = the rest. 销假 [C 9] shortens an approved leave: the staff
member is back from `returned` (`returned_half`) on, so the leave ends the half before (or
never happened, when they are back by its first half). A day's punch slots belong to halves
(`slot_halves`); a slot in a half on leave is not counted, so a day whose slots are all on
leave is a leave day and a day half on leave is judged by its other half [J 27, J 28, C 9].
"""

from __future__ import annotations

from datetime import date, timedelta

HALVES = ("am", "pm")


def halves_on(start: date, start_half: str, end: date, end_half: str, day: date) -> set[str]:
    """The halves of `day` inside the leave (empty outside it)."""
    if day < start or day > end:
        return set()
    first = "am" if day > start else (start_half or "am")
    last = "pm" if day < end else (end_half or "pm")
    return {h for h in HALVES if (first, h) != ("pm", "am") and (h, last) != ("pm", "am")}


def half_index(day: date, half: str) -> int:
    """A position in time of a half day, to compare (day, half) pairs."""
    return day.toordinal() * 2 + (1 if half == "pm" else 0)


def end_before(returned: date, returned_half: str) -> tuple[date, str]:
    """The last half on leave of someone back at work from `returned` (`returned_half`)."""
    if returned_half == "pm":
        return returned, "am"
    return returned - timedelta(days=1), "pm"


def shortened(start: date, start_half: str, end: date, end_half: str, returned: date,
              returned_half: str) -> tuple[date, str] | None:
    """The leave's new (end, end_half) after 销假 on `returned`; None when nothing of it is left
    (back by its first half: cancelled). A return after the planned end changes nothing."""
    new_end, new_half = end_before(returned, returned_half)
    if half_index(new_end, new_half) < half_index(start, start_half or "am"):
        return None
    if half_index(new_end, new_half) >= half_index(end, end_half or "pm"):
        return end, end_half or "pm"
    return new_end, new_half


def slot_halves(periods: int, punches_per_day: int) -> list[str]:
    """The half each punch slot of a day with `periods` work periods belongs to (the hall's
    `edge.attendance.slots` in the same order): 2 punches: in (am), out (pm); 4 punches on a
    day with two or more periods: in, out (am), in, out (pm)."""
    if periods <= 0:
        return []
    if punches_per_day == 4 and periods >= 2:
        return ["am", "am", "pm", "pm"]
    return ["am", "pm"]
