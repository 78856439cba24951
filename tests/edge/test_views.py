"""Read models (edge.views): windows with who serves there, the display board's snapshot, the
alerts, the step-aways and device states. Runs on a real hall (SQLite file, manual clock)."""

from __future__ import annotations

from edge import presence, queue, stepaway, views
from edge.hardware import record_fault
from edge.housekeeping import tick


def window(hall, window_id: str) -> dict:
    return next(w for w in hall.call(views.windows) if w["id"] == window_id)


def test_views_board_snapshot_carries_the_step_away_limit(hall):
    board = hall.call(views.display)
    assert board["step_away_limit_seconds"] == 15 * 60 == hall.call(stepaway.limit_seconds)
    assert board["open"] is True and board["now"].startswith("2026-11-23T09:00")
    assert {"windows", "recent", "queues", "alerts"} <= board.keys()


def test_views_window_shows_who_serves_and_the_current_number(hall):
    hall.call(presence.sign_on, "W1", "s-li")
    issued = hall.call(queue.issue, "transcript")
    hall.call(queue.call_next, "W1", "s-li")
    w = window(hall, "W1")
    assert w["state"] == "serving" and w["staff"]["id"] == "s-li" and w["role"] == "A"
    assert w["ticket"]["number"] == issued["ticket"].number and w["lamp"] == "off" and w["in_service"] is True
    board = hall.call(views.display)
    assert board["recent"][0]["number"] == issued["ticket"].number and board["recent"][0]["window"] == "W1"
    assert next(q for q in board["queues"] if q["department"] == "academic")["waiting"] == 0


def test_views_pause_turns_over_the_limit_then_into_an_alert(hall, clock):
    hall.call(presence.sign_on, "W1", "s-li")
    hall.call(presence.pause, "W1", "s-li")
    clock.advance(minutes=15)
    w = window(hall, "W1")
    assert (w["state"], w["lamp"], w["paused_seconds"], w["over_limit"]) == ("paused", "on", 900, False)
    clock.advance(seconds=1)
    assert window(hall, "W1")["over_limit"] is True and window(hall, "W1")["violation"] is False
    hall.call(tick)
    w = window(hall, "W1")
    assert w["violation"] is True and w["lamp"] == "blink"
    alerts = hall.call(views.alerts)
    assert [a["kind"] for a in alerts] == ["step_away"]
    assert alerts[0]["window"] == "W1" and "离岗超过 15 分钟" in alerts[0]["text"]


def test_views_step_aways_of_a_day(hall, clock):
    hall.call(presence.sign_on, "W1", "s-li")
    hall.call(presence.pause, "W1", "s-li", "取材料")
    clock.advance(minutes=3)
    hall.call(presence.resume, "W1", "s-li")
    rows = hall.call(views.step_aways, None)
    assert rows == [{"window": "W1", "staff": "s-li", "start": "2026-11-23T09:00:00+08:00",
                     "end": "2026-11-23T09:03:00+08:00", "seconds": 180, "over_limit": False,
                     "violation": False, "via": "console", "reason": "取材料"}]


def test_views_device_fault_is_listed_and_alerted(hall):
    assert hall.call(views.devices) == []
    hall.call(record_fault, "hall-reader", "reader", "unplugged")
    assert hall.call(views.devices) == [{"name": "hall-reader", "kind": "reader", "state": "fault",
                                         "message": "unplugged", "since": "2026-11-23T09:00:00+08:00",
                                         "faults": 1}]
    assert [a["kind"] for a in hall.call(views.alerts)] == ["device"]


def test_views_health_reports_log_and_sync_marks(hall):
    hall.call(queue.issue, "transcript")
    h = hall.call(views.health)
    assert h["hall"] == hall.config.hall.id and h["last_seq"] == 1
    assert h["sync"] == {"pending": 1, "acked_seq": 0, "connected": False}
    assert h["epochs"] == [{"epoch": hall.store.epoch, "last_seq": 1}]
