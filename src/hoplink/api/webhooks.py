"""/api/v1/webhooks — a workspace's webhook endpoints, their messages and delivery log.

Every route needs the ``workspace:admin`` scope: an endpoint sends the workspace's data to
a URL of the caller's choosing, as an export does. The signing secret is returned once, by
create and by rotate-secret. See docs/webhooks.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from hoplink.accounts.models import Scope
from hoplink.api.deps import Principal, RuntimeDep, require
from hoplink.api.schemas import _In, problem_responses
from hoplink.errors import NotFound
from hoplink.net.fetch import SafeFetcher
from hoplink.runtime import Runtime
from hoplink.safety.policy import DestinationPolicy
from hoplink.webhooks import service
from hoplink.webhooks.models import EVENT_TYPES, Attempt, Endpoint, Message
from hoplink.webhooks.secrets import SecretBox

router = APIRouter(tags=["webhooks"], responses=problem_responses(400, 401, 403, 404, 422, 429))
Admin = Annotated[Principal, Depends(require(Scope.WORKSPACE_ADMIN))]
EventName = Literal[
    "link.created",
    "link.updated",
    "link.deleted",
    "click",
    "conversion.created",
    "conversion.updated",
    "conversion.refunded",
    "link.health",
]
assert set(EventName.__args__) == set(EVENT_TYPES)  # type: ignore[attr-defined]


class EndpointIn(_In):
    url: str = Field(max_length=2000, description="https URL of your receiver (public address)")
    events: list[EventName] = Field(min_length=1, max_length=len(EVENT_TYPES))
    description: str | None = Field(default=None, max_length=200)
    enabled: bool = True


class EndpointPatch(_In):
    url: str | None = Field(default=None, max_length=2000)
    events: list[EventName] | None = Field(default=None, min_length=1)
    description: str | None = Field(default=None, max_length=200)
    enabled: bool | None = None


class RotateIn(_In):
    overlap_seconds: int = Field(
        default=86_400, ge=0, le=604_800, description="How long the old secret also signs"
    )


class ReplayIn(_In):
    endpoint_id: str | None = Field(default=None, max_length=32)


class EndpointOut(BaseModel):
    id: str
    url: str
    events: list[str]
    enabled: bool
    description: str | None
    previous_secret_until: datetime | None = Field(
        description="Until then the previous secret signs too (rotation overlap)"
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, e: Endpoint) -> EndpointOut:
        return cls(
            id=e.id,
            url=e.url,
            events=list(e.events),
            enabled=e.enabled,
            description=e.description,
            previous_secret_until=e.previous_secret_until,
            created_at=e.created_at,
            updated_at=e.updated_at,
        )


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="whsec_…: shown this once; verify signatures with it")


class AttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    response_snippet: str | None

    @classmethod
    def of(cls, a: Attempt) -> AttemptOut:
        return cls(
            attempted_at=a.attempted_at,
            status_code=a.status_code,
            latency_ms=a.latency_ms,
            error=a.error,
            response_snippet=a.response_snippet,
        )


class MessageOut(BaseModel):
    id: str = Field(description="The webhook-id header: dedupe by it")
    endpoint_id: str
    event_type: str
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    finished_at: datetime | None
    payload: dict[str, Any]
    log: list[AttemptOut] | None = None

    @classmethod
    def of(cls, m: Message, log: list[Attempt] | None = None) -> MessageOut:
        return cls(
            id=m.id,
            endpoint_id=m.endpoint_id,
            event_type=m.event_type,
            status=m.status,
            attempts=m.attempts,
            next_attempt_at=m.next_attempt_at,
            created_at=m.created_at,
            finished_at=m.finished_at,
            payload=orjson.loads(m.payload),
            log=None if log is None else [AttemptOut.of(a) for a in log],
        )


class ReplayOut(BaseModel):
    replayed: int


def _box(runtime: Runtime) -> SecretBox:
    return SecretBox(runtime.settings.resolve_secret_key())


def _open_policy(runtime: Runtime) -> DestinationPolicy:
    """The operator's blocks apply; allowlist mode is for link destinations, not for a
    seller's own receiver."""
    policy = runtime.link_rules.policy
    return DestinationPolicy(blocklist=policy.blocklist, shorteners=frozenset())


async def _checked_url(runtime: Runtime, url: str) -> str:
    async with runtime.db.transaction(write=False) as tx:
        own = await tx.short_domains.hostnames()
    return await service.check_endpoint_url(
        url,
        policy=_open_policy(runtime),
        fetcher=SafeFetcher.from_settings(runtime.settings),
        own_hosts=own,
    )


@router.get("/webhooks", response_model=list[EndpointOut], summary="List webhook endpoints")
async def list_endpoints(who: Admin, runtime: RuntimeDep) -> list[EndpointOut]:
    async with runtime.db.transaction(write=False) as tx:
        found = await tx.webhooks(who.workspace.id).endpoints()
    return [EndpointOut.of(e) for e in found]


