"""The demo's logins: the credentials the example configuration ships with (config/halls,
config/central.toml), each checked against the hashes of the configuration the demo runs before
the banner prints it, so a printed login always works."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEMO_PIN = "1234"  # every staff console PIN in config/halls (see the files' header)
DEMO_MANAGER_PASSWORD = "admin123"  # every hall manager's password in config/halls
DEMO_CENTRAL_LOGIN = ("admin", "admin123")  # config/central.toml's central admin (central's API needs a login)
# the passwords of config/central.toml's dashboard users (its header lists them); the banner
# prints only those that match the hashes of the configuration the demo runs
DEMO_CENTRAL_PASSWORDS = {"admin": "admin123", "academic-head": "dept123", "south-manager": "hall123"}


@dataclass
class Login:
    """A login the banner prints, checked against the configuration the demo runs."""

    url: str  # the login page
    name: str
    password: str
    what: str  # who this is, in a few words


def central_logins(central_toml: Path, url: str) -> tuple[list[Login], list[str]]:
    """The dashboard users of central.toml whose demo password (DEMO_CENTRAL_PASSWORDS)
    matches their hash; and the names of users whose password the demo does not know."""
    from central.config import load as load_central
    from sync.kernel.passwords import verify_secret

    ccfg, entries = load_central(central_toml)
    halls = {h.id: h.name for h in entries}
    depts = {d.id: d.name for h in entries for d in h.business.catalog.departments}
    found, unknown = [], []
    for u in ccfg.users:
        password = DEMO_CENTRAL_PASSWORDS.get(u.name)
        if password is None or not verify_secret(u.password_hash, password):
            unknown.append(u.name)
            continue
        what = {"admin": "central admin: every hall",
                "department": f"head of {depts.get(u.department, u.department)}: that department in every hall",
                "hall": f"manager of {halls.get(u.hall, u.hall)} ({u.hall}) only"}[u.role]
        found.append(Login(f"{url}/login", u.name, password, what))
    return found, unknown


def hall_logins(halls: list[Any]) -> tuple[list[Login], list[str]]:
    """`halls`: the demo's HallNodes. Every hall manager whose password is DEMO_MANAGER_PASSWORD (hall settings, /manage);
    and `hall/manager` of those whose password the demo does not know."""
    from sync.kernel.passwords import verify_secret

    found, unknown = [], []
    for h in halls:
        for m in h.cfg.business.managers:
            if verify_secret(m.password_hash, DEMO_MANAGER_PASSWORD):
                found.append(Login(f"{h.edge.base_url}/manage", m.id, DEMO_MANAGER_PASSWORD,
                                   f"manager {m.name} of {h.cfg.hall.name} ({h.cfg.hall.id})"))
            else:
                unknown.append(f"{h.cfg.hall.id}/{m.id}")
    return found, unknown
