"""Reads single visits from the raw click log, and visit totals per tag from the rollups.

Every statement is bounded by the workspace: clicks carry ``workspace_id`` and tags are
looked up among the workspace's own."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.analytics.models import Totals, Visit, VisitQuery, VisitScope
from hoplink.storage import tables as t

_C = t.clicks.c
_L = t.links.c
_UNKNOWN = "(unknown)"  # as the worker's enrichment steps write them
_NO_REFERRER = frozenset({_UNKNOWN, "(direct)"})


class VisitReader:
    def __init__(self, conn: AsyncConnection, workspace_id: str) -> None:
        self.conn = conn
        self.workspace_id = workspace_id

    def _conditions(self, query: VisitQuery) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = [_C.workspace_id == self.workspace_id]
        if query.scope is VisitScope.LINK:
            conds.append(_C.link_id == query.ref)
        elif query.scope is VisitScope.TAG:
            tagged = (
                select(t.link_tags.c.link_id)
                .join(t.tags, t.tags.c.id == t.link_tags.c.tag_id)
                .where(t.tags.c.workspace_id == self.workspace_id, t.tags.c.name == query.ref)
            )
            conds.append(_C.link_id.in_(tagged))
        elif query.scope is VisitScope.DOMAIN:
            conds.append(_C.domain == query.ref)
        if query.start is not None:
            conds.append(_C.ts >= query.start)
        if query.end is not None:
            conds.append(_C.ts < query.end)
        if query.humans_only:
            conds.append(_C.bot.is_(None))
        return conds

    async def page(self, query: VisitQuery) -> tuple[list[Visit], int]:
        conds = self._conditions(query)
        q = (
            select(
                _C.ts,
                _C.domain,
                _C.referrer_host,
                _C.user_agent,
                _C.country,
                _C.bot,
                _L.code,
                t.domains.c.hostname,
            )
            .join(t.links, _L.id == _C.link_id)
            .join(t.domains, t.domains.c.id == _L.domain_id)
            .where(*conds)
            .order_by(_C.ts.desc(), _C.click_id.desc())
            .limit(query.limit)
            .offset(query.offset)
        )
        visits = [
            Visit(
                ts=r.ts,
                link_code=r.code,
                link_domain=r.hostname,
                domain=r.domain,
                referrer_host="" if r.referrer_host in _NO_REFERRER else r.referrer_host,
                user_agent=r.user_agent,
                country=None if r.country == _UNKNOWN else r.country,
                bot=r.bot,
            )
            for r in await self.conn.execute(q)
        ]
        count = select(func.count()).select_from(t.clicks).where(*conds)
        return visits, int((await self.conn.execute(count)).scalar_one())

    async def tag_totals(self) -> dict[str, Totals]:
        d, lt, g = t.rollup_link_days.c, t.link_tags.c, t.tags.c
        q: Any = (
            select(g.name, func.sum(d.pv), func.sum(d.human_pv), func.sum(d.uv_day))
            .select_from(t.tags.join(t.link_tags, lt.tag_id == g.id))
            .join(t.rollup_link_days, d.link_id == lt.link_id)
            .where(g.workspace_id == self.workspace_id)
            .group_by(g.name)
        )
        return {
            name: Totals(pv=int(pv), human_pv=int(hp), uv=int(uv))
            for name, pv, hp, uv in await self.conn.execute(q)
        }
