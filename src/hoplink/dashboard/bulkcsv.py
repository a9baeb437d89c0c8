"""Reading a bulk upload: a CSV with a header row, or one URL per line.

Columns (header names are case-insensitive): ``url`` (required), ``utm_source`` …
``utm_content``, ``channel``, ``campaign`` (a campaign's name or id), ``tags`` (separated
by ``,`` or ``|``), ``title``, ``notes``, ``code``. Text without a ``url`` header is read
one URL per line — not as CSV, since product URLs carry commas in their queries. Line
numbers are the file's own (the header is line 1; a row whose quoted cell spans lines has
the line it starts on), so an error points at the line a seller sees in their editor. The
header decides the delimiter: ``,``, else ``;`` (Excel where the decimal separator is a
comma), else a tab.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

from hoplink import csvtext
from hoplink.dashboard.i18n import N_
from hoplink.links.urls import UTM_FIELDS

COLUMNS: tuple[str, ...] = (
    "url",
    *UTM_FIELDS,
    "channel",
    "campaign",
    "tags",
    "title",
    "notes",
    "code",
)
_ALIASES = {"campaign_id": "campaign", "link": "url", "destination": "url", "back_half": "code"}
MAX_ROWS = 10_000


class UploadError(Exception):
    """The upload as a whole cannot be read (no row was created). ``template`` is an
    N_-marked catalogue message, so the page can show it in the reader's language."""

    def __init__(self, template: str, **params: object) -> None:
        self.template, self.params = template, params
        super().__init__(template % params if params else template)


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    values: dict[str, str]


def decode(data: bytes) -> str:
    """UTF-8 (with or without the BOM Excel writes), else GB 18030 (Chinese Excel's CSV)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:  # PostgreSQL cannot store it (hoplink.storable)
            raise UploadError(N_("the file contains a NUL character; save it as CSV text"))
        return text
    raise UploadError(N_("the file is neither UTF-8 nor GB 18030 text; save it as CSV UTF-8"))


def _column(name: str) -> str:
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    return _ALIASES.get(key, key)


def _header_delimiter(first_line: str) -> str | None:
    """The delimiter that makes ``first_line`` a header with a ``url`` column (Excel saves
    CSV with ``;`` where the decimal separator is a comma, and some tools use tabs), or
    None: not a header."""
    for delimiter in (",", ";", "\t"):
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        if any(_column(c) == "url" for c in cells):
            return delimiter
    return None


def parse(text: str) -> list[Row]:
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise UploadError(N_("there is nothing to import: paste URLs or choose a CSV file"))
    delimiter = _header_delimiter(first)
    rows = _parse_lines(lines) if delimiter is None else _parse_csv(text, delimiter)
    if not rows:
        raise UploadError(N_("the file has a header but no rows"))
    if len(rows) > MAX_ROWS:
        raise UploadError(
            N_("at most %(max)s links per upload (this one has %(rows)s); split the file"),
            max=f"{MAX_ROWS:,}",
            rows=f"{len(rows):,}",
        )
    return rows


def _parse_lines(lines: list[str]) -> list[Row]:
    return [
        Row(line=number, values={"url": line.strip()})
        for number, line in enumerate(lines, start=1)
        if line.strip()
    ]


def _parse_csv(text: str, delimiter: str) -> list[Row]:
    try:
        records = csvtext.numbered_rows(text, delimiter=delimiter)
    except csvtext.UnreadableCsv as exc:
        # The line is what helps (the reason's own text is English-only).
        raise UploadError(
            N_("line %(line)s: the CSV cannot be read; check the quotes on that line"),
            line=exc.line,
        ) from None
    header: list[str] | None = None
    rows: list[Row] = []
    for line, cells in records:
        if header is None:
            if not any(c.strip() for c in cells):
                continue
            header = [_column(c) for c in cells]
            twice = next((c for c in cells if c.strip() and header.count(_column(c)) > 1), None)
            if twice is not None:
                raise UploadError(
                    N_("line %(line)s: the column %(column)s appears twice; keep one"),
                    line=line,
                    column=repr(twice),
                )
            unknown = [c for c in cells if _column(c) not in COLUMNS and c.strip()]
            if unknown:
                raise UploadError(
                    N_("line %(line)s: unknown column %(column)s; the columns are %(columns)s"),
                    line=line,
                    column=repr(unknown[0]),
                    columns=", ".join(COLUMNS),
                )
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            raise UploadError(
                N_(
                    "line %(line)s: %(values)s values but the header has %(columns)s"
                    " columns; quote values that contain commas"
                ),
                line=line,
                values=len(cells),
                columns=len(header),
            )
        values = dict.fromkeys(COLUMNS, "")
        values.update({name: cell for name, cell in zip(header, cells, strict=False) if name})
        rows.append(Row(line=line, values=values))
        if len(rows) > MAX_ROWS:
            break
    return rows


def split_tags(text: str) -> list[str]:
    return [t.strip() for t in text.replace("|", ",").split(",") if t.strip()]
