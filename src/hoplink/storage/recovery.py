"""Password resets, invitations, TOTP authenticators and recovery codes, and the
workspace's two-factor rule (hoplink.accounts.tokens and hoplink.accounts.totp)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.accounts.models import Invitation, PasswordReset, TotpState
from hoplink.storage import tables as t
from hoplink.workspaces.models import Role


def _reset(row: Row[Any]) -> PasswordReset:
    return PasswordReset(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        origin=row.origin,
    )


def _invitation(row: Row[Any]) -> Invitation:
    return Invitation(
        id=row.id,
        workspace_id=row.workspace_id,
        email=row.email,
        role=Role(row.role),
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        accepted_at=row.accepted_at,
        accepted_by=row.accepted_by,
        revoked_at=row.revoked_at,
    )


class PasswordResetRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def insert(self, reset: PasswordReset) -> None:
        await self.conn.execute(
            t.password_resets.insert().values(
                id=reset.id,
                user_id=reset.user_id,
                created_at=reset.created_at,
                expires_at=reset.expires_at,
                used_at=reset.used_at,
                origin=reset.origin,
            )
        )

    async def get(self, reset_id: str) -> PasswordReset | None:
        c = t.password_resets.c
        row = (await self.conn.execute(select(t.password_resets).where(c.id == reset_id))).first()
        return _reset(row) if row else None

    async def use(self, reset_id: str, at: datetime) -> bool:
        """Mark used; False if it was used already (or by a concurrent request)."""
        c = t.password_resets.c
        result = await self.conn.execute(
            update(t.password_resets)
            .where(c.id == reset_id, c.used_at.is_(None))
            .values(used_at=at)
        )
        return bool(result.rowcount)

    async def retire_of_user(self, user_id: str, at: datetime) -> int:
        """Every unused link of the user stops working (a newer one, or a new password)."""
        c = t.password_resets.c
        result = await self.conn.execute(
            update(t.password_resets)
            .where(c.user_id == user_id, c.used_at.is_(None))
            .values(used_at=at)
        )
        return int(result.rowcount)

    async def purge(self, before: datetime) -> int:
        c = t.password_resets.c
        result = await self.conn.execute(delete(t.password_resets).where(c.expires_at < before))
        return int(result.rowcount)


class InvitationRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def insert(self, invitation: Invitation, token_hash: str) -> None:
        i = invitation
        await self.conn.execute(
            t.invitations.insert().values(
                id=i.id,
                workspace_id=i.workspace_id,
                email=i.email,
                role=i.role.value,
                token_hash=token_hash,
                created_by=i.created_by,
                created_at=i.created_at,
                expires_at=i.expires_at,
                accepted_at=None,
                accepted_by=None,
                revoked_at=None,
            )
        )

    async def by_token_hash(self, token_hash: str) -> Invitation | None:
        c = t.invitations.c
        row = (
            await self.conn.execute(select(t.invitations).where(c.token_hash == token_hash))
        ).first()
        return _invitation(row) if row else None

    async def get(self, workspace_id: str, invitation_id: str) -> Invitation | None:
        c = t.invitations.c
        row = (
            await self.conn.execute(
                select(t.invitations).where(c.workspace_id == workspace_id, c.id == invitation_id)
            )
        ).first()
        return _invitation(row) if row else None

    async def pending(self, workspace_id: str, now: datetime) -> list[Invitation]:
        c = t.invitations.c
        rows = await self.conn.execute(
            select(t.invitations)
            .where(
                c.workspace_id == workspace_id,
                c.accepted_at.is_(None),
                c.revoked_at.is_(None),
                c.expires_at > now,
            )
            .order_by(c.created_at.desc())
        )
        return [_invitation(r) for r in rows]

    async def accept(self, invitation_id: str, user_id: str, at: datetime) -> bool:
        c = t.invitations.c
        result = await self.conn.execute(
            update(t.invitations)
            .where(
                c.id == invitation_id,
                c.accepted_at.is_(None),
                c.revoked_at.is_(None),
                c.expires_at > at,
            )
            .values(accepted_at=at, accepted_by=user_id)
        )
        return bool(result.rowcount)

    async def revoke(self, workspace_id: str, invitation_id: str, at: datetime) -> bool:
        c = t.invitations.c
        result = await self.conn.execute(
            update(t.invitations)
            .where(
                c.workspace_id == workspace_id,
                c.id == invitation_id,
                c.accepted_at.is_(None),
                c.revoked_at.is_(None),
            )
            .values(revoked_at=at)
        )
        return bool(result.rowcount)


class TotpRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def get(self, user_id: str) -> TotpState | None:
        c = t.user_totp.c
        row = (await self.conn.execute(select(t.user_totp).where(c.user_id == user_id))).first()
        if row is None:
            return None
        return TotpState(
            user_id=row.user_id,
            secret_sealed=row.secret_sealed,
            created_at=row.created_at,
            confirmed_at=row.confirmed_at,
            last_step=row.last_step,
        )

    async def enabled_of(self, user_ids: list[str]) -> set[str]:
        if not user_ids:
            return set()
        c = t.user_totp.c
        rows = await self.conn.execute(
            select(c.user_id).where(c.user_id.in_(user_ids), c.confirmed_at.is_not(None))
        )
        return {r[0] for r in rows}

    async def put_pending(self, user_id: str, secret_sealed: str, at: datetime) -> None:
        """Start (or restart) enrolment; never over a confirmed authenticator."""
        c = t.user_totp.c
        await self.conn.execute(
            delete(t.user_totp).where(c.user_id == user_id, c.confirmed_at.is_(None))
        )
        await self.conn.execute(
            t.user_totp.insert().values(
                user_id=user_id, secret_sealed=secret_sealed, created_at=at, confirmed_at=None
            )
        )

    async def confirm(self, user_id: str, step: int, at: datetime) -> bool:
        c = t.user_totp.c
        result = await self.conn.execute(
            update(t.user_totp)
            .where(c.user_id == user_id, c.confirmed_at.is_(None))
            .values(confirmed_at=at, last_step=step)
        )
        return bool(result.rowcount)

    async def advance(self, user_id: str, step: int) -> bool:
        """Record an accepted code's time step; False if that step (or a later) was used."""
        c = t.user_totp.c
        result = await self.conn.execute(
            update(t.user_totp)
            .where(c.user_id == user_id, (c.last_step.is_(None)) | (c.last_step < step))
            .values(last_step=step)
        )
        return bool(result.rowcount)

    async def delete(self, user_id: str) -> bool:
        c = t.user_totp.c
        result = await self.conn.execute(delete(t.user_totp).where(c.user_id == user_id))
        await self.conn.execute(
            delete(t.recovery_codes).where(t.recovery_codes.c.user_id == user_id)
        )
        return bool(result.rowcount)

    async def replace_recovery_codes(self, user_id: str, ids: list[str], at: datetime) -> None:
        r = t.recovery_codes.c
        await self.conn.execute(delete(t.recovery_codes).where(r.user_id == user_id))
        if ids:
            await self.conn.execute(
                t.recovery_codes.insert(),
                [{"id": i, "user_id": user_id, "created_at": at, "used_at": None} for i in ids],
            )

    async def use_recovery_code(self, user_id: str, code_id: str, at: datetime) -> bool:
        r = t.recovery_codes.c
        result = await self.conn.execute(
            update(t.recovery_codes)
            .where(r.id == code_id, r.user_id == user_id, r.used_at.is_(None))
            .values(used_at=at)
        )
        return bool(result.rowcount)

    async def recovery_codes_left(self, user_id: str) -> int:
        r = t.recovery_codes.c
        count = await self.conn.scalar(
            select(func.count()).where(r.user_id == user_id, r.used_at.is_(None))
        )
        return int(count or 0)


class WorkspaceSecurityRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def requires_totp(self, workspace_id: str) -> bool:
        c = t.workspace_security.c
        value = await self.conn.scalar(select(c.require_totp).where(c.workspace_id == workspace_id))
        return bool(value)

    async def set_require_totp(self, workspace_id: str, value: bool, at: datetime) -> None:
        c = t.workspace_security.c
        result = await self.conn.execute(
            update(t.workspace_security)
            .where(c.workspace_id == workspace_id)
            .values(require_totp=value, updated_at=at)
        )
        if not result.rowcount:
            await self.conn.execute(
                t.workspace_security.insert().values(
                    workspace_id=workspace_id, require_totp=value, updated_at=at
                )
            )
