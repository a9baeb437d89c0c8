"""Forwarding destinations (per workspace), and the queue + journal of forwarded events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Row, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.forwarding.models import Destination, Entry, Kind, LiveStatus
from hoplink.storage import tables as t
from hoplink.storage.rollups import dialect_insert

_D = t.forward_destinations.c
_F = t.forward_events.c
_C = t.clicks.c


def _destination(row: Row[Any]) -> Destination:
    return Destination(
        id=row.id,
        workspace_id=row.workspace_id,
        kind=Kind(row.kind),
        name=row.name,
        account_id=row.account_id,
        credential_enc=row.credential_enc,
        credential_hint=row.credential_hint,
        events=tuple(row.events.split()),
        click_sample_rate=float(row.click_sample_rate),
        click_event_name=row.click_event_name,
        test_code=row.test_code,
        enabled=row.enabled,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _entry(m: Any) -> Entry:
    return Entry(
        id=m[_F.id],
        workspace_id=m[_F.workspace_id],
        destination_id=m[_F.destination_id],
        event_key=m[_F.event_key],
        kind=m[_F.kind],
        ref=m[_F.ref],
        group_key=m[_F.group_key],
        payload=m[_F.payload],
        occurred_at=m[_F.occurred_at],
        status=m[_F.status],
        attempts=m[_F.attempts],
        next_attempt_at=m[_F.next_attempt_at],
        created_at=m[_F.created_at],
        sent_at=m[_F.sent_at],
        answer_status=m[_F.answer_status],
        answer=m[_F.answer],
        error=m[_F.error],
    )


def _entry_fast(r: Row[Any]) -> Entry:
    return Entry(
        id=r.id,
        workspace_id=r.workspace_id,
        destination_id=r.destination_id,
        event_key=r.event_key,
        kind=r.kind,
        ref=r.ref,
        group_key=r.group_key,
        payload=r.payload,
        occurred_at=r.occurred_at,
        status=r.status,
        attempts=r.attempts,
        next_attempt_at=r.next_attempt_at,
        created_at=r.created_at,
    )


def _entry_row(e: Entry) -> dict[str, Any]:
    return {
        "id": e.id,
        "workspace_id": e.workspace_id,
        "destination_id": e.destination_id,
        "event_key": e.event_key,
        "kind": e.kind,
        "ref": e.ref,
        "group_key": e.group_key,
        "payload": e.payload,
        "occurred_at": e.occurred_at,
        "status": e.status,
        "attempts": e.attempts,
        "next_attempt_at": e.next_attempt_at,
        "locked_until": None,
        "created_at": e.created_at,
        "sent_at": e.sent_at,
        "answer_status": e.answer_status,
        "answer": e.answer,
        "error": e.error,
    }


class ForwardRepo:
    """One workspace's destinations and journal; no method reaches another's."""

    def __init__(self, conn: AsyncConnection, workspace_id: str) -> None:
        self.conn = conn
        self.workspace_id = workspace_id

    async def insert_destination(self, d: Destination) -> None:
        await self.conn.execute(
            t.forward_destinations.insert().values(
                id=d.id,
                workspace_id=self.workspace_id,
                kind=d.kind.value,
                name=d.name,
                account_id=d.account_id,
                credential_enc=d.credential_enc,
                credential_hint=d.credential_hint,
                events=" ".join(d.events),
                click_sample_rate=d.click_sample_rate,
                click_event_name=d.click_event_name,
                test_code=d.test_code,
                enabled=d.enabled,
                created_at=d.created_at,
                updated_at=d.updated_at,
            )
        )

    async def destinations(self) -> list[Destination]:
        rows = await self.conn.execute(
            select(t.forward_destinations)
            .where(_D.workspace_id == self.workspace_id)
            .order_by(_D.created_at, _D.id)
        )
        return [_destination(r) for r in rows]

    async def destination(self, destination_id: str) -> Destination | None:
        row = (
            await self.conn.execute(
                select(t.forward_destinations).where(
                    _D.id == destination_id, _D.workspace_id == self.workspace_id
                )
            )
        ).first()
        return None if row is None else _destination(row)

    async def update_destination(self, destination_id: str, values: dict[str, Any]) -> bool:
        if "events" in values:
            values = {**values, "events": " ".join(values["events"])}
        result = await self.conn.execute(
            update(t.forward_destinations)
            .where(_D.id == destination_id, _D.workspace_id == self.workspace_id)
            .values(**values)
        )
        return result.rowcount > 0

    async def delete_destination(self, destination_id: str) -> bool:
        result = await self.conn.execute(
            delete(t.forward_destinations).where(
                _D.id == destination_id, _D.workspace_id == self.workspace_id
            )
        )
        return result.rowcount > 0

    async def insert_entries(self, entries: Sequence[Entry]) -> None:
        """Queue (or journal) events; one already queued for its destination is kept as it
        is (a click batch the worker re-reads after a crash queues nothing twice)."""
        rows = [_entry_row(e) for e in entries if e.workspace_id == self.workspace_id]
        if rows:
            # executemany: compiled once (a multi-row VALUES compiles a parameter per cell)
            stmt = dialect_insert(self.conn, t.forward_events).on_conflict_do_nothing()
            await self.conn.execute(stmt, rows)

    async def entries(
        self,
        *,
        destination_id: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 100,
    ) -> list[Entry]:
        query = select(t.forward_events).where(_F.workspace_id == self.workspace_id)
        if destination_id is not None:
            query = query.where(_F.destination_id == destination_id)
        if status is not None:
            query = query.where(_F.status == status)
        if kind is not None:
            query = query.where(_F.kind == kind)
        rows = await self.conn.execute(query.order_by(_F.created_at.desc(), _F.id).limit(limit))
        return [_entry(r._mapping) for r in rows]

    async def entry(self, entry_id: str) -> Entry | None:
        row = (
            await self.conn.execute(
                select(t.forward_events).where(
                    _F.id == entry_id, _F.workspace_id == self.workspace_id
                )
            )
        ).first()
        return None if row is None else _entry(row._mapping)

    async def replay(
        self, *, now: datetime, entry_id: str | None = None, destination_id: str | None = None
    ) -> int:
        """Dead letters back in the queue (one, or all of a destination, or all)."""
        query = update(t.forward_events).where(
            _F.workspace_id == self.workspace_id, _F.status == "dead"
        )
        if entry_id is not None:
            query = query.where(_F.id == entry_id)
        if destination_id is not None:
            query = query.where(_F.destination_id == destination_id)
        result = await self.conn.execute(
            query.values(
                status="pending", attempts=0, next_attempt_at=now, locked_until=None, error=None
            )
        )
        return int(result.rowcount)

    async def live_status(self, destination_id: str, *, now: datetime) -> LiveStatus:
        mine = (_F.workspace_id == self.workspace_id) & (_F.destination_id == destination_id)
        last = (
            await self.conn.execute(select(func.max(_F.sent_at)).where(mine, _F.status == "sent"))
        ).scalar_one()
        hour_ago = now - timedelta(hours=1)
        # A failure in the last hour: an event whose last answer was not a success, or
        # that became a dead letter, with its last attempt within the hour.
        failures = (
            await self.conn.execute(
                select(func.count())
                .select_from(t.forward_events)
                .where(
                    mine,
                    _F.status.in_(("pending", "dead")),
                    _F.attempts > 0,
                    _F.sent_at >= hour_ago,
                )
            )
        ).scalar_one()
        grouped = await self.conn.execute(
            select(_F.status, func.count().label("n"))
            .where(mine, _F.status.in_(("pending", "dead")))
            .group_by(_F.status)
        )
        counts = {str(r.status): int(r.n) for r in grouped}
        return LiveStatus(
            last_success=last,
            failures_last_hour=int(failures),
            queued=int(counts.get("pending", 0)),
            dead=int(counts.get("dead", 0)),
        )

    async def click_rows(self, click_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """What forwarding needs of stored clicks (never more: no referrer, no IP exists)."""
        if not click_ids:
            return {}
        rows = await self.conn.execute(
            select(
                _C.click_id,
                _C.ts,
                _C.link_id,
                _C.visitor_hash,
                _C.user_agent,
                _C.country,
                _C.device,
                _C.ad_click_ids,
            ).where(_C.workspace_id == self.workspace_id, _C.click_id.in_(list(click_ids)))
        )
        out: dict[str, dict[str, Any]] = {}
        for r in rows:
            values = dict(r._mapping)
            values["ad_click_ids"] = orjson.loads(r.ad_click_ids) if r.ad_click_ids else {}
            out[r.click_id] = values
        return out

    async def conversion_rows(self, event_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Recorded conversion events by event id, with the customer of their order when the
        event itself carried none (a refund names the order, not the buyer)."""
        if not event_ids:
            return []
        E, R = t.conversion_events.c, t.orders.c
        rows = await self.conn.execute(
            select(
                E.event_id,
                E.type,
                E.order_id,
                E.occurred_at,
                E.amount,
                E.currency,
                E["items"],
                E.customer,
                E.click_id,
                R.customer.label("order_customer"),
                R["items"].label("order_items"),
            )
            .select_from(t.conversion_events)
            .outerjoin(
                t.orders,
                (R.workspace_id == E.workspace_id) & (R.order_id == E.order_id),
            )
            .where(E.workspace_id == self.workspace_id, E.event_id.in_(list(event_ids)))
        )
        return [dict(r._mapping) for r in rows]


