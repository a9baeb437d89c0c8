"""Dashboard sessions kept on the server, so that ending one ends it everywhere at once.

The signed cookie (``dashboard/sessions.py``) carries a random secret; the ``sessions``
table keeps only its SHA-256 (the session's id), the user, and when it started, was last
seen and expires. Every signed-in request looks its row up (one primary-key read in the
transaction the page opens anyway), so deleting the row — sign-out, a password change,
removal from a workspace, an operator's "sign out everywhere" — ends the session on every
web process and node at the next request, with nothing to propagate: in production mode
the rows live in the shared PostgreSQL database.

Other features end sessions through ``end_sessions`` (e.g. a password change keeps the
session that made it: ``except_session=``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from hoplink import audit
from hoplink.accounts.models import Session
from hoplink.ids import utcnow
from hoplink.storage.tx import Tx

# The absolute lifetime of a sign-in, however active (the cookie's Max-Age too).
LIFETIME = timedelta(hours=12)
# last_seen_at is written at most this often per session (not on every page).
_TOUCH_EVERY = timedelta(minutes=5)
_MAX_USER_AGENT = 200


def session_id(secret: str) -> str:
    """The stored id of the session whose cookie carries ``secret``."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def start_session(
    tx: Tx, *, user_id: str, user_agent: str | None = None, now: datetime | None = None
) -> tuple[str, Session]:
    """A new session for ``user_id``: (the secret for the cookie, the stored session)."""
    now = now or utcnow()
    secret = secrets.token_urlsafe(32)
    session = Session(
        id=session_id(secret),
        user_id=user_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + LIFETIME,
        user_agent=(user_agent or "")[:_MAX_USER_AGENT] or None,
    )
    await tx.sessions.insert(session)
    return secret, session


async def live_session(tx: Tx, *, secret: str, now: datetime | None = None) -> Session | None:
    """The live session whose cookie carries ``secret``, or None (ended, expired or never
    existed). Reads only: see ``touch_due`` / ``touch`` for last_seen_at."""
    found = await tx.sessions.get(session_id(secret))
    if found is None or found.expires_at <= (now or utcnow()):
        return None
    return found


def touch_due(session: Session, *, now: datetime | None = None) -> bool:
    """Whether ``last_seen_at`` is old enough to be written again."""
    return (now or utcnow()) - session.last_seen_at >= _TOUCH_EVERY


async def touch(tx: Tx, *, session_id: str, now: datetime | None = None) -> None:
    await tx.sessions.touch(session_id, now or utcnow())


async def end_session(tx: Tx, *, secret: str) -> bool:
    """Sign-out: end the session with cookie secret ``secret``."""
    return await tx.sessions.delete(session_id(secret))


async def end_sessions(
    tx: Tx, *, user_id: str, except_session: str | None = None, actor: str | None = None
) -> int:
    """End every session of ``user_id`` (all of them, or all but the one whose *id* —
    ``Session.id`` / ``session_id(secret)`` — is ``except_session``); the number ended.

    For a password change (keep the caller's own session), removal from a workspace and
    an operator's "sign out everywhere". Audited when any session was ended.
    """
    ended = await tx.sessions.delete_of_user(user_id, keep=except_session)
    if ended:
        await audit.record(
            tx,
            action=audit.SESSIONS_ENDED,
            actor=actor,
            workspace_id=None,
            target=user_id,
            detail={"sessions": str(ended), "kept": "1" if except_session else "0"},
        )
    return ended


async def sessions_of(tx: Tx, *, user_id: str) -> list[Session]:
    """The user's live sessions, most recently seen first (for an account page)."""
    now = utcnow()
    return [s for s in await tx.sessions.of_user(user_id) if s.expires_at > now]


async def purge_expired(tx: Tx, *, now: datetime | None = None) -> int:
    return await tx.sessions.delete_expired(now or utcnow())
