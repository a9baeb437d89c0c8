"""Changing a password, and getting back in without one: one-time reset links.

A reset link carries a random secret (256 bits); the ``password_resets`` table keeps only
its SHA-256, so a copy of the database opens nothing. A link works once, for a short time
(``HOPLINK_PASSWORD_RESET_MINUTES``), and issuing a new one retires the older ones. Setting
a password — by a link or on the account page — ends the user's other sessions and retires
every outstanding link: whoever had the old password or an older link is out.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from hoplink import audit
from hoplink.accounts.models import PasswordReset, User
from hoplink.accounts.passwords import check_strength, hash_password
from hoplink.accounts.sessions import end_sessions
from hoplink.errors import NotFound
from hoplink.ids import utcnow
from hoplink.storage.tx import Tx

# The shape of a link's secret (secrets.token_urlsafe(32)); anything else is not looked up.
TOKEN_LENGTH = 43


def token_id(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def well_formed(secret: str) -> bool:
    return len(secret) == TOKEN_LENGTH and all(
        c.isascii() and (c.isalnum() or c in "-_") for c in secret
    )


async def set_password(
    tx: Tx,
    *,
    user_id: str,
    password: str,
    keep_session: str | None,
    actor: str | None,
    action: str = audit.PASSWORD_CHANGED,
) -> int:
    """Store a new password; end every other session (all but ``keep_session``, a
    ``Session.id``) and retire outstanding reset links. The number of sessions ended."""
    check_strength(password)
    await tx.users.set_password_hash(user_id, hash_password(password))
    now = utcnow()
    await tx.password_resets.retire_of_user(user_id, now)
    ended = await end_sessions(tx, user_id=user_id, except_session=keep_session, actor=actor)
    await audit.record(
        tx,
        action=action,
        actor=actor,
        workspace_id=None,
        target=user_id,
        detail={"sessions_ended": str(ended)},
    )
    return ended


async def issue_reset(
    tx: Tx, *, user: User, lifetime: timedelta, origin: str, actor: str | None
) -> tuple[str, PasswordReset]:
    """A new one-time link's secret (shown or sent once) and its stored record."""
    now = utcnow()
    await tx.password_resets.retire_of_user(user.id, now)
    await tx.password_resets.purge(now - timedelta(days=1))
    secret = secrets.token_urlsafe(32)
    reset = PasswordReset(
        id=token_id(secret),
        user_id=user.id,
        created_at=now,
        expires_at=now + lifetime,
        used_at=None,
        origin=origin,
    )
    await tx.password_resets.insert(reset)
    await audit.record(
        tx,
        action=audit.PASSWORD_RESET_ISSUED,
        actor=actor,
        workspace_id=None,
        target=user.id,
        detail={"origin": origin, "minutes": str(int(lifetime.total_seconds() // 60))},
    )
    return secret, reset


async def open_reset(tx: Tx, *, secret: str) -> tuple[PasswordReset, User] | None:
    """The unused, unexpired link with this secret and its user; None for any other case
    (unknown, used, expired: the page says the same for each)."""
    if not well_formed(secret):
        return None
    reset = await tx.password_resets.get(token_id(secret))
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        return None
    user = await tx.users.get(reset.user_id)
    return (reset, user) if user is not None else None


async def complete_reset(tx: Tx, *, secret: str, password: str) -> User:
    """Set the password through the link (once) and end every session of the user."""
    found = await open_reset(tx, secret=secret)
    if found is None:
        raise NotFound("this password reset link is unknown, used or expired")
    reset, user = found
    check_strength(password)
    if not await tx.password_resets.use(reset.id, utcnow()):
        raise NotFound("this password reset link is unknown, used or expired")
    await set_password(
        tx,
        user_id=user.id,
        password=password,
        keep_session=None,
        actor=f"user:{user.id}",
        action=audit.PASSWORD_RESET,
    )
    return user
