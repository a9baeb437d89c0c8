"""Per-variant figures of a link's A/B test: traffic from the breakdown rollups (dimension
``variant``, written by the worker from each click's variant), orders from the conversions
joined to their click (``orders.click_id`` → ``clicks.variant``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.storage import tables as t

_R = t.rollup_link_dim_days.c
_O, _C = t.orders.c, t.clicks.c


async def variant_counts(
    conn: AsyncConnection,
    *,
    workspace_id: str,
    link_id: str,
    variants: Sequence[str],
    from_day: int,
) -> dict[str, tuple[int, int, int]]:
    """variant id → (clicks, human clicks, human visitors: the sum of daily unique visitors)
    since ``from_day`` (unix day)."""
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


@dataclass(frozen=True, slots=True)
class VariantOrders:
    """The orders of one variant, UTC day (unix day) and currency."""

    variant: str
    day: int
    currency: str
    orders: int
    amount: int  # minor units of ``currency``
    refunded: int


async def variant_orders(
    conn: AsyncConnection,
    *,
    workspace_id: str,
    link_id: str,
    variants: Sequence[str],
    since: datetime,
) -> tuple[list[VariantOrders], dict[str, int]]:
    """The orders placed since ``since`` whose attributed click (the order's last touch,
    ``orders.click_id``) is a human click of this link in one of ``variants``: sums per
    variant, day and currency, and per variant the number of distinct clicks that led to
    an order (a click with two orders converted once: the z-test's numerator)."""
    joined = t.orders.join(
        t.clicks,
        (_C.click_id == _O.click_id) & (_C.workspace_id == _O.workspace_id),
    )
    where = (
        _O.workspace_id == workspace_id,
        _O.link_id == link_id,
        _O.placed_at >= since,
        _C.link_id == link_id,
        _C.variant.in_(list(variants)),
        _C.bot.is_(None),
    )
    day = (_O.placed_hour // 24).label("day")
    rows = await conn.execute(
        select(
            _C.variant,
            day,
            _O.currency,
            func.count(),
            func.sum(_O.amount),
            func.sum(_O.refunded),
        )
        .select_from(joined)
        .where(*where)
        .group_by(_C.variant, day, _O.currency)
    )
    sums = [
        VariantOrders(str(v), int(d), str(c), int(n), int(a or 0), int(r or 0))
        for v, d, c, n, a, r in rows
    ]
    converted = await conn.execute(
        select(_C.variant, func.count(func.distinct(_C.click_id)))
        .select_from(joined)
        .where(*where)
        .group_by(_C.variant)
    )
    return sums, {str(v): int(n) for v, n in converted}
