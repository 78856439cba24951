"""Central configuration: config/central.toml.

```toml
[central]
name = "长岭大学师生服务中心"
halls = ["halls/*.toml"]          # hall files (globs, relative to this file)

[db]
url = "sqlite:///var/central/central.db"   # or postgresql://user@host:5432/db

[http]
listen = "127.0.0.1:8200"

[broker]
url = "mqtt://127.0.0.1:1883"
username = "central"
password = ""
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta, Struct, field

from sync.business import Business
from sync.configfile import ConfigError, convert, load_hall_business, read_toml

__all__ = ["CentralConfig", "ConfigError", "HallEntry", "load"]


class Strict(Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class CentralSection(Strict, kw_only=True):
    name: str
    halls: list[str] = field(default_factory=lambda: ["halls/*.toml"])


class Db(Strict, kw_only=True):
    url: str = "sqlite:///var/central/central.db"


class Http(Strict, kw_only=True):
    listen: Annotated[str, Meta(pattern=r"^[^:]+:\d{1,5}$")] = "127.0.0.1:8200"


class Broker(Strict, kw_only=True):
    url: str = "mqtt://127.0.0.1:1883"
    username: str = ""
    password: str = ""
    ca_file: str = ""
    protocol: Annotated[int, Meta(ge=4, le=5)] = 5


class CentralConfig(Strict, kw_only=True):
    central: CentralSection
    db: Db = field(default_factory=Db)
    http: Http = field(default_factory=Http)
    broker: Broker = field(default_factory=Broker)


class HallEntry(msgspec.Struct, kw_only=True):
    id: str
    name: str
    campus: str
    campus_name: str
    file: str
    username: str
    password: str
    business: Business


def load(path: str | Path) -> tuple[CentralConfig, list[HallEntry]]:
    path = Path(path)
    cfg = convert(read_toml(path), CentralConfig, path)
    halls: list[HallEntry] = []
    seen: dict[str, Path] = {}
    for i, pattern in enumerate(cfg.central.halls):
        files = sorted(path.parent.glob(pattern))
        if not files:
            raise ConfigError(f"{path}: field $.central.halls[{i}]: no hall file matches {pattern!r}")
        for f in files:
            ident, biz = load_hall_business(f)
            hid = ident["id"]
            if hid in seen:
                raise ConfigError(f"{f}: field $.hall.id: hall {hid!r} is also defined in {seen[hid]}")
            seen[hid] = f
            broker = read_toml(f).get("broker", {})
            halls.append(HallEntry(
                id=hid, name=ident.get("name", hid), campus=ident.get("campus", ""),
                campus_name=ident.get("campus_name", ""), file=str(f),
                username=broker.get("username", hid), password=broker.get("password", ""), business=biz,
            ))
    return cfg, halls
