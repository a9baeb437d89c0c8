"""The SQL of conversion reports: weighted order sums, clicks per link, links, spend, rates.

Order sums come from the order rollups, never the orders. They come back per (link, UTC
day, currency): the caller converts each with that day's rate and folds them into the
groups it was asked for (campaign, channel, tag, ad group).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

from sqlalchemy import Table, case, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.analytics.models import ScopeKind, StatsScope, Totals
from hoplink.conversions.models import Model
from hoplink.storage import tables as t
from hoplink.storage._rows import in_list
from hoplink.storage.order_rollups import UNATTRIBUTED
from hoplink.storage.stats import StatsReader, _spans

_L = t.links.c


class OrderSums(NamedTuple):
    """Orders of one link (None: unattributed), bucket and currency; weighted per model
    (floats only under the linear model). A tuple: a 30-day report builds ~12,000."""

    link_id: str | None
    bucket: int  # UTC hour or UTC day, as asked (-1: the whole range, see order_sums)
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
        whole_range_in: str | None = None,
    ) -> list[OrderSums]:
        """Attributed orders weighted per model, plus (workspace scope) unattributed ones;
        without ``per_link`` summed over links (a series). Read from the order rollups
        (storage/order_rollups.py): UTC hours at the edges of the range, whole UTC days in
        between, or hours throughout when ``hourly``. Sums in the ``whole_range_in``
        currency (the report's own: no rate, so no day needed) come as one bucket, -1."""
        workspace = scope.kind is ScopeKind.WORKSPACE
        if hourly and not per_link and workspace:
            # Every model credits each order once in total: the workspace series is the
            # same for all of them.
            w = t.order_rollup_workspace_hours.c
            q = (
                select(
                    w.hour, w.currency, func.sum(w.orders), func.sum(w.gmv), func.sum(w.refunded)
                )
                .where(w.workspace_id == self.workspace_id, w.hour >= start, w.hour < end)
                .group_by(w.hour, w.currency)
            )
            return [
                OrderSums(None, int(h), cur, float(n), float(g or 0), float(r or 0))
                for h, cur, n, g, r in await self.conn.execute(q)
            ]
        spans: list[tuple[Table, int, int]]
        if hourly:
            spans = [(t.order_rollup_hours, start, end)] if start < end else []
        else:
            edges, middle = _spans(start, end)
            spans = [(t.order_rollup_hours, a, b) for a, b in edges]
            if middle is not None:
                spans.append((t.order_rollup_days, *middle))
        parts = []
        for table, lo, hi in spans:
            c = table.c
            at = c.hour if table is t.order_rollup_hours else c.day
            bucket: Any = at // 24 if table is t.order_rollup_hours and not hourly else at
            columns = [
                c.link_id if per_link else literal(UNATTRIBUTED).label("link_id"),
                bucket.label("b"),
                c.currency,
                c.touches,
                c.orders,
                c.gmv,
                c.refunded,
            ]
            mine = [c.workspace_id == self.workspace_id, at >= lo, at < hi]
            chosen = select(*columns).where(*mine, c.model == model.value)
            if not workspace:
                chosen = chosen.where(c.link_id.in_(self.stats._links_of(scope)))
            parts.append(chosen)
            if workspace and model is not Model.LAST_CLICK:
                parts.append(
                    select(*columns).where(
                        *mine, c.model == Model.LAST_CLICK.value, c.link_id == UNATTRIBUTED
                    )
                )
        if not parts:
            return []
        r = union_all(*parts).subquery("r")
        b: Any = r.c.b
        if whole_range_in is not None:
            b = case((r.c.currency == whole_range_in, literal(-1)), else_=r.c.b)
        b = b.label("b")
        q = select(
            r.c.link_id,
            b,
            r.c.currency,
            r.c.touches,
            func.sum(r.c.orders),
            func.sum(r.c.gmv),
            func.sum(r.c.refunded),
        ).group_by(r.c.link_id, b, r.c.currency, r.c.touches)
        rows = await self.conn.execute(q)
        if model is not Model.LINEAR:  # touches = 1: one row per (link, bucket, currency)
            return [
                OrderSums(link or None, int(b), cur, float(n), float(g or 0), float(r or 0))
                for link, b, cur, _, n, g, r in rows
            ]
        return _fold(rows)

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


def _fold(rows: Iterable[Any]) -> list[OrderSums]:
    """Rows of (link, bucket, currency, touches, orders, gmv, refunded), one per touch
    count, to credit per (link, bucket, currency): each row divided by its touch count
    (linear shares; exact as fractions, integers for the whole orders of last and first
    click), then floats."""
    whole: dict[tuple[str, int, str], list[int]] = {}
    shares: dict[tuple[str, int, str], list[Fraction]] = {}
    for link_id, b, currency, n, orders, gmv, refunded in rows:
        key = (link_id, int(b), currency)
        values = (int(orders), int(gmv or 0), int(refunded or 0))
        if n == 1:
            w = whole.setdefault(key, [0, 0, 0])
            w[0], w[1], w[2] = w[0] + values[0], w[1] + values[1], w[2] + values[2]
        else:
            f = shares.setdefault(key, [Fraction(0)] * 3)
            for i, v in enumerate(values):
                f[i] += Fraction(v, int(n))
    out = []
    for key in whole.keys() | shares.keys():
        o, g, r = whole.get(key, (0, 0, 0))
        if key in shares:
            fo, fg, fr = shares[key]
            sums = (float(o + fo), float(g + fg), float(r + fr))
        else:
            sums = (float(o), float(g), float(r))
        if any(sums):
            link_id, b, currency = key
            out.append(OrderSums(link_id or None, b, currency, *sums))
    return out


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
