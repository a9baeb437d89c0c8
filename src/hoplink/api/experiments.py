"""/api/v1/links/{id}/ab — a link's A/B test: start, results per variant, stop with a winner.

Results are counted from the rollups since the test's start day. Orders, conversion rate,
GMV and the significance figures need recorded conversions (another branch); the math is
ready in ``hoplink.links.abstats``, and conversions join on the clicks' ``variant``.
"""

from __future__ import annotations

from fastapi import APIRouter

from hoplink.api.deps import LinksRead, LinksWrite, RuntimeDep
from hoplink.api.schemas import AbStart, AbStop, AbTestOut, VariantOut, problem_responses
from hoplink.errors import NotFound
from hoplink.links import experiments
from hoplink.links.abtest import AbTest
from hoplink.safety.policy import policy_from_settings
from hoplink.storage.experiments import variant_counts
from hoplink.storage.tx import Tx

router = APIRouter(tags=["A/B tests"], responses=problem_responses(401, 403, 404, 409, 422))


async def _out(tx: Tx, workspace_id: str, link_id: str, test: AbTest) -> AbTestOut:
    counts = await variant_counts(
        tx.conn,
        workspace_id=workspace_id,
        link_id=link_id,
        variants=[v.id for v in test.variants],
        from_day=int(test.started_at.timestamp()) // 86400,
    )
    variants = []
    for v in test.variants:
        pv, human, uv = counts.get(v.id, (0, 0, 0))
        variants.append(
            VariantOut(
                id=v.id, url=v.url, weight=v.weight, clicks=pv, human_clicks=human,
                human_visitors=uv,
            )
        )  # fmt: skip
    return AbTestOut(id=test.id, started_at=test.started_at, variants=variants)


@router.get("/links/{link_id}/ab", response_model=AbTestOut, summary="The running A/B test")
async def get_test(link_id: str, who: LinksRead, runtime: RuntimeDep) -> AbTestOut:
    async with runtime.db.transaction(write=False) as tx:
        link = await tx.links(who.workspace.id).get(link_id)
        test = experiments.test_of(link) if link is not None else None
        if link is None:
            raise NotFound("no link with this id")
        if test is None:
            raise NotFound("no A/B test is running on this link")
        return await _out(tx, who.workspace.id, link.id, test)


@router.put("/links/{link_id}/ab", response_model=AbTestOut, summary="Start an A/B test")
async def start_test(
    link_id: str, body: AbStart, who: LinksWrite, runtime: RuntimeDep
) -> AbTestOut:
    async with runtime.db.transaction() as tx:
        link, test = await experiments.start_test(
            tx,
            workspace=who.workspace,
            link_id=link_id,
            variants=[v.model_dump() for v in body.variants],
            actor=who.actor,
            policy=policy_from_settings(runtime.settings),
        )
        out = await _out(tx, who.workspace.id, link.id, test)
    return out


@router.post(
    "/links/{link_id}/ab/stop",
    response_model=AbTestOut,
    summary="Stop the A/B test; the link keeps the winner (history kept)",
)
async def stop_test(link_id: str, body: AbStop, who: LinksWrite, runtime: RuntimeDep) -> AbTestOut:
    async with runtime.db.transaction() as tx:
        link, test = await experiments.stop_test(
            tx,
            workspace=who.workspace,
            link_id=link_id,
            winner=body.winner,
            actor=who.actor,
            policy=policy_from_settings(runtime.settings),
        )
        out = await _out(tx, who.workspace.id, link.id, test)
    return out
