"""central.facts.cache: a report asked again is answered from memory while the facts and events
it read are unchanged, and never after they changed (late events, a leave approval that changes
no fact, a reloaded configuration); a past month stays cached while the current one changes.
Every answer is also compared with the raw-event path."""

from __future__ import annotations

from datetime import date

from central import hourly
from central import reports as rp
from central.facts.cache import cache_of, months_version
from central.facts.sources import EventSource, FactSource, Raw
from sync.contract import events as ev
from sync.contract import wire
from tests.central.data import HallLog, at, build_directory, ingest_all, ingest_late, three_halls

TODAY = date(2026, 11, 6)
NOV = ("2026-11-01", "2026-11-30")


def _send_rest(store, log: HallLog, after: int, n: int) -> None:
    store.ingest(log.hall, wire.events_topic(log.hall), log.payload(after + 1, 10**6), n)


def test_fact_cache_answers_a_repeated_report_from_memory(store, directory):
    ingest_all(store, three_halls())
    cache = cache_of(store)
    first = (rp.service(store, directory, *NOV, today=TODAY), rp.rankings(store, directory, "month:2026-11", "staff",
                                                                          today=TODAY),
             hourly.wait_by_hour(store, directory, *NOV))
    hits = cache.hits
    again = (rp.service(store, directory, *NOV, today=TODAY), rp.rankings(store, directory, "month:2026-11", "staff",
                                                                          today=TODAY),
             hourly.wait_by_hour(store, directory, *NOV))
    assert again == first and cache.hits >= hits + 5  # visits, histograms, cases, ratings, attendance, hours
    raw = Raw(store)
    assert first == (rp.service(raw, directory, *NOV, today=TODAY),
                     rp.rankings(raw, directory, "month:2026-11", "staff", today=TODAY),
                     hourly.wait_by_hour(raw, directory, *NOV))


def test_fact_cache_late_events_change_the_answer(store, directory):
    logs = three_halls()
    ingest_all(store, logs, late=False)
    before = rp.service(store, directory, *NOV, today=TODAY)
    assert rp.service(store, directory, *NOV, today=TODAY) == before  # now cached
    version = months_version(store, "2026-11", "2026-11", None)
    ingest_late(store, logs)  # h-a's first day and all of h-c
    after = rp.service(store, directory, *NOV, today=TODAY)
    assert months_version(store, "2026-11", "2026-11", None) > version
    assert (before["total"]["visits"], after["total"]["visits"]) == (2, 5)
    assert after == rp.service(Raw(store), directory, *NOV, today=TODAY)


def test_fact_cache_a_leave_approved_later_changes_attendance_though_no_fact_changed(store, directory):
    """J 28 / C 9: an approval that comes after the day excuses it; leave is read from the events,
    so the events' version is in attendance's key (the facts' is not moved by it)."""
    logs = three_halls()
    ingest_all(store, logs)

    def s_li() -> dict:
        return {r["staff"]: r for r in rp.attendance(store, directory, "2026-11", "h-a", today=TODAY)["rows"]}["s-li"]

    assert s_li()["leave_days"] == 0 and s_li()["leave_days"] == 0  # L2 (11-05) never approved; second: cached
    version = months_version(store, "2026-11", "2026-11", None)
    a = logs["h-a"]
    sent = len(a.events)
    a.add(ev.LeaveApproved(leave="L2", by="manager"), at("2026-11-06", "09:00"))
    _send_rest(store, a, sent, 5)
    assert months_version(store, "2026-11", "2026-11", None) == version  # no fact was rewritten
    assert s_li()["leave_days"] == 1
    assert rp.attendance(store, directory, "2026-11", "h-a", today=TODAY) == rp.attendance(
        Raw(store), directory, "2026-11", "h-a", today=TODAY)


def test_fact_cache_a_reloaded_configuration_is_not_answered_from_the_old_one(store, directory, tmp_path):
    ingest_all(store, three_halls())
    rp.rankings(store, directory, "month:2026-11", "window", today=TODAY)
    cache = cache_of(store)
    misses = cache.misses
    reloaded = build_directory(tmp_path / "again")
    assert rp.rankings(store, reloaded, "month:2026-11", "window", today=TODAY) == rp.rankings(
        store, directory, "month:2026-11", "window", today=TODAY)
    assert cache.misses > misses


def _october_then_november(store) -> dict[str, HallLog]:
    """One visit of h-b in October, then three_halls' November without its late parts."""
    logs = three_halls()
    october = HallLog("h-b")
    october.visit("T-oct", "2026-10-13", "finance", "10:00", "10:03", "10:04", "10:09", "W3", "s-qian")
    october.add(ev.RatingGiven(window="W3", ticket="T-oct", level=5, staff="s-qian", department="finance"),
                at("2026-10-13", "10:09", 30))
    store.ingest("h-b", wire.events_topic("h-b"), october.payload(1, 10**6), 1)
    ingest_all(store, logs, late=False)
    return logs


def test_fact_cache_keeps_a_past_month_while_the_current_one_changes(store, directory):
    logs = _october_then_november(store)
    oct_range = ("2026-10-01", "2026-10-31")
    past = rp.service(store, directory, *oct_range, today=TODAY)
    assert past["total"]["visits"] == 1
    cache = cache_of(store)
    ingest_late(store, logs)  # November's days change
    rp.service(store, directory, *NOV, today=TODAY)  # (refreshes them)
    hits = cache.hits
    assert rp.service(store, directory, *oct_range, today=TODAY) == past
    assert cache.hits > hits  # October read from memory
    assert past == rp.service(Raw(store), directory, *oct_range, today=TODAY)


def test_fact_cache_a_change_in_the_last_month_recomputes_only_that_month(store, directory):
    """Under live ingest the refresher rewrites the current month every few seconds: a report
    of a longer range (October to November here; a year in the assessment) reads the months
    before it from memory and recomputes only the last month's part (FactSource._split)."""
    logs = _october_then_november(store)
    both = ("2026-10-01", "2026-11-30")
    before = rp.service(store, directory, *both, today=TODAY), hourly.wait_by_hour(store, directory, *both)
    staff = FactSource(store, directory, date(2026, 10, 1), date(2026, 11, 30), None).attendance(TODAY)
    assert before[0]["total"]["visits"] == 3
    cache = cache_of(store)
    ingest_late(store, logs)  # November's days change (h-a's first day and all of h-c)
    hits, misses = cache.hits, cache.misses
    after = rp.service(store, directory, *both, today=TODAY), hourly.wait_by_hour(store, directory, *both)
    # visits, histograms, cases and the hourly chart: October's parts from memory, November's made again
    assert cache.hits - hits >= 4 and cache.misses - misses >= 4
    assert after[0]["total"]["visits"] == 6
    assert after == (rp.service(Raw(store), directory, *both, today=TODAY), hourly.wait_by_hour(Raw(store), directory,
                                                                                                 *both))
    # attendance reads the events too (new ones came), so it is folded again, but from
    # October's staff totals kept in memory
    hits = cache.hits
    staff_after = FactSource(store, directory, date(2026, 10, 1), date(2026, 11, 30), None).attendance(TODAY)
    assert cache.hits - hits == 1  # October's staff totals
    assert staff_after != staff and staff_after == EventSource(store, directory, date(2026, 10, 1),
                                                               date(2026, 11, 30), None).attendance(TODAY)
