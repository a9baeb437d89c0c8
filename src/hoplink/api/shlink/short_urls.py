"""/rest/v3/short-urls — Shlink's short URLs over hoplink's link service."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from hoplink.api.deps import ClientIP
from hoplink.api.shlink import redirect_rules
from hoplink.api.shlink.common import (
    DATE_PATTERN,
    Page,
    domain_named,
    find_link,
    not_mapped,
    parse_date,
    short_urls,
)
from hoplink.api.shlink.deps import LinksRead, LinksWrite, RuntimeDep
from hoplink.api.shlink.problems import invalid_data
from hoplink.api.shlink.schemas import (
    RedirectRules,
    RedirectRulesSet,
    ShortUrl,
    ShortUrlCreate,
    ShortUrlEdit,
    ShortUrlList,
    ShortUrlsOut,
    problem_responses,
)
from hoplink.domains import domain_for
from hoplink.errors import FieldError, InvalidInput
from hoplink.ids import utcnow
from hoplink.links import service
from hoplink.links.models import Link, LinkQuery, ShortDomain
from hoplink.links.routing import app_presets
from hoplink.links.rules import rules_of, set_rules
from hoplink.links.spec import LinkEdit
from hoplink.links.urls import canonicalize_destination
from hoplink.ratelimit import enforce, parse_limit
from hoplink.unset import UNSET, given

router = APIRouter(prefix="/short-urls", tags=["short URLs"], responses=problem_responses(404, 409))

MAX_PAGE = 1000  # itemsPerPage -1 ("all") gives pages of this many
_ORDER_FIELDS = {
    "dateCreated": "created",
    "shortCode": "code",
    "longUrl": "url",
    "title": "title",
    "visits": "visits",
    "nonBotVisits": "human_visits",
}
# Shlink's orderBy values: <field>, <field>-ASC or <field>-DESC.
OrderBy = Annotated[str, Query(pattern=rf"^({'|'.join(_ORDER_FIELDS)})(-ASC|-DESC)?$")]
_NO_CRAWLABLE = "hoplink short links are never listed for crawlers; send false or leave it out"


def _order(value: str | None) -> str:
    if not value:
        return "-created"
    field, _, direction = value.partition("-")
    key = _ORDER_FIELDS[field]
    return f"-{key}" if direction == "DESC" else key


@router.get("", response_model=ShortUrlsOut, summary="List short URLs")
async def list_short_urls(
    who: LinksRead,
    runtime: RuntimeDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    itemsPerPage: Annotated[int, Query(ge=-1, le=100_000)] = 10,
    searchTerm: Annotated[str, Query(max_length=200)] = "",
    tags: Annotated[list[str], Query(alias="tags[]", max_length=20)] = [],  # noqa: B006
    tagsMode: Literal["any", "all"] = "any",
    orderBy: OrderBy = "",
    startDate: Annotated[str, Query(max_length=40, pattern=DATE_PATTERN)] = "",
    endDate: Annotated[str, Query(max_length=40, pattern=DATE_PATTERN)] = "",
    excludeMaxVisitsReached: bool = False,
    excludePastValidUntil: bool = False,
    domain: Annotated[str, Query(max_length=253)] = "",
) -> ShortUrlsOut:
    size = Page.of(page, itemsPerPage, MAX_PAGE)
    start, end = parse_date(startDate, "startDate"), parse_date(endDate, "endDate")
    sort = _order(orderBy)
    async with runtime.db.transaction(write=False) as tx:
        domain_id: str | None = None
        if domain:
            found = await domain_named(tx, who.workspace, domain)
            # A domain the workspace cannot use has none of its links.
            domain_id = found.id if found else "-"
        query = LinkQuery(
            text=searchTerm or None,
            tags=tuple(tags),
            tags_all=tagsMode == "all",
            domain_id=domain_id,
            archived=None,
            exclude_exhausted=excludeMaxVisitsReached,
            ended_before=utcnow() if excludePastValidUntil else None,
            created_from=start,
            created_to=end + timedelta(microseconds=1) if end else None,
            sort=sort,
            page=size.number,
            per_page=size.size,
        )
        links, total = await tx.links(who.workspace.id).search(query)
        data = await short_urls(tx, runtime, who.workspace, links)
    return ShortUrlsOut(
        shortUrls=ShortUrlList(data=data, pagination=size.pagination(total, len(data)))
    )


def _refuse_unmapped(crawlable: bool | None) -> None:
    if crawlable:
        raise invalid_data([FieldError("crawlable", "not_supported", _NO_CRAWLABLE)])


def _schedule(body: ShortUrlCreate | ShortUrlEdit, sent: set[str]) -> LinkEdit:
    """validSince / validUntil / maxVisits as the link's starts_at / ends_at / max_clicks
    (only those sent; null clears). The link service validates them as for /api/v1."""
    return LinkEdit(
        starts_at=parse_date(body.validSince, "validSince") if "validSince" in sent else UNSET,
        ends_at=parse_date(body.validUntil, "validUntil") if "validUntil" in sent else UNSET,
        max_clicks=body.maxVisits if "maxVisits" in sent else UNSET,
    )


def _no_domain(name: str | None) -> bool:
    return name in (None, "", "DEFAULT")


async def _existing(runtime: RuntimeDep, who: LinksWrite, body: ShortUrlCreate) -> Link | None:
    """findIfExists: a link of the domain with this long URL (and custom slug, tags)."""
    try:
        destination = canonicalize_destination(body.longUrl, field="url")
    except InvalidInput:
        return None  # creation says what is wrong with it
    async with runtime.db.transaction(write=False) as tx:
        if _no_domain(body.domain):  # where creation puts it: the workspace's default
            domain: ShortDomain | None = await domain_for(tx, who.workspace, None)
        else:
            domain = await domain_named(tx, who.workspace, body.domain)
        if domain is None:
            return None
        repo = tx.links(who.workspace.id)
        if body.customSlug:
            link = await repo.by_code(domain.id, body.customSlug)
            return link if link and link.destination_url == destination else None
        query = LinkQuery(
            destination=destination,
            domain_id=domain.id,
            tags=tuple(body.tags),
            tags_all=True,
            archived=None,
            per_page=1,
        )
        links, _ = await repo.search(query)
    return links[0] if links else None


@router.post("", response_model=ShortUrl, summary="Create a short URL")
async def create_short_url(
    body: ShortUrlCreate, who: LinksWrite, runtime: RuntimeDep, ip: ClientIP
) -> ShortUrl:
    _refuse_unmapped(body.crawlable)
    schedule = _schedule(body, body.model_fields_set)
    link = await _existing(runtime, who, body) if body.findIfExists else None
    if link is None:
        await enforce(
            runtime.rate_limiter,
            parse_limit("create_ip", runtime.settings.rate_limit_create_ip),
            ip,
            message="too many links were created from your address",
        )
        spec = service.LinkSpec(
            url=body.longUrl,
            tags=body.tags,
            title=body.title,
            code=body.customSlug,
            forward_query=body.forwardQuery,
            starts_at=given(schedule.starts_at, None),
            ends_at=given(schedule.ends_at, None),
            max_clicks=given(schedule.max_clicks, None),
        )
        async with runtime.db.transaction() as tx:
            name = None if _no_domain(body.domain) else body.domain
            domain = await domain_for(tx, who.workspace, name)
            link = await service.create_link(
                tx,
                workspace=who.workspace,
                domain=domain,
                spec=spec,
                actor=who.actor,
                # Never shorter than the operator's length: short codes are guessable.
                rules=replace(
                    runtime.link_rules,
                    code_length=max(runtime.link_rules.code_length, body.shortCodeLength or 0),
                ),
            )
    async with runtime.db.transaction(write=False) as tx:
        [out] = await short_urls(tx, runtime, who.workspace, [link])
    return out


_Domain = Annotated[str, Query(max_length=253)]


@router.get("/{shortCode}", response_model=ShortUrl, summary="Get a short URL")
async def get_short_url(
    shortCode: str, who: LinksRead, runtime: RuntimeDep, domain: _Domain = ""
) -> ShortUrl:
    async with runtime.db.transaction(write=False) as tx:
        link = await find_link(tx, who.workspace, shortCode, domain)
        [out] = await short_urls(tx, runtime, who.workspace, [link])
    return out


@router.patch("/{shortCode}", response_model=ShortUrl, summary="Edit a short URL")
async def edit_short_url(
    shortCode: str,
    body: ShortUrlEdit,
    who: LinksWrite,
    runtime: RuntimeDep,
    domain: _Domain = "",
) -> ShortUrl:
    sent = body.model_fields_set
    _refuse_unmapped(body.crawlable)
    if "longUrl" in sent and body.longUrl is None:
        null = FieldError("longUrl", "null", "must not be null; leave it out instead")
        raise invalid_data([null])
    edit = replace(
        _schedule(body, sent),
        url=body.longUrl if body.longUrl is not None else UNSET,
        title=body.title if "title" in sent else UNSET,
        tags=(body.tags or []) if "tags" in sent else UNSET,
        forward_query=body.forwardQuery if body.forwardQuery is not None else UNSET,
    )
    async with runtime.db.transaction() as tx:
        link = await find_link(tx, who.workspace, shortCode, domain)
        link = await service.update_link(
            tx,
            workspace=who.workspace,
            link_id=link.id,
            edit=edit,
            actor=who.actor,
            policy=runtime.link_rules.policy,
        )
    async with runtime.db.transaction(write=False) as tx:
        [out] = await short_urls(tx, runtime, who.workspace, [link])
    return out


@router.delete("/{shortCode}", status_code=204, summary="Delete a short URL")
async def delete_short_url(
    shortCode: str, who: LinksWrite, runtime: RuntimeDep, domain: _Domain = ""
) -> Response:
    async with runtime.db.transaction() as tx:
        link = await find_link(tx, who.workspace, shortCode, domain)
        link = await service.delete_link(tx, workspace=who.workspace, link_id=link.id)
    return Response(status_code=204)


@router.get(
    "/{shortCode}/redirect-rules",
    response_model=RedirectRules,
    summary="Redirect rules of a short URL (hoplink's routing rules Shlink can express)",
)
async def get_redirect_rules(
    shortCode: str, who: LinksRead, runtime: RuntimeDep, domain: _Domain = ""
) -> RedirectRules:
    async with runtime.db.transaction(write=False) as tx:
        link = await find_link(tx, who.workspace, shortCode, domain)
    shown, _ = redirect_rules.to_shlink(rules_of(link))
    return RedirectRules(defaultLongUrl=link.destination_url, redirectRules=shown)


@router.post(
    "/{shortCode}/redirect-rules",
    response_model=RedirectRules,
    summary="Replace the redirect rules (mapped onto hoplink's routing rules)",
)
async def set_redirect_rules(
    shortCode: str,
    body: RedirectRulesSet,
    who: LinksWrite,
    runtime: RuntimeDep,
    domain: _Domain = "",
) -> RedirectRules:
    wanted, errors = redirect_rules.to_hoplink(body.redirectRules)
    if errors:
        raise invalid_data(errors)
    async with runtime.db.transaction() as tx:
        link = await find_link(tx, who.workspace, shortCode, domain)
        _, hidden = redirect_rules.to_shlink(rules_of(link))
        if hidden:  # a Shlink client would silently delete what it cannot see
            raise not_mapped(
                "redirectRules",
                "this link has routing rules Shlink cannot express (app hand-off, in-app"
                " browser, time window, several values); edit them in hoplink",
            )
        link, _ = await set_rules(
            tx,
            workspace=who.workspace,
            link_id=link.id,
            rules=wanted,
            actor=who.actor,
            policy=runtime.link_rules.policy,
            presets=app_presets(runtime.settings.app_presets_file),
        )
    shown, _ = redirect_rules.to_shlink(rules_of(link))
    return RedirectRules(defaultLongUrl=link.destination_url, redirectRules=shown)
