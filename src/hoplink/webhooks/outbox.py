"""The transactional outbox: webhook messages written in the transaction of the change.

``emit`` is the one way to send a webhook event: call it inside the transaction that makes
the change (``conversion.created``, ``link.health`` ...). It writes **one outbox row per
matching endpoint** (fanned out at write time, so each endpoint has its own retry state and
delivery log, and a message id a receiver can dedupe by). A rollback removes the rows with
the change; a commit makes them the worker's to deliver (hoplink.webhooks.delivery).

``OutboxOnCommit`` is the before-commit listener (runtime.py) that turns ``LinkChanged``
events into ``link.created|updated|deleted`` messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from hoplink.events import Event, LinkChanged
from hoplink.ids import new_id, utcnow
from hoplink.webhooks.models import EVENT_TYPES, Message

if TYPE_CHECKING:
    from hoplink.storage.tx import Tx

_LINK_CHANGES = {"created": "link.created", "updated": "link.updated", "deleted": "link.deleted"}


def payload(event_type: str, data: Mapping[str, Any], *, timestamp: str) -> str:
    """The body every receiver gets: {"type", "timestamp", "data"} (Standard Webhooks)."""
    return orjson.dumps({"type": event_type, "timestamp": timestamp, "data": data}).decode()


async def emit(tx: Tx, *, workspace_id: str, event_type: str, data: Mapping[str, Any]) -> int:
    """Queue ``event_type`` with ``data`` (JSON-serialisable) for every enabled endpoint of
    the workspace that subscribes to it, in ``tx``; the number of messages written."""
    return await emit_many(tx, workspace_id=workspace_id, items=[(event_type, data)])


async def emit_many(
    tx: Tx, *, workspace_id: str, items: Sequence[tuple[str, Mapping[str, Any]]]
) -> int:
    for event_type, _ in items:
        if event_type not in EVENT_TYPES:
            raise ValueError(f"unknown webhook event type {event_type!r}")
    repo = tx.webhooks(workspace_id)
    endpoints = [e for e in await repo.endpoints() if e.enabled]
    if not endpoints:
        return 0
    now = utcnow()
    stamp = now.isoformat().replace("+00:00", "Z")
    messages = [
        Message(
            id=new_id("msg"),
            workspace_id=workspace_id,
            endpoint_id=endpoint.id,
            event_type=event_type,
            payload=payload(event_type, data, timestamp=stamp),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            finished_at=None,
        )
        for event_type, data in items
        for endpoint in endpoints
        if endpoint.wants(event_type)
    ]
    await repo.insert_messages(messages)
    return len(messages)


async def _link_data(tx: Tx, event: LinkChanged) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": event.link_id,
        "workspace_id": event.workspace_id,
        "host": event.host,
        "code": event.code,
    }
    if event.change != "deleted":
        link = await tx.links(event.workspace_id).get(event.link_id)
        if link is not None:
            data |= {
                "destination_url": link.destination_url,
                "final_url": link.final_url,
                "title": link.title,
                "tags": link.tags,
                "channel": link.channel,
                "archived": link.archived,
                "updated_at": link.updated_at.isoformat(),
            }
    return data


class OutboxOnCommit:
    """Before-commit listener: ``LinkChanged`` → ``link.*`` outbox rows, same transaction."""

    async def __call__(self, tx: Tx, events: Sequence[Event]) -> None:
        changes: dict[str, list[LinkChanged]] = {}
        for event in events:
            if isinstance(event, LinkChanged) and event.change in _LINK_CHANGES:
                changes.setdefault(event.workspace_id, []).append(event)
        for workspace_id, mine in changes.items():
            # One query per workspace; the links are read only when someone listens.
            endpoints = await tx.webhooks(workspace_id).endpoints()
            wanted = {t for e in endpoints if e.enabled for t in e.events}
            items: list[tuple[str, Mapping[str, Any]]] = []
            for event in mine:
                event_type = _LINK_CHANGES[event.change]
                if event_type in wanted:
                    items.append((event_type, await _link_data(tx, event)))
            if items:
                await emit_many(tx, workspace_id=workspace_id, items=items)
