"""What text hoplink can store: the one rule every edge (API, dashboard, CLI) applies.

PostgreSQL refuses NUL in ``text`` (and asyncpg reports it as a generic error), UTF-8
cannot encode a lone UTF-16 surrogate (JSON's ``"\\udfff"`` decodes to one in Python), and
a value far longer than any field takes is only a way to make the server work. Checking
these once, where input enters, turns each into a 4xx naming the field instead of a 500
somewhere deep in a driver — on SQLite and PostgreSQL alike. The services' own limits
(title ≤ 300 characters, …) still apply behind this; this is the floor, not the policy.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from hoplink.errors import FieldError

# Longest single value anywhere in a request body (notes take 5,000 characters; a
# destination URL 4,096 once canonical, four times that as typed).
MAX_TEXT = 16_384
# Longest value of a query-string or path parameter, and of a command-line argument.
MAX_PARAM = 2_048

_BAD = re.compile("[\x00\ud800-\udfff]")


def problem(value: str, *, limit: int = MAX_TEXT) -> FieldError | None:
    """Why ``value`` cannot be stored (as a FieldError with no field name yet), or None."""
    bad = _BAD.search(value)
    if bad is not None:
        if bad.group() == "\x00":
            return FieldError("", "nul_character", "must not contain the NUL character (U+0000)")
        return FieldError(
            "",
            "invalid_unicode",
            f"is not valid Unicode text: a lone surrogate U+{ord(bad.group()):04X} at"
            f" position {bad.start()}",
        )
    if len(value) > limit:
        return FieldError("", "too_long", f"must be at most {limit} characters")
    return None


def check(field: str, value: str, *, limit: int = MAX_TEXT) -> FieldError | None:
    found = problem(value, limit=limit)
    return None if found is None else FieldError(field, found.code, found.message)


def check_tree(value: Any, path: str = "", *, limit: int = MAX_TEXT) -> FieldError | None:
    """The first unstorable string (keys included) in a decoded JSON document, named by
    its dotted path the way the API names fields (``items.3.title``)."""
    for where, text in _strings(value, path):
        found = check(where, text, limit=limit)
        if found is not None:
            return found
    return None


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str):
                yield (where if not _BAD.search(key) else path or "body"), key
            yield from _strings(item, where)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}.{i}" if path else str(i))
