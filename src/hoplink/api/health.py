"""/api/v1/links/{id}/health and /api/v1/health — destination health (issue 12).

Thin adapters over ``hoplink.linkhealth.service``. "Check now" only makes links due: the
checker of a worker process takes them within its poll interval (a few seconds), so the
API never fetches a seller's URL in a request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from hoplink.api.deps import LinksRead, LinksWrite, RuntimeDep
from hoplink.api.schemas import _In, problem_responses
from hoplink.linkhealth import service
from hoplink.linkhealth.models import HealthEvent, LinkHealth

router = APIRouter(tags=["destination health"], responses=problem_responses(401, 403, 404, 422))

State = Literal["unknown", "healthy", "degraded", "broken"]


class HealthEventOut(BaseModel):
    id: str
    link_id: str
    at: datetime
    old_state: State
    new_state: State
    reason: str | None
    detail: str | None
    url: str | None
    status_code: int | None
    fallback: str | None = Field(description="to_fallback, restored, or null")
    acknowledged_at: datetime | None

    @classmethod
    def of(cls, e: HealthEvent) -> HealthEventOut:
        return cls(
            id=e.id, link_id=e.link_id, at=e.at, old_state=e.old_state, new_state=e.new_state,
            reason=e.reason, detail=e.detail, url=e.url, status_code=e.status_code,
            fallback=e.switch, acknowledged_at=e.acknowledged_at,
        )  # fmt: skip


class LinkHealthOut(BaseModel):
    link_id: str
    state: State
    reason: str | None = Field(description="ok, http_404, sold_out, redirected_search, ...")
    detail: str | None
    url: str | None = Field(description="The URL that gave the state")
    status_code: int | None
    checked_at: datetime | None
    changed_at: datetime | None
    next_check_at: datetime
    auto_fallback: Literal["off", "broken", "degraded"]
    switched_from: str | None = Field(
        description="While on the fallback URL: the original destination (still checked)"
    )
    history: list[HealthEventOut]

    @classmethod
    def of(cls, h: LinkHealth, history: list[HealthEvent]) -> LinkHealthOut:
        return cls(
            link_id=h.link_id, state=h.state, reason=h.reason, detail=h.detail, url=h.url,
            status_code=h.status_code, checked_at=h.checked_at, changed_at=h.changed_at,
            next_check_at=h.next_check_at, auto_fallback=h.auto_fallback,
            switched_from=h.switched_from, history=[HealthEventOut.of(e) for e in history],
        )  # fmt: skip


class HealthSettingsIn(_In):
    auto_fallback: Literal["off", "broken", "degraded"] = Field(
        description="Send visitors to the fallback URL (the link's expiry URL, else the"
        " workspace's fallback URL) while broken (or degraded too); back when healthy"
    )


class DueOut(BaseModel):
    due: int = Field(description="Links made due; the checker takes them within seconds")


class AcknowledgeIn(_In):
    id: str | None = Field(default=None, description="One notification; omitted: all")


class AcknowledgedOut(BaseModel):
    acknowledged: int


class WorkspaceHealthOut(BaseModel):
    counts: dict[str, int] = Field(description="Live links per state")
    notifications: list[HealthEventOut] = Field(description="Unacknowledged, newest first")


@router.get("/links/{link_id}/health", response_model=LinkHealthOut, summary="A link's health")
async def get_health(link_id: str, who: LinksRead, runtime: RuntimeDep) -> LinkHealthOut:
    async with runtime.db.transaction() as tx:
        found, history = await service.link_health(tx, workspace=who.workspace, link_id=link_id)
    return LinkHealthOut.of(found, history)


@router.patch("/links/{link_id}/health", response_model=LinkHealthOut, summary="Automatic fallback")
async def set_health(
    link_id: str, body: HealthSettingsIn, who: LinksWrite, runtime: RuntimeDep
) -> LinkHealthOut:
    async with runtime.db.transaction() as tx:
        await service.set_auto_fallback(
            tx, workspace=who.workspace, link_id=link_id, mode=body.auto_fallback,
            actor=who.actor, policy=runtime.link_rules.policy,
        )  # fmt: skip
        found, history = await service.link_health(tx, workspace=who.workspace, link_id=link_id)
    return LinkHealthOut.of(found, history)


@router.post(
    "/links/{link_id}/health/check",
    status_code=202,
    response_model=DueOut,
    summary="Check a link's destinations now",
)
async def check_link(link_id: str, who: LinksWrite, runtime: RuntimeDep) -> DueOut:
    async with runtime.db.transaction() as tx:
        due = await service.check_now(tx, workspace=who.workspace, link_id=link_id)
    return DueOut(due=due)


@router.get("/health", response_model=WorkspaceHealthOut, summary="The workspace's health")
async def workspace_health(who: LinksRead, runtime: RuntimeDep) -> WorkspaceHealthOut:
    async with runtime.db.transaction(write=False) as tx:
        counts = await service.summary(tx, workspace=who.workspace)
        events = await service.notifications(tx, workspace=who.workspace, unacknowledged=True)
    return WorkspaceHealthOut(counts=counts, notifications=[HealthEventOut.of(e) for e in events])


@router.post(
    "/health/check", status_code=202, response_model=DueOut, summary="Check every link now"
)
async def check_all(who: LinksWrite, runtime: RuntimeDep) -> DueOut:
    async with runtime.db.transaction() as tx:
        due = await service.check_now(tx, workspace=who.workspace)
    return DueOut(due=due)


@router.get(
    "/health/notifications",
    response_model=list[HealthEventOut],
    summary="State changes of the workspace's links (newest first)",
)
async def list_notifications(
    who: LinksRead,
    runtime: RuntimeDep,
    unacknowledged: Annotated[bool, Query()] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[HealthEventOut]:
    async with runtime.db.transaction(write=False) as tx:
        events = await service.notifications(
            tx, workspace=who.workspace, unacknowledged=unacknowledged, limit=limit
        )
    return [HealthEventOut.of(e) for e in events]


@router.post(
    "/health/notifications/acknowledge",
    response_model=AcknowledgedOut,
    summary="Dismiss one notification, or all",
)
async def acknowledge(body: AcknowledgeIn, who: LinksWrite, runtime: RuntimeDep) -> AcknowledgedOut:
    async with runtime.db.transaction() as tx:
        count = await service.acknowledge(tx, workspace=who.workspace, event_id=body.id)
    return AcknowledgedOut(acknowledged=count)
