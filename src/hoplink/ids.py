"""Random identifiers: public IDs and short codes come from ``secrets``, never a counter."""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime

BASE62 = string.digits + string.ascii_letters


def random_base62(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def new_id(prefix: str) -> str:
    """``lnk_`` + 16 base62 characters (~95 bits): unguessable, fits String(32)."""
    return f"{prefix}_{random_base62(16)}"


def utcnow() -> datetime:
    return datetime.now(UTC)
