"""Random identifiers: public IDs and short codes come from ``secrets``, never a counter."""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime

BASE62 = string.digits + string.ascii_letters


def random_base62(length: int) -> str:
    """Uniform over all 62**length strings: one draw from ``secrets``, then base conversion."""
    n = secrets.randbelow(62**length)
    out = []
    for _ in range(length):
        n, digit = divmod(n, 62)
        out.append(BASE62[digit])
    return "".join(out)


def new_id(prefix: str) -> str:
    """``lnk_`` + 16 base62 characters (~95 bits): unguessable, fits String(32)."""
    return f"{prefix}_{random_base62(16)}"


def utcnow() -> datetime:
    return datetime.now(UTC)
