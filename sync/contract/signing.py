"""The signed downlink: central signs everything it sends to a hall (Ed25519), the hall checks it.

A downlink payload on the wire is a `wire.Sealed` envelope: the msgpack bytes of the real
message (`Ack`, `ConfigMessage`, `TimeBeacon`) in `body`, the id of the signing key in `kid`,
and an Ed25519 signature in `sig` over ``DOMAIN + topic + NUL + body``. The topic is signed
too, so a message signed for one hall's topic (its config, its ack) cannot be replayed on
another hall's topic, nor an ack passed off as a config.

- `Signer` (central): the private key, loaded from the PEM file `onestop-central keygen` wrote.
- `Trust` (hall): central's public key(s) from the hall file (`[central] public_key`, and
  `next_public_key` during a rotation); `open` answers the body or raises `Refused`.

Pure functions over bytes: no paho, no clock, no file system except `Signer.from_file` and
`write_key_pair`.

Two libraries, one algorithm (RFC 8032 Ed25519, raw 32-byte public keys): central signs with
`cryptography` (it reads and writes the PEM key file), the hall verifies with PyNaCl
(libsodium), which costs a hall about 2 MB of memory where `cryptography`'s bindings cost about
10 MB (docs/benchmarks.md, the hall on a Pi budget). `cryptography` is imported only by
`Signer`, so a hall never loads it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from . import wire

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

DOMAIN = b"onestop/downlink/v1\x00"
KEY_FILE = "central.key"
PUBLIC_FILE = "central.pub"


class Refused(Exception):
    """A downlink message the hall must not act on. `reason` is a stable code
    (unsigned, unknown_key, bad_signature, undecodable, wrong_hall, …), `detail` one line."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _signed_bytes(topic: str, body: bytes) -> bytes:
    return DOMAIN + topic.encode() + b"\x00" + body


def _raw(private: "Ed25519PrivateKey") -> bytes:
    from cryptography.hazmat.primitives import serialization

    return private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(raw_public: bytes) -> str:
    """A short stable name of a public key (the first 16 hex digits of its SHA-256)."""
    return hashlib.sha256(raw_public).hexdigest()[:16]


def parse_public_key(text: str) -> bytes:
    """The 32 raw bytes of a base64 Ed25519 public key; ValueError with a one-line reason."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64 (the one line of central.pub written by `onestop-central keygen`)") from None
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, this is {len(raw)}")
    return raw


class Signer:
    """Central's signing key."""

    def __init__(self, private: "Ed25519PrivateKey") -> None:
        self._key = private
        self.raw_public = _raw(private)
        self.kid = key_id(self.raw_public)

    @property
    def public_key(self) -> str:
        """The base64 public key, as it goes into a hall file."""
        return base64.b64encode(self.raw_public).decode()

    @classmethod
    def from_file(cls, path: str | Path) -> "Signer":
        """Load a PEM (PKCS#8) Ed25519 private key; ValueError naming the file when unusable."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ValueError(f"{path}: cannot read the signing key: {e.strerror or e}") from None
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{path}: not an unencrypted PEM private key: {e}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path}: not an Ed25519 key (make one with `onestop-central keygen`)")
        return cls(key)

    @classmethod
    def generate(cls) -> "Signer":
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return cls(Ed25519PrivateKey.generate())

    def private_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())

    def seal(self, topic: str, body: bytes) -> bytes:
        """The envelope to publish on `topic` for the message bytes `body`."""
        sig = self._key.sign(_signed_bytes(topic, body))
        return wire.encode(wire.Sealed(v=wire.V, kid=self.kid, sig=sig, body=body))


class Trust:
    """The public keys a hall accepts downlink messages from (central's, and its next one)."""

    def __init__(self, public_keys: Iterable[str]) -> None:
        self.keys: dict[str, VerifyKey] = {}
        for text in public_keys:
            if text:
                raw = parse_public_key(text)
                self.keys[key_id(raw)] = VerifyKey(raw)
        if not self.keys:
            raise ValueError("no public key of central to check the downlink with")

    def open(self, topic: str, data: bytes) -> bytes:
        """The signed body of an envelope received on `topic`; raises `Refused` otherwise."""
        try:
            sealed: wire.Sealed = wire.decode(data, wire.Sealed)
        except wire.WireError as e:
            raise Refused("unsigned", f"not a signed envelope ({str(e)[:200]})") from None
        key = self.keys.get(sealed.kid)
        if key is None:
            raise Refused("unknown_key", f"signed with key {sealed.kid[:32]!r}, which this hall does not trust")
        try:
            key.verify(_signed_bytes(topic, sealed.body), bytes(sealed.sig))
        except (BadSignatureError, ValueError, TypeError):  # ValueError: not 64 bytes
            raise Refused("bad_signature", f"the signature of key {sealed.kid} does not match the message") from None
        return sealed.body


def write_key_pair(out: str | Path, force: bool = False) -> tuple[Path, Path, Signer]:
    """Write `central.key` (mode 0600) and `central.pub` into `out`; refuses to overwrite an
    existing key unless `force`. Returns both paths and the signer."""
    out = Path(out)
    key_path, pub_path = out / KEY_FILE, out / PUBLIC_FILE
    if key_path.exists() and not force:
        raise FileExistsError(f"{key_path} exists; keep it, or pass --force to replace it (halls must then "
                              "get the new public key)")
    out.mkdir(parents=True, exist_ok=True)
    signer = Signer.generate()
    tmp = key_path.with_suffix(".key.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(signer.private_pem())
    os.chmod(tmp, 0o600)
    os.replace(tmp, key_path)
    pub_path.write_text(signer.public_key + "\n", encoding="ascii")
    return key_path, pub_path, signer
