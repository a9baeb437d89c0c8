"""CSV output for spreadsheets: a cell a spreadsheet would run as a formula is defused.

Titles, tags, UTM values and visitors' referrers are other people's text; Excel and
LibreOffice evaluate a cell starting with ``= + - @`` (or a tab/CR before one), so such a
cell is prefixed with ``'`` (CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_line(values: Iterable[object]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([cell(v) for v in values])
    return out.getvalue()


def csv_text(rows: Iterable[Iterable[object]]) -> str:
    return "".join(csv_line(row) for row in rows)
