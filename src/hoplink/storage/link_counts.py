"""Each link's counts over a span of hours, as a subquery to join, sort and page by.

The span is read from the day rollup for its whole UTC days and from the hour rollup for
the partial days at either end, all through the rollups' covering (workspace_id, bucket,
link_id, pv, human_pv, uv_day) index, so sorting 40,000 links by clicks is one index range
scan per table and a hash aggregate, never a read of raw clicks. ``uv`` is the sum of
``uv_day``: visitor-days (one visitor on three days counts three), as in the list's totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, Subquery, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.analytics.models import Totals
from hoplink.storage import tables as t


def _rows(
    table: Any, bucket: str, workspace_id: str, lo: int, hi: int, ids: Sequence[str] | None
) -> Select[Any]:
    c = table.c
    q = select(c.link_id, c.pv, c.human_pv, c.uv_day).where(
        c.workspace_id == workspace_id, getattr(c, bucket) >= lo, getattr(c, bucket) < hi
    )
    return q if ids is None else q.where(c.link_id.in_(list(ids)))


def link_counts(
    workspace_id: str, start_hour: int, end_hour: int, ids: Sequence[str] | None = None
) -> Subquery:
    """(link_id, pv, human_pv, uv) of the workspace's links (or of ``ids`` among them) with
    clicks in [start_hour, end_hour) (hours since the epoch, UTC); links without are absent."""
    first_day = -(-start_hour // 24)  # the first whole day of the span
    last_day = end_hour // 24  # the day end_hour falls in (not whole)
    h, d = t.rollup_link_hours, t.rollup_link_days
    if first_day >= last_day:  # within one or two partial days: hours only
        parts = [_rows(h, "hour", workspace_id, start_hour, end_hour, ids)]
    else:
        parts = [
            _rows(h, "hour", workspace_id, start_hour, first_day * 24, ids),
            _rows(d, "day", workspace_id, first_day, last_day, ids),
            _rows(h, "hour", workspace_id, last_day * 24, end_hour, ids),
        ]
    r = union_all(*parts).subquery("r")
    return (
        select(
            r.c.link_id,
            func.sum(r.c.pv).label("pv"),
            func.sum(r.c.human_pv).label("human_pv"),
            func.sum(r.c.uv_day).label("uv"),
        )
        .group_by(r.c.link_id)
        .subquery("counts")
    )


async def link_totals_between(
    conn: AsyncConnection, workspace_id: str, ids: Sequence[str], start_hour: int, end_hour: int
) -> dict[str, Totals]:
    """The counts of each of ``ids`` (a page, <= 100) in the span; zero when none."""
    if not ids:
        return {}
    counts = link_counts(workspace_id, start_hour, end_hour, ids)
    rows = await conn.execute(select(counts))
    found = {r.link_id: Totals(pv=int(r.pv), human_pv=int(r.human_pv), uv=int(r.uv)) for r in rows}
    return {i: found.get(i, Totals()) for i in ids}
