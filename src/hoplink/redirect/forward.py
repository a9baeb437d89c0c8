"""What a redirect adds to the stored final URL: the visitor's own query parameters (per
link, "forward query"), the ad platforms' click ids (per link) and the click id.

They are only ever *added*, after the stored query and before the fragment, re-encoded
so nothing in them can reach the scheme, host or path: a parameter is dropped when its
name is a UTM field, the click-id parameter, or any name the stored URL already has
(bound affiliate ids cannot be overridden), when it repeats, when it holds control
characters or invalid UTF-8, or when it is too long. The ad click ids were validated at
the edge (clicks/adids.py) and the click id is ours, so they are appended as they are.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote, unquote_plus

from hoplink.clicks.models import Click
from hoplink.links.urls import CLICK_ID_PARAM, query_params
from hoplink.storage.redirects import Target

MAX_PARAMS = 20
MAX_NAME = 64
MAX_VALUE = 512
MAX_LOCATION = 8000
_FORBIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _clean(text: str) -> bool:
    return not any(unicodedata.category(c) in _FORBIDDEN for c in text)


def forward_query(final_url: str, query_string: bytes, *, click_param: str | None = None) -> str:
    if not query_string:
        return final_url
    taken = {name.lower() for name, _ in query_params(final_url)}
    if click_param is not None:
        taken.add(click_param.lower())
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
    url = _append(final_url, added)
    return url if len(url) <= MAX_LOCATION else final_url


def tag_location(location: str, target: Target, click: Click) -> str:
    """``location`` plus the click's ad click ids (if the link passes them on and does not
    forward the whole query already) and then the click id (if the workspace wants it)."""
    param = target.click_param
    ad_ids = click.ad_click_ids
    if not (ad_ids and target.pass_ad_click_ids and not target.forward_query):
        if param is None:
            return location
        if "#" not in location:  # the usual case, without a list or a partition
            if "?" not in location:
                return f"{location}?{param}={click.click_id}"
            sep = "" if location[-1] in "?&" else "&"
            return f"{location}{sep}{param}={click.click_id}"
        return _append(location, [f"{param}={click.click_id}"])
    taken = {name.lower() for name, _ in query_params(location)}
    added = [f"{n}={v}" for n, v in ad_ids.items() if n.lower() not in taken]
    if param is not None:
        added.append(f"{param}={click.click_id}")
    return _append(location, added) if added else location


def _append(url: str, pieces: list[str]) -> str:
    """Encoded ``name=value`` pieces after the URL's query, before its fragment."""
    base, hash_sign, fragment = url.partition("#")
    if "?" not in base:
        base += "?"
    elif not base.endswith(("?", "&")):
        base += "&"
    return base + "&".join(pieces) + hash_sign + fragment
