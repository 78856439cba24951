"""Edge configuration: one TOML file per hall (config/halls/<hall-id>.toml).

The file holds the hall's identity, how it reaches the broker, its devices, and the business
configuration it starts with. Inside ``[business]``, `catalog` and `calendar` may be tables or
the path of another TOML file (relative to the hall file), so the halls of a centre can share
one catalog and one calendar. Errors name the file and the field and nothing starts.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct, field

from sync import business
from sync.business import Business, Id


class ConfigError(Exception):
    """Invalid configuration; the message names the file and the field."""


class Strict(Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    pass


class HallIdentity(Strict, kw_only=True):
    id: Id
    name: str
    campus: Id
    campus_name: str = ""
    centre: str = ""
    address: str = ""
    complaint_phone: str = ""  # 投诉/办不成事反映 phone, shown on public pages


class Broker(Strict, kw_only=True):
    url: str = "mqtt://127.0.0.1:1883"
    username: str = ""
    password: str = ""


class Http(Strict, kw_only=True):
    listen: Annotated[str, Meta(pattern=r"^[^:]+:\d{1,5}$")] = "127.0.0.1:8100"


class EdgeConfig(Strict, kw_only=True):
    hall: HallIdentity
    business: Business
    http: Http = field(default_factory=Http)
    broker: Broker = field(default_factory=Broker)
    secret: str = ""  # session cookie key; empty: generated once into the data dir


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None


def _include(raw: dict[str, Any], key: str, base: Path, kind: type, where: Path) -> Path | None:
    """Replace raw[key] (a path string) by the validated content of that file; returns its path."""
    value = raw.get(key)
    if not isinstance(value, str):
        return None
    path = (base / value).resolve()
    if not path.is_file():
        raise ConfigError(f"{where}: field $.business.{key}: included file {path} not found")
    data = _read_toml(path)
    try:
        msgspec.convert(data, kind)  # validate here so the error names the included file
    except msgspec.ValidationError as e:
        raise ConfigError(f"{path}: {_field_message(e)}") from None
    raw[key] = data
    return path


def _field_message(e: msgspec.ValidationError) -> str:
    # msgspec says "Expected `int`, got `str` - at `$.business.windows[0].id`"; put the field first
    text = str(e)
    if " - at `" in text:
        message, _, path = text.rpartition(" - at `")
        return f"field {path.rstrip('`')}: {message}"
    return text


def load(path: str | Path) -> EdgeConfig:
    """Load and check a hall configuration file. Raises ConfigError."""
    path = Path(path)
    raw = _read_toml(path)
    biz = raw.get("business")
    included: dict[str, Path] = {}
    if isinstance(biz, dict):
        for key, kind in (("catalog", business.Catalog), ("calendar", business.Calendar)):
            if (where := _include(biz, key, path.parent, kind, path)) is not None:
                included[f"$.business.{key}"] = where
    try:
        cfg = msgspec.convert(raw, EdgeConfig)
    except msgspec.ValidationError as e:
        raise ConfigError(f"{path}: {_field_message(e)}") from None
    try:
        business.check(cfg.business, "$.business")
    except business.BusinessError as e:
        for prefix, source in included.items():  # an error inside an included file names that file
            if e.path == prefix or e.path.startswith(prefix + ".") or e.path.startswith(prefix + "["):
                raise ConfigError(f"{source}: field ${e.path[len(prefix):]}: {e.message}") from None
        raise ConfigError(f"{path}: field {e.path}: {e.message}") from None
    return cfg
