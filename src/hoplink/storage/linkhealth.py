"""Destination health rows: one workspace's view (HealthRepo) and the checkers' queue
(HealthQueue), which hands each due link to exactly one checker under a lease."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.linkhealth.models import HealthEvent, LinkHealth
from hoplink.storage import tables as t
from hoplink.storage._rows import in_list, insert_ignore

_H = t.link_health.c
_E = t.link_health_events.c
_L = t.links.c


def _health(row: Row[Any]) -> LinkHealth:
    return LinkHealth(
        link_id=row.link_id,
        workspace_id=row.workspace_id,
        state=row.state,
        reason=row.reason,
        detail=row.detail,
        url=row.url,
        status_code=row.status_code,
        checked_at=row.checked_at,
        changed_at=row.changed_at,
        next_check_at=row.next_check_at,
        auto_fallback=row.auto_fallback,
        switched_from=row.switched_from,
        switched_to=row.switched_to,
    )


def _event(row: Row[Any]) -> HealthEvent:
    return HealthEvent(
        id=row.id,
        workspace_id=row.workspace_id,
        link_id=row.link_id,
        at=row.at,
        old_state=row.old_state,
        new_state=row.new_state,
        reason=row.reason,
        detail=row.detail,
        url=row.url,
        status_code=row.status_code,
        switch=row.switch,
        acknowledged_at=row.acknowledged_at,
    )


def new_row(link_id: str, workspace_id: str, due: datetime) -> dict[str, Any]:
    return {
        "link_id": link_id,
        "workspace_id": workspace_id,
        "state": "unknown",
        "next_check_at": due,
        "auto_fallback": "off",
    }


ENSURE_CHUNK = 1000  # health rows per INSERT (5 bound variables each)


class HealthRepo:
    """One workspace's link health; no method reaches another workspace's rows."""

    def __init__(self, conn: AsyncConnection, workspace_id: str) -> None:
        self.conn = conn
        self.workspace_id = workspace_id
        self._mine = _H.workspace_id == workspace_id

    async def ensure(self, link_ids: Sequence[str], *, due: datetime) -> None:
        """A row (unknown, due at ``due``) for each link that has none."""
        # In chunks: a transaction may create 100,000 links (an import), and one multi-row
        # INSERT of them all passes SQLite's limit of bound variables.
        # An executemany of one statement (compiled once), not a multi-row VALUES compiled
        # anew for each chunk.
        statement = insert_ignore(self.conn, t.link_health, None)
        for start in range(0, len(link_ids), ENSURE_CHUNK):
            rows = [
                new_row(i, self.workspace_id, due) for i in link_ids[start : start + ENSURE_CHUNK]
            ]
            await self.conn.execute(statement, rows)

    async def get(self, link_id: str) -> LinkHealth | None:
        row = (
            await self.conn.execute(select(t.link_health).where(self._mine, _H.link_id == link_id))
        ).first()
        return None if row is None else _health(row)

    async def many(self, link_ids: Sequence[str]) -> dict[str, LinkHealth]:
        if not link_ids:
            return {}
        rows = await self.conn.execute(
            select(t.link_health).where(self._mine, in_list(self.conn, _H.link_id, link_ids))
        )
        return {r.link_id: _health(r) for r in rows}

    async def sig(self, link_id: str) -> str | None:
        found = await self.conn.scalar(select(_H.urls_sig).where(self._mine, _H.link_id == link_id))
        return None if found is None else str(found)

    async def update(self, link_id: str, values: dict[str, Any]) -> bool:
        result = await self.conn.execute(
            update(t.link_health).where(self._mine, _H.link_id == link_id).values(**values)
        )
        return result.rowcount > 0

    async def mark_due(self, *, now: datetime, link_id: str | None = None) -> int:
        """Make one link (or every live link of the workspace) due now."""
        query = update(t.link_health).where(self._mine, _H.next_check_at > now)
        if link_id is not None:
            query = query.where(_H.link_id == link_id)
        result = await self.conn.execute(query.values(next_check_at=now))
        return int(result.rowcount)

    async def counts(self) -> dict[str, int]:
        """Live links per state."""
        live = exists().where(_L.id == _H.link_id, _L.deleted_at.is_(None))
        rows = await self.conn.execute(
            select(_H.state, func.count()).where(self._mine, live).group_by(_H.state)
        )
        return {r[0]: int(r[1]) for r in rows}

    async def add_event(self, event: HealthEvent) -> None:
        await self.conn.execute(
            t.link_health_events.insert().values(
                id=event.id,
                workspace_id=self.workspace_id,
                link_id=event.link_id,
                at=event.at,
                old_state=event.old_state,
                new_state=event.new_state,
                reason=event.reason,
                detail=event.detail,
                url=event.url,
                status_code=event.status_code,
                switch=event.switch,
                acknowledged_at=None,
            )
        )

    async def events(
        self, *, link_id: str | None = None, unacknowledged: bool = False, limit: int = 50
    ) -> list[HealthEvent]:
        """Newest first; of one link (its history) or the workspace's (notifications)."""
        query = select(t.link_health_events).where(_E.workspace_id == self.workspace_id)
        if link_id is not None:
            query = query.where(_E.link_id == link_id)
        if unacknowledged:
            query = query.where(_E.acknowledged_at.is_(None))
        rows = await self.conn.execute(query.order_by(_E.at.desc(), _E.id.desc()).limit(limit))
        return [_event(r) for r in rows]

    async def alerts(self) -> int:
        """Unacknowledged changes to degraded or broken: the dashboard's alert."""
        found = await self.conn.scalar(
            select(func.count()).where(
                _E.workspace_id == self.workspace_id,
                _E.acknowledged_at.is_(None),
                _E.new_state.in_(("degraded", "broken")),
            )
        )
        return int(found or 0)

    async def has_event(self, event_id: str) -> bool:
        found = await self.conn.scalar(
            select(_E.id).where(_E.workspace_id == self.workspace_id, _E.id == event_id)
        )
        return found is not None

    async def acknowledge(self, *, now: datetime, event_id: str | None = None) -> int:
        query = update(t.link_health_events).where(
            _E.workspace_id == self.workspace_id, _E.acknowledged_at.is_(None)
        )
        if event_id is not None:
            query = query.where(_E.id == event_id)
        result = await self.conn.execute(query.values(acknowledged_at=now))
        return int(result.rowcount)


