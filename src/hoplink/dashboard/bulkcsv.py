"""Reading a bulk upload: a CSV with a header row, or one URL per line.

Columns (header names are case-insensitive): ``url`` (required), ``utm_source`` …
``utm_content``, ``channel``, ``campaign`` (a campaign's name or id), ``tags`` (separated
by ``,`` or ``|``), ``title``, ``notes``, ``code``. Text without a ``url`` header is read
one URL per line — not as CSV, since product URLs carry commas in their queries. Line
numbers are the file's own (the header is line 1), so an error points at the line a
seller sees in their editor.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

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
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UploadError(N_("the file is neither UTF-8 nor GB 18030 text; save it as CSV UTF-8"))


def _column(name: str) -> str:
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    return _ALIASES.get(key, key)


def _has_header(first_line: str) -> bool:
    cells = next(csv.reader([first_line]), [])
    return any(_column(c) == "url" for c in cells)


def parse(text: str) -> list[Row]:
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise UploadError(N_("there is nothing to import: paste URLs or choose a CSV file"))
    rows = _parse_csv(text) if _has_header(first) else _parse_lines(lines)
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


def _parse_csv(text: str) -> list[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[Row] = []
    try:
        for cells in reader:
            line = reader.line_num
            if header is None:
                if not any(c.strip() for c in cells):
                    continue
                header = [_column(c) for c in cells]
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
    except csv.Error as exc:
        # csv.Error's own text is English-only and adds little: the line is what helps.
        raise UploadError(
            N_("line %(line)s: the CSV cannot be read; check the quotes on that line"),
            line=reader.line_num,
        ) from exc
    return rows


def split_tags(text: str) -> list[str]:
    return [t.strip() for t in text.replace("|", ",").split(",") if t.strip()]
