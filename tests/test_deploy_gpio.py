"""deploy/install.sh installs the GPIO library of the hall's `[devices] pin_factory` for the board
it runs on (--board-model stands in for /proc/device-tree/model): lgpio on a Pi 5, RPi.GPIO on
older boards, none for native; a factory that cannot work on the board stops it with one line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import HALL_TOML

SCRIPT = Path(__file__).resolve().parents[1] / "deploy" / "install.sh"
PI5, PI4 = "Raspberry Pi 5 Model B Rev 1.0", "Raspberry Pi 4 Model B Rev 1.4"


def dry_run(tmp_path, pin_factory: str | None, model: str) -> subprocess.CompletedProcess:
    hall = tmp_path / "hall.toml"
    hall.write_text(HALL_TOML + (f'\n[devices]\npin_factory = "{pin_factory}"\n' if pin_factory else ""),
                    encoding="utf-8")
    return subprocess.run(["bash", str(SCRIPT), "--dry-run", "--config", str(hall), "--board-model", model],
                          capture_output=True, text=True, timeout=60)


def apt_packages(out: str) -> set[str]:
    line = next(x for x in out.splitlines() if "apt-get install" in x)
    return set(line.split("--no-install-recommends", 1)[1].split())


@pytest.mark.parametrize(("pin_factory", "model", "library", "other"), [
    (None, PI5, "python3-lgpio", "python3-rpi.gpio"),
    ("auto", PI4, "python3-rpi.gpio", "python3-lgpio"),
    ("lgpio", PI4, "python3-lgpio", "python3-rpi.gpio"),
    ("rpigpio", PI4, "python3-rpi.gpio", "python3-lgpio"),
])
def test_deploy_install_gpio_library_for_board_and_factory(tmp_path, pin_factory, model, library, other):
    r = dry_run(tmp_path, pin_factory, model)
    assert r.returncode == 0, r.stderr
    packages = apt_packages(r.stdout)
    assert library in packages and other not in packages and "python3-venv" in packages
    assert f"board: {model}" in r.stdout


def test_deploy_install_native_factory_needs_no_gpio_library(tmp_path):
    r = dry_run(tmp_path, "native", PI4)
    assert r.returncode == 0, r.stderr
    assert not {"python3-lgpio", "python3-rpi.gpio"} & apt_packages(r.stdout)


@pytest.mark.parametrize(("pin_factory", "model", "says"), [
    ("rpigpio", PI5, "does not drive a Pi 5"),
    ("mock", PI4, "--simulate only"),
])
def test_deploy_install_refuses_a_factory_that_cannot_work_here(tmp_path, pin_factory, model, says):
    r = dry_run(tmp_path, pin_factory, model)
    assert r.returncode == 2 and r.stdout.count("apt-get") == 0
    err = r.stderr.strip()
    assert "\n" not in err and "$.devices.pin_factory" in err and says in err
