"""Managing a workspace's webhook endpoints: create (the secret shown once), edit, rotate
the secret with an overlap, delete, replay failed messages. The caller owns the
transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hoplink import audit
from hoplink.errors import FieldError, InvalidInput, NotFound
from hoplink.ids import new_id, utcnow
from hoplink.links.urls import canonicalize_destination
from hoplink.net.addresses import host_address, in_any
from hoplink.net.fetch import FetchError, SafeFetcher
from hoplink.safety.policy import DestinationPolicy, split_host_port
from hoplink.webhooks.models import EVENT_TYPES, Endpoint
from hoplink.webhooks.secrets import SecretBox, new_secret

if TYPE_CHECKING:
    from hoplink.storage.tx import Tx

MAX_ENDPOINTS = 20  # per workspace
MAX_OVERLAP = timedelta(days=7)
DEFAULT_OVERLAP = timedelta(hours=24)


def _host(url: str) -> str:
    """What the audit log keeps of an endpoint's URL: its host and port. The path or query
    of a receiver's URL often is its secret (chat and automation tools' hook URLs)."""
    return split_host_port(url)[0] if "://" in url else url[:64]


def parse_events(values: Iterable[str], *, field: str = "events") -> tuple[str, ...]:
    events: list[str] = []
    for value in values:
        name = value.strip()
        if name not in EVENT_TYPES:
            raise InvalidInput(
                FieldError(
                    field,
                    "unknown_event",
                    f"unknown event type {name!r}; use one of: {', '.join(EVENT_TYPES)}",
                )
            )
        if name not in events:
            events.append(name)
    if not events:
        raise InvalidInput(FieldError(field, "required", "subscribe to at least one event type"))
    return tuple(events)


async def check_endpoint_url(
    url: str,
    *,
    policy: DestinationPolicy,
    fetcher: SafeFetcher,
    own_hosts: Iterable[str] = (),
    field: str = "url",
) -> str:
    """The canonical URL if the destination policy and the fetcher's address check (DNS
    resolved now: no private address) allow it; InvalidInput naming ``field`` otherwise.
    Hosts the operator lets the fetcher reach although private (outbound_allow_private,
    tests and staging only) skip the policy's address rules, as the fetcher does."""
    try:
        canonical = canonicalize_destination(url)
    except InvalidInput as exc:
        raise InvalidInput(FieldError(field, "invalid_url", exc.errors[0].message)) from None
    host = split_host_port(canonical)[0]
    literal = host_address(host)
    limits = fetcher.limits
    exempt = host in limits.allow_hosts or (
        literal is not None and in_any(literal, limits.allow_networks)
    )
    if not exempt:
        refused = policy.check(canonical, own_hosts=own_hosts, field=field)
        if refused is not None:
            raise InvalidInput(refused)
    try:
        await fetcher.check(canonical)
    except FetchError as exc:
        raise InvalidInput(FieldError(field, exc.code, exc.message)) from None
    return canonical


async def create_endpoint(
    tx: Tx,
    *,
    workspace_id: str,
    url: str,
    events: tuple[str, ...],
    box: SecretBox,
    description: str | None = None,
    enabled: bool = True,
    actor: str | None = None,
) -> tuple[Endpoint, str]:
    """A new endpoint (``url`` already checked by ``check_endpoint_url``) and its raw
    secret, which is never shown again."""
    repo = tx.webhooks(workspace_id)
    if len(await repo.endpoints()) >= MAX_ENDPOINTS:
        raise InvalidInput(
            FieldError("url", "too_many", f"a workspace has at most {MAX_ENDPOINTS} endpoints")
        )
    secret = new_secret()
    now = utcnow()
    endpoint = Endpoint(
        id=new_id("whe"),
        workspace_id=workspace_id,
        url=url,
        events=events,
        enabled=enabled,
        secret_enc=box.seal(secret),
        previous_secret_enc=None,
        previous_secret_until=None,
        description=description,
        created_at=now,
        updated_at=now,
    )
    await repo.insert_endpoint(endpoint)
    await audit.record(
        tx,
        action=audit.WEBHOOK_CREATED,
        actor=actor,
        workspace_id=workspace_id,
        target=endpoint.id,
        detail={"host": _host(url), "events": " ".join(events)},
    )
    return endpoint, secret


