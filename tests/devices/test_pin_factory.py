"""`[devices] pin_factory`: the GPIO pin factory of the node's own header from the hall file
(docs/configuration.md). Checked strictly at load (file and field named); a configured factory
whose library is missing is one clear line (log, device fault, doctor ✗ with the fix), never a
traceback, and the hall still starts; "mock" works under --simulate and nowhere else."""

from __future__ import annotations

import logging
import sys

import pytest

from devices.gpio import GpioBoard, PinDef, PinFactoryError, make_factory
from edge import doctor
from edge.config import ConfigError, load
from tests.conftest import HALL_TOML

PINS = ('\n[devices.pins]\nlamp-W1 = { pin = 17, role = "lamp", window = "W1" }\n'
        'door-main = { pin = "GPIO24", role = "door" }\n')


def hall_file(tmp_path, pin_factory: str | None):
    text = HALL_TOML + "\n[devices]\n"
    if pin_factory is not None:
        text += f'pin_factory = "{pin_factory}"\n'
    path = tmp_path / "hall.toml"
    path.write_text(text + PINS, encoding="utf-8")
    return path


@pytest.fixture
def no_lgpio(monkeypatch):
    """The lgpio library is not installed: `import lgpio` fails (a None in sys.modules), and
    gpiozero's lgpio module is imported afresh."""
    monkeypatch.setitem(sys.modules, "lgpio", None)
    monkeypatch.delitem(sys.modules, "gpiozero.pins.lgpio", raising=False)


@pytest.mark.parametrize("name", ["auto", "lgpio", "rpigpio", "native", "mock"])
def test_pin_factory_config_accepts_each_factory(tmp_path, name):
    assert load(hall_file(tmp_path, name)).devices.pin_factory == name


def test_pin_factory_config_defaults_to_auto(tmp_path):
    assert load(hall_file(tmp_path, None)).devices.pin_factory == "auto"


def test_pin_factory_config_rejects_an_unknown_factory_naming_file_and_field(tmp_path):
    with pytest.raises(ConfigError) as e:
        load(hall_file(tmp_path, "pigpio"))  # remote boards are [devices.boards], not the header's factory
    assert "hall.toml" in str(e.value) and "$.devices.pin_factory" in str(e.value)


def test_pin_factory_missing_library_is_one_clear_error(no_lgpio):
    with pytest.raises(PinFactoryError) as e:
        make_factory("lgpio")
    assert str(e.value) == ("GPIO pin factory 'lgpio': the lgpio library is not installed "
                            f"({e.value.problem.split('(', 1)[1]}")
    assert "\n" not in str(e.value) and "apt install python3-lgpio" in e.value.fix and "pip install lgpio" in e.value.fix


def test_pin_factory_missing_library_faults_the_header_pins_once_and_logs_one_line(no_lgpio, caplog):
    faults: list[tuple[str, str]] = []
    board = GpioBoard([PinDef("lamp", 17, "lamp"), PinDef("door", 24, "door"),
                       PinDef("remote-lamp", 17, "lamp", board="b1")],
                      pin_factory="lgpio", on_fault=lambda d, m: faults.append((d, m)),
                      boards={"b1": lambda: make_factory("mock")})
    with caplog.at_level(logging.ERROR, logger="onestop.devices"):
        board.open()
    try:
        lines = [r for r in caplog.records if r.name == "onestop.devices"]
        assert len(lines) == 1 and lines[0].exc_info is None  # one line, no traceback
        assert "lgpio library is not installed" in lines[0].getMessage()
        assert "apt install python3-lgpio" in lines[0].getMessage()
        assert set(board.errors) == {"lamp", "door"}  # the remote board's pin still works
        assert board.factory_name() == "MockFactory"  # the remote board's
        assert len(faults) == 1 and faults[0][0] == "gpio" and faults[0][1].count("lgpio library") == 1
    finally:
        board.close()


def test_pin_factory_mock_makes_working_pins():
    board = GpioBoard([PinDef("lamp", 17, "lamp"), PinDef("pause", 27, "pause_button")], pin_factory="mock")
    board.open()
    try:
        assert board.errors == {} and board.factory_name() == "MockFactory"
        board.set_lamp("lamp", "on")
        assert board.factory.pin(17).state is True
        board.drive("pause", "press")
        assert board.presses == 1
    finally:
        board.close()
    assert board.factory is None  # the factory the board made is closed with it


def test_pin_factory_doctor_names_the_missing_library_and_the_fix(tmp_path, no_lgpio):
    checks = doctor.run(hall_file(tmp_path, "lgpio"), doctor.Options(data_dir=tmp_path / "data", no_sync=True,
                                                                     wait=0.0, listen=0.3, min_free_mb=1))
    found = {c.name: c for c in checks}
    f = found["gpio factory"]
    assert f.failed and "$.devices.pin_factory = 'lgpio'" in f.detail and "lgpio library is not installed" in f.detail
    assert "apt install python3-lgpio" in f.fix
    assert found["gpio lamp-W1"].failed and "lgpio" in found["gpio lamp-W1"].detail


def test_pin_factory_doctor_mock_only_under_simulate(tmp_path):
    opts = dict(data_dir=tmp_path / "data", no_sync=True, wait=0.0, listen=0.3, min_free_mb=1)
    real = {c.name: c for c in doctor.run(hall_file(tmp_path, "mock"), doctor.Options(**opts))}
    assert real["gpio factory"].failed and "--simulate" in real["gpio factory"].detail
    sim = {c.name: c for c in doctor.run(hall_file(tmp_path, "mock"), doctor.Options(simulate=True, **opts))}
    assert sim["gpio factory"].mark == doctor.OK and sim["gpio lamp-W1"].mark == doctor.OK


def test_pin_factory_cli_refuses_mock_without_simulate(tmp_path, capsys):
    from edge.cli import main

    path = hall_file(tmp_path, "mock")
    assert main(["--config", str(path), "--data-dir", str(tmp_path / "data"), "--no-sync"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(path) in err and "$.devices.pin_factory" in err and "--simulate" in err
