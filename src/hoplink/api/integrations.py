"""/api/v1/integrations — a workspace's ad platform destinations (GA4 Measurement
Protocol, Meta Conversions API, TikTok Events API), their journal, replay, a test event
and live status. See docs/integrations.md.

Every route needs the ``workspace:admin`` scope: a destination sends the workspace's
clicks and orders to an ad account. Credentials are write-only: responses show them
masked. No field names a URL: where requests go is the operator's setting.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from hoplink.accounts.models import Scope
from hoplink.api.deps import Principal, RuntimeDep, require
from hoplink.api.schemas import _In, problem_responses
from hoplink.forwarding import service
from hoplink.forwarding.delivery import endpoints_from_settings, send_test
from hoplink.forwarding.models import Destination, Entry
from hoplink.ids import utcnow
from hoplink.net.fetch import SafeFetcher
from hoplink.runtime import Runtime
from hoplink.webhooks.secrets import SecretBox

router = APIRouter(tags=["integrations"], responses=problem_responses(400, 401, 403, 404, 422, 429))
Admin = Annotated[Principal, Depends(require(Scope.WORKSPACE_ADMIN))]
KindName = Literal["ga4", "meta", "tiktok"]
EventName = Literal["click", "purchase", "refund", "lead"]


class DestinationIn(_In):
    kind: KindName
    name: str = Field(min_length=1, max_length=100)
    account_id: str = Field(
        max_length=64, description="GA4 measurement id, Meta pixel id or TikTok pixel code"
    )
    credential: str = Field(
        max_length=512,
        description="GA4 API secret, Meta or TikTok access token (write-only, kept encrypted)",
    )
    events: list[EventName] = Field(min_length=1, max_length=4)
    click_sample_rate: float = Field(default=1.0, ge=0, le=1)
    click_event_name: str | None = Field(default=None, max_length=50)
    test_code: str | None = Field(default=None, max_length=64)
    enabled: bool = True


class DestinationPatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    account_id: str | None = Field(default=None, max_length=64)
    credential: str | None = Field(default=None, max_length=512)
    events: list[EventName] | None = Field(default=None, min_length=1, max_length=4)
    click_sample_rate: float | None = Field(default=None, ge=0, le=1)
    click_event_name: str | None = Field(default=None, max_length=50)
    test_code: str | None = Field(default=None, max_length=64)
    enabled: bool | None = None


class DestinationOut(BaseModel):
    id: str
    kind: str
    name: str
    account_id: str
    credential: str = Field(description="Masked: the last 4 characters only")
    events: list[str]
    click_sample_rate: float
    click_event_name: str | None
    test_code: str | None
    enabled: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, d: Destination) -> DestinationOut:
        return cls(
            id=d.id,
            kind=d.kind.value,
            name=d.name,
            account_id=d.account_id,
            credential=d.masked_credential,
            events=list(d.events),
            click_sample_rate=d.click_sample_rate,
            click_event_name=d.click_event_name,
            test_code=d.test_code,
            enabled=d.enabled,
            created_at=d.created_at,
            updated_at=d.updated_at,
        )


class EntryOut(BaseModel):
    id: str
    destination_id: str
    event_key: str = Field(description="The event id the platform dedupes by")
    kind: str
    ref: str = Field(description="The click id or conversion event id")
    status: str = Field(description="pending, sent, dead (replayable) or rejected (a rule)")
    attempts: int
    occurred_at: datetime
    created_at: datetime
    sent_at: datetime | None = Field(description="The last attempt")
    answer_status: int | None
    answer: str | None
    error: str | None
    payload: dict[str, Any]
    batch_id: str = Field(
        description="The batch it was queued and sent in: the events that shared its request"
        " and answer"
    )

    @classmethod
    def of(cls, e: Entry) -> EntryOut:
        return cls(
            id=e.id,
            destination_id=e.destination_id,
            event_key=e.event_key,
            kind=e.kind,
            ref=e.ref,
            status=e.status,
            attempts=e.attempts,
            occurred_at=e.occurred_at,
            created_at=e.created_at,
            sent_at=e.sent_at,
            answer_status=e.answer_status,
            answer=e.answer,
            error=e.error,
            payload=orjson.loads(e.payload),
            batch_id=e.batch_id,
        )


class StatusOut(BaseModel):
    last_success: datetime | None
    failures_last_hour: int
    queued: int
    dead: int


class ReplayIn(_In):
    destination_id: str | None = Field(default=None, max_length=32)
    entry_id: str | None = Field(default=None, max_length=32)


class ReplayOut(BaseModel):
    replayed: int


class TestOut(BaseModel):
    ok: bool
    request: dict[str, Any] = Field(description="The exact body sent, credentials masked")
    status: int | None
    answer: str | None


def _box(runtime: Runtime) -> SecretBox:
    return SecretBox(runtime.settings.resolve_secret_key())


@router.get("/integrations", response_model=list[DestinationOut], summary="List integrations")
async def list_destinations(who: Admin, runtime: RuntimeDep) -> list[DestinationOut]:
    async with runtime.db.transaction(write=False) as tx:
        found = await tx.forwarding(who.workspace.id).destinations()
    return [DestinationOut.of(d) for d in found]


@router.post("/integrations", status_code=201, response_model=DestinationOut, summary="Add one")
async def create_destination(
    body: DestinationIn, who: Admin, runtime: RuntimeDep
) -> DestinationOut:
    async with runtime.db.transaction() as tx:
        dest = await service.create_destination(
            tx,
            workspace_id=who.workspace.id,
            kind=service.parse_kind(body.kind),
            name=body.name,
            account_id=body.account_id,
            credential=body.credential,
            events=service.parse_events(body.events),
            box=_box(runtime),
            click_sample_rate=body.click_sample_rate,
            click_event_name=body.click_event_name,
            test_code=body.test_code,
            enabled=body.enabled,
            actor=who.actor,
        )
    return DestinationOut.of(dest)


@router.get(
    "/integrations/{destination_id}", response_model=DestinationOut, summary="One integration"
)
async def get_destination(destination_id: str, who: Admin, runtime: RuntimeDep) -> DestinationOut:
    async with runtime.db.transaction(write=False) as tx:
        dest = await service.get_destination(
            tx, workspace_id=who.workspace.id, destination_id=destination_id
        )
    return DestinationOut.of(dest)


@router.patch("/integrations/{destination_id}", response_model=DestinationOut, summary="Edit one")
async def update_destination(
    destination_id: str, body: DestinationPatch, who: Admin, runtime: RuntimeDep
) -> DestinationOut:
    async with runtime.db.transaction() as tx:
        dest = await service.update_destination(
            tx,
            workspace_id=who.workspace.id,
            destination_id=destination_id,
            box=_box(runtime),
            changes=service.Changes(
                name=body.name,
                account_id=body.account_id,
                credential=body.credential,
                events=None if body.events is None else service.parse_events(body.events),
                click_sample_rate=body.click_sample_rate,
                click_event_name=body.click_event_name,
                test_code=body.test_code,
                enabled=body.enabled,
            ),
            actor=who.actor,
        )
    return DestinationOut.of(dest)


@router.delete("/integrations/{destination_id}", status_code=204, summary="Delete one")
async def delete_destination(destination_id: str, who: Admin, runtime: RuntimeDep) -> Response:
    async with runtime.db.transaction() as tx:
        await service.delete_destination(
            tx, workspace_id=who.workspace.id, destination_id=destination_id, actor=who.actor
        )
    return Response(status_code=204)


@router.get(
    "/integrations/{destination_id}/events",
    response_model=list[EntryOut],
    summary="The journal: what was sent (or refused) and the answer, newest first",
)
async def journal(
    destination_id: str,
    who: Admin,
    runtime: RuntimeDep,
    status: Literal["pending", "sent", "dead", "rejected"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[EntryOut]:
    async with runtime.db.transaction(write=False) as tx:
        await service.get_destination(
            tx, workspace_id=who.workspace.id, destination_id=destination_id
        )
        found = await tx.forwarding(who.workspace.id).entries(
            destination_id=destination_id, status=status, limit=limit
        )
    return [EntryOut.of(e) for e in found]


@router.get(
    "/integrations/{destination_id}/status",
    response_model=StatusOut,
    summary="Live status: last success, failures in the last hour, queue depth",
)
async def live_status(destination_id: str, who: Admin, runtime: RuntimeDep) -> StatusOut:
    async with runtime.db.transaction(write=False) as tx:
        await service.get_destination(
            tx, workspace_id=who.workspace.id, destination_id=destination_id
        )
        s = await tx.forwarding(who.workspace.id).live_status(destination_id, now=utcnow())
    return StatusOut(
        last_success=s.last_success,
        failures_last_hour=s.failures_last_hour,
        queued=s.queued,
        dead=s.dead,
    )


@router.post("/integrations/replay", response_model=ReplayOut, summary="Queue dead letters again")
async def replay(body: ReplayIn, who: Admin, runtime: RuntimeDep) -> ReplayOut:
    async with runtime.db.transaction() as tx:
        count = await service.replay(
            tx,
            workspace_id=who.workspace.id,
            entry_id=body.entry_id,
            destination_id=body.destination_id,
        )
    return ReplayOut(replayed=count)


@router.post(
    "/integrations/{destination_id}/test",
    response_model=TestOut,
    summary="Send a test event now; returns the exact payload and the platform's answer",
)
async def test_event(destination_id: str, who: Admin, runtime: RuntimeDep) -> TestOut:
    async with runtime.db.transaction(write=False) as tx:
        dest = await service.get_destination(
            tx, workspace_id=who.workspace.id, destination_id=destination_id
        )
    result = await send_test(
        dest,
        fetcher=SafeFetcher.from_settings(runtime.settings),
        box=_box(runtime),
        endpoints=endpoints_from_settings(runtime.settings),
    )
    return TestOut(**result)
