"""/api/v1/campaigns and /api/v1/tags."""

from __future__ import annotations

from fastapi import APIRouter, Response

from hoplink.api.deps import LinksRead, LinksWrite, RuntimeDep
from hoplink.api.schemas import (
    CampaignIn,
    CampaignOut,
    CampaignUpdate,
    TagOut,
    TagRenameIn,
    problem_responses,
)
from hoplink.errors import FieldError, InvalidInput, NotFound
from hoplink.links import campaigns
from hoplink.links import tags as tag_service

router = APIRouter(tags=["campaigns"], responses=problem_responses(400, 401, 403, 404, 409, 422))


@router.post("/campaigns", status_code=201, response_model=CampaignOut, summary="Create a campaign")
async def create_campaign(body: CampaignIn, who: LinksWrite, runtime: RuntimeDep) -> CampaignOut:
    async with runtime.db.transaction() as tx:
        c = await campaigns.create_campaign(
            tx, workspace_id=who.workspace.id, name=body.name, external_id=body.external_id
        )
    return CampaignOut.of(c)


@router.get("/campaigns", response_model=list[CampaignOut], summary="List campaigns")
async def list_campaigns(who: LinksRead, runtime: RuntimeDep) -> list[CampaignOut]:
    async with runtime.db.transaction(write=False) as tx:
        found = await tx.campaigns(who.workspace.id).all()
    return [CampaignOut.of(c) for c in found]


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut, summary="Get one campaign")
async def get_campaign(campaign_id: str, who: LinksRead, runtime: RuntimeDep) -> CampaignOut:
    async with runtime.db.transaction(write=False) as tx:
        c = await campaigns.get_campaign(tx, workspace_id=who.workspace.id, campaign_id=campaign_id)
    return CampaignOut.of(c)


@router.patch(
    "/campaigns/{campaign_id}",
    response_model=CampaignOut,
    summary="Rename a campaign or change its external ID (null clears it)",
)
async def update_campaign(
    campaign_id: str, body: CampaignUpdate, who: LinksWrite, runtime: RuntimeDep
) -> CampaignOut:
    given = body.model_fields_set
    if "name" in given and body.name is None:
        raise InvalidInput(FieldError("name", "null", "must not be null; leave it out instead"))
    external_id = body.external_id
    if "external_id" in given and external_id is None:
        external_id = ""  # explicit null clears it
    async with runtime.db.transaction() as tx:
        c = await campaigns.update_campaign(
            tx,
            workspace_id=who.workspace.id,
            campaign_id=campaign_id,
            name=body.name,
            external_id=external_id,
        )
    return CampaignOut.of(c)


@router.delete(
    "/campaigns/{campaign_id}",
    status_code=204,
    summary="Delete a campaign (its links keep existing)",
)
async def delete_campaign(campaign_id: str, who: LinksWrite, runtime: RuntimeDep) -> Response:
    async with runtime.db.transaction() as tx:
        await campaigns.delete_campaign(tx, workspace_id=who.workspace.id, campaign_id=campaign_id)
    return Response(status_code=204)


@router.get(
    "/tags",
    response_model=list[TagOut],
    tags=["links"],
    summary="Tags of this workspace with their link counts",
)
async def list_tags(who: LinksRead, runtime: RuntimeDep) -> list[TagOut]:
    async with runtime.db.transaction(write=False) as tx:
        counts = await tx.links(who.workspace.id).tag_counts()
    return [TagOut(name=name, links=n) for name, n in counts]


@router.patch(
    "/tags/{name:path}",
    response_model=TagOut,
    tags=["links"],
    summary="Rename a tag on all its links (its commission rule follows)",
)
async def rename_tag(name: str, body: TagRenameIn, who: LinksWrite, runtime: RuntimeDep) -> TagOut:
    async with runtime.db.transaction() as tx:
        new = await tag_service.rename_tag(tx, workspace=who.workspace, old=name, new=body.name)
        counts = dict(await tx.links(who.workspace.id).tag_counts())
    return TagOut(name=new, links=counts.get(new, 0))


@router.delete(
    "/tags/{name:path}",
    status_code=204,
    tags=["links"],
    summary="Delete a tag from all its links, with its commission rule",
)
async def delete_tag(name: str, who: LinksWrite, runtime: RuntimeDep) -> Response:
    async with runtime.db.transaction() as tx:
        if not await tag_service.delete_tags(tx, workspace=who.workspace, names=[name]):
            raise NotFound(f"there is no tag {name!r}")
    return Response(status_code=204)
