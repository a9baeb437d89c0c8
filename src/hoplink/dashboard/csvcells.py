"""CSV output for spreadsheets: a cell a spreadsheet would run as a formula is defused.

Titles, tags, UTM values and visitors' referrers are other people's text; Excel and
LibreOffice evaluate a cell starting with ``= + - @`` (or a tab/CR before one), so such a
cell is prefixed with ``'`` (hoplink.csvformula, the one rule for every CSV export).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from hoplink.csvformula import neutralise


def csv_line(values: Iterable[object]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([neutralise(v) for v in values])
    return out.getvalue()


def csv_text(rows: Iterable[Iterable[object]]) -> str:
    return "".join(csv_line(row) for row in rows)
