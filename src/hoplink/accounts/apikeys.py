"""API keys: shown once, stored as a SHA-256 hash behind a visible prefix.

A key is ``hl_<10-char prefix>_<32-char secret>`` in base62: ~250 random bits.
A fast hash is right here (unlike passwords): the input is random, not guessable.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from datetime import timedelta

from hoplink import audit
from hoplink.accounts.models import OPERATOR_SCOPES, ApiKey, Scope
from hoplink.errors import AuthenticationFailed, FieldError, InvalidInput, NotFound
from hoplink.ids import new_id, random_base62, utcnow
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Workspace

_KEY_RE = re.compile(r"^(hl_[0-9A-Za-z]{10})_([0-9A-Za-z]{32})$")
# last_used_at is written at most this often per key, not on every request.
_TOUCH_EVERY = timedelta(minutes=1)


def _hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def parse_scopes(values: Iterable[str], *, field: str = "scopes") -> frozenset[Scope]:
    scopes: set[Scope] = set()
    known = ", ".join(s.value for s in Scope)
    for value in values:
        try:
            scopes.add(Scope(value.strip()))
        except ValueError:
            raise InvalidInput(
                FieldError(field, "unknown_scope", f"unknown scope {value!r}; use {known}")
            ) from None
    if not scopes:
        raise InvalidInput(FieldError(field, "required", f"give at least one scope: {known}"))
    return frozenset(scopes)


async def create_api_key(
    tx: Tx,
    *,
    workspace: Workspace,
    name: str,
    scopes: frozenset[Scope],
    created_by: str | None,
    operator: bool = False,
) -> tuple[ApiKey, str]:
    """Create a key; the returned secret is the only time the full key exists in clear.
    ``operator``: the caller is the platform operator (the CLI, a platform admin), who
    alone may grant the platform-wide scopes."""
    name = name.strip()
    platform = sorted(s.value for s in scopes & OPERATOR_SCOPES)
    if platform and not operator:
        raise InvalidInput(
            FieldError(
                "scopes", "operator_only", f"only a platform operator may grant {platform[0]}"
            )
        )
    if not 1 <= len(name) <= 100:
        raise InvalidInput(FieldError("name", "invalid_length", "must be 1 to 100 characters"))
    prefix = f"hl_{random_base62(10)}"
    raw = f"{prefix}_{random_base62(32)}"
    key = ApiKey(
        id=new_id("key"),
        workspace_id=workspace.id,
        name=name,
        prefix=prefix,
        scopes=scopes,
        created_at=utcnow(),
        created_by=created_by,
        last_used_at=None,
        revoked_at=None,
    )
    await tx.api_keys.insert(key, _hash(raw))
    await audit.record(
        tx,
        action=audit.APIKEY_CREATED,
        actor=created_by,
        workspace_id=workspace.id,
        target=key.id,
        detail={"name": name, "prefix": prefix, "scopes": " ".join(sorted(scopes))},
    )
    return key, raw


async def authenticate(tx: Tx, raw_key: str) -> ApiKey:
    """The active key for this secret, or AuthenticationFailed (one message for every reason)."""
    match = _KEY_RE.match(raw_key)
    found = await tx.api_keys.by_prefix(match.group(1)) if match else None
    expected = found[1] if found else _hash("")
    ok = hmac.compare_digest(expected, _hash(raw_key))
    if found is None or not ok or not found[0].active:
        raise AuthenticationFailed("invalid or revoked API key")
    return found[0]


def needs_touch(key: ApiKey) -> bool:
    """Whether last_used_at is stale enough to be worth a write."""
    return key.last_used_at is None or utcnow() - key.last_used_at > _TOUCH_EVERY


async def touch(tx: Tx, key: ApiKey) -> None:
    await tx.api_keys.touch(key.id, utcnow())


async def revoke_api_key(
    tx: Tx,
    *,
    workspace_id: str,
    key_id: str,
    actor: str | None = None,
    reason: str | None = None,
) -> None:
    if not await tx.api_keys.revoke(workspace_id, key_id, utcnow()):
        existing = await tx.api_keys.get(workspace_id, key_id)
        if existing is None:
            raise NotFound("no such API key in this workspace")
        return  # revoked before: nothing happened now
    await audit.record(
        tx,
        action=audit.APIKEY_REVOKED,
        actor=actor,
        workspace_id=workspace_id,
        target=key_id,
        detail={"reason": reason} if reason else {},
    )


def made_by(key: ApiKey, user_id: str) -> bool:
    # The dashboard records its creator as "user:<id>"; the CLI as "cli" (or nobody).
    return key.created_by in (f"user:{user_id}", user_id)


async def member_keys(tx: Tx, *, workspace_id: str, user_id: str) -> list[ApiKey]:
    """The active keys ``user_id`` created in the workspace: they end with the membership."""
    keys = await tx.api_keys.for_workspace(workspace_id)
    return [k for k in keys if k.active and made_by(k, user_id)]


async def revoke_member_keys(
    tx: Tx, *, workspace_id: str, user_id: str, reason: str, actor: str | None = None
) -> int:
    """Revoke every active key ``user_id`` created in the workspace, each audited with
    ``reason``; keys of other members, of the CLI and of other workspaces stay."""
    keys = await member_keys(tx, workspace_id=workspace_id, user_id=user_id)
    for key in keys:
        await revoke_api_key(
            tx, workspace_id=workspace_id, key_id=key.id, actor=actor, reason=reason
        )
    return len(keys)
