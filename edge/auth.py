"""Staff PIN and manager password hashes (the shared scheme of sync.kernel.passwords)."""

from sync.kernel.passwords import ITERATIONS, hash_secret, verify_secret

__all__ = ["ITERATIONS", "hash_secret", "verify_secret"]
