"""Small builders for test data, going through the real services."""

from __future__ import annotations

from hoplink.accounts.apikeys import create_api_key
from hoplink.accounts.models import Scope
from hoplink.domains import ensure_default_domain
from hoplink.forwarding.models import Batch
from hoplink.ids import utcnow
from hoplink.links.models import ShortDomain
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Workspace, WorkspaceStatus
from hoplink.workspaces.service import create_workspace

DEFAULT_HOST = "hop.test"
ALL_SCOPES = frozenset(Scope)


async def domain(tx: Tx, host: str = DEFAULT_HOST) -> ShortDomain:
    return await ensure_default_domain(tx, host)


async def workspace(tx: Tx, name: str = "Acme Store", **kwargs: object) -> Workspace:
    kwargs.setdefault("status", WorkspaceStatus.VERIFIED)
    return await create_workspace(tx, name=name, **kwargs)  # type: ignore[arg-type]


async def api_key(
    tx: Tx, ws: Workspace, scopes: frozenset[Scope] = ALL_SCOPES, name: str = "test"
) -> str:
    _, raw = await create_api_key(
        tx, workspace=ws, name=name, scopes=scopes, created_by=None, operator=True
    )
    return raw


async def dead_forward_event(
    tx: Tx, *, workspace_id: str, destination_id: str, batch_id: str, key: str, error: str
) -> str:
    """A purchase dead-lettered for an ad platform (a batch of one event): its entry id."""
    now = utcnow()
    event = {"id": f"{batch_id}.0", "key": key, "kind": "purchase", "at": now.timestamp()}
    await tx.forwarding(workspace_id).insert_batches(
        [
            Batch(
                id=batch_id,
                workspace_id=workspace_id,
                destination_id=destination_id,
                status="dead",
                events=[{**event, "payload": "{}"}],
                attempts=1,
                next_attempt_at=now,
                created_at=now,
                sent_at=now,
                answer_status=400,
                error=error,
            )
        ]
    )
    return str(event["id"])
