"""Where the demo finds its configuration and keeps its data, and how a user runs its commands:
shared by `onestop-sim demo` (simulators.demo) and `onestop-sim outage` (simulators.outage),
which reaches a running demo through its data directory."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

REPO_CONFIG = Path(__file__).resolve().parent.parent / "config"
DEMO_DATA = Path("var") / "demo"


def _shown(path: Path) -> str:
    """`path` relative to the working directory when it lies below it, else absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def sim_command(data_dir: Path | None = None) -> str:
    """The exact command a user types, in this working directory, to run `onestop-sim`: its
    bare name only when PATH finds this very script (a venv's bin/ is usually not on PATH:
    then `.venv/bin/onestop-sim`), else `python -m simulators.cli`; with `--data-dir` when the
    demo's data directory is not the default one."""
    script = Path(sys.executable).with_name("onestop-sim")
    if script.exists():
        found = shutil.which("onestop-sim")
        same = found is not None and os.path.realpath(found) == os.path.realpath(script)
        cmd = "onestop-sim" if same else shlex.quote(_shown(script))
    else:
        cmd = f"{shlex.quote(sys.executable)} -m simulators.cli"
    if data_dir is not None and os.path.abspath(data_dir) != os.path.abspath(DEMO_DATA):
        cmd += f" --data-dir {shlex.quote(_shown(Path(data_dir)))}"
    return cmd


def outage_command(hall: str, how: str = "--for 2m", data_dir: Path | None = None) -> str:
    """`onestop-sim outage --hall H …` as the user must type it (see sim_command); the
    options go after the subcommand."""
    base = sim_command()
    extra = sim_command(data_dir)[len(base):]
    return f"{base} outage --hall {hall} {how}{extra}"
