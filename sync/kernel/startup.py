"""What both commands (onestop-edge, onestop-central) do before they serve: the same log
format, and the configuration and options loaded with one clear line on stderr for a bad one."""

from __future__ import annotations

import logging
import os
import sys
from typing import Callable, TypeVar

from .configfile import ConfigError

T = TypeVar("T")

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JOURNAL_FORMAT = "%(levelname)s %(name)s: %(message)s"  # journald stamps each line itself


def start_logging(level: str) -> None:
    """One line per event on stderr; under systemd (stderr is the journal: $JOURNAL_STREAM) without
    the time, which journald records."""
    journal = bool(os.environ.get("JOURNAL_STREAM"))
    logging.basicConfig(level=level.upper(), format=JOURNAL_FORMAT if journal else LOG_FORMAT)


def load_or_report(program: str, load: Callable[[], T], bad_value: str = "") -> T | None:
    """`load()`; None for a ConfigError or a ValueError (a bad option), after one line
    "`program`: error" on stderr (`bad_value` goes before the text of a ValueError)."""
    try:
        return load()
    except ConfigError as e:
        print(f"{program}: {e}", file=sys.stderr)
    except ValueError as e:
        print(f"{program}: {bad_value}{e}", file=sys.stderr)
    return None
