"""Stored day facts (central.facts) stay exact: late events after a report was computed, clock
corrections moving events to other days, duplicates, the migration over an old database, and
generated records compared with the on-request path from the raw events — on SQLite and
PostgreSQL (the `store` fixture)."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import date

import msgspec
import pytest

from central import hourly
from central.facts import hist
from central.facts.sources import Raw
from central.scope import Scope
from central.store import facttables, marks
from central import reports as rp
from central.store import CentralStore
from sync.contract import events as ev
from sync.contract import wire
from tests.central.data import HallLog, at, ingest_all, ingest_late, three_halls

TODAY = date(2026, 11, 6)
NOV = ("2026-11-01", "2026-11-30")


def _send(store, log: HallLog, lo: int = 1, hi: int = 10**6):
    return store.ingest(log.hall, wire.events_topic(log.hall), log.payload(lo, hi), 1)


def _dirty_in(store, lo: str, hi: str) -> list[tuple[str, str]]:
    return [(h, d) for h, d in marks.dirty(store) if lo <= d <= hi]


def test_facts_late_events_after_a_report_change_the_figures(store, directory):
    logs = three_halls()
    ingest_all(store, logs, late=False)
    before = rp.service(store, directory, *NOV, today=TODAY)["total"]
    assert (before["visits"], before["wait_p90"], before["cases"]) == (2, 300, 0)  # only h-b's day
    assert _dirty_in(store, *NOV) == []  # the report refreshed every day it reads
    ingest_late(store, logs)  # h-a's first day and all of h-c, after the report
    assert {("h-a", "2026-11-02"), ("h-c", "2026-11-04")} <= set(_dirty_in(store, *NOV))
    after = rp.service(store, directory, *NOV, today=TODAY)["total"]
    # waits 120, 600, 240, 300, 1800 → p50 300, p90 1800; C1 on time, C9 overdue (see test_reports)
    assert (after["visits"], after["completed"], after["wait_p50"], after["wait_p90"], after["cases"],
            after["cases_on_time"], after["cases_overdue"]) == (5, 4, 300, 1800, 2, 1, 1)
    sat = {r["hall"]: r for r in rp.satisfaction(store, directory, *NOV, by="hall")["rows"]}
    assert (sat["h-a"]["ratings"], sat["h-a"]["good_rate"], sat["h-c"]["completed"], sat["h-c"]["unrated_rate"]) == (
        2, 0.5, 1, 1.0)
    att = {r["staff"]: r for r in rp.attendance(store, directory, "2026-11", "h-a", today=TODAY)["rows"]}
    assert (att["s-li"]["present"], att["s-li"]["step_aways"], att["s-li"]["violations"]) == (4, 1, 1)


def test_facts_case_finished_and_rating_arriving_later_reach_the_service_day(store, directory):
    log = HallLog("h-a")
    log.visit("T1", "2026-11-02", "academic", "09:00", "09:05", "09:06", "09:16", "W1", "s-li",
              outcome="promised", case="C1", deadline="2026-11-04")
    log.visit("T2", "2026-11-02", "academic", "10:00", "10:01", "10:02", "10:05", "W1", "s-li")
    first = len(log.events)
    log.add(ev.RatingGiven(window="W1", ticket="T2", level=4, staff="s-li", department="academic"),
            at("2026-11-03", "10:05"))  # the next day: still within two days of the service day
    log.add(ev.CaseFinished(case="C1", by="s-li"), at("2026-11-04", "15:00"))
    _send(store, log, 1, first)
    t = rp.service(store, directory, *NOV, today=TODAY)["total"]
    assert (t["cases"], t["cases_on_time"], t["cases_overdue"]) == (1, 0, 1)
    w1 = rp.satisfaction(store, directory, *NOV)["rows"][0]
    assert (w1["completed"], w1["ratings"], w1["unrated_rate"]) == (2, 0, 1.0)
    # each after the report, one at a time; neither event carries the service day
    _send(store, log, first + 2, first + 2)
    assert ("h-a", "2026-11-02") in _dirty_in(store, *NOV)
    t = rp.service(store, directory, *NOV, today=TODAY)["total"]
    assert (t["cases"], t["cases_on_time"], t["cases_overdue"], t["on_time_rate"]) == (1, 1, 0, 1.0)
    _send(store, log, first + 1, first + 1)
    assert ("h-a", "2026-11-02") in _dirty_in(store, *NOV)
    w1 = rp.satisfaction(store, directory, *NOV)["rows"][0]
    assert (w1["completed"], w1["ratings"], w1["level4"], w1["unrated_rate"]) == (2, 1, 1, 0.5)


def _unverified(log: HallLog, body: ev.Body, ts: int) -> None:
    seq = len(log.events) + 1
    log.events.append(wire.WireEvent(seq=seq, id=f"u{seq}", kind=body.KIND, schema=ev.SCHEMA,
                                     body=msgspec.json.encode(body), ts=ts, boot="b2", mono=seq, clock="unverified"))


def test_facts_clock_correction_moves_events_to_another_day(store, directory):
    log = HallLog("h-a")
    offset = 3 * 86_400_000_000  # the hall's clock said Friday 10-30; it was Monday 11-02
    _unverified(log, ev.WindowPaused(window="W1", staff="s-li"), at("2026-10-30", "10:00"))
    _unverified(log, ev.StepAwayViolation(window="W1", staff="s-li", paused_at=at("2026-10-30", "10:00"),
                                          limit_minutes=15), at("2026-10-30", "10:16"))
    _unverified(log, ev.RatingGiven(window="W1", ticket="T7", level=1, staff="s-li", department="academic"),
                at("2026-10-30", "10:30"))
    _send(store, log)

    def figures():
        att = {m: {r["staff"]: r for r in rp.attendance(store, directory, m, "h-a", today=TODAY)["rows"]}["s-li"]
               for m in ("2026-10", "2026-11")}
        sat = {day: sum(r["ratings"] for r in rp.satisfaction(store, directory, day, day, "h-a")["rows"])
               for day in ("2026-10-30", "2026-11-02")}
        return ((att["2026-10"]["step_aways"], att["2026-10"]["violations"], att["2026-11"]["step_aways"],
                 att["2026-11"]["violations"]), sat)

    assert figures() == ((1, 1, 0, 0), {"2026-10-30": 1, "2026-11-02": 0})
    log.add(ev.ClockCorrected(boot="b2", offset_us=offset), at("2026-11-02", "11:00"))
    _send(store, log, len(log.events))
    assert {("h-a", "2026-10-30"), ("h-a", "2026-11-02")} <= set(marks.dirty(store))
    assert figures() == ((0, 0, 1, 1), {"2026-10-30": 0, "2026-11-02": 1})


def test_facts_duplicates_do_not_double_count(store, directory):
    logs = three_halls()
    ingest_all(store, logs)
    first = (rp.service(store, directory, *NOV, today=TODAY), rp.satisfaction(store, directory, *NOV),
             rp.attendance(store, directory, "2026-11", today=TODAY),
             rp.rankings(store, directory, "month:2026-11", "staff", today=TODAY))
    for hall, log in logs.items():  # every batch again (a hall resending after a lost ack)
        r = _send(store, log)
        assert (r.stored, r.duplicates) == (0, len(log.events))
    again = (rp.service(store, directory, *NOV, today=TODAY), rp.satisfaction(store, directory, *NOV),
             rp.attendance(store, directory, "2026-11", today=TODAY),
             rp.rankings(store, directory, "month:2026-11", "staff", today=TODAY))
    assert again == first and first[0]["total"]["visits"] == 5


def _reopened_before(store, version: int, *drop: str) -> CentralStore:
    """The store's database made that of a central before migration `version` (`drop` run, the
    migration unrecorded), closed and opened again: the migration runs on it."""
    for sql in drop:
        store.db.execute_sql(sql)
    store.db.execute_sql("DELETE FROM schema_migrations WHERE version = ?".replace("?", store.db.param), [version])
    store.close()
    fresh = CentralStore(store.url)
    fresh.open()
    return fresh


FACT_TABLES = ["fact_dirty", "fact_tickets", "fact_case_tickets", "fact_visits", "fact_hist", "fact_hist_month",
               "fact_ratings", "fact_cases", "fact_staff_days"]


def test_facts_migration_over_an_old_database_marks_every_day_dirty(store, directory):
    ingest_all(store, three_halls())
    # make it the database of a central from before the facts: no fact tables, migration 4 not applied
    fresh = _reopened_before(store, 4, *(f"DROP TABLE {t}" for t in FACT_TABLES))
    try:
        marked = set(marks.dirty(fresh))
        for hall, day in [("h-a", "2026-11-02"), ("h-a", "2026-11-05"), ("h-a", "2026-11-07"), ("h-b", "2026-11-03"),
                          ("h-c", "2026-11-04")]:
            assert (hall, day) in marked
        t = rp.service(fresh, directory, *NOV, today=TODAY)["total"]
        assert (t["visits"], t["completed"], t["wait_p90"], t["cases"], t["cases_on_time"]) == (5, 4, 1800, 2, 1)
        # the ticket map was filled from the old events: a late rating finds its service day
        log = HallLog("h-c")
        log.add(ev.RatingGiven(window="W1", ticket="T9", level=5, staff="s-li", department="academic"),
                at("2026-11-05", "09:00"))
        _send(fresh, log)
        assert ("h-c", "2026-11-04") in marks.dirty(fresh)
    finally:
        fresh.close()


def test_facts_buckets_and_histogram_percentiles():
    assert [hist.bucket(x) for x in (0, 59.9, 61, 299, 305, 599, 600, 629, 3599, 3600, 3899, 28_799, 30_000)] == [
        0, 59, 60, 295, 305, 595, 600, 600, 3570, 3600, 3600, 28_500, 28_800]
    h = Counter({120: 1, 240: 1, 300: 1, 600: 1, 1800: 1})
    assert (hist.hist_percentile(h, 50), hist.hist_percentile(h, 90), hist.hist_percentile(h, 20)) == (
        300.0, 1800.0, 120.0)
    assert hist.hist_percentile(Counter(), 50) is None


# ---------------------------------------------------------------- generated records vs the events


@pytest.fixture
def generated(tmp_path):
    from central.config import load
    from central.projections import Directory
    from simulators import bench_central as bc

    config = bc.write_config(tmp_path / "cfg", 3)
    _cfg, entries = load(config)
    d = Directory.of(entries)
    made = bc.generate(d, date(2025, 1, 1), 75, seed=7, visits=30)
    epochs = {h: e for h, (e, _es) in made.items()}
    logs = {h: es for h, (_e, es) in made.items()}
    late = ("hall-01", bc._at(date(2025, 2, 10), 0), bc._at(date(2025, 2, 17), 0))
    return d, bc.batches(logs, epochs, late)


def _all_reports(store, d) -> dict:
    today = date(2025, 3, 20)
    out = {}
    for month in ("2025-01", "2025-02", "2025-03"):
        out[f"attendance {month}"] = rp.attendance(store, d, month, today=today)
    for by in rp.LEVELS:
        out[f"satisfaction {by}"] = rp.satisfaction(store, d, "2025-01-01", "2025-03-16", by=by)
    for s, e in (("2025-01-01", "2025-03-31"), ("2025-01-10", "2025-02-14"), ("2025-02-01", "2025-02-28")):
        out[f"service {s}"] = rp.service(store, d, s, e, today=today)
    for level in rp.RANK_KEYS:
        out[f"rankings {level}"] = rp.rankings(store, d, "year:2025", level, today=today)
    out["service finance"] = rp.service(store, d, "2025-01-01", "2025-03-31", scope=Scope("department",
                                                                                              "finance"), today=today)
    out["rankings hall-02"] = rp.rankings(store, d, "month:2025-02", "staff", scope=Scope("hall", hall="hall-02"),
                                          today=today)
    # the hourly chart: whole months (month roll-ups), ends of months (day rows), one hall, one department
    for s, e in (("2025-01-01", "2025-03-31"), ("2025-01-10", "2025-02-14"), ("2025-03-03", "2025-03-03")):
        out[f"wait_by_hour {s} {e}"] = hourly.wait_by_hour(store, d, s, e)
    out["wait_by_hour hall-03"] = hourly.wait_by_hour(store, d, "2025-01-01", "2025-02-28", "hall-03")
    out["wait_by_hour finance"] = hourly.wait_by_hour(store, d, "2025-01-05", "2025-03-31",
                                                      scope=Scope("department", "finance"))
    out["wait_by_hour hall-02 scope"] = hourly.wait_by_hour(store, d, "2025-02-01", "2025-03-31",
                                                            scope=Scope("hall", hall="hall-02"))
    return out


def test_facts_equal_the_on_request_path_for_generated_records(store, generated):
    d, payloads = generated
    cut = len(payloads) * 2 // 3
    for hall, payload, _ts in payloads[:cut]:
        store.ingest(hall, wire.events_topic(hall), payload, 1)
    assert _all_reports(store, d) == _all_reports(Raw(store), d)  # a report before the rest arrived
    rest = payloads[cut:]
    random.Random(3).shuffle(rest)  # the rest (with the week held back) in any order, some twice
    for hall, payload, _ts in rest + rest[:5]:
        store.ingest(hall, wire.events_topic(hall), payload, 2)
    got, want = _all_reports(store, d), _all_reports(Raw(store), d)
    assert got.keys() == want.keys()
    for name in want:
        assert got[name] == want[name], name
    t = got["service 2025-01-01"]["total"]
    assert t["visits"] > 1000 and t["cases"] > 50 and t["wait_p90"] > t["wait_p50"] > 0
    hours = got["wait_by_hour 2025-01-01 2025-03-31"]["rows"]
    assert sum(r["visits"] for r in hours) == t["visits"] and len(hours) > 5
    assert 0 < sum(r["visits"] for r in got["wait_by_hour finance"]["rows"]) < t["visits"]
    assert _dirty_in(store, "2025-01-01", "2025-03-31") == []
    # the whole months were read from the month roll-ups: every hall has rows for each of them
    for table, col in (("fact_visits_month", "department"), ("fact_ratings_month", "department"),
                       ("fact_hours_month", "department"), ("fact_hist_month", "department"),
                       ("fact_staff_month", "staff"), ("fact_cases_month", "department")):
        have = set(store.db.execute_sql(f"SELECT DISTINCT hall, month FROM {table}").fetchall())
        assert {(h, m) for h in d.halls for m in ("2025-01", "2025-02", "2025-03")} <= have, table
    assert store.event_counts() == dict(store.db.execute_sql("SELECT hall, COUNT(*) FROM events GROUP BY hall"))


def test_facts_month_rollups_equal_their_days(store, generated):
    """Each month row is the sum of its days' rows (visits, ratings, staff days, hourly counts);
    the "*" rows sum the departments."""
    d, payloads = generated
    for hall, payload, _ts in payloads:
        store.ingest(hall, wire.events_topic(hall), payload, 1)
    rp.service(store, d, "2025-01-01", "2025-03-31")
    q = store.db.execute_sql
    cols = ", ".join(f"SUM({c})" for c in facttables.VISIT_COUNTS)
    for h in d.halls:
        for m in ("2025-01", "2025-02"):
            month = q(f"SELECT {cols} FROM fact_visits_month WHERE hall = {store.db.param} AND month = {store.db.param}",
                      [h, m]).fetchone()
            days = q(f"SELECT {cols} FROM fact_visits WHERE hall = {store.db.param} AND day LIKE {store.db.param}",
                     [h, m + "-%"]).fetchone()
            assert [int(x) for x in month] == [int(x) for x in days] and int(month[0]) > 0
            per_dept = Counter()
            for dept, hour, n in q(f"SELECT department, hour, visits FROM fact_hours_month WHERE hall = {store.db.param}"
                                   f" AND month = {store.db.param}", [h, m]).fetchall():
                per_dept[dept == facttables.ALL] += n
            assert per_dept[True] == per_dept[False] == int(month[0])
            punched = sum(len(json.loads(x)) for (x,) in q(
                f"SELECT days FROM fact_staff_month WHERE hall = {store.db.param} AND month = {store.db.param}",
                [h, m]).fetchall())
            assert punched == q(f"SELECT COUNT(*) FROM fact_staff_days WHERE hall = {store.db.param} AND day LIKE"
                                f" {store.db.param} AND punched = 1", [h, m + "-%"]).fetchone()[0] > 0
            cases = q(f"SELECT SUM(finished), SUM(on_time), SUM(late) FROM fact_cases_month WHERE hall = {store.db.param}"
                      f" AND month = {store.db.param}", [h, m]).fetchone()
            assert [int(x or 0) for x in cases] == [int(x or 0) for x in q(
                f"SELECT COUNT(*), SUM(CASE WHEN finished <= deadline THEN 1 ELSE 0 END),"
                f" SUM(CASE WHEN finished > deadline THEN 1 ELSE 0 END) FROM fact_cases WHERE hall = {store.db.param}"
                f" AND day LIKE {store.db.param} AND finished IS NOT NULL", [h, m + "-%"]).fetchone()]


def test_facts_cases_month_migration_rolls_up_the_stored_days(store, generated):
    """Migration 13 fills the finished cases' month roll-up from the day rows a central already
    holds (their days are not dirty, so no refresh would): reports equal the raw path."""
    d, payloads = generated
    for hall, payload, _ts in payloads:
        store.ingest(hall, wire.events_topic(hall), payload, 1)
    today = date(2025, 3, 20)
    want = rp.service(Raw(store), d, "2025-01-01", "2025-03-31", today=today)
    assert rp.service(store, d, "2025-01-01", "2025-03-31", today=today) == want
    fresh = _reopened_before(store, 13, "DROP TABLE fact_cases_month", "DROP INDEX fact_cases_open")
    try:
        assert _dirty_in(fresh, "2025-01-01", "2025-03-31") == []
        assert fresh.db.execute_sql("SELECT COUNT(*) FROM fact_cases_month").fetchone()[0] > 0
        got = rp.service(fresh, d, "2025-01-01", "2025-03-31", today=today)
        assert got == want and got["total"]["cases"] > 50 and got["total"]["cases_overdue"] > 0
    finally:
        fresh.close()


# ---------------------------------------------------------------- the per-hall event counter


def _counts(store) -> dict[str, int]:
    return {h: int(n) for h, n in store.db.execute_sql("SELECT hall, COUNT(*) FROM events GROUP BY hall").fetchall()}


def test_facts_hall_event_counter_follows_duplicates_and_conflicts(store):
    log = HallLog("h-a")
    for i in range(6):
        log.visit(f"T{i}", "2026-11-02", "academic", f"09:0{i}")
    assert _send(store, log, 1, 3).stored == 3
    r = _send(store, log, 2, 6)  # 2, 3 again (a lost ack), 4–6 new
    assert (r.stored, r.duplicates) == (3, 2)
    assert store.event_counts() == _counts(store) == {"h-a": 6}
    # the hall was restored from an old copy: seq 4 is another event now; seq 5 comes again as
    # stored, 7 is new. Central keeps nothing of the batch from seq 4 on (the stored 5 goes too).
    restored = wire.WireEvent(seq=4, id="other-4", kind=log.events[3].kind, schema=ev.SCHEMA,
                              body=log.events[3].body, ts=log.events[3].ts, boot="b1", mono=1, clock="synced")
    log.add(ev.TicketIssued(ticket="T7", number="T7", department="academic", service_date="2026-11-02"),
            at("2026-11-02", "10:00"))
    batch = wire.Batch(v=wire.V, hall="h-a", epoch=log.epoch, events=[restored, log.events[4], log.events[6]], sent=0)
    store.ingest("h-a", wire.events_topic("h-a"), wire.encode(batch), 2)
    assert store.conflicts("h-a") == {log.epoch: 4}
    assert [k[2] for k in store.event_keys("h-a")] == [1, 2, 3, 4, 6]
    assert store.event_counts() == _counts(store) == {"h-a": 5}
    other = HallLog("h-b")
    other.visit("T1", "2026-11-02", "finance", "10:00")
    _send(store, other)
    _send(store, log, 1, 8)  # 1–3 duplicates; from 4 on refused in this epoch
    assert store.event_counts() == _counts(store) == {"h-a": 5, "h-b": 1}
    store.ensure_hall("h-a", "east")
    store.ensure_hall("h-c", "south")
    assert [(h["id"], h["events"]) for h in store.halls()] == [("h-a", 5), ("h-c", 0)]


def test_facts_hall_event_counter_migration_counts_the_stored_events(store, directory):
    ingest_all(store, three_halls())
    want = _counts(store)
    assert store.event_counts() == want and sum(want.values()) > 20
    fresh = _reopened_before(store, 6, "DROP TABLE hall_event_counts")
    try:
        assert fresh.event_counts() == want
    finally:
        fresh.close()


def test_facts_hourly_facts_take_percentiles_over_the_wait_histogram(store, directory):
    log = HallLog("h-a")
    # issued 09:10, wait 7 min = 420 s (a bucket bound); 09:20, wait 62 min = 3720 s (5-minute
    # buckets from an hour on: bucket 3600); 11:20, wait 127 min = 7620 s (bucket 7500); 11:40, never called
    log.visit("T1", "2026-11-02", "academic", "09:10", "09:17", window="W1", staff="s-li")
    log.visit("T2", "2026-11-02", "academic", "09:20", "10:22", window="W1", staff="s-li")
    log.visit("T3", "2026-11-03", "finance", "11:20", "13:27", window="W3", staff="s-qian")
    log.visit("T4", "2026-11-03", "finance", "11:40")
    _send(store, log)
    rows = hourly.wait_by_hour(store, directory, *NOV)["rows"]
    assert [(r["hour"], r["visits"], r["called"], r["wait_p50"], r["wait_p90"]) for r in rows] == [
        (9, 2, 2, 420, 3600), (10, 0, 0, None, None), (11, 2, 1, 7500, 7500)]
    fin = hourly.wait_by_hour(store, directory, "2026-11-03", "2026-11-03", scope=Scope("department", "finance"))
    assert [(r["hour"], r["visits"], r["called"]) for r in fin["rows"]] == [(11, 2, 1)]
    assert rows == hourly.wait_by_hour(Raw(store), directory, *NOV)["rows"]
