"""Readers of exported files: CSV (generic, Bitly's, Shlink's) and YOURLS SQL dumps.

They read text the user gave; nothing here fetches, writes or validates links (the link
service does, per row). A row that cannot be read is returned with its ``problem``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from urllib.parse import urlsplit

import idna

from hoplink import csvtext
from hoplink.errors import InvalidInput
from hoplink.imports.models import Source, SourceLink
from hoplink.wholenumbers import parse_whole

# Header names (lower case, spaces/underscores/dashes removed) of each field, across the
# exports of Bitly ("Bitlink", "Long URL", "Clicks"), Shlink's web client ("shortCode",
# "longUrl", "visits", tags joined with "|") and plain spreadsheets.
_ALIASES = {
    "url": ("url", "longurl", "destination", "destinationurl", "target", "originalurl"),
    "code": ("code", "shortcode", "keyword", "slug", "backhalf", "custombackhalf"),
    "short_url": ("shorturl", "bitlink", "link", "shortlink"),
    "domain": ("domain", "shortdomain"),
    "title": ("title", "name"),
    "tags": ("tags", "tag"),
    "clicks": ("clicks", "visits", "visitcount", "totalclicks", "engagements"),
}
MAX_ROWS = 200_000


def _norm(header: str) -> str:
    return re.sub(r"[\s_\-]", "", header.strip().lstrip("\ufeff").lower())


@lru_cache(maxsize=4096)  # an export names a handful of short domains, 100,000 times
def ascii_host(host: str) -> str | None:
    host = host.strip().rstrip(".").lower()
    if not host:
        return None
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def _short_url(value: str) -> tuple[str | None, str | None, str | None]:
    """(domain, code, why it cannot be read) of a short URL such as bit.ly/abc or
    https://go.例子.cn/x."""
    value = value.strip()
    if not value:
        return None, None, None
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
    except ValueError:  # "http://[::1": an unclosed IPv6 bracket, a bad port ...
        return None, None, f"short_url: {value[:60]!r} is not a URL"
    code = parts.path.strip("/") or None
    return ascii_host(hostname or ""), code, None


def old_domain(value: str | None) -> str | None:
    """The old short domain given for a whole file (the API's, the dashboard's and the
    CLI's ``domain``), ASCII; blank is none. Refused when it is not a host name."""
    if value is None or not value.strip():
        return None
    host = ascii_host(value)
    if host is None:
        raise InvalidInput.one(
            "domain",
            "invalid_host",
            f"{value.strip()[:60]!r} is not a host name; give the old short domain, e.g. sho.rt",
        )
    return host


def _clicks(value: str | None) -> int | str:
    """The click count of a row, else why it cannot be one."""
    if value is None or not value.strip():
        return 0
    number = parse_whole(value.replace(",", ""))  # "1,024": Bitly's thousands separator
    if number is None:
        return f"clicks: {value.strip()[:20]!r} is not a whole number"
    if number < 0:
        return f"clicks: must be 0 or more, not {number}"
    return number


def _tags(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    separator = "|" if "|" in value else ","
    return tuple(t.strip() for t in value.split(separator) if t.strip())


def read_csv(text: str, *, domain: str | None = None) -> list[SourceLink]:
    """A CSV with a header row; ``domain``: the old short domain when the file has none."""
    try:
        return _read_csv(iter(csvtext.rows(text)), old_domain(domain))
    except csvtext.UnreadableCsv as exc:
        raise InvalidInput.one("content", exc.code, str(exc)) from None


def _read_csv(reader: Iterator[list[str]], domain: str | None) -> list[SourceLink]:
    header = next(reader, None)
    if header is None:
        return []
    columns: dict[str, int] = {}
    for i, name in enumerate(header):
        for fieldname, aliases in _ALIASES.items():
            if _norm(name) in aliases and fieldname not in columns:
                columns[fieldname] = i
    out: list[SourceLink] = []
    for n, record in enumerate(reader, start=1):
        if n > MAX_ROWS:
            break
        if not any(cell.strip() for cell in record):
            continue

        def cell(name: str, record: list[str] = record) -> str | None:
            i = columns.get(name)
            return record[i] if i is not None and i < len(record) else None

        url = (cell("url") or "").strip()
        row_domain, code, unreadable = _short_url(cell("short_url") or "")
        if cell("code"):
            code = (cell("code") or "").strip() or code
        typed_domain = (cell("domain") or "").strip()
        if typed_domain:
            row_domain = ascii_host(typed_domain)
            if row_domain is None:
                unreadable = f"domain: {typed_domain[:60]!r} is not a host name"
        clicks = _clicks(cell("clicks"))
        problem = None
        if "url" not in columns:
            problem = "the file has no URL column (url, long_url, destination ...)"
        elif not url:
            problem = "url: the URL is empty"
        elif unreadable:
            problem = unreadable
        elif isinstance(clicks, str):
            problem = clicks
        out.append(
            SourceLink(
                row=n,
                url=url,
                code=code,
                domain=row_domain or domain,
                title=(cell("title") or "").strip() or None,
                tags=_tags(cell("tags")),
                clicks=clicks if isinstance(clicks, int) else 0,
                problem=problem,
            )
        )
    return out


# --- YOURLS: INSERT statements of a mysqldump ------------------------------------------

_INSERT = re.compile(
    r"INSERT\s+(?:IGNORE\s+)?INTO\s+[`\"]?(\w*url)[`\"]?\s*(\(([^)]*)\))?\s*VALUES\s*",
    re.IGNORECASE,
)
_YOURLS_COLUMNS = ("keyword", "url", "title", "timestamp", "ip", "clicks")
_ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}


