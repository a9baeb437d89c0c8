"""/api/v1/workspace — who am I, and what can this key do."""

from __future__ import annotations

from fastapi import APIRouter

from hoplink.api.deps import AnyKey, RuntimeDep
from hoplink.api.schemas import WorkspaceOut, problem_responses

router = APIRouter(tags=["workspace"], responses=problem_responses(401, 403))


@router.get("/workspace", response_model=WorkspaceOut, summary="The key's workspace")
async def current_workspace(who: AnyKey, runtime: RuntimeDep) -> WorkspaceOut:
    ws = who.workspace
    click_param = ws.click_id_param or runtime.settings.click_id_param
    return WorkspaceOut(
        id=ws.id,
        slug=ws.slug,
        name=ws.name,
        seller_id=ws.seller_id,
        timezone=ws.timezone,
        status=ws.status.value,
        channels=list(ws.channels),
        param_template=ws.param_template,
        click_id_param=click_param if ws.click_id_enabled else None,
        api_key={
            "id": who.key.id,
            "name": who.key.name,
            "prefix": who.key.prefix,
            "scopes": sorted(s.value for s in who.key.scopes),
        },
    )
