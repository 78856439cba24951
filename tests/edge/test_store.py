"""The hall's store (edge.store): the log, its epochs and marks, and projections that are
derived state (rebuilding them from the log gives the same state)."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from edge import views
from edge.store import Store
from edge.store.appointments import BookingView, CheckinView
from edge.store.attendance import EXTRA_FIELDS, LeaveExtraView, LeaveView, PunchView, UnknownCardView
from edge.store.cases import CaseView, HandoffView
from edge.store.closing import ClosingView
from edge.store.devices import DeviceView
from edge.store.log import StoredEvent, StoreError
from edge.store.presence import SessionView, StepAwayView
from edge.store.queue import TicketView
from edge.store.ratings import FollowupView, RatingView
from edge.store.windows import WindowView
from sync.contract import events as ev
from sync.kernel.clock import ManualClock
from tests.conftest import MONDAY_9, login_manager

DAY = "2026-11-23"


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "hall.db", "test-hall", ManualClock(MONDAY_9))
    s.open()
    s.ensure_windows({"W1": "academic", "W2": "finance"})
    yield s
    s.close()


def issue(s: Store, ticket: str, number: str, department: str = "academic") -> None:
    s.append(ev.TicketIssued(ticket=ticket, number=number, department=department, item="transcript",
                             service_date=DAY))


def test_store_projections_are_derived_from_the_log(client, signed_on, hall):
    """Replaying the log into empty projections gives exactly the same state."""
    w = signed_on("W1", "s-li")
    for item in ("transcript", "suspension", "graduation", "transcript"):
        client.post("/api/tickets", json={"item": item})
    w.post("/api/windows/W1/call")
    w.post("/api/windows/W1/complete", json={"outcome": "instant"})
    w.post("/api/windows/W1/call")
    w.post("/api/windows/W1/complete", json={"outcome": "gaps", "missing": ["medical"]})
    w.post("/api/windows/W1/call")
    w.post("/api/windows/W1/complete", json={"outcome": "joint"})
    case = login_manager(client).get("/api/cases?state=open").json()[0]["id"]
    w.post(f"/api/cases/{case}/handoffs", json={"from_department": "academic", "to_department": "finance",
                                               "materials": ["离校单"]})
    w.post("/api/windows/W1/call")
    w.post("/api/windows/W1/pause")  # refused: serving
    w.post("/api/windows/W1/recall")

    def snapshot(ctx):
        return (views.windows(ctx), [views.ticket_brief(ctx, t) for t in ctx.store.tickets_on(ctx.service_date())],
                [views.case_brief(ctx, c) for c in ctx.store.cases()], ctx.store.last_number("academic", "2026-11-23"))

    before = hall.call(snapshot)
    hall.call(lambda ctx: ctx.store.rebuild())
    assert hall.call(snapshot) == before


def test_store_append_numbers_the_log_and_hands_over_committed_events(store):
    with store.atomic():
        issue(store, "t1", "A001")
        issue(store, "t2", "A002")
    committed = store.take_committed()
    assert [e.seq for e in committed] == [1, 2] and store.last_seq == 2
    assert [e.kind for e in committed] == ["ticket.issued", "ticket.issued"]
    assert store.take_committed() == []
    assert [e.id for e in store.events(0, 10)] == [e.id for e in committed]
    assert store.event_rows(store.epoch, 1, 10)[0][:3] == (2, committed[1].id, "ticket.issued")
    assert store.last_number("academic", DAY) == 2 and store.waiting_count("academic", DAY) == 2


def test_store_rollback_to_a_mark_forgets_the_abandoned_events(store):
    issue(store, "t1", "A001")
    mark = store.seq_mark()
    issue(store, "t2", "A002")
    store.rollback_to(mark)
    assert store.last_seq == 1
    assert [e.seq for e in store.take_committed()] == [1]


def test_store_reopened_keeps_epoch_and_seq_and_refuses_another_hall(store, tmp_path):
    issue(store, "t1", "A001")
    epoch = store.epoch
    store.close()
    again = Store(tmp_path / "hall.db", "test-hall", ManualClock(MONDAY_9))
    again.open()
    assert again.epoch == epoch and again.last_seq == 1 and again.ticket("t1").number == "A001"
    again.close()
    other = Store(tmp_path / "hall.db", "other-hall", ManualClock(MONDAY_9))
    with pytest.raises(StoreError, match="belongs to hall 'test-hall'"):
        other.open()
    other.close()


def test_store_rotate_epoch_moves_the_tail_keeping_ids(store):
    for i in range(1, 4):
        issue(store, f"t{i}", f"A00{i}")
    old = store.epoch
    ids = [e.id for e in store.events(0, 10)]
    with store.atomic():
        new = store.rotate_epoch(move_from=2)
    assert new != old and store.epoch == new
    assert [e.id for e in store.events(0, 10, epoch=old)] == ids[:1]
    assert [(e.seq, e.id) for e in store.events(0, 10)] == [(1, ids[1]), (2, ids[2])]
    assert store.epochs() == [(old, 1), (new, 2)]
    assert store.meta(f"epoch-from:{new}") == old


def test_store_one_event_updates_every_capability_it_concerns(store):
    """ticket.completed with a case: the ticket is done (queue), the window is free (windows),
    the case is open (cases)."""
    issue(store, "t1", "A001")
    store.append(ev.WindowSignedOn(window="W1", staff="s-li", role="A"))
    store.append(ev.TicketCalled(ticket="t1", window="W1", staff="s-li"))
    assert store.window("W1").ticket == "t1" and store.window("W1").state == "serving"
    store.append(ev.TicketCompleted(ticket="t1", window="W1", staff="s-li", item="transcript", outcome="gaps",
                                    case="c1", missing=["medical"]))
    assert store.ticket("t1").state == "done" and store.ticket("t1").case == "c1"
    assert store.window("W1").ticket is None and store.window("W1").state == "idle"
    case = store.case("c1")
    assert (case.state, case.number, case.department, case.missing) == ("open", "A001", "academic", ["medical"])
    assert [s.staff for s in store.sessions(0, 2**62)] == ["s-li"]


def test_store_acked_marks_per_epoch(store):
    assert store.acked_seq == 0
    store.save_acked(store.epoch, 7)
    store.save_acked("older", 3)
    assert store.acked_seq == 7 and store.acked("older") == 3 and store.acked("unknown") == 0


# Each table's columns are its view's fields (µs times as 64-bit integers); the keys and log
# fields a view leaves out are named here.
TABLE_VIEWS = {
    "Ticket": (TicketView, ()), "Window": (WindowView, ()), "Case": (CaseView, ()),
    "Handoff": (HandoffView, ("id",)), "Punch": (PunchView, ()), "UnknownCard": (UnknownCardView, ("id",)),
    # a leave's later facts (after-the-fact, approver, hand-over, 销假) are in leave_extras (migration 4)
    "Leave": (LeaveView, tuple(f"-{f}" for f in EXTRA_FIELDS)), "LeaveExtra": (LeaveExtraView, ()),
    "StaffSession": (SessionView, ("id",)), "StepAway": (StepAwayView, ("id",)),
    "Rating": (RatingView, ()), "Followup": (FollowupView, ()), "ClosingDay": (ClosingView, ()),
    "DeviceState": (DeviceView, ()), "EventRow": (StoredEvent, ("pos", "-hall")),
    "Booking": (BookingView, ()), "AppointmentCheckin": (CheckinView, ()),
}
MICROS = {"at", "ts", "mono", "start", "end", "since", "queue_key", "slot_start"}


def test_store_tables_are_their_view_structs(store):
    assert set(vars(store.m)) == {*TABLE_VIEWS, "Meta", "Counter"}
    for name, (view, more) in TABLE_VIEWS.items():
        model = getattr(store.m, name)
        hints = typing.get_type_hints(view)
        wanted = {f for f in view.__struct_fields__} | {m for m in more if m[0] != "-"}
        wanted -= {m[1:] for m in more if m[0] == "-"}
        assert set(model._meta.fields) == wanted, name
        for col, f in model._meta.fields.items():
            if col not in hints:
                assert type(f).__name__ == "AutoField", (name, col)
                continue
            assert f.null == (type(None) in typing.get_args(hints[col])), (name, col)
            micros = int in (hints[col], *typing.get_args(hints[col])) and (col in MICROS or col.endswith("_at"))
            assert (type(f).__name__ == "BigIntegerField") == micros, (name, col)
    rows = store.db.execute_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    ddl = dict(rows)
    assert ddl["tickets"].startswith('CREATE TABLE "tickets" ("id" TEXT NOT NULL PRIMARY KEY, "number" TEXT NOT NULL')
    assert '"handoffs" ("id" INTEGER NOT NULL PRIMARY KEY, "seq" INTEGER NOT NULL, "case" TEXT NOT NULL' in ddl["handoffs"]
    assert ddl["events"].startswith('CREATE TABLE "events" ("pos" INTEGER NOT NULL PRIMARY KEY, "epoch" TEXT')


def test_store_schema_after_all_migrations_is_pinned(store):
    """A new database, after every migration, has exactly the schema in
    tests/edge/fixtures/schema.sql: a table that changes without its migration shows here (and
    in the upgrade test of tests/edge/test_migrations.py)."""
    from tests.edge.fixtures.make_fixtures import schema_sql

    pinned = (Path(__file__).parent / "fixtures" / "schema.sql").read_text(encoding="utf-8")
    assert schema_sql(store.db.execute_sql) == pinned, (
        "the hall's schema changed: add a migration in edge/store/migrations.py, then write "
        "tests/edge/fixtures/schema.sql again (see tests/edge/fixtures/make_fixtures.py)")
    assert 'CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY' in pinned
    assert store.schema_version() == store.schema[1] >= 1


def test_store_open_without_its_lock_file_says_so_in_one_line(tmp_path):
    """The lock file cannot be made (a read-only data dir; here, a directory in its place, which
    fails for root too): a StoreError naming it, not a traceback."""
    (tmp_path / "hall.db.lock").mkdir()
    s = Store(tmp_path / "hall.db", "test-hall", ManualClock(MONDAY_9))
    with pytest.raises(StoreError, match=r"hall.db.lock cannot be opened \(Is a directory\): the node needs to write"):
        s.open()
    assert not (tmp_path / "hall.db").exists()
