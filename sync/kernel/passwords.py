"""Secrets for staff PINs, hall manager and dashboard passwords: PBKDF2-SHA256, stored as
``pbkdf2_sha256$<iterations>$<salt hex>$<hash hex>``. One scheme for edge and central, so a
hash made by either (`onestop-edge --hash-pin`) verifies in both."""

from __future__ import annotations

import hashlib
import hmac
import os

ITERATIONS = 100_000


def hash_secret(secret: str, iterations: int = ITERATIONS) -> str:
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_secret(stored: str, secret: str) -> bool:
    try:
        scheme, iterations, salt, digest = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        got = hashlib.pbkdf2_hmac("sha256", secret.encode(), bytes.fromhex(salt), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)
