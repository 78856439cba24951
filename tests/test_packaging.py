"""Packaging: a hall installs `onestop[edge]` only, without central's packages (psycopg2,
XlsxWriter, amqtt, cryptography). Proved by importing every module of the hall node (edge, devices, sync) in
a fresh interpreter where those packages cannot be imported, then starting a hall, its app and
its doctor there."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CENTRAL_ONLY = ("psycopg2", "xlsxwriter", "amqtt", "argon2", "cryptography")

BLOCKED_RUN = r'''
import importlib, importlib.abc, pkgutil, sys, tempfile
from pathlib import Path

BLOCKED = set(sys.argv[1].split(","))

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is a central-only package: a hall must not need it")
        return None

sys.meta_path.insert(0, Refuse())
count = 0
for package in ("edge", "devices", "sync"):
    pkg = importlib.import_module(package)
    for info in pkgutil.walk_packages(pkg.__path__, package + "."):
        importlib.import_module(info.name)
        count += 1

# and a hall runs: its writer, its app, its doctor
from edge.config import load
from edge.hall import Hall
from edge.app import create_app
from edge import doctor
from sync.kernel.clock import SystemClock

tmp = Path(tempfile.mkdtemp())
cfg_path = tmp / "hall.toml"
cfg_path.write_text(sys.stdin.read(), encoding="utf-8")
hall = Hall(load(cfg_path), tmp / "data", SystemClock())
hall.start()
create_app(hall, simulate=True)
hall.stop()
checks = doctor.run(cfg_path, doctor.Options(data_dir=tmp / "data", no_sync=True, min_free_mb=1))
assert not any(c.failed for c in checks), [c.line() for c in checks]
leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
assert not leaked, leaked
print(f"imported {count} modules")
'''


def test_packaging_hall_runs_without_central_only_packages():
    from tests.conftest import HALL_TOML

    r = subprocess.run([sys.executable, "-c", BLOCKED_RUN, ",".join(CENTRAL_ONLY)], input=HALL_TOML, cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert int(re.search(r"imported (\d+) modules", r.stdout).group(1)) > 40


def test_packaging_the_block_is_real():
    """The same finder does refuse a central module (else the test above proves nothing)."""
    r = subprocess.run([sys.executable, "-c", BLOCKED_RUN.split("count = 0")[0] + "import central.export\n",
                        ",".join(CENTRAL_ONLY)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "central-only package" in r.stderr


def test_packaging_extras_split_hall_and_central():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]

    def names(reqs):
        return {re.split(r"[<>=\[;\s]", r, maxsplit=1)[0].lower() for r in reqs}

    hall = names(project["dependencies"]) | names(extras["edge"])
    assert not hall & {"psycopg2-binary", "psycopg2", "xlsxwriter", "amqtt"}
    assert {"pyserial", "gpiozero"} <= names(extras["edge"])
    assert {"psycopg2-binary", "xlsxwriter", "amqtt"} <= names(extras["central"])
    assert "onestop[edge,central]" in extras["test"]  # `make setup` installs .[test]: everything
    assert "'.[test]'" in (ROOT / "Makefile").read_text(encoding="utf-8")


def test_packaging_the_servers_parse_http_with_httptools():
    """uvicorn (sync.kernel.serve, http="auto") parses with httptools when it is installed: a
    dependency of both (pyproject.toml), a fifth less CPU per ticket than h11 (docs/benchmarks.md)."""
    import uvicorn
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    config = uvicorn.Config(lambda scope, receive, send: None, lifespan="off")
    config.load()
    assert config.http_protocol_class is HttpToolsProtocol
