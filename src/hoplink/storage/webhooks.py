"""Webhook endpoints (per workspace), the outbox of messages and the delivery log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.storage import tables as t
from hoplink.webhooks.models import Attempt, Endpoint, Message

_E = t.webhook_endpoints.c
_M = t.webhook_messages.c
_A = t.webhook_attempts.c


def _endpoint(row: Row[Any]) -> Endpoint:
    return Endpoint(
        id=row.id,
        workspace_id=row.workspace_id,
        url=row.url,
        events=tuple(row.events.split()),
        enabled=row.enabled,
        secret_enc=row.secret_enc,
        previous_secret_enc=row.previous_secret_enc,
        previous_secret_until=row.previous_secret_until,
        description=row.description,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _message(row: Row[Any]) -> Message:
    return Message(
        id=row.id,
        workspace_id=row.workspace_id,
        endpoint_id=row.endpoint_id,
        event_type=row.event_type,
        payload=row.payload,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


class WebhookRepo:
    """One workspace's endpoints and their messages; no method reaches another's."""

    def __init__(self, conn: AsyncConnection, workspace_id: str) -> None:
        self.conn = conn
        self.workspace_id = workspace_id

    async def insert_endpoint(self, endpoint: Endpoint) -> None:
        await self.conn.execute(
            t.webhook_endpoints.insert().values(
                id=endpoint.id,
                workspace_id=self.workspace_id,
                url=endpoint.url,
                events=" ".join(endpoint.events),
                enabled=endpoint.enabled,
                secret_enc=endpoint.secret_enc,
                previous_secret_enc=endpoint.previous_secret_enc,
                previous_secret_until=endpoint.previous_secret_until,
                description=endpoint.description,
                created_at=endpoint.created_at,
                updated_at=endpoint.updated_at,
            )
        )

    async def endpoints(self) -> list[Endpoint]:
        rows = await self.conn.execute(
            select(t.webhook_endpoints)
            .where(_E.workspace_id == self.workspace_id)
            .order_by(_E.created_at, _E.id)
        )
        return [_endpoint(r) for r in rows]

    async def endpoint(self, endpoint_id: str) -> Endpoint | None:
        row = (
            await self.conn.execute(
                select(t.webhook_endpoints).where(
                    _E.id == endpoint_id, _E.workspace_id == self.workspace_id
                )
            )
        ).first()
        return None if row is None else _endpoint(row)

    async def update_endpoint(self, endpoint_id: str, values: dict[str, Any]) -> bool:
        if "events" in values:
            values = {**values, "events": " ".join(values["events"])}
        result = await self.conn.execute(
            update(t.webhook_endpoints)
            .where(_E.id == endpoint_id, _E.workspace_id == self.workspace_id)
            .values(**values)
        )
        return result.rowcount > 0

    async def delete_endpoint(self, endpoint_id: str) -> bool:
        result = await self.conn.execute(
            delete(t.webhook_endpoints).where(
                _E.id == endpoint_id, _E.workspace_id == self.workspace_id
            )
        )
        return result.rowcount > 0

    async def insert_messages(self, messages: Sequence[Message]) -> None:
        if messages:
            await self.conn.execute(
                t.webhook_messages.insert(),
                [
                    {
                        "id": m.id,
                        "workspace_id": self.workspace_id,
                        "endpoint_id": m.endpoint_id,
                        "event_type": m.event_type,
                        "payload": m.payload,
                        "status": m.status,
                        "attempts": m.attempts,
                        "next_attempt_at": m.next_attempt_at,
                        "created_at": m.created_at,
                        "finished_at": None,
                    }
                    for m in messages
                ],
            )

    async def messages(
        self, *, endpoint_id: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[Message]:
        query = select(t.webhook_messages).where(_M.workspace_id == self.workspace_id)
        if endpoint_id is not None:
            query = query.where(_M.endpoint_id == endpoint_id)
        if status is not None:
            query = query.where(_M.status == status)
        rows = await self.conn.execute(query.order_by(_M.created_at.desc(), _M.id).limit(limit))
        return [_message(r) for r in rows]

    async def message(self, message_id: str) -> Message | None:
        row = (
            await self.conn.execute(
                select(t.webhook_messages).where(
                    _M.id == message_id, _M.workspace_id == self.workspace_id
                )
            )
        ).first()
        return None if row is None else _message(row)

    async def attempts(self, message_id: str) -> list[Attempt]:
        rows = await self.conn.execute(
            select(t.webhook_attempts)
            .join(t.webhook_messages, _M.id == _A.message_id)
            .where(_A.message_id == message_id, _M.workspace_id == self.workspace_id)
            .order_by(_A.attempted_at, _A.id)
        )
        return [
            Attempt(
                id=r.id,
                message_id=r.message_id,
                attempted_at=r.attempted_at,
                status_code=r.status_code,
                latency_ms=r.latency_ms,
                error=r.error,
                response_snippet=r.response_snippet,
            )
            for r in rows
        ]

    async def replay_failed(
        self, *, now: datetime, message_id: str | None = None, endpoint_id: str | None = None
    ) -> int:
        """Put failed messages back in the queue (one, or all of an endpoint, or all)."""
        query = update(t.webhook_messages).where(
            _M.workspace_id == self.workspace_id, _M.status == "failed"
        )
        if message_id is not None:
            query = query.where(_M.id == message_id)
        if endpoint_id is not None:
            query = query.where(_M.endpoint_id == endpoint_id)
        result = await self.conn.execute(
            query.values(
                status="pending",
                attempts=0,
                next_attempt_at=now,
                locked_until=None,
                finished_at=None,
            )
        )
        return int(result.rowcount)


class WebhookQueue:
    """The outbox as the delivery worker sees it: every workspace's due messages."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def any_endpoint_wants(self, event_type: str) -> bool:
        """Whether some enabled endpoint of any workspace subscribes to ``event_type``."""
        row = (
            await self.conn.execute(
                select(_E.events).where(_E.enabled.is_(True), _E.events.contains(event_type))
            )
        ).first()
        return row is not None

    async def endpoints_wanting(self, event_type: str) -> list[Endpoint]:
        rows = await self.conn.execute(
            select(t.webhook_endpoints).where(_E.enabled.is_(True), _E.events.contains(event_type))
        )
        return [e for e in map(_endpoint, rows) if e.wants(event_type)]

    async def claim(
        self, *, now: datetime, lease_until: datetime, limit: int
    ) -> list[tuple[Message, Endpoint]]:
        """Take up to ``limit`` due messages until ``lease_until``: no other worker takes
        them before then (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's one writer)."""
        due = (
            select(_M.id)
            .where(
                _M.status == "pending",
                _M.next_attempt_at <= now,
                or_(_M.locked_until.is_(None), _M.locked_until <= now),
            )
            .order_by(_M.next_attempt_at, _M.id)
            .limit(limit)
        )
        if self.conn.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = [r.id for r in await self.conn.execute(due)]
        if not ids:
            return []
        await self.conn.execute(
            update(t.webhook_messages).where(_M.id.in_(ids)).values(locked_until=lease_until)
        )
        rows = await self.conn.execute(
            select(t.webhook_messages, t.webhook_endpoints)
            .join(t.webhook_endpoints, _E.id == _M.endpoint_id)
            .where(_M.id.in_(ids))
            .order_by(_M.next_attempt_at, _M.id)
        )
        out: list[tuple[Message, Endpoint]] = []
        for r in rows:
            m = r._mapping
            message = Message(
                id=m[_M.id],
                workspace_id=m[_M.workspace_id],
                endpoint_id=m[_M.endpoint_id],
                event_type=m[_M.event_type],
                payload=m[_M.payload],
                status=m[_M.status],
                attempts=m[_M.attempts],
                next_attempt_at=m[_M.next_attempt_at],
                created_at=m[_M.created_at],
                finished_at=m[_M.finished_at],
            )
            endpoint = Endpoint(
                id=m[_E.id],
                workspace_id=m[_E.workspace_id],
                url=m[_E.url],
                events=tuple(m[_E.events].split()),
                enabled=m[_E.enabled],
                secret_enc=m[_E.secret_enc],
                previous_secret_enc=m[_E.previous_secret_enc],
                previous_secret_until=m[_E.previous_secret_until],
                description=m[_E.description],
                created_at=m[_E.created_at],
                updated_at=m[_E.updated_at],
            )
            out.append((message, endpoint))
        return out

    async def finish(
        self,
        message_id: str,
        *,
        attempt: Attempt,
        status: str,
        next_attempt_at: datetime | None,
    ) -> None:
        """Log an attempt; the message becomes ``status`` (pending again: retried at
        ``next_attempt_at``) and is released."""
        await self.conn.execute(
            t.webhook_attempts.insert().values(
                id=attempt.id,
                message_id=message_id,
                attempted_at=attempt.attempted_at,
                status_code=attempt.status_code,
                latency_ms=attempt.latency_ms,
                error=attempt.error,
                response_snippet=attempt.response_snippet,
            )
        )
        values: dict[str, Any] = {
            "status": status,
            "attempts": _M.attempts + 1,
            "locked_until": None,
        }
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        if status != "pending":
            values["finished_at"] = attempt.attempted_at
        await self.conn.execute(
            update(t.webhook_messages)
            .where(and_(_M.id == message_id, _M.status == "pending"))
            .values(**values)
        )

    async def count(self, status: str) -> int:
        row = (
            await self.conn.execute(
                select(func.count()).select_from(t.webhook_messages).where(_M.status == status)
            )
        ).scalar_one()
        return int(row)
