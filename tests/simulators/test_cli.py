"""onestop-sim's command line: help, argument checks, one-line errors."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from simulators.cli import main

BIN = Path(sys.executable).parent
REPO_CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_cli_help_lists_demo_and_bench():
    r = subprocess.run([str(BIN / "onestop-sim"), "--help"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0
    assert "demo" in r.stdout and "bench" in r.stdout


def test_cli_bench_help_lists_edge(capsys):
    with pytest.raises(SystemExit) as e:
        main(["bench", "--help"])
    assert e.value.code == 0
    assert "edge" in capsys.readouterr().out


def test_cli_bench_edge_help_names_targets(capsys):
    with pytest.raises(SystemExit) as e:
        main(["bench", "edge", "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for option in ("--tickets", "--rate", "--seconds", "--concurrency", "--json"):
        assert option in text
    assert "300 tickets/s" in " ".join(text.split())


def test_cli_demo_help_names_options(capsys):
    with pytest.raises(SystemExit) as e:
        main(["demo", "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for option in ("--speed", "--seed", "--hall", "--config-dir"):
        assert option in text


@pytest.mark.parametrize("argv", [
    ["bench", "edge", "--tickets", "0"],
    ["bench", "edge", "--rate", "-5"],
    ["bench", "edge", "--tickets", "40", "--rate", "20", "--seconds", "2"],  # no tickets left for throughput
    ["demo", "--speed", "0"],
    ["bench"],
])
def test_cli_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_cli_demo_port_taken_one_line_nonzero(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run(
            [str(BIN / "onestop-sim"), "demo", "--config-dir", str(REPO_CONFIG), "--http", f"127.0.0.1:{port}"],
            capture_output=True, text=True, timeout=30, cwd=tmp_path,
        )
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "already in use" in lines[0]
    assert not (tmp_path / "var").exists()  # nothing was started


def test_cli_demo_unknown_hall_names_the_halls(tmp_path):
    r = subprocess.run(
        [str(BIN / "onestop-sim"), "demo", "--config-dir", str(REPO_CONFIG), "--hall", "nowhere"],
        capture_output=True, text=True, timeout=30, cwd=tmp_path,
    )
    assert r.returncode == 2
    assert "nowhere" in r.stderr and len(r.stderr.strip().splitlines()) == 1
