"""Per-link "forward query": add the visitor's own query parameters to the destination.

They are only ever *added*, after the stored query and before the fragment, re-encoded
so nothing in them can reach the scheme, host or path: a parameter is dropped when its
name is a UTM field, the click-id parameter, or any name the stored URL already has
(bound affiliate ids cannot be overridden), when it repeats, when it holds control
characters or invalid UTF-8, or when it is too long.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote, unquote_plus

from hoplink.links.urls import CLICK_ID_PARAM, query_params

MAX_PARAMS = 20
MAX_NAME = 64
MAX_VALUE = 512
MAX_LOCATION = 8000
_FORBIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _clean(text: str) -> bool:
    return not any(unicodedata.category(c) in _FORBIDDEN for c in text)


def forward_query(final_url: str, query_string: bytes) -> str:
    if not query_string:
        return final_url
    taken = {name.lower() for name, _ in query_params(final_url)}
    added: list[str] = []
    for piece in query_string.decode("latin-1").split("&"):
        if not piece.isascii():  # browsers percent-encode; raw bytes are not a browser
            continue
        raw_name, _, raw_value = piece.partition("=")
        try:
            name = unquote_plus(raw_name, errors="strict")
            value = unquote_plus(raw_value, errors="strict")
        except UnicodeDecodeError:
            continue
        lower = name.lower()
        if (
            not name
            or len(name) > MAX_NAME
            or len(value) > MAX_VALUE
            or lower.startswith("utm_")
            or lower == CLICK_ID_PARAM
            or lower in taken
            or not (_clean(name) and _clean(value))
        ):
            continue
        taken.add(lower)
        added.append(f"{quote(name, safe='')}={quote(value, safe='')}")
        if len(added) >= MAX_PARAMS:
            break
    if not added:
        return final_url
    base, hash_sign, fragment = final_url.partition("#")
    if "?" not in base:
        base += "?"
    elif not base.endswith(("?", "&")):
        base += "&"
    url = base + "&".join(added) + hash_sign + fragment
    return url if len(url) <= MAX_LOCATION else final_url
