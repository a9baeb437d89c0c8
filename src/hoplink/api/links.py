"""/api/v1/links — thin adapters over ``hoplink.links.service``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, TypeVar

import orjson
from fastapi import APIRouter, Query, Response
from pydantic import ValidationError

from hoplink.api.deps import ClientIP, LinksRead, LinksWrite, Principal, RuntimeDep
from hoplink.api.problems import field_errors
from hoplink.api.schemas import (
    BulkCreate,
    BulkResult,
    HistoryOut,
    LinkCreate,
    LinkOut,
    LinkPage,
    LinkUpdate,
    problem_responses,
)
from hoplink.domains import domain_for
from hoplink.errors import FieldError, InvalidInput
from hoplink.instants import OUT_OF_RANGE, in_utc
from hoplink.links import service
from hoplink.links.models import LINK_SORTS, Link, LinkQuery
from hoplink.links.spec import CLEARABLE, LinkEdit
from hoplink.links.urls import UTM_FIELDS
from hoplink.ratelimit import charge, parse_limit, refuse_if_spent
from hoplink.runtime import Runtime
from hoplink.unset import UNSET, Unset
from hoplink.workspaces.quotas import quota_from_settings

_T = TypeVar("_T")

router = APIRouter(
    prefix="/links", tags=["links"], responses=problem_responses(400, 401, 403, 404, 409, 422)
)


def _out(runtime: Runtime, link: Link) -> LinkOut:
    return LinkOut.of(link, runtime.short_url(link.domain, link.code))


def _spec(body: LinkCreate) -> service.LinkSpec:
    return service.LinkSpec(
        url=body.url,
        utm={name: getattr(body, name) for name in UTM_FIELDS},
        channel=body.channel,
        campaign_id=body.campaign_id,
        tags=body.tags,
        title=body.title,
        notes=body.notes,
        code=body.code,
        forward_query=body.forward_query,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        max_clicks=body.max_clicks,
        expiry_url=body.expiry_url,
        pass_ad_click_ids=body.pass_ad_click_ids,
    )


@router.post("", status_code=201, response_model=LinkOut, summary="Create a short link")
async def create_link(
    body: LinkCreate, who: LinksWrite, runtime: RuntimeDep, ip: ClientIP
) -> LinkOut:
    await _refuse_if_abusive(runtime, ip)
    try:
        async with runtime.db.transaction() as tx:
            domain = await domain_for(tx, who.workspace, body.domain)
            link = await service.create_link(
                tx,
                workspace=who.workspace,
                domain=domain,
                spec=_spec(body),
                actor=who.actor,
                rules=runtime.link_rules,
                quota=quota_from_settings(runtime.settings),
            )
    except InvalidInput:
        await _count_refused(runtime, ip, 1)
        raise
    return _out(runtime, link)


@router.post("/bulk", response_model=BulkResult, summary="Create up to 1,000 links at once")
async def bulk_create(
    body: BulkCreate, who: LinksWrite, runtime: RuntimeDep, ip: ClientIP
) -> Response:
    limit = runtime.settings.bulk_max_items
    if not body.items:
        raise InvalidInput(FieldError("items", "empty", "give at least one item"))
    if len(body.items) > limit:
        raise InvalidInput(
            FieldError(
                "items", "too_many", f"at most {limit} items per call, got {len(body.items)}"
            )
        )
    await _refuse_if_abusive(runtime, ip)
    try:
        results = await _bulk_results(body, who, runtime)
    except InvalidInput as exc:
        await _count_refused(runtime, ip, len(exc.errors))
        raise
    await _count_refused(runtime, ip, sum(isinstance(r, InvalidInput) for r in results.values()))
    # Serialised directly: re-validating 1,000 response models would cost more than the inserts.
    items: list[dict[str, object]] = []
    for i in range(len(body.items)):
        r = results[i]
        if isinstance(r, InvalidInput):
            errors = [{"field": e.field, "code": e.code, "message": e.message} for e in r.errors]
            items.append({"index": i, "ok": False, "link": None, "errors": errors})
        else:
            link = _out(runtime, r).model_dump(mode="json")
            items.append({"index": i, "ok": True, "link": link, "errors": None})
    created_count = sum(1 for item in items if item["ok"])
    payload = {"created": created_count, "failed": len(items) - created_count, "results": items}
    return Response(orjson.dumps(payload), media_type="application/json")


async def _bulk_results(
    body: BulkCreate, who: Principal, runtime: Runtime
) -> dict[int, Link | InvalidInput]:
    # Parse each item on its own; a malformed item is reported, the rest proceed.
    parsed: dict[int, LinkCreate] = {}
    early: dict[int, list[FieldError]] = {}
    for i, raw in enumerate(body.items):
        try:
            parsed[i] = LinkCreate.model_validate(raw)
        except ValidationError as exc:
            early[i] = field_errors(exc.errors())
    if body.all_or_nothing and early:
        raise InvalidInput([e.nested(f"items.{i}") for i, errs in early.items() for e in errs])
    results: dict[int, Link | InvalidInput] = {i: InvalidInput(errs) for i, errs in early.items()}
    async with runtime.db.transaction() as tx:
        # Items are grouped by domain; nearly always there is just the default one.
        by_domain: dict[str | None, list[int]] = {}
        for i, item in parsed.items():
            by_domain.setdefault(item.domain, []).append(i)
        for hostname, indexes in by_domain.items():
            try:
                domain = await domain_for(tx, who.workspace, hostname)
            except InvalidInput as exc:
                if body.all_or_nothing:
                    raise InvalidInput(
                        [e.nested(f"items.{indexes[0]}") for e in exc.errors]
                    ) from None
                results.update(dict.fromkeys(indexes, exc))
                continue
            try:
                created = await service.create_links(
                    tx,
                    workspace=who.workspace,
                    domain=domain,
                    specs=[_spec(parsed[i]) for i in indexes],
                    actor=who.actor,
                    rules=runtime.link_rules,
                    quota=quota_from_settings(runtime.settings),
                    all_or_nothing=body.all_or_nothing,
                )
            except InvalidInput as exc:
                # Renumber "items.<position in group>" to the caller's indexes.
                raise InvalidInput([_renumber(e, indexes) for e in exc.errors]) from None
            results.update(zip(indexes, created, strict=True))
    return results


async def _refuse_if_abusive(runtime: Runtime, ip: str | None) -> None:
    """An address whose creations were refused too often (probing the destination policy)
    is refused before any work, whichever key; created links count against the workspace's
    quota instead."""
    await refuse_if_spent(
        runtime.rate_limiter,
        parse_limit("create_ip", runtime.settings.rate_limit_create_ip),
        ip,
        message="too many link creations from your address were refused",
    )


async def _count_refused(runtime: Runtime, ip: str | None, count: int) -> None:
    limit = parse_limit("create_ip", runtime.settings.rate_limit_create_ip)
    await charge(runtime.rate_limiter, limit, ip, count)


def _renumber(error: FieldError, indexes: list[int]) -> FieldError:
    _, position, rest = error.field.split(".", 2) if error.field.count(".") >= 2 else ("", "0", "")
    return FieldError(f"items.{indexes[int(position)]}.{rest}", error.code, error.message)


@router.get("", response_model=LinkPage, summary="List and search links")
async def list_links(
    who: LinksRead,
    runtime: RuntimeDep,
    q: Annotated[
        str | None, Query(max_length=200, description="Text in code, title, URL, notes")
    ] = None,
    tag: str | None = None,
    channel: str | None = None,
    campaign_id: str | None = None,
    archived: Literal["false", "true", "all"] = "false",
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    sort: Annotated[str, Query(description=f"One of {', '.join(LINK_SORTS)}")] = "-created",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> LinkPage:
    if sort not in LINK_SORTS:
        raise InvalidInput(FieldError("sort", "invalid", f"use one of {', '.join(LINK_SORTS)}"))
    for name, value in (("created_from", created_from), ("created_to", created_to)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(
                FieldError(name, "naive_datetime", "give a time zone, e.g. 2026-11-01T00:00:00Z")
            )
        if value is not None and in_utc(value) is None:
            raise InvalidInput(FieldError(name, "out_of_range", OUT_OF_RANGE))
    query = LinkQuery(
        text=q or None,
        tag=tag,
        channel=channel.lower() if channel else None,
        campaign_id=campaign_id,
        archived=None if archived == "all" else archived == "true",
        created_from=created_from,
        created_to=created_to,
        sort=sort,
        page=page,
        per_page=per_page,
    )
    async with runtime.db.transaction(write=False) as tx:
        links, total = await tx.links(who.workspace.id).search(query)
    return LinkPage(
        items=[_out(runtime, link) for link in links],
        page=page,
        per_page=per_page,
        total=total,
        next_page=page + 1 if page * per_page < total else None,
    )


@router.get("/{link_id}", response_model=LinkOut, summary="Get one link")
async def get_link(link_id: str, who: LinksRead, runtime: RuntimeDep) -> LinkOut:
    async with runtime.db.transaction(write=False) as tx:
        link = await service.get_link(tx, workspace=who.workspace, link_id=link_id)
    return _out(runtime, link)


@router.patch("/{link_id}", response_model=LinkOut, summary="Edit a link (history is kept)")
async def update_link(
    link_id: str, body: LinkUpdate, who: LinksWrite, runtime: RuntimeDep
) -> LinkOut:
    edit = _edit(body)
    async with runtime.db.transaction() as tx:
        link = await service.update_link(
            tx,
            workspace=who.workspace,
            link_id=link_id,
            edit=edit,
            actor=who.actor,
            policy=runtime.link_rules.policy,
        )
    return _out(runtime, link)


def _edit(body: LinkUpdate) -> LinkEdit:
    """The fields the body sent (left out: kept); null clears, where a link may lack it."""
    sent = body.model_fields_set
    null_errors = [
        FieldError(name, "null", "must not be null; leave it out instead")
        for name in sorted(sent - set(UTM_FIELDS) - CLEARABLE)
        if getattr(body, name) is None
    ]
    if null_errors:
        raise InvalidInput(null_errors)
    utm = {name: getattr(body, name) for name in UTM_FIELDS if name in sent}

    def _sent(name: str, value: _T) -> _T | Unset:
        return value if name in sent else UNSET

    return LinkEdit(
        url=body.url if body.url is not None else UNSET,
        utm=utm or UNSET,
        channel=_sent("channel", body.channel),
        campaign_id=_sent("campaign_id", body.campaign_id),
        tags=body.tags if body.tags is not None else UNSET,
        title=_sent("title", body.title),
        notes=_sent("notes", body.notes),
        archived=body.archived if body.archived is not None else UNSET,
        disabled=body.disabled if body.disabled is not None else UNSET,
        forward_query=body.forward_query if body.forward_query is not None else UNSET,
        pass_ad_click_ids=(body.pass_ad_click_ids if body.pass_ad_click_ids is not None else UNSET),
        starts_at=_sent("starts_at", body.starts_at),
        ends_at=_sent("ends_at", body.ends_at),
        max_clicks=_sent("max_clicks", body.max_clicks),
        expiry_url=_sent("expiry_url", body.expiry_url),
    )


@router.delete("/{link_id}", status_code=204, summary="Delete a link (its code is never reused)")
async def delete_link(link_id: str, who: LinksWrite, runtime: RuntimeDep) -> Response:
    async with runtime.db.transaction() as tx:
        await service.delete_link(tx, workspace=who.workspace, link_id=link_id)
    return Response(status_code=204)


@router.get("/{link_id}/history", response_model=list[HistoryOut], summary="Changes made to a link")
async def link_history(link_id: str, who: LinksRead, runtime: RuntimeDep) -> list[HistoryOut]:
    async with runtime.db.transaction(write=False) as tx:
        await service.get_link(tx, workspace=who.workspace, link_id=link_id)
        entries = await tx.links(who.workspace.id).history(link_id)
    return [HistoryOut.of(e) for e in entries]
