"""Stats reads: the SQL that stats queries become, over the rollups the worker writes
(storage/rollups.py). Never touches the raw clicks.

A query over hours [start, end) reads the whole days in between from the day tables and
only the ragged edges from the hour tables (``_spans``), so 30 days of a 1,000-link
workspace is 30k rows rather than 720k.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.analytics.models import (
    NONE_VALUE,
    GroupRow,
    HourRow,
    ScopeKind,
    StatsScope,
    Totals,
)
from hoplink.storage import tables as t
from hoplink.storage._rows import in_list


def _spans(start: int, end: int) -> tuple[list[tuple[int, int]], tuple[int, int] | None]:
    """Split hours [start, end) into hour ranges at the edges and whole days in between."""
    first_day, last_day = -(-start // 24), end // 24
    if first_day >= last_day:
        return ([(start, end)] if start < end else []), None
    edges = [(a, b) for a, b in ((start, first_day * 24), (last_day * 24, end)) if a < b]
    return edges, (first_day, last_day)


_L = t.links.c


class StatsReader:
    """Reads the rollups of one workspace for a scope; never touches the raw clicks."""

    def __init__(self, conn: AsyncConnection, workspace_id: str) -> None:
        self.conn = conn
        self.workspace_id = workspace_id

    # Which links a scope covers (deleted links included: their clicks happened).
    def _links_of(self, scope: StatsScope) -> Select[Any]:
        mine = _L.workspace_id == self.workspace_id
        if scope.kind is ScopeKind.LINK:
            return select(_L.id).where(mine, _L.id == scope.ref)
        if scope.kind is ScopeKind.CAMPAIGN:
            return select(_L.id).where(mine, _L.campaign_id == scope.ref)
        if scope.kind is ScopeKind.CHANNEL:
            return select(_L.id).where(mine, _L.channel == scope.ref)
        if scope.kind is ScopeKind.TAG:
            return (
                select(t.link_tags.c.link_id)
                .join(t.tags, t.tags.c.id == t.link_tags.c.tag_id)
                .where(t.tags.c.workspace_id == self.workspace_id, t.tags.c.name == scope.ref)
            )
        raise ValueError(f"not a link-level scope: {scope.kind}")

    def _where(self, table: Table, scope: StatsScope) -> ColumnElement[bool]:
        if scope.kind is ScopeKind.WORKSPACE:
            return table.c.workspace_id == self.workspace_id
        # Link-level scopes name their links through a subquery on the workspace's links,
        # not with a workspace_id condition here: the planner then walks the (link_id,
        # bucket) primary key per link instead of the whole workspace's index range.
        return table.c.link_id.in_(self._links_of(scope))

    async def scope_exists(self, scope: StatsScope) -> bool:
        if scope.kind is ScopeKind.LINK:
            q = select(_L.id).where(
                _L.id == scope.ref, _L.workspace_id == self.workspace_id, _L.deleted_at.is_(None)
            )
        elif scope.kind is ScopeKind.CAMPAIGN:
            c = t.campaigns.c
            q = select(c.id).where(c.id == scope.ref, c.workspace_id == self.workspace_id)
        elif scope.kind is ScopeKind.TAG:
            g = t.tags.c
            q = select(g.id).where(g.name == scope.ref, g.workspace_id == self.workspace_id)
        else:
            return True
        return (await self.conn.execute(q.limit(1))).first() is not None

    def _tables(self, scope: StatsScope, *, dims: bool) -> tuple[Table, Table]:
        if scope.kind is ScopeKind.WORKSPACE:
            if dims:
                return t.rollup_workspace_dim_hours, t.rollup_workspace_dim_days
            return t.rollup_workspace_hours, t.rollup_workspace_days
        if dims:
            return t.rollup_link_dim_hours, t.rollup_link_dim_days
        return t.rollup_link_hours, t.rollup_link_days

    def _both(
        self,
        scope: StatsScope,
        start: int,
        end: int,
        columns: Callable[[Table], list[ColumnElement[Any]]],
        *,
        dims: bool = False,
        tables: tuple[Table, Table] | None = None,
    ) -> Any:
        """UNION ALL of the hour-table edges and the day-table middle of [start, end)."""
        hours, days = tables or self._tables(scope, dims=dims)
        edges, middle = _spans(start, end)
        parts = [
            select(*columns(hours)).where(
                self._where(hours, scope), hours.c.hour >= a, hours.c.hour < b
            )
            for a, b in edges
        ]
        if middle is not None:
            parts.append(
                select(*columns(days)).where(
                    self._where(days, scope), days.c.day >= middle[0], days.c.day < middle[1]
                )
            )
        if not parts:  # an empty range: a query that returns nothing
            parts.append(select(*columns(hours)).where(literal(False)))
        return union_all(*parts).subquery("r")

    async def hours(self, scope: StatsScope, start: int, end: int) -> list[HourRow]:
        table = self._tables(scope, dims=False)[0]
        c = table.c
        q = (
            select(
                c.hour,
                func.sum(c.pv),
                func.sum(c.human_pv),
                func.sum(c.uv_hour),
                func.sum(c.uv_day),
            )
            .where(self._where(table, scope), c.hour >= start, c.hour < end)
            .group_by(c.hour)
            .order_by(c.hour)
        )
        return [HourRow(*(int(v) for v in row)) for row in await self.conn.execute(q)]

    async def totals(self, scope: StatsScope, start: int, end: int) -> Totals:
        r = self._both(scope, start, end, lambda tb: [tb.c.pv, tb.c.human_pv, tb.c.uv_day])
        q = select(
            func.coalesce(func.sum(r.c.pv), 0),
            func.coalesce(func.sum(r.c.human_pv), 0),
            func.coalesce(func.sum(r.c.uv_day), 0),
        )
        pv, human, uv = (await self.conn.execute(q)).one()
        return Totals(pv=int(pv), human_pv=int(human), uv=int(uv))

    async def link_totals(self, link_ids: Sequence[str], end: int) -> dict[str, Totals]:
        """All-time totals of each of these links, up to hour ``end``, in one statement
        (a list page asks for ≤ 100 links). A link has no counts from before it was made,
        so "all time" needs no start: the day table up to ``end``'s UTC day, the hour
        table from there; both read by primary key, (link_id, bucket).

        The ids must be this workspace's links (the caller found them in it): a
        workspace_id condition here would steer the planner onto the workspace index."""
        if not link_ids:
            return {}
        ids = list(link_ids)
        last_day = end // 24
        d, h = t.rollup_link_days.c, t.rollup_link_hours.c
        r = union_all(
            select(d.link_id, d.pv, d.human_pv, d.uv_day).where(
                in_list(self.conn, d.link_id, ids), d.day < last_day
            ),
            select(h.link_id, h.pv, h.human_pv, h.uv_day).where(
                in_list(self.conn, h.link_id, ids), h.hour >= last_day * 24, h.hour < end
            ),
        ).subquery("r")
        q = select(
            r.c.link_id, func.sum(r.c.pv), func.sum(r.c.human_pv), func.sum(r.c.uv_day)
        ).group_by(r.c.link_id)
        found = {
            link_id: Totals(pv=int(pv), human_pv=int(hp), uv=int(uv))
            for link_id, pv, hp, uv in await self.conn.execute(q)
        }
        return {i: found.get(i, Totals()) for i in ids}

    async def dimensions(self, scope: StatsScope, start: int, end: int) -> list[GroupRow]:
        """Every (dimension, value) of the range with its counts; ``uv`` credits each
        visitor-day to the values of the visitor's first click of that UTC day."""
        r = self._both(
            scope,
            start,
            end,
            lambda tb: [tb.c.dim, tb.c.value, tb.c.pv, tb.c.human_pv, tb.c.uv_day],
            dims=True,
        )
        q = select(
            r.c.dim, r.c.value, func.sum(r.c.pv), func.sum(r.c.human_pv), func.sum(r.c.uv_day)
        ).group_by(r.c.dim, r.c.value)
        rows = [
            GroupRow(group=dim, value=value, pv=int(pv), human_pv=int(hp), uv=int(uv))
            for dim, value, pv, hp, uv in await self.conn.execute(q)
        ]
        # The workspace rollups carry the campaign each click had; name the campaigns.
        campaign_ids = [r.value for r in rows if r.group == "campaign" and r.value != NONE_VALUE]
        if not campaign_ids:
            return rows
        cm = t.campaigns.c
        q_names = select(cm.id, cm.name).where(
            cm.workspace_id == self.workspace_id, in_list(self.conn, cm.id, campaign_ids)
        )
        names = dict((await self.conn.execute(q_names)).tuples().all())
        return [replace(r, label=names.get(r.value)) if r.group == "campaign" else r for r in rows]

    async def link_groups(self, scope: StatsScope, start: int, end: int) -> list[GroupRow]:
        """Counts per channel, campaign, utm_content and utm_term of the links in scope, as
        the links are now (link-level scopes; the workspace scope reads its dimension
        rollups instead). Links without a utm_content / utm_term are not listed under it.

        One scan: per-link sums first (one row per link), then one row per (channel,
        campaign, utm_content, utm_term), folded into the four breakdowns here."""
        r = self._both(
            scope,
            start,
            end,
            lambda tb: [tb.c.link_id, tb.c.pv, tb.c.human_pv, tb.c.uv_day],
            tables=(t.rollup_link_hours, t.rollup_link_days),
        )
        per_link = (
            select(
                r.c.link_id,
                func.sum(r.c.pv).label("pv"),
                func.sum(r.c.human_pv).label("human_pv"),
                func.sum(r.c.uv_day).label("uv"),
            )
            .group_by(r.c.link_id)
            .subquery("s")
        )
        cm = t.campaigns.c
        q = (
            select(
                _L.channel,
                _L.campaign_id,
                cm.name,
                _L.utm_content,
                _L.utm_term,
                func.sum(per_link.c.pv),
                func.sum(per_link.c.human_pv),
                func.sum(per_link.c.uv),
            )
            .select_from(
                per_link.join(t.links, _L.id == per_link.c.link_id).outerjoin(
                    t.campaigns, cm.id == _L.campaign_id
                )
            )
            .group_by(_L.channel, _L.campaign_id, cm.name, _L.utm_content, _L.utm_term)
        )
        groups: dict[tuple[str, str], list[Any]] = {}
        for channel, campaign_id, name, content, term, pv, hp, uv in await self.conn.execute(q):
            keys: list[tuple[tuple[str, str], str | None]] = [
                (("channel", channel or NONE_VALUE), None),
                (("campaign", campaign_id or NONE_VALUE), name),
            ]
            if content:
                keys.append((("utm_content", content), None))
            if term:
                keys.append((("utm_term", term), None))
            for key, label in keys:
                acc = groups.setdefault(key, [0, 0, 0, label])
                acc[0] += int(pv)
                acc[1] += int(hp)
                acc[2] += int(uv)
        return [
            GroupRow(group=g, value=v, pv=pv, human_pv=hp, uv=uv, label=label)
            for (g, v), (pv, hp, uv, label) in groups.items()
        ]