@router.post(
    "/webhooks",
    status_code=201,
    response_model=EndpointWithSecret,
    summary="Add an endpoint; returns its signing secret once",
)
async def create_endpoint(body: EndpointIn, who: Admin, runtime: RuntimeDep) -> EndpointWithSecret:
    url = await _checked_url(runtime, body.url)  # DNS: no transaction held meanwhile
    async with runtime.db.transaction() as tx:
        endpoint, secret = await service.create_endpoint(
            tx,
            workspace_id=who.workspace.id,
            url=url,
            events=service.parse_events(body.events),
            box=_box(runtime),
            description=body.description,
            enabled=body.enabled,
            actor=who.actor,
        )
    return EndpointWithSecret(**EndpointOut.of(endpoint).model_dump(), secret=secret)


@router.get("/webhooks/{endpoint_id}", response_model=EndpointOut, summary="One endpoint")
async def get_endpoint(endpoint_id: str, who: Admin, runtime: RuntimeDep) -> EndpointOut:
    async with runtime.db.transaction(write=False) as tx:
        endpoint = await service.get_endpoint(
            tx, workspace_id=who.workspace.id, endpoint_id=endpoint_id
        )
    return EndpointOut.of(endpoint)


@router.patch("/webhooks/{endpoint_id}", response_model=EndpointOut, summary="Edit an endpoint")
async def update_endpoint(
    endpoint_id: str, body: EndpointPatch, who: Admin, runtime: RuntimeDep
) -> EndpointOut:
    async with runtime.db.transaction(write=False) as tx:  # 404 before any DNS lookup
        await service.get_endpoint(tx, workspace_id=who.workspace.id, endpoint_id=endpoint_id)
    url = None if body.url is None else await _checked_url(runtime, body.url)
    async with runtime.db.transaction() as tx:
        endpoint = await service.update_endpoint(
            tx,
            workspace_id=who.workspace.id,
            endpoint_id=endpoint_id,
            url=url,
            events=None if body.events is None else service.parse_events(body.events),
            enabled=body.enabled,
            description=body.description,
            actor=who.actor,
        )
    return EndpointOut.of(endpoint)


@router.delete("/webhooks/{endpoint_id}", status_code=204, summary="Delete an endpoint")
async def delete_endpoint(endpoint_id: str, who: Admin, runtime: RuntimeDep) -> Response:
    async with runtime.db.transaction() as tx:
        await service.delete_endpoint(
            tx, workspace_id=who.workspace.id, endpoint_id=endpoint_id, actor=who.actor
        )
    return Response(status_code=204)


@router.post(
    "/webhooks/{endpoint_id}/rotate-secret",
    response_model=EndpointWithSecret,
    summary="New signing secret; the old one also signs during the overlap",
)
async def rotate_secret(
    endpoint_id: str, body: RotateIn, who: Admin, runtime: RuntimeDep
) -> EndpointWithSecret:
    async with runtime.db.transaction() as tx:
        endpoint, secret = await service.rotate_secret(
            tx,
            workspace_id=who.workspace.id,
            endpoint_id=endpoint_id,
            box=_box(runtime),
            overlap=timedelta(seconds=body.overlap_seconds),
            actor=who.actor,
        )
    return EndpointWithSecret(**EndpointOut.of(endpoint).model_dump(), secret=secret)


@router.get(
    "/webhooks/{endpoint_id}/messages",
    response_model=list[MessageOut],
    summary="An endpoint's latest messages (newest first)",
)
async def list_messages(
    endpoint_id: str,
    who: Admin,
    runtime: RuntimeDep,
    status: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[MessageOut]:
    async with runtime.db.transaction(write=False) as tx:
        await service.get_endpoint(tx, workspace_id=who.workspace.id, endpoint_id=endpoint_id)
        found = await tx.webhooks(who.workspace.id).messages(
            endpoint_id=endpoint_id, status=status, limit=limit
        )
    return [MessageOut.of(m) for m in found]


@router.get(
    "/webhooks/messages/{message_id}",
    response_model=MessageOut,
    summary="One message with its delivery log",
)
async def get_message(message_id: str, who: Admin, runtime: RuntimeDep) -> MessageOut:
    async with runtime.db.transaction(write=False) as tx:
        repo = tx.webhooks(who.workspace.id)
        message = await repo.message(message_id)
        if message is None:
            raise NotFound("no webhook message with this id")
        log = await repo.attempts(message_id)
    return MessageOut.of(message, log)


@router.post(
    "/webhooks/messages/{message_id}/replay",
    response_model=ReplayOut,
    summary="Send one failed message again",
)
async def replay_message(message_id: str, who: Admin, runtime: RuntimeDep) -> ReplayOut:
    async with runtime.db.transaction() as tx:
        n = await service.replay_failed(tx, workspace_id=who.workspace.id, message_id=message_id)
    return ReplayOut(replayed=n)


@router.post(
    "/webhooks/replay",
    response_model=ReplayOut,
    summary="Send every failed message again (of one endpoint, or all)",
)
async def replay_all(body: ReplayIn, who: Admin, runtime: RuntimeDep) -> ReplayOut:
    async with runtime.db.transaction() as tx:
        if body.endpoint_id is not None:
            await service.get_endpoint(
                tx, workspace_id=who.workspace.id, endpoint_id=body.endpoint_id
            )
        n = await service.replay_failed(
            tx, workspace_id=who.workspace.id, endpoint_id=body.endpoint_id
        )
    return ReplayOut(replayed=n)
