from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.accounts.models import ApiKey, Membership, Scope, User
from hoplink.storage import tables as t
from hoplink.workspaces.models import Role


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        email=row.email,
        is_platform_admin=row.is_platform_admin,
        created_at=row.created_at,
    )


def _key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        prefix=row.prefix,
        scopes=frozenset(Scope(s) for s in row.scopes),
        created_at=row.created_at,
        created_by=row.created_by,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


class UserRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def insert(self, user: User, password_hash: str) -> None:
        await self.conn.execute(
            t.users.insert().values(
                id=user.id,
                email=user.email,
                password_hash=password_hash,
                is_platform_admin=user.is_platform_admin,
                created_at=user.created_at,
            )
        )

    async def any(self) -> bool:
        """Whether any user exists (a fresh installation has none)."""
        return (await self.conn.execute(select(t.users.c.id).limit(1))).first() is not None

    async def by_email(self, email: str) -> tuple[User, str] | None:
        row = (await self.conn.execute(select(t.users).where(t.users.c.email == email))).first()
        return (_user(row), row.password_hash) if row else None

    async def get(self, user_id: str) -> User | None:
        row = (await self.conn.execute(select(t.users).where(t.users.c.id == user_id))).first()
        return _user(row) if row else None

    async def all(self, *, limit: int = 1000) -> list[User]:
        rows = await self.conn.execute(select(t.users).order_by(t.users.c.email).limit(limit))
        return [_user(r) for r in rows]

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        await self.conn.execute(
            update(t.users).where(t.users.c.id == user_id).values(password_hash=password_hash)
        )

    async def add_membership(self, m: Membership, at: datetime) -> None:
        await self.conn.execute(
            t.memberships.insert().values(
                user_id=m.user_id, workspace_id=m.workspace_id, role=m.role.value, created_at=at
            )
        )

    async def membership(self, user_id: str, workspace_id: str) -> Membership | None:
        row = (
            await self.conn.execute(
                select(t.memberships).where(
                    t.memberships.c.user_id == user_id,
                    t.memberships.c.workspace_id == workspace_id,
                )
            )
        ).first()
        return Membership(row.user_id, row.workspace_id, Role(row.role)) if row else None

    async def workspace_roles(self, user_id: str) -> list[tuple[str, Role]]:
        """(workspace id, role) of every membership of the user, oldest first."""
        m = t.memberships.c
        rows = await self.conn.execute(
            select(m.workspace_id, m.role).where(m.user_id == user_id).order_by(m.created_at)
        )
        return [(r.workspace_id, Role(r.role)) for r in rows]

    async def count_owners(self, workspace_id: str) -> int:
        m = t.memberships.c
        q = select(func.count()).where(m.workspace_id == workspace_id, m.role == Role.OWNER.value)
        return int((await self.conn.execute(q)).scalar_one())

    async def set_role(self, workspace_id: str, user_id: str, role: Role) -> None:
        m = t.memberships.c
        await self.conn.execute(
            update(t.memberships)
            .where(m.workspace_id == workspace_id, m.user_id == user_id)
            .values(role=role.value)
        )

    async def remove_membership(self, workspace_id: str, user_id: str) -> None:
        m = t.memberships.c
        await self.conn.execute(
            delete(t.memberships).where(m.workspace_id == workspace_id, m.user_id == user_id)
        )


class ApiKeyRepo:
    """API keys. ``by_prefix`` is deliberately unscoped: it is how a request finds its tenant."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def insert(self, key: ApiKey, key_hash: str) -> None:
        await self.conn.execute(
            t.api_keys.insert().values(
                id=key.id,
                workspace_id=key.workspace_id,
                name=key.name,
                prefix=key.prefix,
                key_hash=key_hash,
                scopes=sorted(s.value for s in key.scopes),
                created_by=key.created_by,
                created_at=key.created_at,
            )
        )

    async def by_prefix(self, prefix: str) -> tuple[ApiKey, str] | None:
        row = (
            await self.conn.execute(select(t.api_keys).where(t.api_keys.c.prefix == prefix))
        ).first()
        return (_key(row), row.key_hash) if row else None

    async def for_workspace(self, workspace_id: str) -> list[ApiKey]:
        rows = await self.conn.execute(
            select(t.api_keys)
            .where(t.api_keys.c.workspace_id == workspace_id)
            .order_by(t.api_keys.c.created_at)
        )
        return [_key(r) for r in rows]

    async def get(self, workspace_id: str, key_id: str) -> ApiKey | None:
        row = (
            await self.conn.execute(
                select(t.api_keys).where(
                    t.api_keys.c.workspace_id == workspace_id, t.api_keys.c.id == key_id
                )
            )
        ).first()
        return _key(row) if row else None

    async def revoke(self, workspace_id: str, key_id: str, at: datetime) -> bool:
        result = await self.conn.execute(
            update(t.api_keys)
            .where(
                t.api_keys.c.workspace_id == workspace_id,
                t.api_keys.c.id == key_id,
                t.api_keys.c.revoked_at.is_(None),
            )
            .values(revoked_at=at)
        )
        return result.rowcount > 0

    async def touch(self, key_id: str, at: datetime) -> None:
        await self.conn.execute(
            update(t.api_keys).where(t.api_keys.c.id == key_id).values(last_used_at=at)
        )
