"""Spreadsheet-formula neutralisation for CSV output (CSV injection): the one rule.

Titles, tags, campaign names, import reasons and visitors' user agents are other people's
text. Excel and LibreOffice run a cell that starts with ``= + - @`` (or a tab or carriage
return, which they skip before one) as a formula, so such a text cell gets a leading
``'``, which spreadsheets show as text. Numbers, dates and empty cells pass unchanged.
"""

from __future__ import annotations

from typing import TypeVar

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

T = TypeVar("T")


def neutralise(value: T) -> T | str:
    """``value`` as a CSV cell no spreadsheet runs: a text cell that starts like a formula
    gets a leading quote; everything else is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralise_text(value: str | None) -> str:
    """A text cell: ``None`` is the empty cell, otherwise as ``neutralise``."""
    return "" if value is None else "'" + value if value.startswith(FORMULA_START) else value
