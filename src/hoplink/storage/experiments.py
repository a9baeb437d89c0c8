"""Per-variant counts of a link's A/B test, from the breakdown rollups (dimension
``variant``, written by the worker from each click's variant)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.storage import tables as t

_R = t.rollup_link_dim_days.c


async def variant_counts(
    conn: AsyncConnection,
    *,
    workspace_id: str,
    link_id: str,
    variants: Sequence[str],
    from_day: int,
) -> dict[str, tuple[int, int, int]]:
    """variant id → (clicks, human clicks, human visitors: the sum of daily unique visitors)
    since ``from_day`` (unix day). Conversions (orders, GMV) join on the clicks' variant
    once they are recorded."""
    rows = await conn.execute(
        select(_R.value, func.sum(_R.pv), func.sum(_R.human_pv), func.sum(_R.uv_day))
        .where(
            _R.link_id == link_id,
            _R.workspace_id == workspace_id,
            _R.dim == "variant",
            _R.value.in_(list(variants)),
            _R.day >= from_day,
        )
        .group_by(_R.value)
    )
    return {str(v): (int(pv or 0), int(h or 0), int(uv or 0)) for v, pv, h, uv in rows}
