"""/api/v1/stats — PV, UV, series and breakdowns from the rollups (``stats:read``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from starlette.responses import Response

from hoplink.accounts.models import Scope
from hoplink.analytics import export
from hoplink.analytics.models import BREAKDOWNS, BreakdownItem, Point, StatsScope
from hoplink.analytics.query import MAX_TOP, StatsQuery, parse_scope, parse_stats_query
from hoplink.analytics.service import StatsResult, run_breakdown, run_stats
from hoplink.api.deps import Principal, RuntimeDep, require
from hoplink.api.schemas import problem_responses
from hoplink.attachments import attachment, safe_name_part

# 200 is JSON, or the series/breakdown as CSV with format=csv.
_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}}
}
router = APIRouter(prefix="/stats", tags=["stats"], responses={**problem_responses(404), **_CSV})
StatsRead = Annotated[Principal, Depends(require(Scope.STATS_READ))]


class TotalsOut(BaseModel):
    pv: int
    human_pv: int
    bot_pv: int
    uv: int


class PointOut(BaseModel):
    t: str  # local start of the bucket, ISO 8601 with offset
    pv: int
    human_pv: int
    bot_pv: int
    uv: int


class BreakdownOut(BaseModel):
    value: str
    label: str | None = None
    pv: int
    human_pv: int
    bot_pv: int
    uv: int
    share: float


class ScopeOut(BaseModel):
    type: str
    id: str | None = None


class StatsOut(BaseModel):
    scope: ScopeOut
    from_: str = Field(serialization_alias="from")
    to: str
    timezone: str
    granularity: str
    totals: TotalsOut
    series: list[PointOut]
    breakdowns: dict[str, list[BreakdownOut]]


class BreakdownPage(BaseModel):
    breakdown: str
    items: list[BreakdownOut]


# The models above document the responses (OpenAPI); the bodies are built as plain dicts
# because validating up to 9,600 series points through pydantic costs more than the SQL.
def _point(p: Point) -> dict[str, object]:
    return {
        "t": p.start.isoformat(),
        "pv": p.pv,
        "human_pv": p.human_pv,
        "bot_pv": p.bot_pv,
        "uv": p.uv,
    }


def _item(i: BreakdownItem) -> dict[str, object]:
    return {
        "value": i.value,
        "label": i.label,
        "pv": i.pv,
        "human_pv": i.human_pv,
        "bot_pv": i.bot_pv,
        "uv": i.uv,
        "share": i.share,
    }


def _out(result: StatsResult) -> dict[str, object]:
    q, t = result.query, result.totals
    return {
        "scope": {"type": q.scope.kind.value, "id": q.scope.ref},
        "from": q.start.isoformat(),
        "to": q.end.isoformat(),
        "timezone": q.tz.key,
        "granularity": q.granularity.value,
        "totals": {"pv": t.pv, "human_pv": t.human_pv, "bot_pv": t.bot_pv, "uv": t.uv},
        "series": [_point(p) for p in result.series],
        "breakdowns": {k: [_item(i) for i in v] for k, v in result.breakdowns.items()},
    }


class _Params:
    """The query parameters every stats endpoint takes."""

    def __init__(
        self,
        from_: Annotated[
            str | None,
            Query(
                alias="from",
                max_length=40,
                description="Start: ISO date (local midnight) or date-time. Default: 6 days"
                " before `to`.",
            ),
        ] = None,
        to: Annotated[
            str | None,
            Query(
                max_length=40,
                description="End: ISO date (inclusive, the whole local day) or date-time"
                " (exclusive). Default: today.",
            ),
        ] = None,
        granularity: Annotated[
            str | None, Query(max_length=8, description="hour or day (default)")
        ] = None,
        top: Annotated[int, Query(description=f"Values per breakdown, 1 to {MAX_TOP}")] = 10,
        metric: Annotated[
            str | None,
            Query(
                max_length=16,
                description="Sort and share breakdowns by pv (default), human_pv or uv",
            ),
        ] = None,
        format: Annotated[
            Literal["json", "csv"], Query(description="csv: the series as CSV")
        ] = "json",
    ) -> None:
        self.from_, self.to, self.granularity = from_, to, granularity
        self.top, self.metric, self.format = top, metric, format

    def query(self, who: Principal, scope: StatsScope) -> StatsQuery:
        return parse_stats_query(
            workspace_id=who.workspace.id,
            timezone=who.workspace.timezone,
            scope=scope,
            from_=self.from_,
            to=self.to,
            granularity=self.granularity,
            top=self.top,
            metric=self.metric,
        )


Params = Annotated[_Params, Depends()]


def _filename(query: StatsQuery, what: str) -> str:
    safe = safe_name_part(query.scope.label)
    return (
        f"hoplink-{safe}-{what}-{query.start.date().isoformat()}-{query.end.date().isoformat()}.csv"
    )


def _json(body: object) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _csv(body: str, filename: str) -> Response:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": attachment(filename)},
    )


async def _stats(scope: StatsScope, who: Principal, runtime: RuntimeDep, p: _Params) -> Response:
    query = p.query(who, scope)
    async with runtime.db.transaction(write=False) as tx:
        result = await run_stats(tx, query)
    if p.format == "csv":
        return _csv(export.series_csv(result.series), _filename(query, "series"))
    return _json(_out(result))


async def _breakdown(
    scope: StatsScope, name: str, who: Principal, runtime: RuntimeDep, p: _Params
) -> Response:
    query = p.query(who, scope)
    async with runtime.db.transaction(write=False) as tx:
        items = await run_breakdown(tx, query, name)
    if p.format == "csv":
        return _csv(export.breakdown_csv(items), _filename(query, name))
    return _json({"breakdown": name, "items": [_item(i) for i in items]})


_SUMMARY = "Totals, time series and top breakdowns"
_BREAKDOWNS = f"One breakdown, every value (up to 1,000): {', '.join(BREAKDOWNS)}"


@router.get("/workspace", response_model=StatsOut, summary=f"{_SUMMARY} of the workspace")
async def workspace_stats(who: StatsRead, runtime: RuntimeDep, p: Params) -> Response:
    return await _stats(parse_scope("workspace"), who, runtime, p)


@router.get("/link/{link_id}", response_model=StatsOut, summary=f"{_SUMMARY} of one link")
async def link_stats(link_id: str, who: StatsRead, runtime: RuntimeDep, p: Params) -> Response:
    return await _stats(parse_scope("link", link_id), who, runtime, p)


@router.get(
    "/campaign/{campaign_id}", response_model=StatsOut, summary=f"{_SUMMARY} of a campaign's links"
)
async def campaign_stats(
    campaign_id: str, who: StatsRead, runtime: RuntimeDep, p: Params
) -> Response:
    return await _stats(parse_scope("campaign", campaign_id), who, runtime, p)


@router.get("/channel/{name}", response_model=StatsOut, summary=f"{_SUMMARY} of a channel's links")
async def channel_stats(name: str, who: StatsRead, runtime: RuntimeDep, p: Params) -> Response:
    return await _stats(parse_scope("channel", name), who, runtime, p)


@router.get("/tag/{name}", response_model=StatsOut, summary=f"{_SUMMARY} of a tag's links")
async def tag_stats(name: str, who: StatsRead, runtime: RuntimeDep, p: Params) -> Response:
    return await _stats(parse_scope("tag", name), who, runtime, p)


@router.get("/workspace/breakdown/{breakdown}", response_model=BreakdownPage, summary=_BREAKDOWNS)
async def workspace_breakdown(
    breakdown: str, who: StatsRead, runtime: RuntimeDep, p: Params
) -> Response:
    return await _breakdown(parse_scope("workspace"), breakdown, who, runtime, p)


@router.get(
    "/{kind}/{ref}/breakdown/{breakdown}", response_model=BreakdownPage, summary=_BREAKDOWNS
)
async def scoped_breakdown(
    kind: Literal["link", "campaign", "channel", "tag"],
    ref: str,
    breakdown: str,
    who: StatsRead,
    runtime: RuntimeDep,
    p: Params,
) -> Response:
    return await _breakdown(parse_scope(kind, ref), breakdown, who, runtime, p)
