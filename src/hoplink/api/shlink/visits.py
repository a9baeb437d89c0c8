"""/rest/v3/.../visits — single visits from hoplink's raw click log, Shlink's pages.

hoplink has no orphan visits (an unknown code or host gets a 404 and is not recorded), so
those lists are always empty. The raw log keeps HOPLINK_CLICK_RETENTION_DAYS; the totals
(``visitsSummary``, ``/visits``) come from the rollups and cover all time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

import orjson
from babel import Locale
from fastapi import APIRouter, Depends, Query, Response

from hoplink.analytics import visits as visit_service
from hoplink.analytics.models import Visit, VisitQuery, VisitScope
from hoplink.api.shlink.common import (
    DATE_PATTERN,
    Page,
    atom,
    domain_named,
    find_link,
    parse_date,
    summary,
)
from hoplink.api.shlink.deps import RuntimeDep, StatsRead
from hoplink.api.shlink.problems import ShlinkProblem
from hoplink.api.shlink.schemas import (
    VisitsOut,
    VisitsOverview,
    VisitsOverviewOut,
    VisitsSummary,
    problem_responses,
)
from hoplink.errors import NotFound
from hoplink.runtime import Runtime

router = APIRouter(tags=["visits"], responses=problem_responses(404, 409))

MAX_PAGE = 5000  # Shlink's web client asks for pages of 5,000
_COUNTRIES = Locale("en").territories


@dataclass(frozen=True, slots=True)
class VisitParams:
    page: Page
    start: datetime | None
    end: datetime | None
    humans_only: bool


def _params(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    itemsPerPage: Annotated[int, Query(ge=-1, le=100_000)] = MAX_PAGE,
    startDate: Annotated[str, Query(max_length=40, pattern=DATE_PATTERN)] = "",
    endDate: Annotated[str, Query(max_length=40, pattern=DATE_PATTERN)] = "",
    excludeBots: bool = False,
) -> VisitParams:
    return VisitParams(
        page=Page.of(page, itemsPerPage, MAX_PAGE),
        start=parse_date(startDate, "startDate"),
        end=parse_date(endDate, "endDate"),
        humans_only=excludeBots,
    )


Params = Annotated[VisitParams, Depends(_params)]
_Domain = Annotated[str, Query(max_length=253)]


def _visit(runtime: Runtime, visit: Visit) -> dict[str, object]:
    location = None
    if visit.country:
        location = {
            "countryCode": visit.country,
            "countryName": _COUNTRIES.get(visit.country, visit.country),
            "regionName": None,
            "cityName": None,
            "latitude": None,
            "longitude": None,
            "timezone": None,
            "isEmpty": False,
        }
    return {
        "referer": visit.referrer_host,
        "date": atom(visit.ts),
        "userAgent": visit.user_agent,
        "visitLocation": location,
        "potentialBot": visit.bot is not None,
        "visitedUrl": runtime.short_url(visit.link_domain, visit.link_code),
        "redirectUrl": None,
    }


async def _page(
    runtime: Runtime, workspace_id: str, scope: VisitScope, ref: str | None, p: VisitParams
) -> Response:
    query = VisitQuery(
        workspace_id=workspace_id,
        scope=scope,
        ref=ref,
        start=p.start,
        end=p.end,
        humans_only=p.humans_only,
        limit=p.page.size,
        offset=p.page.offset,
    )
    async with runtime.db.transaction(write=False) as tx:
        visits, total = await visit_service.list_visits(tx, query)
    return _json(runtime, visits, p.page, total)


def _json(runtime: Runtime, visits: list[Visit], page: Page, total: int) -> Response:
    # Serialised directly: pages hold up to 5,000 visits.
    body = {
        "visits": {
            "data": [_visit(runtime, v) for v in visits],
            "pagination": page.pagination(total, len(visits)).model_dump(),
        }
    }
    return Response(orjson.dumps(body), media_type="application/json")


_OUT = {"response_model": VisitsOut, "response_class": Response}


@router.get("/short-urls/{shortCode}/visits", summary="Visits of a short URL", **_OUT)  # type: ignore[arg-type]
async def short_url_visits(
    shortCode: str, who: StatsRead, runtime: RuntimeDep, p: Params, domain: _Domain = ""
) -> Response:
    async with runtime.db.transaction(write=False) as tx:
        link = await find_link(tx, who.workspace, shortCode, domain)
    return await _page(runtime, who.workspace.id, VisitScope.LINK, link.id, p)


@router.get("/tags/{tag}/visits", summary="Visits of the short URLs of a tag", **_OUT)  # type: ignore[arg-type]
async def tag_visits(tag: str, who: StatsRead, runtime: RuntimeDep, p: Params) -> Response:
    async with runtime.db.transaction(write=False) as tx:
        try:
            await visit_service.require_tag(tx, workspace_id=who.workspace.id, name=tag)
        except NotFound:
            raise ShlinkProblem(
                404,
                "tag-not-found",
                "Tag not found",
                f'Tag with name "{tag}" could not be found',
                tag=tag,
            ) from None
    return await _page(runtime, who.workspace.id, VisitScope.TAG, tag, p)


@router.get("/domains/{domain}/visits", summary="Visits of the short URLs of a domain", **_OUT)  # type: ignore[arg-type]
async def domain_visits(domain: str, who: StatsRead, runtime: RuntimeDep, p: Params) -> Response:
    async with runtime.db.transaction(write=False) as tx:
        found = await domain_named(tx, who.workspace, domain)
    if found is None:
        raise ShlinkProblem(
            404,
            "domain-not-found",
            "Domain not found",
            f'Domain with authority "{domain}" could not be found',
            authority=domain,
        )
    return await _page(runtime, who.workspace.id, VisitScope.DOMAIN, found.hostname, p)


@router.get("/visits/non-orphan", summary="Every visit of the workspace's short URLs", **_OUT)  # type: ignore[arg-type]
async def non_orphan_visits(who: StatsRead, runtime: RuntimeDep, p: Params) -> Response:
    return await _page(runtime, who.workspace.id, VisitScope.WORKSPACE, None, p)


@router.get("/visits/orphan", summary="Orphan visits (hoplink records none: always empty)", **_OUT)  # type: ignore[arg-type]
async def orphan_visits(
    who: StatsRead,
    runtime: RuntimeDep,
    p: Params,
    type: Literal["base_url", "invalid_short_url", "regular_404"] | None = None,
) -> Response:
    return _json(runtime, [], p.page, 0)


@router.get("/visits", response_model=VisitsOverviewOut, summary="Visit totals")
async def visits_overview(who: StatsRead, runtime: RuntimeDep) -> VisitsOverviewOut:
    async with runtime.db.transaction(write=False) as tx:
        totals = await visit_service.workspace_totals(tx, workspace_id=who.workspace.id)
    return VisitsOverviewOut(
        visits=VisitsOverview(
            nonOrphanVisits=summary(totals),
            orphanVisits=VisitsSummary(total=0, nonBots=0, bots=0),
        )
    )
