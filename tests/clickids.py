"""Reading the click id a redirect appends to its Location (issue 10)."""

from __future__ import annotations

import re

CLICK_ID = re.compile(r"[0-9a-f]{32}")


def split_click_id(location: str, param: str = "hl_click") -> tuple[str, str]:
    """(the Location without its click id, the click id). Fails unless the click id is
    there exactly once, as the last parameter before the fragment, 32 hex digits."""
    base, hash_sign, fragment = location.partition("#")
    marker = f"{param}="
    assert base.count(marker) == 1, location
    head, _, click_id = base.rpartition(marker)
    assert head[-1:] in ("?", "&") and CLICK_ID.fullmatch(click_id), location
    return head[:-1] + hash_sign + fragment, click_id


def without_click_id(location: str | None, param: str = "hl_click") -> str:
    assert location is not None
    return split_click_id(location, param)[0]
