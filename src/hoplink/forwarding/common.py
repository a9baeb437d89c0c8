"""What the three platforms' builders share: money as numbers, ids derived from the daily
visitor id, and the shape of an outgoing request."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from hoplink.conversions.money import to_major

DAY = 86_400


@dataclass(frozen=True, slots=True)
class Request:
    """One POST to a platform. ``url`` is the operator's base URL plus a fixed path whose
    only variable parts (ids) were validated to a strict alphabet: never another host."""

    url: str
    body: bytes
    headers: dict[str, str]
    shown: dict[str, Any]  # the body with credentials masked (test-event view, logs)


def value(amount: int | None, currency: str | None) -> float | None:
    """Minor units → the platform's number (12.34 for 1234 USD cents, 1234 for JPY)."""
    if amount is None or currency is None:
        return None
    return float(to_major(amount, currency))


def visitor_external_id(visitor_hash: str) -> str:
    """SHA-256 of the daily visitor id: the click and the orders it led to share it, and
    it says nothing about the person (the visitor id is a salted keyed hash already)."""
    return hashlib.sha256(("hoplink-visitor:" + visitor_hash).encode()).hexdigest()


def ga4_client_id(visitor_hash: str, ts: float) -> str:
    """A GA4 client_id in the web tag's shape (<random 31-bit>.<first seen unix s>), taken
    from the daily visitor id: stable for the day's clicks of one visitor and their orders,
    never from an IP address."""
    digest = hashlib.sha256(("hoplink-ga4:" + visitor_hash).encode()).digest()
    number = int.from_bytes(digest[:4], "big") & 0x7FFFFFFF
    return f"{number}.{int(ts) // DAY * DAY}"


def unix(at: datetime) -> float:
    return at.timestamp() if at.tzinfo else at.replace(tzinfo=UTC).timestamp()


def dumps(data: Any) -> bytes:
    return orjson.dumps(data)


def snippet(body: bytes, limit: int = 500) -> str:
    return body[:limit].decode("utf-8", "replace")[:limit]
