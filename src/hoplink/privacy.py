"""A workspace's data on request: a full export as JSON, and a full erase.

The export is one JSON object streamed in chunks (``format``, ``version``, ``exported_at``,
then one array per section: the workspace, its members, every table holding its rows,
link-tag pairs). Secrets in any form (API and ingest key hashes, invitation and public
stats token hashes, sealed webhook secrets and ad platform credentials), visitors'
contact addresses and visitor hashes are left out. The erase deletes every row that
carries the workspace's id and then the workspace row itself (no tombstone); what is kept
is the audit entry of the erase (with the slug, never the id) and its links' codes,
retired so no one else can ever be given them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import orjson

from hoplink import audit
from hoplink.events import ShortDomainChanged, WorkspaceChanged
from hoplink.ids import utcnow
from hoplink.storage.privacy import export_tables
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Workspace
from hoplink.workspaces.service import find_workspace

FORMAT = "hoplink.workspace-export"
VERSION = 1
_CHUNK = 64 * 1024


def _json(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS)


async def record_export(tx: Tx, *, workspace: Workspace, actor: str | None) -> None:
    await audit.record(
        tx,
        action=audit.WORKSPACE_EXPORTED,
        actor=actor,
        workspace_id=workspace.id,
        target=workspace.id,
        detail={},
    )


async def export_chunks(tx: Tx, *, workspace: Workspace) -> AsyncIterator[bytes]:
    """The export as bytes, in chunks of about 64 KB, read within ``tx`` (which must be
    a fresh transaction: it is switched to a consistent snapshot first)."""
    await tx.privacy.snapshot()
    head = {"format": FORMAT, "version": VERSION, "exported_at": utcnow()}
    buffer = bytearray(_json(head)[:-1])
    for section in export_tables():
        buffer += b',"' + section.encode() + b'":['
        first = True
        async for row in tx.privacy.rows(section, workspace.id):
            if not first:
                buffer += b","
            buffer += _json(row)
            first = False
            if len(buffer) >= _CHUNK:
                yield bytes(buffer)
                buffer.clear()
        buffer += b"]"
    buffer += b"}"
    yield bytes(buffer)


@dataclass(frozen=True, slots=True)
class Erased:
    workspace_id: str
    slug: str
    rows: dict[str, int]


async def erase_workspace(tx: Tx, *, ref: str, actor: str | None) -> Erased:
    """Delete the workspace and everything it owns (its short-link hosts too). Cannot be
    undone."""
    ws = await find_workspace(tx, ref)
    rows = await tx.privacy.erase(ws.id, utcnow())
    await audit.record(
        tx,
        action=audit.WORKSPACE_ERASED,
        actor=actor,
        workspace_id=None,
        target=None,
        detail={"slug": ws.slug, **{f"rows.{name}": str(n) for name, n in sorted(rows.items())}},
    )
    tx.record(WorkspaceChanged(ws.id, "erased"), ShortDomainChanged(None))
    return Erased(workspace_id=ws.id, slug=ws.slug, rows=rows)
