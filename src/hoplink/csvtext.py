"""CSV files as sellers upload them: read as leniently as ``csv.reader``, except where
leniency loses rows without a word.

A quote opened by mistake and never closed (``"20.00,USD``) makes the reader take the rest
of the file as one cell: every row below it vanished from an upload, which then reported
fewer rows than the file has, or failed with the csv module's cell limit (a 500). Those
files are refused here, naming the line the quote opens on; everything else the reader
forgives (a quote inside an unquoted cell, ``"a"b``) is still read as before.
"""

from __future__ import annotations

import csv
import io
import re


class UnreadableCsv(ValueError):
    """The file cannot be read into rows. ``code`` is stable (``unclosed_quote``,
    ``unreadable_csv``); ``line`` is the file's line (1-based) where the trouble starts."""

    def __init__(self, code: str, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.code, self.line, self.message = code, line, message


def numbered_rows(text: str, *, delimiter: str = ",") -> list[tuple[int, list[str]]]:
    """Each record of ``text`` with the line it starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            rows.append((start, cells))
            start = reader.line_num + 1
    except csv.Error:  # the cell limit, reached by an unclosed quote or a giant cell
        _check_closed(text, start, delimiter)
        raise UnreadableCsv(
            "unreadable_csv", start, "a cell here is longer than 128 KB; is this the right file?"
        ) from None
    if rows:
        _check_closed(text, rows[-1][0], delimiter)
    return rows


def rows(text: str, *, delimiter: str = ",") -> list[list[str]]:
    """The records of ``text`` (see ``numbered_rows``)."""
    return [cells for _, cells in numbered_rows(text, delimiter=delimiter)]


def _check_closed(text: str, start: int, delimiter: str) -> None:
    # Only the last record read can run to the end of the file inside a quote.
    tail = "".join(io.StringIO(text, newline="").readlines()[start - 1 :])
    if _ends_inside_quotes(tail, delimiter):
        raise UnreadableCsv("unclosed_quote", start, "a quote opened on this line is never closed")


def _ends_inside_quotes(text: str, delimiter: str) -> bool:
    """Whether the lenient reader ends ``text`` inside a quoted cell: a quote opens one only
    at the start of a cell, ``""`` inside it is a quote, elsewhere a quote is a character.
    (The strict reader would say so too, but stops first at the 128 KB cell limit.)"""
    special = re.compile('["\r\n' + re.escape(delimiter) + "]")
    inside, at_start, after, skip = False, True, 0, -1
    for match in special.finditer(text):
        i, ch = match.start(), match.group()
        if i == skip:
            continue
        if inside:
            if ch == '"':
                if text.startswith('"', i + 1):
                    skip = i + 1
                    continue
                inside, at_start, after = False, False, i + 1
            continue
        if i > after:
            at_start = False
        if ch == '"':
            inside = at_start
            at_start = False
        else:
            at_start = True
        after = i + 1
    return inside
