"""Date-times from outside: every aware one must also exist in UTC.

``datetime`` holds the years 1 to 9999 in any zone, so ``0001-01-01T00:00:00+01:00`` parses
but has no UTC instant: converting it (to store it, compare it with a stored time, or turn
it into an hour number) raises OverflowError, which reached visitors as a 500 from every
place that takes a time. Each edge checks with ``in_utc`` and refuses with ``OUT_OF_RANGE``.
"""

from __future__ import annotations

from datetime import UTC, datetime

OUT_OF_RANGE = "must be between the years 1 and 9999 in UTC"


def in_utc(value: datetime) -> datetime | None:
    """An aware ``value`` as UTC, or None when that instant is outside ``datetime``'s range."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return None
