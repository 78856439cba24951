"""Where the demo finds its configuration and keeps its data: shared by `onestop-sim demo`
(simulators.demo) and `onestop-sim outage` (simulators.outage), which reaches a running demo
through its data directory."""

from __future__ import annotations

from pathlib import Path

REPO_CONFIG = Path(__file__).resolve().parent.parent / "config"
DEMO_DATA = Path("var") / "demo"
