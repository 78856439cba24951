"""deploy/: the systemd units (checked by `systemd-analyze verify` where it exists, else parsed),
the install script (`bash -n`, shellcheck where installed, and a full --dry-run), the udev rule."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = ("onestop-edge.service", "onestop-kiosk.service", "onestop-display.service")
# what exists only on the Pi after install.sh: systemd-analyze may say these are missing here
PI_ONLY = ("/opt/onestop/venv/bin/onestop-edge", "/usr/bin/cage")


def unit(name: str) -> configparser.ConfigParser:
    p = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    p.optionxform = str
    p.read(DEPLOY / name, encoding="utf-8")
    return p


def verify_problems(paths: list[Path]) -> list[str]:
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", *map(str, paths)], capture_output=True,
                       text=True, timeout=60, cwd=paths[0].parent)
    lines = [x for x in (r.stdout + r.stderr).splitlines() if x.strip()]
    return [x for x in lines if not any(f"Command {p} is not executable" in x for p in PI_ONLY)]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_deploy_units_pass_systemd_analyze_verify(tmp_path):
    copies = []
    for name in UNITS:  # a copy in a folder of its own: verify loads the units beside it
        (tmp_path / name).write_text((DEPLOY / name).read_text(encoding="utf-8"), encoding="utf-8")
        copies.append(tmp_path / name)
    assert verify_problems(copies) == []
    bad = tmp_path / "bad.service"  # the check sees a broken unit
    bad.write_text("[Service]\nType=notfy\nWatchdogSecs=30\nExecStart=/bin/true\n", encoding="utf-8")
    assert len(verify_problems([bad])) == 2


def test_deploy_edge_unit_is_supervised():
    u = unit("onestop-edge.service")
    s = u["Service"]
    assert s["Type"] == "notify" and s["NotifyAccess"] == "main"
    assert 5 <= int(s["WatchdogSec"]) <= 120
    assert s["Restart"] == "on-failure" and s["RestartPreventExitStatus"] == "2"
    assert set(s["SupplementaryGroups"].split()) == {"dialout", "gpio"}
    assert s["User"] == "onestop"
    assert "--config /etc/onestop/hall.toml" in s["ExecStart"] and "--data-dir" in s["ExecStart"]
    assert u["Unit"]["StartLimitIntervalSec"] == "0"
    assert u["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.parametrize("screen", ["kiosk", "display"])
def test_deploy_screen_units_run_chromium_in_kiosk_mode_and_restart(screen):
    s = unit(f"onestop-{screen}.service")["Service"]
    assert "chromium --kiosk" in s["ExecStart"]
    assert s["ExecStart"].endswith("${ONESTOP_URL}/" + screen)
    assert "ONESTOP_URL=http://127.0.0.1:8100" in s["Environment"]
    assert s["Restart"] == "always"
    assert s["EnvironmentFile"] == "-/etc/onestop/screen.env"


def test_deploy_udev_rule_names_readers_and_grants_dialout():
    rules = [x for x in (DEPLOY / "99-onestop-readers.rules").read_text().splitlines() if x and not x.startswith("#")]
    assert rules
    for rule in rules:
        assert 'SUBSYSTEM=="tty"' in rule and 'SYMLINK+="onestop-reader-' in rule and 'GROUP="dialout"' in rule
        assert re.search(r'ATTRS\{idVendor\}=="[0-9a-f]{4}"', rule)


def test_deploy_install_script_parses_and_passes_shellcheck():
    script = DEPLOY / "install.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    r = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout


def test_deploy_install_script_dry_run_sets_up_a_hall(tmp_path):
    from tests.conftest import HALL_TOML

    hall = tmp_path / "north.toml"
    hall.write_text(HALL_TOML + '\n[http]\nlisten = "127.0.0.1:8123"\n', encoding="utf-8")
    r = subprocess.run(["bash", str(DEPLOY / "install.sh"), "--dry-run", "--config", str(hall), "--screen", "kiosk"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    import pwd

    try:
        pwd.getpwnam("onestop")
    except KeyError:
        assert "useradd --system --home-dir /var/lib/onestop" in out
    assert "usermod -a -G dialout,gpio onestop" in out
    assert f"pip install --quiet {ROOT}[edge]" in out  # the hall's extra only
    assert "python3 -m venv --system-site-packages /opt/onestop/venv" in out
    for name in UNITS:
        assert f"/etc/systemd/system/{name}" in out
    assert "/etc/udev/rules.d/99-onestop-readers.rules" in out
    assert "ONESTOP_URL=http://127.0.0.1:8123" in out
    assert "systemctl enable onestop-kiosk" in out and "systemctl disable --now onestop-display" in out
    assert "onestop-edge doctor --config /etc/onestop/hall.toml" in out
    missing = subprocess.run(["bash", str(DEPLOY / "install.sh"), "--dry-run", "--config", str(tmp_path / "nope")],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "no such hall file" in missing.stderr
    bad = subprocess.run(["bash", str(DEPLOY / "install.sh"), "--dry-run", "--config", str(hall), "--screen", "tv"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--screen" in bad.stderr
