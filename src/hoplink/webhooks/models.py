"""Webhook values: endpoints, outbox messages, delivery attempts. No HTTP, no SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

EVENT_TYPES: tuple[str, ...] = (
    "link.created",
    "link.updated",
    "link.deleted",
    "click",
    "conversion.created",
    "conversion.updated",
    "conversion.refunded",
    "link.health",
)

MessageStatus = Literal["pending", "delivered", "failed"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    workspace_id: str
    url: str
    events: tuple[str, ...]
    enabled: bool
    secret_enc: str
    previous_secret_enc: str | None
    previous_secret_until: datetime | None
    description: str | None
    created_at: datetime
    updated_at: datetime

    def wants(self, event_type: str) -> bool:
        return self.enabled and event_type in self.events


@dataclass(frozen=True, slots=True)
class Message:
    """One event for one endpoint; ``id`` is the webhook-id a receiver dedupes by."""

    id: str
    workspace_id: str
    endpoint_id: str
    event_type: str
    payload: str
    status: MessageStatus
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class Attempt:
    id: str
    message_id: str
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None
    response_snippet: str | None
