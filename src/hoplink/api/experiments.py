"""/api/v1/links/{id}/ab — a link's A/B test: start, results per variant, stop with a winner.

Results (hoplink.links.abresults): traffic from the rollups since the test's start day;
orders, conversion rate and GMV from the conversions joined to their click's variant; each
challenger's z-test and probability to beat the control (hoplink.links.abstats).
"""

from __future__ import annotations

from fastapi import APIRouter

from hoplink.api.deps import LinksRead, LinksWrite, RuntimeDep
from hoplink.api.schemas import (
    AbStart,
    AbStop,
    AbTestOut,
    VariantComparison,
    VariantOut,
    problem_responses,
)
from hoplink.errors import NotFound
from hoplink.links import experiments
from hoplink.links.abresults import ab_results
from hoplink.links.abtest import AbTest
from hoplink.runtime import Runtime
from hoplink.storage.tx import Tx

router = APIRouter(tags=["A/B tests"], responses=problem_responses(401, 403, 404, 409, 422))


async def _out(
    tx: Tx, runtime: Runtime, workspace_id: str, link_id: str, test: AbTest
) -> AbTestOut:
    res = await ab_results(
        tx,
        workspace_id=workspace_id,
        link_id=link_id,
        test=test,
        fx_max_age_days=runtime.settings.fx_max_age_days,
    )
    variants = []
    for r in res.variants:
        c = r.comparison
        versus = None
        if c is not None:
            versus = VariantComparison(
                z=c.z,
                p_value=c.p_value,
                probability_to_beat=c.probability_to_beat,
                needed_per_variant=c.needed_per_variant,
            )
        v = r.variant
        variants.append(
            VariantOut(
                id=v.id, url=v.url, weight=v.weight, clicks=r.clicks,
                human_clicks=r.human_clicks, human_visitors=r.human_visitors, orders=r.orders,
                conversions=r.conversions, conversion_rate=r.conversion_rate, gmv=r.gmv,
                net_gmv=r.net_gmv, vs_control=versus,
            )
        )  # fmt: skip
    return AbTestOut(
        id=test.id,
        started_at=test.started_at,
        currency=res.currency,
        variants=variants,
        missing_rates=[f"{cur}:{day.isoformat()}" for cur, day in res.missing_rates],
    )


@router.get("/links/{link_id}/ab", response_model=AbTestOut, summary="The running A/B test")
async def get_test(link_id: str, who: LinksRead, runtime: RuntimeDep) -> AbTestOut:
    async with runtime.db.transaction(write=False) as tx:
        link = await tx.links(who.workspace.id).get(link_id)
        test = experiments.test_of(link) if link is not None else None
        if link is None:
            raise NotFound("no link with this id")
        if test is None:
            raise NotFound("no A/B test is running on this link")
        return await _out(tx, runtime, who.workspace.id, link.id, test)


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
            policy=runtime.link_rules.policy,
        )
        out = await _out(tx, runtime, who.workspace.id, link.id, test)
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
            policy=runtime.link_rules.policy,
        )
        out = await _out(tx, runtime, who.workspace.id, link.id, test)
    return out
