"""Password hashing with Argon2id (argon2-cffi), the first choice of OWASP.

Hashes stay inside the accounts services: nothing returned to a caller
carries one.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified when the login names no user, so a wrong login costs as much time
    as a wrong password and response times do not reveal which accounts exist.

    Made on first use, not at import: every command that imports the accounts
    would otherwise pay for an Argon2 hash at start-up.
    """
    return _hasher.hash("not a real password")


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` with a fresh salt, parameters included."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; ``None`` (no such user) takes as long and fails."""
    try:
        matches = _hasher.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return matches and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)