class ForwardQueue:
    """The queue as the delivery worker sees it: every workspace's due events."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def destinations_wanting(self, event: str) -> list[Destination]:
        rows = await self.conn.execute(
            select(t.forward_destinations).where(_D.enabled.is_(True), _D.events.contains(event))
        )
        return [d for d in map(_destination, rows) if d.wants(event)]

    async def claim(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> list[tuple[Entry, Destination]]:
        """Take up to ``limit`` due events until ``lease_until`` (FOR UPDATE SKIP LOCKED on
        PostgreSQL; SQLite's one writer), oldest first. Two statements: read the rows (the
        due index serves the order), then lease them; destinations are read once each."""
        due = (
            select(t.forward_events)
            .where(
                _F.status == "pending",
                _F.next_attempt_at <= now,
                or_(_F.locked_until.is_(None), _F.locked_until <= now),
            )
            .order_by(_F.status, _F.next_attempt_at)
            .limit(limit)
        )
        if self.conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        entries = [_entry_fast(r) for r in await self.conn.execute(due)]
        if not entries:
            return []
        ids = [e.id for e in entries]
        await self.conn.execute(
            update(t.forward_events).where(_F.id.in_(ids)).values(locked_until=lease_until)
        )
        wanted = list({e.destination_id for e in entries})
        rows = await self.conn.execute(select(t.forward_destinations).where(_D.id.in_(wanted)))
        destinations = {d.id: d for d in map(_destination, rows)}
        return [(e, destinations[e.destination_id]) for e in entries]

    async def finish(self, ids: Sequence[str], values: dict[str, Any]) -> None:
        """Write the outcome of a request for its events and release them."""
        if ids:
            await self.conn.execute(
                update(t.forward_events)
                .where(_F.id.in_(list(ids)), _F.status == "pending")
                .values(locked_until=None, attempts=_F.attempts + 1, **values)
            )

    async def count(self, status: str) -> int:
        row = (
            await self.conn.execute(
                select(func.count()).select_from(t.forward_events).where(_F.status == status)
            )
        ).scalar_one()
        return int(row)
