"""Dashboard sessions (hoplink.accounts.sessions): one row per sign-in, keyed by a hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.accounts.models import Session
from hoplink.storage import tables as t


def _session(row: Row[Any]) -> Session:
    return Session(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
        user_agent=row.user_agent,
    )


class SessionRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def insert(self, session: Session) -> None:
        await self.conn.execute(
            t.sessions.insert().values(
                id=session.id,
                user_id=session.user_id,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
                expires_at=session.expires_at,
                user_agent=session.user_agent,
            )
        )

    async def get(self, session_id: str) -> Session | None:
        row = (
            await self.conn.execute(select(t.sessions).where(t.sessions.c.id == session_id))
        ).first()
        return _session(row) if row else None

    async def of_user(self, user_id: str) -> list[Session]:
        c = t.sessions.c
        rows = await self.conn.execute(
            select(t.sessions).where(c.user_id == user_id).order_by(c.last_seen_at.desc())
        )
        return [_session(r) for r in rows]

    async def live_counts(self, now: datetime) -> dict[str, int]:
        """Live sessions per user id (users without one are absent)."""
        c = t.sessions.c
        rows = await self.conn.execute(
            select(c.user_id, func.count()).where(c.expires_at > now).group_by(c.user_id)
        )
        return {r[0]: int(r[1]) for r in rows}

    async def touch(self, session_id: str, at: datetime) -> None:
        await self.conn.execute(
            update(t.sessions).where(t.sessions.c.id == session_id).values(last_seen_at=at)
        )

    async def delete(self, session_id: str) -> bool:
        result = await self.conn.execute(delete(t.sessions).where(t.sessions.c.id == session_id))
        return bool(result.rowcount)

    async def delete_of_user(self, user_id: str, *, keep: str | None = None) -> int:
        c = t.sessions.c
        query = delete(t.sessions).where(c.user_id == user_id)
        if keep is not None:
            query = query.where(c.id != keep)
        return int((await self.conn.execute(query)).rowcount)

    async def delete_expired(self, now: datetime) -> int:
        result = await self.conn.execute(delete(t.sessions).where(t.sessions.c.expires_at <= now))
        return int(result.rowcount)