@dataclass(frozen=True, slots=True)
class ClaimedRow:
    health: LinkHealth
    lease: str
    domain_id: str
    code: str
    destination_url: str
    routing: str | None
    validators: str | None
    urls_sig: str | None


def _eligible(now: datetime) -> Any:
    """Links whose destination visitors can reach: not deleted, disabled, banned or over."""
    banned = exists().where(t.link_bans.c.link_id == _L.id, t.link_bans.c.lifted_at.is_(None))
    return and_(
        _L.deleted_at.is_(None),
        _L.disabled.is_(False),
        _L.exhausted_at.is_(None),
        or_(_L.ends_at.is_(None), _L.ends_at > now),
        ~banned,
    )


class HealthQueue:
    """Every workspace's health rows, as the checkers see them."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def missing(self, limit: int) -> list[tuple[str, str]]:
        """(link id, workspace id) of live links that have no health row yet."""
        has_row = exists().where(_H.link_id == _L.id)
        rows = await self.conn.execute(
            select(_L.id, _L.workspace_id)
            .where(_L.deleted_at.is_(None), ~has_row)
            .order_by(_L.id)
            .limit(limit)
        )
        return [(r[0], r[1]) for r in rows]

    async def add(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.conn.execute(insert_ignore(self.conn, t.link_health, rows))

    async def claim(
        self, *, now: datetime, lease_until: datetime, lease: str, limit: int, skip: timedelta
    ) -> list[ClaimedRow]:
        """Take up to ``limit`` due links under ``lease`` until ``lease_until``: no other
        checker takes them before (PostgreSQL: FOR UPDATE SKIP LOCKED, then the update;
        SQLite: one UPDATE, atomic under its single writer, re-checks the lease). Due rows
        of links that cannot be visited now are pushed ``skip`` ahead."""
        free = or_(_H.locked_until.is_(None), _H.locked_until <= now)
        due = (
            select(_H.link_id)
            .join(t.links, _L.id == _H.link_id)
            .where(_H.next_check_at <= now, free, _eligible(now))
            .order_by(_H.next_check_at, _H.link_id)
            .limit(limit)
        )
        if self.conn.dialect.name == "postgresql":
            due = due.with_for_update(of=t.link_health, skip_locked=True)
            ids = [r[0] for r in await self.conn.execute(due)]
            if ids:
                await self.conn.execute(
                    update(t.link_health)
                    .where(in_list(self.conn, _H.link_id, ids))
                    .values(locked_until=lease_until, lease=lease)
                )
        else:
            await self.conn.execute(
                update(t.link_health)
                .where(_H.link_id.in_(due.scalar_subquery()), free)
                .values(locked_until=lease_until, lease=lease)
            )
        await self._skip_ineligible(now, skip, limit)
        rows = await self.conn.execute(
            select(
                t.link_health,
                _L.domain_id,
                _L.code,
                _L.destination_url,
                _L.routing,
            )
            .join(t.links, _L.id == _H.link_id)
            .where(_H.lease == lease)
            .order_by(_H.next_check_at, _H.link_id)
        )
        return [
            ClaimedRow(
                health=_health(r),
                lease=lease,
                domain_id=r.domain_id,
                code=r.code,
                destination_url=r.destination_url,
                routing=r.routing,
                validators=r.validators,
                urls_sig=r.urls_sig,
            )
            for r in rows
        ]

    async def _skip_ineligible(self, now: datetime, skip: timedelta, limit: int) -> None:
        stale = (
            select(_H.link_id)
            .join(t.links, _L.id == _H.link_id)
            .where(_H.next_check_at <= now, ~_eligible(now))
            .limit(limit)
        )
        await self.conn.execute(
            update(t.link_health)
            .where(_H.link_id.in_(stale.scalar_subquery()))
            .values(next_check_at=now + skip)
        )

    async def release(self, link_id: str, *, lease: str, values: dict[str, Any]) -> bool:
        """Write a checked link's outcome and free it, if this checker still holds it."""
        result = await self.conn.execute(
            update(t.link_health)
            .where(_H.link_id == link_id, _H.lease == lease)
            .values(**values, locked_until=None, lease=None)
        )
        return result.rowcount > 0
