"""Reading the click id a redirect appends to its Location (issue 10)."""

from __future__ import annotations

import re

CLICK_ID = re.compile(r"[0-9a-f]{32}")


def split_click_id(location: str, param: str = "hl_click") -> tuple[str, str]:
    """(the Location without its click id, the click id). Fails unless the click id is
    there exactly once (no other parameter of that name, in any case), as the last
    parameter before the fragment, 32 hex digits."""
    base, hash_sign, fragment = location.partition("#")
    path, question_mark, query = base.partition("?")
    assert question_mark, location
    pieces = query.split("&")
    names = [piece.partition("=")[0].lower() for piece in pieces]
    assert names.count(param.lower()) == 1 and names[-1] == param.lower(), location
    name, _, click_id = pieces[-1].partition("=")
    assert name == param and CLICK_ID.fullmatch(click_id), location
    rest = "&".join(pieces[:-1])
    return path + (f"?{rest}" if rest else "") + hash_sign + fragment, click_id


def without_click_id(location: str | None, param: str = "hl_click") -> str:
    assert location is not None
    return split_click_id(location, param)[0]
