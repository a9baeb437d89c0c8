"""Finding a click again: the conversions API attributes an order reported with the click
id a redirect appended (``hl_click``) to the exact click, within the reporting workspace."""

from __future__ import annotations

import re

from hoplink.clicks.models import StoredClick
from hoplink.storage.tx import Tx

_CLICK_ID = re.compile(r"[0-9a-f]{32}")  # what redirect/edge.py's ClickIds hands out


async def find_click(tx: Tx, *, workspace_id: str, click_id: str) -> StoredClick | None:
    """The click with this id in this workspace; None when it is unknown, malformed, older
    than the raw-click retention, not yet written by the worker (a second or so), or
    another workspace's (indistinguishable from unknown: no leak)."""
    if not _CLICK_ID.fullmatch(click_id):
        return None
    return await tx.clicks(workspace_id).get(click_id)
