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

[dashboard]
session_minutes = 30              # a login expires after this long without a request

[assessment]                      # ranking score weights (docs/central.md)
satisfaction = 0.5
attendance = 0.3
on_time = 0.2

[[users]]                         # dashboard logins; role admin | department | hall
name = "admin"
display = "中心管理员"
role = "admin"
password_hash = "pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>"   # same scheme as edge PINs
# department = "academic"         # role department: the department id
# hall = "south-hall"             # role hall: the hall id
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct, field

from sync.business import Business
from sync.configfile import ConfigError, convert, load_hall_business, read_toml

__all__ = ["CentralConfig", "ConfigError", "HallEntry", "User", "load"]


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


class Dashboard(Strict, kw_only=True):
    session_minutes: Annotated[int, Meta(ge=1, le=24 * 60)] = 30


class Assessment(Strict, kw_only=True):
    satisfaction: Annotated[float, Meta(ge=0)] = 0.5
    attendance: Annotated[float, Meta(ge=0)] = 0.3
    on_time: Annotated[float, Meta(ge=0)] = 0.2


class User(Strict, kw_only=True):
    name: str
    display: str = ""
    role: Literal["admin", "department", "hall"]
    password_hash: str
    department: str = ""
    hall: str = ""


class CentralConfig(Strict, kw_only=True):
    central: CentralSection
    db: Db = field(default_factory=Db)
    http: Http = field(default_factory=Http)
    broker: Broker = field(default_factory=Broker)
    dashboard: Dashboard = field(default_factory=Dashboard)
    assessment: Assessment = field(default_factory=Assessment)
    users: list[User] = []


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
    for i, u in enumerate(cfg.users):
        if u.role == "department" and not u.department:
            raise ConfigError(f"{path}: field $.users[{i}].department: a department head needs a department")
        if u.role == "hall" and u.hall not in seen:
            raise ConfigError(f"{path}: field $.users[{i}].hall: no hall {u.hall!r}")
        if [x.name for x in cfg.users].count(u.name) > 1:
            raise ConfigError(f"{path}: field $.users[{i}].name: user {u.name!r} is defined twice")
    return cfg, halls
