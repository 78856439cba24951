"""The background refresher of the day facts (central.facts.refresher, issue 16: no request waits
for a recompute): a report answered while days are dirty reads the facts as they are, at once,
and says how many days are pending; once the refresher has caught up its figures equal the raw
path's — on SQLite and PostgreSQL (the `store` fixture). The refresher is driven explicitly
(`step`, `run_until_caught_up`): nothing here depends on a thread's timing except the one test
of the thread itself, which polls."""

from __future__ import annotations

from datetime import date, datetime, timezone

from central import reports as rp
from central.app import create_app
from central.auth import Auth
from central.config import load
from central.facts import refresh as refresh_mod
from central.facts.refresher import Refresher
from central.facts.sources import Raw, reading
from central.projections import Directory
from central.store import CentralStore, marks
from sync.contract import wire
from tests.central.data import Browser, ingest_all, three_halls, write_config
from tests.central.test_facts import _all_reports, generated  # noqa: F401 - the fixture
from tests.conftest import wait_until

Q1 = ("2025-01-01", "2025-03-31")
TODAY = date(2025, 3, 20)


class Clock:
    """A settable `now` for the refresher's `as_of`."""

    def __init__(self) -> None:
        self.t = datetime(2025, 3, 20, 1, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.t


def _load(store, payloads, stamp: int = 1) -> None:
    for hall, payload, _ts in payloads:
        store.ingest(hall, wire.events_topic(hall), payload, stamp)


def _no_recompute(monkeypatch) -> None:
    def boom(*_a, **_k):
        raise AssertionError("a request recomputed day facts")

    monkeypatch.setattr(refresh_mod, "compute", boom)


def test_refresher_report_while_dirty_answers_without_recompute_then_equals_raw(store, generated, monkeypatch):  # noqa: F811
    """A report over dirty days answers from the facts as they are (no recompute in the request:
    compute would raise), with pending_days > 0 and no `as_of` yet; after `run_until_caught_up`
    every report equals the on-request path, and late events make days pending again until the
    next catch-up."""
    d, payloads = generated
    cut = len(payloads) * 2 // 3
    _load(store, payloads[:cut])
    clock = Clock()
    r = Refresher(store, d, clock, background=True)  # the thread is not started: the test drives it
    dirty = marks.dirty(store)
    assert len(dirty) > 100
    with monkeypatch.context() as m:
        _no_recompute(m)
        with reading() as facts:
            stale = rp.service(store, d, *Q1, today=TODAY)
    assert marks.dirty(store) == dirty  # nothing was recomputed by the request
    assert stale["total"]["visits"] == 0  # the facts as they are: nothing computed yet
    assert facts.pending_days > 0 and facts.as_json()["pending_hall_days"] == len(
        [x for x in dirty if Q1[0] <= x[1] <= Q1[1]])
    assert facts.as_of is None and facts.as_json()["as_of"] is None

    assert r.run_until_caught_up() > 1 and marks.dirty(store) == []
    assert r.as_of == clock.t
    with reading() as facts:
        got = _all_reports(store, d)
    assert facts.pending_days == 0 and facts.as_of == clock.t
    assert got == _all_reports(Raw(store), d)

    caught = clock.t
    clock.t = datetime(2025, 3, 20, 2, 0, tzinfo=timezone.utc)
    _load(store, payloads[cut:], 2)  # the rest, with the week held back
    with monkeypatch.context() as m:
        _no_recompute(m)
        with reading() as facts:
            rp.service(store, d, *Q1, today=TODAY)
    assert facts.pending_days > 0 and facts.as_of == caught  # up to date as of the last catch-up
    r.run_until_caught_up()
    assert _all_reports(store, d) == _all_reports(Raw(store), d)
    assert r.as_of == clock.t


def _month_then_hall(hd: tuple[str, str]) -> tuple:
    return hd[1][:7], hd[0], hd[1]


def test_refresher_takes_bounded_chunks_oldest_month_first_hall_by_hall(store, directory):
    """The oldest month first, and in it one hall's days after the other: a step rewrites few
    (hall, month) roll-ups (after a bulk load, one per hall-month instead of one per hall-day)."""
    ingest_all(store, three_halls())
    d = directory
    r = Refresher(store, d, background=True, chunk=3)
    before = marks.dirty(store)
    oldest = sorted(before, key=_month_then_hall)[:3]
    assert len({h for h, _day in oldest}) == 1  # three days of one hall, not one day of three halls
    assert r.step() == 3
    after = marks.dirty(store)
    assert set(before) - set(after) == set(oldest)
    assert r.step() == 3
    assert set(after) - set(marks.dirty(store)) == set(sorted(after, key=_month_then_hall)[:3])


def test_refresher_as_of_waits_for_the_days_dirty_at_the_snapshot(store, directory):
    """as_of moves to T only once none of the (hall, day)s dirty at T is dirty any more: then
    every event committed before T is in the facts, whatever was marked since."""
    logs = three_halls()
    ingest_all(store, logs, late=False)  # h-a's later days and h-b
    clock = Clock()
    r = Refresher(store, directory, clock, background=True, chunk=1)
    t0 = clock.t
    r.track()  # snapshot at t0
    assert r.as_of is None
    assert r.step() == 1
    clock.t = datetime(2025, 3, 20, 1, 5, tzinfo=timezone.utc)
    r.track()
    assert r.as_of is None  # days of the t0 snapshot are still dirty
    while r.step():
        pass
    # h-c arrives before the refresher looks again: its days are dirty, none of t0's is
    store.ingest("h-c", wire.events_topic("h-c"), logs["h-c"].payload(1, 10**6), 4)
    clock.t = datetime(2025, 3, 20, 1, 7, tzinfo=timezone.utc)
    r.track()
    assert r.as_of == t0 and marks.dirty(store)
    while r.step():
        pass
    clock.t = datetime(2025, 3, 20, 1, 9, tzinfo=timezone.utc)
    r.track()
    assert r.as_of == clock.t  # nothing dirty: up to date now


def test_refresher_two_workers_do_the_same_day_once(store, central_db, directory):
    """Several central workers (`--shared`): the write of a day checks its mark's token, so two
    refreshers that computed the same days write them once (idempotent); on PostgreSQL the
    advisory lock keeps the second from even starting while the first works."""
    logs = three_halls()
    ingest_all(store, logs)
    other = CentralStore(central_db)
    other.open()
    try:
        a, b = Refresher(store, directory, background=True), Refresher(other, directory, background=True)
        todo = [tuple(m) for m in store.db.execute_sql("SELECT hall, day, token FROM fact_dirty").fetchall()]
        with refresh_mod._lock:
            assert refresh_mod.refresh_marks(store, directory, todo) == len(todo)
            assert refresh_mod.refresh_marks(other, directory, todo) == 0  # marks gone: nothing written twice
        assert marks.dirty(store) == []
        assert rp.service(store, directory, "2026-11-01", "2026-11-30", today=date(2026, 11, 6)) == rp.service(
            Raw(store), directory, "2026-11-01", "2026-11-30", today=date(2026, 11, 6))
        if store.postgres:
            ingest_all(store, logs)  # duplicates: every day marked again
            assert marks.dirty(store)
            assert a._exclusive(wait=False)
            try:
                assert b.step() == 0  # the other worker holds the lock: this one waits its turn
            finally:
                a._release()
            assert b.step() > 0
    finally:
        other.close()


def test_refresher_thread_catches_up_after_wake_and_stops_cleanly(store, directory):
    """The thread started with the app: woken after an ingest commit, it catches up; `stop`
    ends it within STOP_SECONDS."""
    ingest_all(store, three_halls())
    d = directory
    r = Refresher(store, d, background=True, chunk=2, idle_seconds=60)
    r.start()
    try:
        r.wake()
        wait_until(lambda: not marks.dirty(store), timeout=60, what="the refresher to catch up")
        wait_until(lambda: r.as_of is not None, timeout=10, what="as_of")
    finally:
        assert r.stop()  # within STOP_SECONDS
    nov = ("2026-11-01", "2026-11-30")
    assert rp.service(store, d, *nov, today=date(2026, 11, 6)) == rp.service(Raw(store), d, *nov,
                                                                              today=date(2026, 11, 6))
    assert rp.service(store, d, *nov, today=date(2026, 11, 6))["total"]["visits"] == 5


def test_refresher_api_and_page_say_the_facts_are_being_updated(store, tmp_path, monkeypatch):
    """JSON answers carry `facts: {as_of, pending_days, pending_hall_days}`; a page shows
    数据更新中 …, 尚有 N 天待更新 while its days are dirty and nothing once caught up."""
    cfg, halls = load(write_config(tmp_path))
    d = Directory.of(halls)
    ingest_all(store, three_halls())
    r = Refresher(store, d, background=True)
    monkeypatch.setattr(r, "start", lambda: None)  # the test drives the refresher, no thread
    with Browser(create_app(store, None, d, Auth(cfg.users), refresher=r)) as c:
        q = "start=2026-11-01&end=2026-11-30"
        got = c.get(f"/api/reports/service?{q}", auth=("admin", "admin123")).json()
        assert got["facts"]["pending_days"] > 0 and got["facts"]["as_of"] is None
        assert got["facts"]["pending_hall_days"] >= got["facts"]["pending_days"]
        c.post("/login", data={"username": "admin", "password": "admin123"})
        page = c.get(f"/reports/service?{q}").text
        assert "数据更新中" in page and f"尚有 {got['facts']['pending_days']} 天待更新" in page
        r.run_until_caught_up()
        got = c.get(f"/api/reports/service?{q}", auth=("admin", "admin123")).json()
        assert got["facts"]["pending_days"] == 0 and got["facts"]["as_of"]
        assert got["rows"] and "数据更新中" not in c.get(f"/reports/service?{q}").text
        # late events: pending again, as of the catch-up
        ingest_all(store, three_halls())
        page = c.get(f"/reports/service?{q}").text
        assert "数据更新中：截至 " in page and "天待更新" in page
        csv = c.get(f"/api/reports/service?{q}&format=csv", auth=("admin", "admin123"))
        assert csv.status_code == 200 and "facts" not in csv.text


def test_refresher_synchronous_mode_gives_fresh_figures(store, directory):
    """`background=False` (the tests' fixture): a report first runs the refresher to the end."""
    ingest_all(store, three_halls())
    Refresher(store, directory, background=False)
    with reading() as facts:
        got = rp.service(store, directory, "2026-11-01", "2026-11-30", today=date(2026, 11, 6))
    assert facts.pending_days == 0 and marks.dirty(store) == []
    assert got == rp.service(Raw(store), directory, "2026-11-01", "2026-11-30", today=date(2026, 11, 6))


def test_refresher_stops_with_the_server_within_its_shutdown_budget(store, generated, tmp_path):  # noqa: F811
    """Served as `onestop-central` serves it (GracefulServer, lifespan on): the refresher starts
    with the app and, busy with a backlog, ends with it — the server stops within 2 s (the live
    stream's budget, test_live) and the thread is gone; the days it had not reached stay dirty."""
    from tests.central.test_live import Served

    d, payloads = generated
    _load(store, payloads)
    cfg, _halls = load(write_config(tmp_path))
    r = Refresher(store, d, background=True, chunk=6)
    served = Served(create_app(store, None, d, Auth(cfg.users), refresher=r))
    try:
        wait_until(lambda: r.stats["steps"] >= 2, timeout=60, what="the refresher to work")
        thread = r._thread
        took = served.stop()
        assert took < 2.0, f"the server took {took:.1f} s to stop"
        assert thread is not None and not thread.is_alive() and r._thread is None
        assert marks.dirty(store)  # a backlog left for the next start
    finally:
        if served.thread.is_alive():
            served.server.force_exit = True
