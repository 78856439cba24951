"""Staff PIN and manager password hashes (the shared scheme of sync.passwords)."""

from sync.passwords import ITERATIONS, hash_secret, verify_secret

__all__ = ["ITERATIONS", "hash_secret", "verify_secret"]
