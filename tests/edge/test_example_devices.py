"""The example campus wires every window (issue 12, item 10): each window of each hall in
config/halls has its service-paused lamp, pause button, five rating buttons and badge reader,
each hall an attendance reader, and no two pins share a line. In simulation `GET /api/sim/pins`
lists them all working, and a window on a counter board takes a badge and its pause button lights
its lamp."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import load, pin_key
from tests.conftest import EVENTS_TOKEN, edge_client, wait_until

HALL_FILES = sorted((Path(__file__).parents[2] / "config" / "halls").glob("*.toml"))


@pytest.mark.parametrize("path", HALL_FILES, ids=lambda p: p.stem)
def test_example_devices_every_window_has_lamp_pause_five_ratings_and_a_reader(path):
    cfg = load(path)
    d = cfg.devices
    assert [r.name for r in d.readers if r.role == "hall"], f"{path.name}: no attendance reader"
    for w in cfg.business.windows:
        mine = [p for p in d.pins.values() if p.window == w.id]
        assert sum(p.role == "lamp" for p in mine) == 1, (path.name, w.id)
        assert sum(p.role == "pause_button" for p in mine) == 1, (path.name, w.id)
        assert sorted(p.level for p in mine if p.role == "rating_button") == [1, 2, 3, 4, 5], (path.name, w.id)
        assert [r.name for r in d.readers if r.role == "window" and r.window == w.id], (path.name, w.id)
    lines = [(p.board or "", pin_key(p.pin)) for p in d.pins.values()]
    assert None not in {k for _, k in lines}
    assert len(set(lines)) == len(lines), f"{path.name}: two pins on one line"
    # a Raspberry Pi header: BCM 0/1 (HAT EEPROM) and 14/15 (the RDM6300's UART) stay free
    assert not {k for _, k in lines} & {"BCM0", "BCM1", "BCM14", "BCM15"}
    ports = [r.port for r in d.readers]
    assert len(set(ports)) == len(ports)


@pytest.mark.parametrize("path", HALL_FILES, ids=lambda p: p.stem)
def test_example_devices_sim_pins_lists_every_window_working(path, tmp_path, clock):
    from edge.app import create_app
    from edge.hall import Hall
    from edge.hardware import Hardware

    cfg = load(path)
    hall = Hall(cfg, tmp_path / "data", clock)
    hall.start()
    hw = Hardware(hall, simulate=True, reopen_min=0.02)
    try:
        hw.start()
        assert hw.wait_ready(), "readers did not open their ptys"
        with edge_client(create_app(hall, simulate=True, hardware=hw, tick_seconds=3600,
                                    events_token=EVENTS_TOKEN)) as c:
            pins = c.get("/api/sim/pins").json()
            assert [p for p in pins if not p["ok"]] == []  # every line set up (MockFactory: no pin twice)
            for w in cfg.business.windows:
                roles = sorted((p["role"], p["rating"] or 0) for p in pins if p["window"] == w.id)
                assert roles == [("lamp", 0), ("pause_button", 0)] + [("rating_button", n) for n in range(1, 6)], \
                    (w.id, roles)
            readers = {r["name"]: r for r in c.get("/api/sim/readers").json()}
            assert {r.name for r in cfg.devices.readers} == set(readers)
            assert all(r["state"] == "ok" for r in readers.values())

            # a window wired to a counter board works end to end: badge → signed on, pause → lamp
            on_board = next(p for p in pins if p["board"] and p["role"] == "pause_button")
            w = on_board["window"]
            staff = next(s for s in cfg.business.staff if w in s.windows and s.card)
            assert c.post("/api/sim/badge", json={"reader": f"{w}-reader", "card": staff.card}).status_code == 200

            def window():
                return next(x for x in c.get("/api/windows").json() if x["id"] == w)

            wait_until(lambda: window()["state"] == "idle", what=lambda: window())
            for action in ("press", "release"):
                assert c.post(f"/api/sim/pins/{on_board['name']}", json={"action": action}).status_code == 200
            lamp = next(p for p in c.get("/api/sim/pins").json() if p["window"] == w and p["role"] == "lamp")
            assert lamp["board"] == on_board["board"] and lamp["lamp"] == "on"
            assert window()["state"] == "paused"
    finally:
        hw.stop()
        hall.stop()