async def get_endpoint(tx: Tx, *, workspace_id: str, endpoint_id: str) -> Endpoint:
    endpoint = await tx.webhooks(workspace_id).endpoint(endpoint_id)
    if endpoint is None:
        raise NotFound("no webhook endpoint with this id")
    return endpoint


async def update_endpoint(
    tx: Tx,
    *,
    workspace_id: str,
    endpoint_id: str,
    url: str | None = None,
    events: tuple[str, ...] | None = None,
    enabled: bool | None = None,
    description: str | None = None,
    actor: str | None = None,
) -> Endpoint:
    endpoint = await get_endpoint(tx, workspace_id=workspace_id, endpoint_id=endpoint_id)
    values: dict[str, object] = {"updated_at": utcnow()}
    if url is not None:
        values["url"] = url
    if events is not None:
        values["events"] = events
    if enabled is not None:
        values["enabled"] = enabled
    if description is not None:
        values["description"] = description
    await tx.webhooks(workspace_id).update_endpoint(endpoint.id, values)
    detail = {"changed": " ".join(sorted(k for k in values if k != "updated_at"))}
    if url is not None and url != endpoint.url:
        detail |= {"old_host": _host(endpoint.url), "host": _host(url)}
    await audit.record(
        tx,
        action=audit.WEBHOOK_CHANGED,
        actor=actor,
        workspace_id=workspace_id,
        target=endpoint.id,
        detail=detail,
    )
    return await get_endpoint(tx, workspace_id=workspace_id, endpoint_id=endpoint_id)


async def rotate_secret(
    tx: Tx,
    *,
    workspace_id: str,
    endpoint_id: str,
    box: SecretBox,
    overlap: timedelta = DEFAULT_OVERLAP,
    now: datetime | None = None,
    actor: str | None = None,
) -> tuple[Endpoint, str]:
    """A new secret (returned raw, once); the old one keeps signing too for ``overlap``
    (0 to 7 days), so a receiver can switch without missing a message."""
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise InvalidInput(
            FieldError("overlap_seconds", "out_of_range", "give 0 to 604800 seconds (7 days)")
        )
    endpoint = await get_endpoint(tx, workspace_id=workspace_id, endpoint_id=endpoint_id)
    now = now or utcnow()
    secret = new_secret()
    values: dict[str, object] = {
        "secret_enc": box.seal(secret),
        "previous_secret_enc": endpoint.secret_enc if overlap else None,
        "previous_secret_until": now + overlap if overlap else None,
        "updated_at": now,
    }
    await tx.webhooks(workspace_id).update_endpoint(endpoint.id, values)
    await audit.record(
        tx,
        action=audit.WEBHOOK_SECRET_ROTATED,
        actor=actor,
        workspace_id=workspace_id,
        target=endpoint.id,
        detail={"overlap_seconds": str(int(overlap.total_seconds()))},
    )
    return replace(endpoint, **values), secret  # type: ignore[arg-type]


def signing_secrets(endpoint: Endpoint, *, box: SecretBox, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous during its overlap."""
    found = [box.open(endpoint.secret_enc)]
    if (
        endpoint.previous_secret_enc is not None
        and endpoint.previous_secret_until is not None
        and now < endpoint.previous_secret_until
    ):
        found.append(box.open(endpoint.previous_secret_enc))
    return found


async def delete_endpoint(
    tx: Tx, *, workspace_id: str, endpoint_id: str, actor: str | None = None
) -> None:
    """Delete the endpoint with its messages and their delivery log."""
    endpoint = await get_endpoint(tx, workspace_id=workspace_id, endpoint_id=endpoint_id)
    if not await tx.webhooks(workspace_id).delete_endpoint(endpoint_id):
        raise NotFound("no webhook endpoint with this id")
    await audit.record(
        tx,
        action=audit.WEBHOOK_DELETED,
        actor=actor,
        workspace_id=workspace_id,
        target=endpoint_id,
        detail={"host": _host(endpoint.url)},
    )


async def replay_failed(
    tx: Tx,
    *,
    workspace_id: str,
    message_id: str | None = None,
    endpoint_id: str | None = None,
) -> int:
    """Queue failed messages again (one by id, or all of an endpoint, or all); how many."""
    count = await tx.webhooks(workspace_id).replay_failed(
        now=utcnow(), message_id=message_id, endpoint_id=endpoint_id
    )
    if message_id is not None and count == 0:
        raise NotFound("no failed webhook message with this id")
    return count
