"""The SQL of conversion reports: weighted order sums, clicks per link, links, spend, rates.

Sums come back per (link, UTC day, currency): the caller converts each with that day's
rate and folds them into the groups it was asked for (campaign, channel, tag, ad group).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, and_, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.analytics.models import ScopeKind, StatsScope, Totals
from hoplink.conversions.models import Model
from hoplink.storage import tables as t
from hoplink.storage._rows import in_list
from hoplink.storage.stats import StatsReader

_O = t.orders.c
_T = t.order_touches.c
_L = t.links.c


@dataclass(frozen=True, slots=True)
class OrderSums:
    """Orders of one link (None: unattributed), bucket and currency; weighted per model
    (floats only under the linear model)."""

    link_id: str | None
    bucket: int  # UTC hour or UTC day, as asked
    currency: str
    orders: float
    gmv: float
    refunded: float


@dataclass(frozen=True, slots=True)
class LinkInfo:
    id: str
    code: str
    channel: str | None
    campaign_id: str | None
    campaign_name: str | None
    utm_campaign: str | None
    utm_content: str | None
    tags: tuple[str, ...]


class ConversionReader:
    def __init__(self, conn: AsyncConnection, workspace_id: str) -> None:
        self.conn = conn
        self.workspace_id = workspace_id
        self.stats = StatsReader(conn, workspace_id)

    async def order_sums(
        self,
        scope: StatsScope,
        model: Model,
        start: int,
        end: int,
        *,
        hourly: bool,
        per_link: bool = True,
    ) -> list[OrderSums]:
        """Attributed orders weighted per model, plus (workspace scope) unattributed ones;
        without ``per_link`` summed over links (a series)."""
        bucket = _O.placed_hour if hourly else _O.placed_hour // 24
        if model is Model.LAST_CLICK:
            # The order row carries its last touch's link: no join, one index range.
            lb = bucket.label("b")
            link_col: Any = _O.link_id if per_link else literal(None, type_=_O.link_id.type)
            q = select(
                link_col,
                lb,
                _O.currency,
                func.count(),
                func.sum(_O.amount),
                func.sum(_O.refunded),
            ).where(
                _O.workspace_id == self.workspace_id,
                _O.placed_hour >= start,
                _O.placed_hour < end,
            )
            if scope.kind is not ScopeKind.WORKSPACE:
                q = q.where(_O.link_id.in_(self.stats._links_of(scope)))
            keys = [_O.link_id, lb, _O.currency] if per_link else [lb, _O.currency]
            return [_sums(r) for r in await self.conn.execute(q.group_by(*keys))]
        if model is Model.LINEAR:
            w: Any = 1.0 / cast(_T.touches, Float)
        else:
            w = literal(1)
        cond = [
            _T.workspace_id == self.workspace_id,
            _O.workspace_id == self.workspace_id,
            _O.placed_hour >= start,
            _O.placed_hour < end,
        ]
        if model is Model.FIRST_CLICK:
            cond.append(_T.is_first.is_(True))
        if scope.kind is not ScopeKind.WORKSPACE:
            cond.append(_T.link_id.in_(self.stats._links_of(scope)))
        b = bucket.label("b")
        link: Any = _T.link_id if per_link else literal(None, type_=_T.link_id.type)
        q = (
            select(
                link,
                b,
                _O.currency,
                func.sum(w),
                func.sum(w * _O.amount),
                func.sum(w * _O.refunded),
            )
            .select_from(t.order_touches.join(t.orders, _O.id == _T.order_pk))
            .where(and_(*cond))
            .group_by(*([_T.link_id, b, _O.currency] if per_link else [b, _O.currency]))
        )
        rows = [_sums(r) for r in await self.conn.execute(q)]
        if scope.kind is ScopeKind.WORKSPACE:
            u = (
                select(
                    literal(None, type_=t.orders.c.link_id.type),
                    b,
                    _O.currency,
                    func.count(),
                    func.sum(_O.amount),
                    func.sum(_O.refunded),
                )
                .where(
                    _O.workspace_id == self.workspace_id,
                    _O.placed_hour >= start,
                    _O.placed_hour < end,
                    _O.link_id.is_(None),
                )
                .group_by(b, _O.currency)
            )
            rows += [_sums(r) for r in await self.conn.execute(u)]
        return rows

    async def clicks_per_link(self, scope: StatsScope, start: int, end: int) -> dict[str, Totals]:
        r = self.stats._both(
            scope,
            start,
            end,
            lambda tb: [tb.c.link_id, tb.c.pv, tb.c.human_pv, tb.c.uv_day],
            tables=(t.rollup_link_hours, t.rollup_link_days),
        )
        q = select(
            r.c.link_id, func.sum(r.c.pv), func.sum(r.c.human_pv), func.sum(r.c.uv_day)
        ).group_by(r.c.link_id)
        return {
            link_id: Totals(pv=int(pv), human_pv=int(hp), uv=int(uv))
            for link_id, pv, hp, uv in await self.conn.execute(q)
        }

    async def links(self, ids: Sequence[str]) -> dict[str, LinkInfo]:
        out: dict[str, LinkInfo] = {}
        wanted = sorted(set(ids))
        cm = t.campaigns.c
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            q = (
                select(
                    _L.id,
                    _L.code,
                    _L.channel,
                    _L.campaign_id,
                    cm.name,
                    _L.utm_campaign,
                    _L.utm_content,
                )
                .select_from(t.links.outerjoin(t.campaigns, cm.id == _L.campaign_id))
                .where(_L.workspace_id == self.workspace_id, in_list(self.conn, _L.id, chunk))
            )
            rows = (await self.conn.execute(q)).all()
            tq = (
                select(t.link_tags.c.link_id, t.tags.c.name)
                .join(t.tags, t.tags.c.id == t.link_tags.c.tag_id)
                .where(in_list(self.conn, t.link_tags.c.link_id, chunk))
            )
            tags: dict[str, list[str]] = {}
            for link_id, name in await self.conn.execute(tq):
                tags.setdefault(link_id, []).append(name)
            for r in rows:
                out[r.id] = LinkInfo(
                    id=r.id,
                    code=r.code,
                    channel=r.channel,
                    campaign_id=r.campaign_id,
                    campaign_name=r.name,
                    utm_campaign=r.utm_campaign,
                    utm_content=r.utm_content,
                    tags=tuple(sorted(tags.get(r.id, []))),
                )
        return out

    async def spend(self, start: date, end: date) -> list[tuple[date, str, str, str, int]]:
        """(day, campaign, ad group, currency, spend) of [start, end)."""
        s = t.ad_spend.c
        q = (
            select(s.day, s.campaign, s.ad_group, s.currency, func.sum(s.spend))
            .where(s.workspace_id == self.workspace_id, s.day >= start, s.day < end)
            .group_by(s.day, s.campaign, s.ad_group, s.currency)
        )
        return [(d, c, g, cur, int(v)) for d, c, g, cur, v in await self.conn.execute(q)]


def _sums(row: Any) -> OrderSums:
    link_id, bucket, currency, n, gmv, refunded = row
    return OrderSums(
        link_id=link_id,
        bucket=int(bucket),
        currency=currency,
        orders=float(n),
        gmv=float(gmv or 0),
        refunded=float(refunded or 0),
    )


class RateRepo:
    """The operator's daily exchange rates (platform-wide, not per workspace)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def upsert(self, rows: Sequence[tuple[date, str, str, Decimal]], now: Any) -> int:
        from hoplink.storage.rollups import dialect_insert

        for day, base, quote, rate in rows:
            ins = dialect_insert(self.conn, t.fx_rates).values(
                day=day, base=base, quote=quote, rate=str(rate), updated_at=now
            )
            await self.conn.execute(
                ins.on_conflict_do_update(
                    index_elements=["day", "base", "quote"],
                    set_={"rate": str(rate), "updated_at": now},
                )
            )
        return len(rows)

    async def between(self, start: date, end: date) -> list[tuple[date, str, str, Decimal]]:
        r = t.fx_rates.c
        q = select(r.day, r.base, r.quote, r.rate).where(r.day >= start, r.day <= end)
        return [(d, b, qu, Decimal(v)) for d, b, qu, v in await self.conn.execute(q)]

    async def latest(self, limit: int = 200) -> list[tuple[date, str, str, Decimal]]:
        r = t.fx_rates.c
        q = select(r.day, r.base, r.quote, r.rate).order_by(r.day.desc(), r.base, r.quote)
        return [(d, b, qu, Decimal(v)) for d, b, qu, v in await self.conn.execute(q.limit(limit))]
