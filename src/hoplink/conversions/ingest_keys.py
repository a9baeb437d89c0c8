"""Ingest keys: what a store's or marketplace's server sends conversions with.

``hlik_<10-char prefix>_<32-char secret>``: it can only record conversion events of its
one workspace (no reads, no settings), so it can live in a store's back end; shown once,
kept as a SHA-256 hash, revocable.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime

from hoplink import audit
from hoplink.errors import AuthenticationFailed, FieldError, InvalidInput, NotFound
from hoplink.ids import new_id, random_base62, utcnow
from hoplink.storage.ingest_keys import IngestKeyRepo
from hoplink.storage.tx import Tx

PREFIX = "hlik_"
_KEY_RE = re.compile(r"^(hlik_[0-9A-Za-z]{10})_([0-9A-Za-z]{32})$")


@dataclass(frozen=True, slots=True)
class IngestKey:
    id: str
    workspace_id: str
    name: str
    prefix: str
    created_at: datetime
    created_by: str | None
    revoked_at: datetime | None


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def create_ingest_key(
    tx: Tx, *, workspace_id: str, name: str, created_by: str | None
) -> tuple[IngestKey, str]:
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInput(FieldError("name", "invalid_length", "must be 1 to 100 characters"))
    prefix = f"{PREFIX}{random_base62(10)}"
    raw = f"{prefix}_{random_base62(32)}"
    key = IngestKey(new_id("ikey"), workspace_id, name, prefix, utcnow(), created_by, None)
    await IngestKeyRepo(tx.conn).insert(
        id=key.id,
        workspace_id=workspace_id,
        name=name,
        prefix=prefix,
        key_hash=_hash(raw),
        created_by=created_by,
        created_at=key.created_at,
    )
    await audit.record(
        tx,
        action=audit.INGEST_KEY_CREATED,
        actor=created_by,
        workspace_id=workspace_id,
        target=key.id,
        detail={"name": name, "prefix": prefix},
    )
    return key, raw


async def authenticate(tx: Tx, raw: str) -> IngestKey:
    match = _KEY_RE.match(raw)
    row = await IngestKeyRepo(tx.conn).by_prefix(match.group(1)) if match else None
    ok = hmac.compare_digest(row.key_hash if row else _hash(""), _hash(raw))
    if row is None or not ok or row.revoked_at is not None:
        raise AuthenticationFailed("invalid or revoked ingest key")
    return IngestKey(
        row.id, row.workspace_id, row.name, row.prefix, row.created_at, row.created_by, None
    )


async def list_ingest_keys(tx: Tx, *, workspace_id: str) -> list[IngestKey]:
    rows = await IngestKeyRepo(tx.conn).of_workspace(workspace_id)
    return [
        IngestKey(r.id, workspace_id, r.name, r.prefix, r.created_at, r.created_by, r.revoked_at)
        for r in rows
    ]


async def revoke_ingest_key(tx: Tx, *, workspace_id: str, key_id: str, actor: str | None) -> None:
    repo = IngestKeyRepo(tx.conn)
    if not await repo.revoke(workspace_id, key_id, utcnow()):
        if not await repo.exists(workspace_id, key_id):
            raise NotFound("no such ingest key in this workspace")
        return
    await audit.record(
        tx,
        action=audit.INGEST_KEY_REVOKED,
        actor=actor,
        workspace_id=workspace_id,
        target=key_id,
        detail={},
    )
