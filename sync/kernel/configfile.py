"""Reading configuration files: TOML, strict msgspec types, includes, and errors that name
the file and the field. Shared by the edge (its hall file) and central (every hall's business
configuration, for the config downlink)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from . import business

T = TypeVar("T")


class ConfigError(Exception):
    """Invalid configuration; the message names the file and the field."""


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None


def field_message(e: msgspec.ValidationError) -> str:
    # msgspec says "Expected `int`, got `str` - at `$.business.windows[0].id`"; put the field first
    text = str(e)
    if " - at `" in text:
        message, _, path = text.rpartition(" - at `")
        return f"field {path.rstrip('`')}: {message}"
    return text


def convert(raw: Any, kind: type[T], path: Path) -> T:
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as e:
        raise ConfigError(f"{path}: {field_message(e)}") from None


def _include(raw: dict[str, Any], key: str, base: Path, kind: type, where: Path) -> Path | None:
    """Replace raw[key] (a path string) by the validated content of that file; returns its path."""
    value = raw.get(key)
    if not isinstance(value, str):
        return None
    path = (base / value).resolve()
    if not path.is_file():
        raise ConfigError(f"{where}: field $.business.{key}: included file {path} not found")
    data = read_toml(path)
    convert(data, kind, path)  # validate here so the error names the included file
    raw[key] = data
    return path


def resolve_business(raw: dict[str, Any], path: Path) -> dict[str, Path]:
    """Inline the files `[business]` names (catalog, calendar); returns field → included file."""
    biz = raw.get("business")
    included: dict[str, Path] = {}
    if isinstance(biz, dict):
        for key, kind in (("catalog", business.Catalog), ("calendar", business.Calendar)):
            if (where := _include(biz, key, path.parent, kind, path)) is not None:
                included[f"$.business.{key}"] = where
    return included


def check_business(b: business.Business, path: Path, included: dict[str, Path]) -> None:
    try:
        business.check(b, "$.business")
    except business.BusinessError as e:
        for prefix, source in included.items():  # an error inside an included file names that file
            if e.path == prefix or e.path.startswith(prefix + ".") or e.path.startswith(prefix + "["):
                raise ConfigError(f"{source}: field ${e.path[len(prefix):]}: {e.message}") from None
        raise ConfigError(f"{path}: field {e.path}: {e.message}") from None


class HallFile(msgspec.Struct, kw_only=True):
    """What central reads of a hall file: its identity and business configuration."""

    hall: dict
    business: business.Business


def load_hall_business(path: str | Path) -> tuple[dict, business.Business]:
    """A hall file's identity table and its checked business configuration."""
    path = Path(path)
    raw = read_toml(path)
    included = resolve_business(raw, path)
    hall = raw.get("hall")
    if not isinstance(hall, dict) or not isinstance(hall.get("id"), str):
        raise ConfigError(f"{path}: field $.hall.id: a hall file needs [hall] id")
    f = convert({"hall": hall, "business": raw.get("business")}, HallFile, path)
    check_business(f.business, path, included)
    return f.hall, f.business
