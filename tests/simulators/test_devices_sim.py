"""The device simulators: badge frames into a pty read by a real reader, GPIO driven in process
and over the /api/sim endpoints, the scripted hall day and the device benchmark."""

from __future__ import annotations

import pytest

from devices.badge import BadgeReader
from simulators.badge import BadgeSimulator
from simulators.gpio import GpioSimulator, HardwareDriver, HttpDriver
from tests.conftest import wait_until

CARD = "0A00C3D2F1"


@pytest.mark.parametrize("protocol", ["rdm6300", "line"])
def test_devices_sim_badge_frames_are_read_by_a_reader(tmp_path, protocol):
    sim = BadgeSimulator(protocol=protocol, link=str(tmp_path / "ttyS9"))
    cards: list[str] = []
    r = BadgeReader("r", sim.path, protocol, on_card=lambda n, c: cards.append(c), reopen_min=0.02)
    r.start()
    try:
        wait_until(lambda: r.state == "ok")
        sim.present(CARD, "corrupt")
        sim.garbage()
        sim.present(CARD, "crlf")
        sim.present("0A00C3D2F2", "clone" if protocol == "rdm6300" else "normal")
        wait_until(lambda: len(cards) == 2)
        assert cards == [CARD, "0A00C3D2F2"]
        assert r.rejected >= 1
        sim.unplug()
        wait_until(lambda: r.state == "fault")
        sim.plug()
        wait_until(lambda: r.state == "ok")
    finally:
        r.stop()
        sim.close()


def test_devices_sim_badge_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        BadgeSimulator(protocol="wiegand", link=str(tmp_path / "x"))
    sim = BadgeSimulator(link=str(tmp_path / "y"))
    try:
        with pytest.raises(ValueError):
            sim.present(CARD, "weird")
        with pytest.raises(ValueError):
            sim.present("not-a-card")
    finally:
        sim.close()


def test_devices_sim_gpio_in_process_presses_rates_and_reads_lamps(hardware, device_hall, clock):
    from edge import cases, presence, queue

    gpio = GpioSimulator(HardwareDriver(hardware), advance=lambda s: clock.advance(seconds=s))
    device_hall.call(presence.sign_on, "W1", "s-li")
    gpio.pause_button("W1")
    assert gpio.lamps()["W1"] == "on"
    gpio.pause_button("W1")
    assert gpio.lamps()["W1"] == "off"
    device_hall.call(queue.issue, "transcript")
    device_hall.call(queue.call_next, "W1", "s-li")
    device_hall.call(cases.complete, "W1", "s-li", "instant")
    gpio.rate("W1", "非常满意")
    gpio.bounce("rate1-W1")
    assert [r.level for r in device_hall.store.ratings()] == [5]
    gpio.door("door-main", closed=True)
    assert [s.active for s in hardware.sensors() if s.name == "door-main"] == [True]


def test_devices_sim_gpio_over_the_sim_endpoints(device_client, device_hall, hardware, clock):
    gpio = GpioSimulator(HttpDriver(client=device_client), advance=lambda s: clock.advance(seconds=s))
    device_client.post("/api/windows/W2/sign-on", json={"staff": "s-wang", "pin": "1234"})
    gpio.pause_button("W2")
    assert gpio.lamps()["W2"] == "on"
    with pytest.raises(ValueError):
        gpio.driver.drive("lamp-W2", "press")


def test_devices_sim_sim_page_shows_pins_and_the_badge_form(device_client):
    html = device_client.get("/sim").text
    assert "设备模拟" in html and 'id="badge-form"' in html and "/static/sim.js" in html
    assert "李明" in html  # staff cards offered in the form
    assert device_client.get("/static/sim.js").status_code == 200


def test_devices_sim_scripted_hall_day(tmp_path):
    from simulators.hallday import run_hallday

    r = run_hallday(data_dir=tmp_path)
    assert r["attendance"]["刘婷"] == "请假" and r["attendance"]["马晓东"] == "迟到"
    assert r["attendance"]["冯雪"] == "迟到" and r["attendance"]["王建华"] == "正常"
    assert "w02" in r["b_expected"] and r["coverage"]["w02"] > 0.9
    assert [(a["window"], a["violation"]) for a in r["step_aways"] if a["via"] == "button"] == [
        ("w01", False), ("w03", True)]
    assert r["ratings"]["levels"] == {"5": 1, "4": 1, "3": 0, "2": 1, "1": 0}
    assert len(r["followups"]) == 1
    assert r["closing"]["status"] == "passed" and r["closing"]["alarms"] >= 2
    assert ("w03", "blink") in [(w, m) for _, w, m in r["lamps"]]
    assert r["events"]["attendance.unknown_card"] == 1


def test_devices_sim_device_benchmark_reports_both_paths(tmp_path):
    from simulators.bench_devices import run_devices_bench, table

    r = run_devices_bench(samples=30, warmup=5, data_dir=tmp_path)
    for key in ("badge_to_event_ms", "button_to_lamp_ms"):
        assert r[key]["n"] == 30 and 0 < r[key]["p50"] <= r[key]["p99"] <= r[key]["max"]
    assert "button press → lamp change" in table(r)