def _values(text: str, pos: int) -> Iterator[tuple[list[str | None], int]]:
    """The tuples of one VALUES list from ``pos``: (values, position after the tuple)."""
    n = len(text)
    while pos < n:
        while pos < n and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= n or text[pos] != "(":
            return
        pos += 1
        row: list[str | None] = []
        while True:
            while text[pos] in " \t\r\n":
                pos += 1
            if text[pos] == "'":
                pos += 1
                chars: list[str] = []
                while True:
                    c = text[pos]
                    if c == "\\":
                        nxt = text[pos + 1]
                        chars.append(_ESCAPES.get(nxt, nxt))
                        pos += 2
                    elif c == "'" and text[pos + 1 : pos + 2] == "'":
                        chars.append("'")
                        pos += 2
                    elif c == "'":
                        pos += 1
                        break
                    else:
                        chars.append(c)
                        pos += 1
                row.append("".join(chars))
            else:
                end = pos
                while text[end] not in ",)":
                    end += 1
                token = text[pos:end].strip()
                row.append(None if token.upper() == "NULL" else token)
                pos = end
            while text[pos] in " \t\r\n":
                pos += 1
            if text[pos] == ",":
                pos += 1
                continue
            if text[pos] == ")":
                pos += 1
                break
            raise ValueError(f"unexpected {text[pos]!r} at offset {pos}")
        yield row, pos


def read_yourls_dump(text: str, *, domain: str | None = None) -> list[SourceLink]:
    """The rows of every ``INSERT INTO `<prefix>url` ...`` of a MySQL/MariaDB dump.

    ``domain``: the YOURLS site's short domain (the dump does not say it). The ``ip``
    column is never read into anything."""
    host = old_domain(domain)
    out: list[SourceLink] = []
    for match in _INSERT.finditer(text):
        names = (
            [c.strip(' `"').lower() for c in match.group(3).split(",")]
            if match.group(3)
            else list(_YOURLS_COLUMNS)
        )
        if "keyword" not in names or "url" not in names:
            continue
        try:
            for values, _ in _values(text, match.end()):
                record = dict(zip(names, values, strict=False))
                clicks = _clicks(record.get("clicks"))
                out.append(
                    SourceLink(
                        row=len(out) + 1,
                        url=(record.get("url") or "").strip(),
                        code=(record.get("keyword") or "").strip() or None,
                        domain=host,
                        title=(record.get("title") or "").strip() or None,
                        clicks=clicks if isinstance(clicks, int) else 0,
                        problem=clicks if isinstance(clicks, str) else None,
                    )
                )
                if len(out) >= MAX_ROWS:
                    return out
        except (IndexError, ValueError) as exc:
            out.append(SourceLink(row=len(out) + 1, url="", problem=f"unreadable SQL: {exc}"[:200]))
    return out


def read(source: Source, text: str, *, domain: str | None = None) -> list[SourceLink]:
    if source is Source.YOURLS:
        return read_yourls_dump(text, domain=domain)
    return read_csv(text, domain=domain)
