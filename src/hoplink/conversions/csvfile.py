"""Reading an uploaded CSV file (orders, ad spend, exchange rates) into rows of cells.

``csv.reader`` raises ``csv.Error`` on input it cannot split — a cell longer than the
module's field limit (128 KiB), an unterminated quote at the end in strict mode — which
went up as a server error (500). Here it is the client's 422 naming the field and line.
"""

from __future__ import annotations

import csv
import io

from hoplink.errors import FieldError, InvalidInput


def read_rows(text: str, *, field: str = "file", delimiter: str = ",") -> list[list[str]]:
    """Every row of ``text``; InvalidInput naming ``field`` and the line it cannot read."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        return list(reader)
    except csv.Error as exc:
        raise InvalidInput(
            FieldError(
                field,
                "unreadable_csv",
                f"line {reader.line_num}: not a readable CSV line ({exc})"[:200],
            )
        ) from None
