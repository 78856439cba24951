"""Downlink keys for a generated campus (the demo, the benchmarks): a fresh Ed25519 key pair in
the configuration folder, central.toml naming the private key and every hall file trusting the
public key (docs/security.md)."""

from __future__ import annotations

import re
from pathlib import Path

from sync.contract.signing import Signer, write_key_pair


def _set_in_table(text: str, table: str, key: str, value: str) -> str:
    """`key = "value"` in the top-level `[table]` of a TOML text (replaced, added, or the table
    appended at the end)."""
    line = f'{key} = "{value}"'
    head = re.search(rf"^\[{re.escape(table)}\][ \t]*(#.*)?$", text, re.M)
    if head is None:
        return text.rstrip("\n") + f"\n\n[{table}]\n{line}\n"
    nxt = re.search(r"^\[", text[head.end():], re.M)
    end = head.end() + (nxt.start() if nxt else len(text) - head.end())
    body = text[head.end():end]
    if re.search(rf"^{re.escape(key)}\s*=.*$", body, re.M):
        body = re.sub(rf"^{re.escape(key)}\s*=.*$", line, body, count=1, flags=re.M)
    else:
        body = "\n" + line + body
    return text[:head.end()] + body + text[end:]


def install_downlink_keys(cfg_dir: Path, halls: list[Path] | None = None) -> Signer:
    """Write `cfg_dir/keys/central.key` (+ `.pub`), point `cfg_dir/central.toml` at it and put
    the public key into every hall file (`halls`, default `cfg_dir/halls/*.toml`)."""
    key, _pub, signer = write_key_pair(cfg_dir / "keys", force=True)
    central = cfg_dir / "central.toml"
    central.write_text(_set_in_table(central.read_text(encoding="utf-8"), "central", "signing_key",
                                     str(key.resolve())), encoding="utf-8")
    for f in halls if halls is not None else sorted((cfg_dir / "halls").glob("*.toml")):
        f.write_text(_set_in_table(f.read_text(encoding="utf-8"), "central", "public_key", signer.public_key),
                     encoding="utf-8")
    return signer
