"""Forwarding destinations (per workspace), and the queue + journal of forwarded events in
batches (one row per batch: see tables.forward_batches)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Row, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.forwarding.models import Batch, Destination, Entry, Kind, LiveStatus, entries_of
from hoplink.ids import new_id
from hoplink.storage import tables as t

_D = t.forward_destinations.c
_F = t.forward_batches.c
_E = t.forward_batch_events.c
# A batch's row with its events (claims, the journal).
_WITH_EVENTS = select(t.forward_batches, _E.events).join(
    t.forward_batch_events, _E.batch_id == _F.id
)
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


def _batch(r: Any) -> Batch:
    return Batch(
        id=r.id,
        workspace_id=r.workspace_id,
        destination_id=r.destination_id,
        status=r.status,
        events=orjson.loads(r.events),
        attempts=r.attempts,
        next_attempt_at=r.next_attempt_at,
        created_at=r.created_at,
        sent_at=r.sent_at,
        answer_status=r.answer_status,
        answer=r.answer,
        error=r.error,
    )


def batch_row(b: Batch) -> dict[str, Any]:
    return {
        "id": b.id,
        "workspace_id": b.workspace_id,
        "destination_id": b.destination_id,
        "status": b.status,
        "size": len(b.events),
        "kinds": " ".join(sorted({e["kind"] for e in b.events})),
        "attempts": b.attempts,
        "next_attempt_at": b.next_attempt_at,
        "locked_until": None,
        "created_at": b.created_at,
        "sent_at": b.sent_at,
        "answer_status": b.answer_status,
        "answer": b.answer,
        "error": b.error,
    }


async def _insert(conn: AsyncConnection, batches: Sequence[Batch]) -> None:
    if batches:
        # executemany: compiled once (a multi-row VALUES compiles a parameter per cell)
        await conn.execute(t.forward_batches.insert(), [batch_row(b) for b in batches])
        await conn.execute(
            t.forward_batch_events.insert(),
            [
                {"batch_id": b.id, "workspace_id": b.workspace_id, "events": _dumps(b.events)}
                for b in batches
            ],
        )


def _dumps(events: list[dict[str, Any]]) -> str:
    return orjson.dumps(events).decode()


async def _rewrite(conn: AsyncConnection, batch_id: str, events: list[dict[str, Any]]) -> None:
    """What stays in a batch after some of its events moved to another."""
    await conn.execute(update(t.forward_batches).where(_F.id == batch_id).values(size=len(events)))
    await conn.execute(
        update(t.forward_batch_events).where(_E.batch_id == batch_id).values(events=_dumps(events))
    )


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

    async def insert_batches(self, batches: Sequence[Batch]) -> None:
        """Queue (or journal) batches of events."""
        await _insert(self.conn, [b for b in batches if b.workspace_id == self.workspace_id])

    async def entries(
        self,
        *,
        destination_id: str | None = None,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 100,
    ) -> list[Entry]:
        """Up to ``limit`` events of the journal, newest batch first."""
        query = _WITH_EVENTS.where(_F.workspace_id == self.workspace_id)
        if destination_id is not None:
            query = query.where(_F.destination_id == destination_id)
        if status is not None:
            query = query.where(_F.status == status)
        if kind is not None:
            query = query.where(_F.kinds.contains(kind))
        query = query.order_by(_F.created_at.desc(), _F.id)
        out: list[Entry] = []
        page, offset = 20, 0
        while len(out) < limit:
            rows = (await self.conn.execute(query.limit(page).offset(offset))).all()
            for r in rows:
                out += [e for e in entries_of(_batch(r)) if kind is None or e.kind == kind]
            if len(rows) < page:
                break
            offset += page
        return out[:limit]

    async def replay(
        self, *, now: datetime, entry_id: str | None = None, destination_id: str | None = None
    ) -> int:
        """Dead letters back in the queue (one event, or all of a destination, or all); the
        number of events."""
        mine = (_F.workspace_id == self.workspace_id) & (_F.status == "dead")
        if destination_id is not None:
            mine &= _F.destination_id == destination_id
        again = {
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "locked_until": None,
            "error": None,
        }
        if entry_id is None:
            total = (
                await self.conn.execute(select(func.coalesce(func.sum(_F.size), 0)).where(mine))
            ).scalar_one()
            await self.conn.execute(update(t.forward_batches).where(mine).values(**again))
            return int(total)
        # One event: out of its dead batch into a pending batch of its own.
        pattern = f'%"id":"{entry_id}"%'
        rows = await self.conn.execute(_WITH_EVENTS.where(mine, _E.events.like(pattern)))
        for row in rows:
            batch = _batch(row)
            one = [e for e in batch.events if e["id"] == entry_id]
            if not one:
                continue
            rest = [e for e in batch.events if e["id"] != entry_id]
            if not rest:
                await self.conn.execute(
                    update(t.forward_batches).where(_F.id == batch.id).values(**again)
                )
                return 1
            await _rewrite(self.conn, batch.id, rest)
            await _insert(
                self.conn,
                [replace(batch, id=new_id("fwb"), events=one, status="pending", attempts=0,
                         next_attempt_at=now, error=None)],
            )  # fmt: skip
            return 1
        return 0

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
                select(func.coalesce(func.sum(_F.size), 0)).where(
                    mine,
                    _F.status.in_(("pending", "dead")),
                    _F.attempts > 0,
                    _F.sent_at >= hour_ago,
                )
            )
        ).scalar_one()
        grouped = await self.conn.execute(
            select(_F.status, func.sum(_F.size).label("n"))
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
    ) -> list[tuple[Batch, Destination]]:
        """Take up to ``limit`` due batches until ``lease_until`` (FOR UPDATE SKIP LOCKED on
        PostgreSQL; SQLite's one writer), oldest first. Two statements: read the rows (the
        due index serves the order), then lease them; destinations are read once each."""
        due = (
            _WITH_EVENTS.where(
                _F.status == "pending",
                _F.next_attempt_at <= now,
                or_(_F.locked_until.is_(None), _F.locked_until <= now),
            )
            .order_by(_F.status, _F.next_attempt_at)
            .limit(limit)
        )
        if self.conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True, of=t.forward_batches)
        batches = [_batch(r) for r in await self.conn.execute(due)]
        if not batches:
            return []
        await self.conn.execute(
            update(t.forward_batches)
            .where(_F.id.in_([b.id for b in batches]))
            .values(locked_until=lease_until)
        )
        wanted = list({b.destination_id for b in batches})
        rows = await self.conn.execute(select(t.forward_destinations).where(_D.id.in_(wanted)))
        destinations = {d.id: d for d in map(_destination, rows)}
        return [(b, destinations[b.destination_id]) for b in batches]

    async def settle(
        self,
        batch_id: str,
        values: dict[str, Any],
        *,
        events: list[dict[str, Any]] | None = None,
        split: Sequence[Batch] = (),
    ) -> None:
        """Write the outcome of a claimed batch and release it: ``values`` for its row
        (``events``: what stays in it, when some moved to the ``split`` batches, written in
        the same transaction). Only while it is pending: a batch deleted meanwhile (its
        destination was) is left alone."""
        result = await self.conn.execute(
            update(t.forward_batches)
            .where(_F.id == batch_id, _F.status == "pending")
            .values(locked_until=None, attempts=_F.attempts + 1, **values)
        )
        if result.rowcount and split:
            if events is not None:
                await _rewrite(self.conn, batch_id, events)
            await _insert(self.conn, split)

    async def count(self, status: str) -> int:
        """Events (not batches) in ``status``, every workspace."""
        row = (
            await self.conn.execute(
                select(func.coalesce(func.sum(_F.size), 0)).where(_F.status == status)
            )
        ).scalar_one()
        return int(row)
