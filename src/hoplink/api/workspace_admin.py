"""/api/v1/workspace/{audit,export} and DELETE /api/v1/workspace (``workspace:admin``).

A key reaches only its own workspace: the audit log is filtered by it, the export holds
only its rows, and the erase removes only it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from starlette.responses import StreamingResponse

from hoplink import audit, privacy
from hoplink.accounts.models import Scope
from hoplink.api.deps import Principal, RuntimeDep, require
from hoplink.api.schemas import _In, problem_responses
from hoplink.errors import FieldError, InvalidInput
from hoplink.instants import OUT_OF_RANGE, in_utc

router = APIRouter(tags=["workspace"], responses=problem_responses(401, 403, 422))

WorkspaceAdmin = Annotated[Principal, Depends(require(Scope.WORKSPACE_ADMIN))]


class AuditEntryOut(BaseModel):
    id: str
    at: datetime
    action: str = Field(description=f"One of {', '.join(audit.ACTIONS)}")
    actor: str | None = Field(description="user:<id>, key:<id>, cli, or null (the system)")
    target: str | None
    detail: dict[str, str]


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_before: datetime | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page"
    )


class EraseRequest(_In):
    confirm: str = Field(description="The workspace's slug, to confirm the erase")


class EraseResult(BaseModel):
    erased: str
    rows: dict[str, int]


@router.get("/workspace/audit", response_model=AuditPage, summary="The workspace's audit log")
async def workspace_audit(
    who: WorkspaceAdmin,
    runtime: RuntimeDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    if action is not None and action not in audit.ACTIONS:
        raise InvalidInput(
            FieldError("action", "invalid", f"use one of {', '.join(audit.ACTIONS)}")
        )
    if before is not None and before.tzinfo is None:
        raise InvalidInput(
            FieldError("before", "naive_datetime", "give a time zone, e.g. 2026-11-01T00:00:00Z")
        )
    if before is not None and in_utc(before) is None:
        raise InvalidInput(FieldError("before", "out_of_range", OUT_OF_RANGE))
    async with runtime.db.transaction(write=False) as tx:
        entries = await tx.audit.search(
            workspace_id=who.workspace.id, action=action, before=before, limit=limit
        )
    items = [
        AuditEntryOut(
            id=e.id, at=e.at, action=e.action, actor=e.actor, target=e.target, detail=e.detail
        )
        for e in entries
    ]
    return AuditPage(items=items, next_before=entries[-1].at if len(entries) == limit else None)


@router.get(
    "/workspace/export",
    summary="Everything the workspace holds, as one JSON document (streamed)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/json": {}}, "description": "The export"}},
)
async def workspace_export(who: WorkspaceAdmin, runtime: RuntimeDep) -> StreamingResponse:
    async with runtime.db.transaction() as tx:
        await privacy.record_export(tx, workspace=who.workspace, actor=who.actor)

    async def body() -> AsyncIterator[bytes]:
        async with runtime.db.transaction(write=False) as tx:
            async for chunk in privacy.export_chunks(tx, workspace=who.workspace):
                yield chunk

    filename = f"hoplink-{who.workspace.slug}.json"
    return StreamingResponse(
        body(),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.delete(
    "/workspace",
    response_model=EraseResult,
    summary="Erase the workspace and all its data (cannot be undone)",
)
async def erase_workspace(
    body: EraseRequest, who: WorkspaceAdmin, runtime: RuntimeDep
) -> EraseResult:
    if body.confirm != who.workspace.slug:
        raise InvalidInput(
            FieldError(
                "confirm",
                "mismatch",
                f"type the workspace's slug ({who.workspace.slug}) to confirm the erase",
            )
        )
    async with runtime.db.transaction() as tx:
        erased = await privacy.erase_workspace(tx, ref=who.workspace.id, actor=who.actor)
    return EraseResult(erased=erased.slug, rows=erased.rows)
