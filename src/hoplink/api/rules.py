"""/api/v1/links/{id}/rules — a link's routing rules (first match wins), and the app presets.

Thin adapters over ``hoplink.links.rules`` (whose changes record ``LinkChanged``: every node
serves the new rules within the invalidation bound after the commit).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from hoplink.api.deps import LinksRead, LinksWrite, RuntimeDep
from hoplink.api.schemas import (
    AppPresetOut,
    RuleCreate,
    RuleIn,
    RuleList,
    RuleOut,
    problem_responses,
)
from hoplink.errors import NotFound
from hoplink.links import rules as service
from hoplink.links.routing import AppPreset, app_presets
from hoplink.runtime import Runtime

router = APIRouter(tags=["routing rules"], responses=problem_responses(401, 403, 404, 422))


def _presets(runtime: Runtime) -> dict[str, AppPreset]:
    return app_presets(runtime.settings.app_presets_file)


@router.get("/app-presets", response_model=list[AppPresetOut], summary="App hand-off presets")
async def list_presets(who: LinksRead, runtime: RuntimeDep) -> list[AppPresetOut]:
    return [
        AppPresetOut(
            name=p.name,
            label=p.label,
            android_package=p.android_package,
            ios_template=p.ios_template,
        )
        for p in sorted(_presets(runtime).values(), key=lambda p: p.name)
    ]


@router.get("/links/{link_id}/rules", response_model=list[RuleOut], summary="A link's rules")
async def list_rules(link_id: str, who: LinksRead, runtime: RuntimeDep) -> list[RuleOut]:
    async with runtime.db.transaction(write=False) as tx:
        _, rules = await service.list_rules(tx, workspace=who.workspace, link_id=link_id)
    return [RuleOut.of(r) for r in rules]


@router.put(
    "/links/{link_id}/rules",
    response_model=list[RuleOut],
    summary="Replace (or reorder) all of a link's rules",
)
async def set_rules(
    link_id: str, body: RuleList, who: LinksWrite, runtime: RuntimeDep
) -> list[RuleOut]:
    raws = [{**item.raw(), **({"id": item.id} if item.id else {})} for item in body.rules]
    async with runtime.db.transaction() as tx:
        _link, rules = await service.set_rules(
            tx,
            workspace=who.workspace,
            link_id=link_id,
            rules=raws,
            actor=who.actor,
            policy=runtime.link_rules.policy,
            presets=_presets(runtime),
        )
    return [RuleOut.of(r) for r in rules]


@router.post(
    "/links/{link_id}/rules", status_code=201, response_model=RuleOut, summary="Add a rule"
)
async def add_rule(link_id: str, body: RuleCreate, who: LinksWrite, runtime: RuntimeDep) -> RuleOut:
    async with runtime.db.transaction() as tx:
        _link, rule = await service.add_rule(
            tx,
            workspace=who.workspace,
            link_id=link_id,
            rule=body.raw(),
            position=body.position,
            actor=who.actor,
            policy=runtime.link_rules.policy,
            presets=_presets(runtime),
        )
    return RuleOut.of(rule)


@router.get("/links/{link_id}/rules/{rule_id}", response_model=RuleOut, summary="One rule")
async def get_rule(link_id: str, rule_id: str, who: LinksRead, runtime: RuntimeDep) -> RuleOut:
    async with runtime.db.transaction(write=False) as tx:
        _, rules = await service.list_rules(tx, workspace=who.workspace, link_id=link_id)
    rule = next((r for r in rules if r.id == rule_id), None)
    if rule is None:
        raise NotFound("no rule with this id on this link")
    return RuleOut.of(rule)


@router.put("/links/{link_id}/rules/{rule_id}", response_model=RuleOut, summary="Replace a rule")
async def replace_rule(
    link_id: str, rule_id: str, body: RuleIn, who: LinksWrite, runtime: RuntimeDep
) -> RuleOut:
    async with runtime.db.transaction() as tx:
        _link, rule = await service.replace_rule(
            tx,
            workspace=who.workspace,
            link_id=link_id,
            rule_id=rule_id,
            rule=body.raw(),
            actor=who.actor,
            policy=runtime.link_rules.policy,
            presets=_presets(runtime),
        )
    return RuleOut.of(rule)


@router.delete("/links/{link_id}/rules/{rule_id}", status_code=204, summary="Delete a rule")
async def delete_rule(link_id: str, rule_id: str, who: LinksWrite, runtime: RuntimeDep) -> Response:
    async with runtime.db.transaction() as tx:
        await service.delete_rule(
            tx, workspace=who.workspace, link_id=link_id, rule_id=rule_id, actor=who.actor
        )
    return Response(status_code=204)
