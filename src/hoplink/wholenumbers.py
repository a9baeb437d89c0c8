"""Whole numbers typed as text (form fields, CSV cells, query parameters).

``str.isdigit`` is not the test: it is true of "²" and "٣", which ``int`` refuses or reads
as another digit, and false of "-5", which is a whole number (just out of range). Callers
tell "not a whole number" apart from "out of range" so each gets its own message.
"""

from __future__ import annotations

import re

_WHOLE = re.compile(r"[+-]?[0-9]+")


def parse_whole(text: str) -> int | None:
    """The integer ``text`` writes in ASCII digits with an optional sign (surrounding
    spaces allowed), else None ("1.5", "abc", "²", "")."""
    stripped = text.strip()
    if not _WHOLE.fullmatch(stripped):
        return None
    return int(stripped)
