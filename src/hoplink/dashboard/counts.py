"""Click counts for lists of links, read from the rollups (never from raw clicks)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from hoplink.analytics.models import ScopeKind, StatsScope, Totals
from hoplink.links.models import Link
from hoplink.storage.rollups import StatsReader
from hoplink.storage.tx import Tx


async def link_totals(tx: Tx, workspace_id: str, links: Sequence[Link]) -> dict[str, Totals]:
    """All-time totals of each link: one primary-key range read per link (a page is ≤ 100)."""
    reader = StatsReader(tx.conn, workspace_id)
    end = int(time.time() // 3600) + 2  # clicks stamped by a node whose clock runs ahead
    out: dict[str, Totals] = {}
    for link in links:
        start = int(link.created_at.timestamp() // 3600)
        out[link.id] = await reader.totals(StatsScope(ScopeKind.LINK, link.id), start, end)
    return out
