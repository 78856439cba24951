"""Dirty marks written off the ack path (central.store.marks, `defer` / `mark_deferred`; issue 16):
central's ingest worker stores a batch and acks it without writing its marks; the facts
refresher writes them before it reads any mark. The reports stay exact — late events, a clock
correction, duplicates, generated records, compared with the on-request path from the raw
events — also when central restarted in between (the marks are written from the events read
back), and `as_of` never claims a time whose batches are not marked yet. SQLite and PostgreSQL
(the `store` fixture)."""

from __future__ import annotations

from datetime import date, datetime, timezone

from central import reports as rp
from central.facts.refresher import Refresher
from central.facts.sources import Raw
from central.store import CentralStore, marks
from sync.contract import events as ev
from sync.contract import wire
from tests.central.data import HallLog, at, ingest_all, three_halls
from tests.central.test_facts import _all_reports, _unverified, generated  # noqa: F401 - the fixture

NOV = ("2026-11-01", "2026-11-30")
TODAY = date(2026, 11, 6)


def _load(store, payloads) -> None:
    for hall, payload, _ts in payloads:
        store.ingest(hall, wire.events_topic(hall), payload, 1)


def _reports(store, directory) -> dict:
    return {"service": rp.service(store, directory, *NOV, today=TODAY),
            "satisfaction": rp.satisfaction(store, directory, *NOV, by="hall"),
            "attendance": rp.attendance(store, directory, "2026-11", today=TODAY),
            "attendance oct": rp.attendance(store, directory, "2026-10", today=TODAY)}


def test_deferred_marks_no_mark_in_the_ingest_then_reports_equal_the_raw_path(store, generated):  # noqa: F811
    d, payloads = generated
    store.defer_marks = True
    _load(store, payloads)
    assert marks.dirty(store) == []  # nothing marked by the ingest itself
    assert marks.unmarked_count(store) == len(payloads)  # one row per batch stored
    got = _all_reports(store, d)  # the read path marks the batches first, then recomputes
    assert marks.unmarked_count(store) == 0 and len(store.unmarked) == 0
    assert got == _all_reports(Raw(store), d)


def test_deferred_marks_written_after_a_restart_from_the_stored_events(store, generated):  # noqa: F811
    """Central stopped after acking but before the refresher marked: the rows are still there, the
    decoded bodies are gone with the process; the marks come from the events read back."""
    d, payloads = generated
    store.defer_marks = True
    _load(store, payloads)
    store.close()
    again = CentralStore(store.url)
    again.open()
    try:
        assert len(again.unmarked) == 0 and marks.unmarked_count(again) == len(payloads)
        assert _all_reports(again, d) == _all_reports(Raw(again), d)
        assert marks.unmarked_count(again) == 0
    finally:
        again.close()


def test_deferred_marks_late_events_duplicates_and_a_clock_correction_stay_exact(store, directory):
    store.defer_marks = True
    logs = three_halls()
    ingest_all(store, logs, late=False)
    first = _reports(store, directory)
    assert first == _reports(Raw(store), directory)
    ingest_all(store, logs)  # the late batches, and the first ones again (duplicates)
    assert _reports(store, directory) == _reports(Raw(store), directory) != first
    # a clock correction moves a hall's unverified events from 10-30 to 11-02
    log = HallLog("h-d")
    _unverified(log, ev.WindowPaused(window="W1", staff="s-li"), at("2026-10-30", "10:00"))
    _unverified(log, ev.RatingGiven(window="W1", ticket="T7", level=1, staff="s-li", department="academic"),
                at("2026-10-30", "10:30"))
    store.ingest("h-d", wire.events_topic("h-d"), log.payload(1, 10**6), 1)
    before = _reports(store, directory)
    log.add(ev.ClockCorrected(boot="b2", offset_us=3 * 86_400_000_000), at("2026-11-02", "11:00"))
    store.ingest("h-d", wire.events_topic("h-d"), log.payload(len(log.events), 10**6), 1)
    after = _reports(store, directory)
    assert after == _reports(Raw(store), directory)
    assert before["attendance oct"] != after["attendance oct"]


def test_deferred_marks_as_of_waits_until_the_batches_are_marked(store, generated):  # noqa: F811
    d, payloads = generated
    t = [datetime(2025, 3, 20, 1, 0, tzinfo=timezone.utc)]
    r = Refresher(store, d, lambda: t[0], background=True)  # not started: the test drives it
    store.defer_marks = True
    half = len(payloads) // 2
    _load(store, payloads[:half])
    r.track()
    assert r.as_of is None  # batches committed before now are not marked: no claim
    r.run_until_caught_up()
    assert r.as_of == t[0] and marks.unmarked_count(store) == 0
    t[0] = datetime(2025, 3, 20, 2, 0, tzinfo=timezone.utc)
    _load(store, payloads[half:])
    r.track()
    assert r.as_of == datetime(2025, 3, 20, 1, 0, tzinfo=timezone.utc)  # unchanged while unmarked
    r.step()  # marks them (and recomputes the oldest dirty days)
    assert marks.unmarked_count(store) == 0 and marks.dirty(store)
    r.run_until_caught_up()
    assert r.as_of == t[0]


def test_deferred_marks_a_report_read_before_the_marks_says_the_new_data_is_not_counted(store, generated):  # noqa: F811
    """Read while batches are stored but not marked (no day dirty yet): the answer must not claim
    to be current — `unmarked_batches` > 0, no `as_of` of now, and the page line says so."""
    from central.facts.sources import reading
    from central.pages.common import facts_note

    d, payloads = generated
    t = datetime(2025, 3, 20, 1, 0, tzinfo=timezone.utc)
    r = Refresher(store, d, lambda: t, background=True)  # not started: the test drives it
    store.defer_marks = True
    _load(store, payloads)
    with reading() as facts:
        rp.service(store, d, "2025-01-01", "2025-03-31", today=date(2025, 3, 20))
    assert facts.pending_days == 0 and facts.as_json()["unmarked_batches"] == len(payloads)
    assert facts.as_of is None and facts_note(facts) == "数据更新中：刚收到的数据尚未计入"
    r.run_until_caught_up()
    with reading() as facts:
        rp.service(store, d, "2025-01-01", "2025-03-31", today=date(2025, 3, 20))
    assert facts.as_json() == {"as_of": t.isoformat(), "pending_days": 0, "pending_hall_days": 0,
                               "unmarked_batches": 0} and facts_note(facts) is None
