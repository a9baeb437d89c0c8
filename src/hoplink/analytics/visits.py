"""Single visits (the raw click log), page by page, and all-time visit totals.

The stats API answers with rollups; some clients (the Shlink-compatible API) want the
visits themselves. They come from the raw click log, so only the last
HOPLINK_CLICK_RETENTION_DAYS are there, while totals come from the rollups and cover
all time."""

from __future__ import annotations

from datetime import UTC, datetime

from hoplink.analytics.models import ScopeKind, StatsScope, Totals, Visit, VisitQuery
from hoplink.errors import NotFound
from hoplink.storage.stats import StatsReader
from hoplink.storage.tx import Tx
from hoplink.storage.visits import VisitReader


async def list_visits(tx: Tx, query: VisitQuery) -> tuple[list[Visit], int]:
    """One page of visits and how many the query matches in all."""
    return await VisitReader(tx.conn, query.workspace_id).page(query)


def _hour_after(now: datetime | None) -> int:
    return int((now or datetime.now(UTC)).timestamp()) // 3600 + 1


async def link_totals(
    tx: Tx, *, workspace_id: str, link_ids: list[str], now: datetime | None = None
) -> dict[str, Totals]:
    """All-time totals of these links (which must be the workspace's)."""
    return await StatsReader(tx.conn, workspace_id).link_totals(link_ids, _hour_after(now))


async def workspace_totals(tx: Tx, *, workspace_id: str, now: datetime | None = None) -> Totals:
    reader = StatsReader(tx.conn, workspace_id)
    return await reader.totals(StatsScope(ScopeKind.WORKSPACE), 0, _hour_after(now))


async def tag_totals(tx: Tx, *, workspace_id: str) -> dict[str, Totals]:
    """All-time totals of the live links of each tag of the workspace."""
    return await VisitReader(tx.conn, workspace_id).tag_totals()


async def require_tag(tx: Tx, *, workspace_id: str, name: str) -> None:
    if name not in await tx.links(workspace_id).tag_names():
        raise NotFound("no tag with this name")
