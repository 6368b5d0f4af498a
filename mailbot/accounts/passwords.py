"""Password hashes (argon2id, argon2-cffi's defaults), and checking a password against one."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

DEFAULT_HASHER = PasswordHasher()  # RFC 9106's second choice: t=3, m=64 MiB, p=4
_HASHER = DEFAULT_HASHER
# Checked when the name is unknown, so a wrong name costs as long as a wrong password.
# Made at the first sign-in, not at import: every command imports this module, and a
# hash costs ~0.1 s and 64 MiB on purpose.
_DUMMY_HASH: str | None = None


def use_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Hash with `hasher` from now on; returns the one it replaces.

    For tests, which sign in hundreds of times: argon2's default cost is ~0.1 s a hash on
    purpose. Hashes made with other parameters still verify (each hash names its own).
    """
    global _HASHER, _DUMMY_HASH
    previous = _HASHER
    _HASHER, _DUMMY_HASH = hasher, None
    return previous


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _HASHER.hash("not a password anyone has")
    return _DUMMY_HASH


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)
