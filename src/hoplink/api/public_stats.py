"""/api/v1/links/{link_id}/public-stats — a link's public stats page (issue 16).

Turning it on (``links:write``) answers the page's address once: only a hash of its token
is kept, so asking again makes a new address and the old one stops working. Turning it off
makes the address answer 404 at once.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from hoplink.api.deps import LinksWrite, RuntimeDep
from hoplink.api.schemas import problem_responses
from hoplink.links import public_stats

router = APIRouter(tags=["links"], responses=problem_responses(401, 403, 404, 429))


class PublicStatsOut(BaseModel):
    url: str = Field(description="The page's address: shown only in this answer")


@router.post(
    "/links/{link_id}/public-stats",
    status_code=201,
    response_model=PublicStatsOut,
    summary="Turn the link's public stats page on (or give it a new address)",
)
async def enable_public_stats(link_id: str, who: LinksWrite, runtime: RuntimeDep) -> PublicStatsOut:
    async with runtime.db.transaction() as tx:
        token = await public_stats.enable(
            tx, workspace=who.workspace, link_id=link_id, actor=who.actor
        )
    s = runtime.settings
    return PublicStatsOut(url=f"{s.short_url_scheme}://{s.domain}{public_stats.PATH}{token}")


@router.delete(
    "/links/{link_id}/public-stats",
    status_code=204,
    summary="Turn the link's public stats page off",
)
async def revoke_public_stats(link_id: str, who: LinksWrite, runtime: RuntimeDep) -> Response:
    async with runtime.db.transaction() as tx:
        await public_stats.revoke(tx, workspace=who.workspace, link_id=link_id, actor=who.actor)
    return Response(status_code=204)
