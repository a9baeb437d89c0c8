"""Click counts for lists of links, read from the rollups (never from raw clicks)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from hoplink.analytics.models import Totals
from hoplink.links.models import Link
from hoplink.storage.link_counts import link_totals_between
from hoplink.storage.stats import StatsReader
from hoplink.storage.tx import Tx


async def link_totals(tx: Tx, workspace_id: str, links: Sequence[Link]) -> dict[str, Totals]:
    """All-time totals of each link, one statement for the whole page (a page is ≤ 100)."""
    end = int(time.time() // 3600) + 2  # clicks stamped by a node whose clock runs ahead
    return await StatsReader(tx.conn, workspace_id).link_totals([link.id for link in links], end)


async def link_totals_since(
    tx: Tx, workspace_id: str, links: Sequence[Link], start_hour: int
) -> dict[str, Totals]:
    """Totals of each link from ``start_hour`` (UTC hours since the epoch) until now."""
    end = int(time.time() // 3600) + 2
    ids = [link.id for link in links]
    return await link_totals_between(tx.conn, workspace_id, ids, start_hour, end)
