"""Edge configuration: one TOML file per hall (config/halls/<hall-id>.toml).

The file holds the hall's identity, how it reaches the broker, its devices, and the business
configuration it starts with. Inside ``[business]``, `catalog` and `calendar` may be tables or
the path of another TOML file (relative to the hall file), so the halls of a centre can share
one catalog and one calendar. Errors name the file and the field and nothing starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from msgspec import Meta, Struct, field

from sync.business import Business, Id
from sync.configfile import ConfigError, check_business, convert, read_toml, resolve_business

__all__ = ["ConfigError", "EdgeConfig", "load"]


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
    ca_file: str = ""  # CA certificate for mqtts:// (empty: the system's)
    protocol: Annotated[int, Meta(ge=4, le=5)] = 5  # MQTT 3.1.1 (4) or 5
    ack_timeout: Annotated[float, Meta(gt=0)] = 10.0  # seconds without ack progress before resending
    batch_size: Annotated[int, Meta(ge=1, le=5000)] = 500  # events per message
    max_inflight: Annotated[int, Meta(ge=1)] = 5000  # events sent beyond central's ack
    status_interval: Annotated[float, Meta(gt=0)] = 15.0  # seconds between status messages


class Http(Strict, kw_only=True):
    listen: Annotated[str, Meta(pattern=r"^[^:]+:\d{1,5}$")] = "127.0.0.1:8100"


class EdgeConfig(Strict, kw_only=True):
    hall: HallIdentity
    business: Business
    http: Http = field(default_factory=Http)
    broker: Broker = field(default_factory=Broker)


def load(path: str | Path) -> EdgeConfig:
    """Load and check a hall configuration file. Raises ConfigError."""
    path = Path(path)
    raw = read_toml(path)
    included = resolve_business(raw, path)
    cfg = convert(raw, EdgeConfig, path)
    check_business(cfg.business, path, included)
    return cfg
