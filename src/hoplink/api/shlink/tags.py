"""/rest/v3/tags — a workspace's tags over hoplink's tag service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from hoplink.analytics import visits as visit_service
from hoplink.analytics.models import Totals
from hoplink.api.shlink.common import Page, summary
from hoplink.api.shlink.deps import LinksRead, LinksWrite, RuntimeDep
from hoplink.api.shlink.problems import ShlinkProblem
from hoplink.api.shlink.schemas import (
    TagList,
    TagRename,
    TagsOut,
    TagStats,
    TagStatsList,
    TagStatsOut,
    problem_responses,
)
from hoplink.errors import Conflict, NotFound
from hoplink.links import tags as tag_service

router = APIRouter(prefix="/tags", tags=["tags"], responses=problem_responses(404, 409))

MAX_PAGE = 1000
_ORDER_FIELDS = ("tag", "shortUrlsCount", "visits", "nonBotVisits")
OrderBy = Annotated[str, Query(pattern=rf"^({'|'.join(_ORDER_FIELDS)})(-ASC|-DESC)?$")]

_Page = Annotated[int, Query(ge=1, le=100_000)]
_Size = Annotated[int, Query(ge=-1, le=100_000)]
_Search = Annotated[str, Query(max_length=64)]
_OrderBy = OrderBy


def _order(value: str | None) -> tuple[str, bool]:
    field, _, direction = (value or "tag").partition("-")
    return field, direction == "DESC"


async def _stats(who: LinksRead, runtime: RuntimeDep) -> list[TagStats]:
    async with runtime.db.transaction(write=False) as tx:
        counts = await tx.links(who.workspace.id).tag_counts()
        totals = await visit_service.tag_totals(tx, workspace_id=who.workspace.id)
    return [
        TagStats(tag=name, shortUrlsCount=count, visitsSummary=summary(totals.get(name, Totals())))
        for name, count in counts
    ]


def _filtered(stats: list[TagStats], search: str | None, order: tuple[str, bool]) -> list[TagStats]:
    if search:
        stats = [s for s in stats if search.lower() in s.tag.lower()]
    field, descending = order
    keys = {
        "tag": lambda s: s.tag,
        "shortUrlsCount": lambda s: (s.shortUrlsCount, s.tag),
        "visits": lambda s: (s.visitsSummary.total, s.tag),
        "nonBotVisits": lambda s: (s.visitsSummary.nonBots, s.tag),
    }
    return sorted(stats, key=keys[field], reverse=descending)


@router.get("", response_model=TagsOut, summary="List tags")
async def list_tags(
    who: LinksRead,
    runtime: RuntimeDep,
    page: _Page = 1,
    itemsPerPage: _Size = -1,
    searchTerm: _Search = "",
    orderBy: _OrderBy = "",
) -> TagsOut:
    size = Page.of(page, itemsPerPage, MAX_PAGE)
    stats = _filtered(await _stats(who, runtime), searchTerm, _order(orderBy))
    names = [s.tag for s in stats[size.offset : size.offset + size.size]]
    return TagsOut(tags=TagList(data=names, pagination=size.pagination(len(stats), len(names))))


@router.get("/stats", response_model=TagStatsOut, summary="Tags with their short URLs and visits")
async def tags_stats(
    who: LinksRead,
    runtime: RuntimeDep,
    page: _Page = 1,
    itemsPerPage: _Size = -1,
    searchTerm: _Search = "",
    orderBy: _OrderBy = "",
) -> TagStatsOut:
    size = Page.of(page, itemsPerPage, MAX_PAGE)
    stats = _filtered(await _stats(who, runtime), searchTerm, _order(orderBy))
    shown = stats[size.offset : size.offset + size.size]
    return TagStatsOut(
        tags=TagStatsList(data=shown, pagination=size.pagination(len(stats), len(shown)))
    )


@router.put("", status_code=204, summary="Rename a tag")
async def rename_tag(body: TagRename, who: LinksWrite, runtime: RuntimeDep) -> Response:
    try:
        async with runtime.db.transaction() as tx:
            await tag_service.rename_tag(
                tx, workspace=who.workspace, old=body.oldName, new=body.newName
            )
    except NotFound:
        raise ShlinkProblem(
            404,
            "tag-not-found",
            "Tag not found",
            f'Tag with name "{body.oldName}" could not be found',
            tag=body.oldName,
        ) from None
    except Conflict as exc:
        detail = (
            f"You cannot rename tag {body.oldName} to {body.newName}, because it already exists"
        )
        raise ShlinkProblem(
            409,
            "tag-conflict",
            "Tag conflict",
            exc.message if exc.code == "tag_rule_conflict" else detail,
            oldName=body.oldName,
            newName=body.newName,
        ) from None
    return Response(status_code=204)


@router.delete("", status_code=204, summary="Delete tags (their links stay)")
async def delete_tags(
    who: LinksWrite,
    runtime: RuntimeDep,
    tags: Annotated[list[str], Query(alias="tags[]", max_length=100)] = [],  # noqa: B006
) -> Response:
    async with runtime.db.transaction() as tx:
        await tag_service.delete_tags(tx, workspace=who.workspace, names=tags)
    return Response(status_code=204)
