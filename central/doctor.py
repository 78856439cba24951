"""`onestop-central doctor`: what is wrong with central, one line per check (sync.kernel.checkup):
the configuration, central's signing key, the database (reachable, migrations current; it is
only read, never migrated), the broker with central's own credentials (it must read every hall's
events and may write under onestop/v1/), and when each hall was last seen.

The broker check signs in as central's user; the broker binds the client id to the user, so a
running central worker 1 is disconnected for a moment and reconnects (halls resend what central
has not acknowledged: nothing is lost).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sync.contract import wire
from sync.kernel.checkup import FAIL, OK, SKIP, Check, report
from sync.kernel.configfile import ConfigError

from . import config as central_config
from .store.migrations import MIGRATIONS

__all__ = ["FAIL", "OK", "SKIP", "Check", "Options", "report", "run"]


@dataclass
class Options:
    db: str | None = None  # overrides [db] url
    timeout: float = 5.0  # seconds for the broker to answer
    now_us: Callable[[], int] = lambda: time.time_ns() // 1000


def run(config_path: str | Path, opts: Options | None = None) -> list[Check]:
    opts = opts or Options()
    try:
        cfg, halls = central_config.load(config_path)
    except ConfigError as e:
        return [Check("config", FAIL, str(e), "correct that field (docs/central.md)")]
    except OSError as e:
        return [Check("config", FAIL, f"{config_path}: {e}", "give the path of central.toml")]
    checks = [Check("config", OK, f"{config_path} valid ({len(halls)} halls)")]
    checks.append(_check_signing_key(cfg))
    db_checks, seen = _check_database(opts.db or cfg.db.url)
    checks += db_checks
    checks.append(_check_broker(cfg, opts.timeout))
    checks += _check_halls([h.id for h in halls], seen, cfg.dashboard.live_stale_seconds, opts.now_us())
    return checks


def _check_signing_key(cfg) -> Check:
    from sync.contract.signing import Signer

    if not cfg.central.signing_key:
        return Check("signing key", FAIL, "$.central.signing_key is empty: halls refuse what central does not sign",
                     "make a key with `onestop-central keygen --out DIR` and name DIR/central.key there")
    try:
        signer = Signer.from_file(cfg.central.signing_key)
    except ValueError as e:
        return Check("signing key", FAIL, str(e), "restore central.key from its backup, or make a new pair with "
                                                 "`onestop-central keygen` and give every hall the new public key")
    return Check("signing key", OK, f"{cfg.central.signing_key} loads (key id {signer.kid}; every hall's "
                                    f"[central] public_key must be {signer.public_key})")


def _check_database(url: str) -> tuple[list[Check], dict[str, dict] | None]:
    from .store import CentralStore

    shown = url.split("@")[-1]
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return [Check("database", SKIP, f"{shown} not there yet (central creates it on its first start)")], None
    try:
        store = CentralStore(url)
        store.db.connect(reuse_if_open=True)
    except Exception as e:  # noqa: BLE001 - any driver error: one line
        return [Check("database", FAIL, f"{shown} cannot be opened: {str(e).strip().splitlines()[0]}",
                      "check [db] url (or --db), that PostgreSQL runs and the user may connect")], None
    try:
        try:
            done = {r.version for r in store.m.Migration.select()} if store.m.Migration.table_exists() else set()
        except Exception as e:  # noqa: BLE001
            return [Check("database", FAIL, f"{shown} is not central's database: {str(e).strip().splitlines()[0]}",
                          "restore it from a backup, or point [db] url at central's database")], None
        known = {v for v, _, _ in MIGRATIONS}
        newest = max(known)
        if done - known:
            return [Check("database", FAIL, f"{shown} has schema version {max(done)}, newer than this code ({newest})",
                          "install the release that wrote it (or newer); never run older code on it")], None
        pending = sorted(known - done)
        if pending:
            return [Check("database", FAIL, f"{shown} reachable, {len(pending)} migration(s) pending "
                                            f"(at {max(done, default=0)}, code at {newest})",
                          "take a backup (onestop-central backup), then start onestop-central once: it applies "
                          "them in one transaction")], None
        seen = {h["id"]: h for h in store.halls()}
        return [Check("database", OK, f"{shown} reachable, schema version {newest} (current)")], seen
    finally:
        store.close()


def _check_broker(cfg, timeout: float) -> Check:
    from sync.mqtt import parse_broker_url, probe

    try:
        broker = parse_broker_url(cfg.broker.url, cfg.broker.username, cfg.broker.password)
    except ValueError as e:
        return Check("broker", FAIL, str(e), "correct $.broker.url")
    every_hall = wire.events_topic("+")
    probe_topic = f"{wire.ROOT}/doctor-probe"  # nobody reads it; central may write under onestop/v1/
    got = probe(broker, "onestop-central-doctor", subscribe=[every_hall], publish=[(probe_topic, b"")],
                timeout=timeout, protocol=cfg.broker.protocol, ca_file=cfg.broker.ca_file or None)
    if not got.connected:
        if "not authori" in got.refused.lower() or "bad user" in got.refused.lower():
            fix = ("the broker does not accept $.broker.username/password: run `onestop-central broker-config` "
                   "and install its passwd file, or correct central.toml")
        else:
            fix = "check $.broker.url, the network, and that the broker runs (systemctl status mosquitto)"
        return Check("broker", FAIL, f"{broker}: {got.refused}", fix)
    if not got.granted.get(every_hall) or got.published.get(probe_topic) is False:
        return Check("broker", FAIL, f"{broker} accepts {broker.username} but refuses it "
                                     f"{'reading the halls events' if not got.granted.get(every_hall) else 'publishing'}",
                     "install the ACL `onestop-central broker-config` writes: central reads and writes onestop/v1/#")
    return Check("broker", OK, f"{broker} accepts {broker.username or '(none)'}, reads every hall's events")


def _check_halls(ids: list[str], seen: dict[str, dict] | None, stale_seconds: float, now_us: int) -> list[Check]:
    if seen is None:
        return [Check("halls", SKIP, "not checked (no database to read)")]
    out = []
    for hall in ids:
        h = seen.get(hall)
        last = h.get("last_seen") if h else None
        fix = (f"look at hall {hall}: power, network, `journalctl -u onestop-edge` and `onestop-edge doctor` on its "
               "box")
        if not last:
            out.append(Check(f"hall {hall}", FAIL, "never seen", fix))
            continue
        age = (now_us - int(last)) / 1e6
        events = h.get("events", 0)
        if age > stale_seconds or not h.get("online"):
            out.append(Check(f"hall {hall}", FAIL, f"last seen {_ago(age)} ago ({'online' if h.get('online') else 'offline'}), "
                                                   f"{events} events stored", fix))
        else:
            out.append(Check(f"hall {hall}", OK, f"online, last seen {_ago(age)} ago, {events} events stored"))
    return out


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
