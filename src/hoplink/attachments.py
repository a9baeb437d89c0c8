"""The ``Content-Disposition`` of a download whose name holds text someone typed.

A response header is Latin-1 on the wire: a tag or campaign named ``双11`` in a file name
made the CSV exports fail with a 500. The name is sent twice (RFC 6266): an ASCII
fallback (``filename``, anything else replaced by ``_``) and the exact name percent-encoded
as UTF-8 (``filename*``), which every current browser prefers. Neither can carry a quote,
a semicolon or a line break into the header.
"""

from __future__ import annotations

from urllib.parse import quote


def _ascii(ch: str) -> str:
    return ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_"


def safe_name_part(text: str) -> str:
    """``text`` as part of a file name: letters and digits of any script, ``-`` and ``_``;
    everything else (separators, quotes, control characters) becomes ``_``."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)


def attachment(filename: str) -> str:
    """The header value that saves the response as ``filename``."""
    fallback = "".join(_ascii(ch) for ch in filename)
    if fallback == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
