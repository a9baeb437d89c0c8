"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hoplink.errors import FieldError, InvalidInput

_hasher = PasswordHasher()
MIN_LENGTH = 10

# Verifying against this keeps "unknown user" as slow as "wrong password".
_DUMMY_HASH = _hasher.hash("hoplink-dummy-password")


def check_strength(password: str, *, field: str = "password") -> None:
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            FieldError(field, "too_short", f"must be at least {MIN_LENGTH} characters long")
        )
    if len(password) > 1024:
        raise InvalidInput(FieldError(field, "too_long", "must be at most 1024 characters long"))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
