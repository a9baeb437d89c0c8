"""Finding a click again: the conversions API attributes an order reported with the click
id a redirect appended (``hl_click``) to the exact click, within the reporting workspace.
This is the one lookup of a stored click by id (one at a time, or a bulk call's set)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from hoplink.clicks.models import StoredClick
from hoplink.storage.tx import Tx

# The shape of an id the worker stores (redirect/edge.py's ClickIds hand out 32 hex digits;
# ingest/steps.check_ids lets through 1-64 characters) and the conversions API accepts:
# anything else cannot be a stored click, so it is not looked up.
_CLICK_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


async def find_click(tx: Tx, *, workspace_id: str, click_id: str) -> StoredClick | None:
    """The click with this id in this workspace; None when it is unknown, malformed, older
    than the raw-click retention, not yet written by the worker (a second or so), or
    another workspace's (indistinguishable from unknown: no leak)."""
    if not _CLICK_ID.fullmatch(click_id):
        return None
    return await tx.clicks(workspace_id).get(click_id)


async def find_clicks(
    tx: Tx, *, workspace_id: str, click_ids: Iterable[str]
) -> dict[str, StoredClick]:
    """``find_click`` for a set of ids at once (a bulk call): the ones found, by id."""
    wanted = sorted({c for c in click_ids if _CLICK_ID.fullmatch(c)})
    return await tx.clicks(workspace_id).get_many(wanted)
