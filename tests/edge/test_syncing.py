"""The hall's side of replication (edge.syncing): the hall as a replicator source (epochs,
reads, ack marks), the configuration downlink, the time beacon and the status it reports. Runs
on a real hall (SQLite file, manual clock) without a broker."""

from __future__ import annotations

import msgspec
import pytest

from edge import queue
from edge.hall import Hall
from edge.syncing import HallSource, correct_clock
from sync.contract import wire


def flush(hall: Hall) -> None:
    """Wait until every command submitted before has run (the writer runs them in order)."""
    hall.call(lambda ctx: None)


@pytest.fixture
def source(hall):
    return HallSource(hall)


def config_message(hall: Hall, version: int, **changes) -> wire.ConfigMessage:
    b = msgspec.structs.replace(hall.config.business, version=version, **changes)
    return wire.ConfigMessage(v=1, hall=hall.config.hall.id, version=version, business=b)


def test_syncing_source_follows_committed_events_and_reads_them(hall, source):
    assert source.epochs() == [(hall.store.epoch, 0)]
    for _ in range(3):
        hall.call(queue.issue, "transcript")
    assert source.current_epoch() == hall.store.epoch
    assert source.epochs() == [(hall.store.epoch, 3)]
    rows = source.read(hall.store.epoch, 1, 10)
    assert [(r.seq, r.kind) for r in rows] == [(2, "ticket.issued"), (3, "ticket.issued")]
    assert [r.id for r in rows] == [e.id for e in hall.store.events(1, 10)]


def test_syncing_ack_marks_are_kept_and_persisted(hall, source):
    hall.call(queue.issue, "transcript")
    epoch = hall.store.epoch
    source.save_acked(epoch, 1)
    flush(hall)
    assert source.acked(epoch) == 1 and hall.store.acked(epoch) == 1
    assert HallSource(hall).acked(epoch) == 1  # a new source starts from the persisted mark


def test_syncing_renumber_moves_the_tail_into_a_new_epoch(hall, source):
    for _ in range(3):
        hall.call(queue.issue, "transcript")
    old = hall.store.epoch
    source.renumber(old, 2)
    assert hall.store.epoch != old
    assert dict(source.epochs()) == {old: 1, hall.store.epoch: 2}
    source.retire_epoch(hall.store.epoch)
    assert len(source.epochs()) == 3


def test_syncing_newer_configuration_is_applied_older_ignored(hall, source):
    source.apply_config(config_message(hall, 2))
    flush(hall)
    assert hall.ctx.catalog.business.version == 2
    applied = [msgspec.json.decode(e.body) for e in hall.store.events(0, 100) if e.kind == "config.applied"]
    assert applied == [{"version": 2, "previous": 1}]
    source.apply_config(config_message(hall, 2))
    source.apply_config(config_message(hall, 1))
    flush(hall)
    assert hall.ctx.catalog.business.version == 2
    assert [e.kind for e in hall.store.events(0, 100)].count("config.applied") == 1


def test_syncing_applied_configuration_survives_a_restart(hall, config, clock, tmp_path):
    HallSource(hall).apply_config(config_message(hall, 5))
    flush(hall)
    hall.stop()
    again = Hall(config, tmp_path / "data", clock)  # its file still says version 1
    again.start()
    try:
        assert again.ctx.catalog.business.version == 5
    finally:
        again.stop()
    hall.start()  # the fixture stops it


def test_syncing_time_beacon_leaves_a_simulated_clock_alone(hall, source, clock):
    before = clock.micros()
    assert hall.call(correct_clock, before + 60_000_000) is None
    assert clock.micros() == before
    assert "clock.corrected" not in [e.kind for e in hall.store.events(0, 100)]


def test_syncing_status_reports_windows_queues_and_closing(hall, source):
    hall.call(queue.issue, "transcript")
    st = source.status()
    assert st["config_version"] == 1 and st["campus"] == hall.config.hall.campus
    assert {w["id"] for w in st["windows"]} == {w.id for w in hall.config.business.windows}
    assert st["queues"]["academic"] == 1
    assert st["closing"]["service_date"] == "2026-11-23" and st["closing"]["alarms"] == 0
