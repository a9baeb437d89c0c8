"""Forwarding values: destinations, the facts an event is built from, built events, the
journal. No HTTP, no SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal


class Kind(StrEnum):
    GA4 = "ga4"
    META = "meta"
    TIKTOK = "tiktok"


# What a destination can be sent, in the order the dashboard lists them.
EVENTS: tuple[str, ...] = ("click", "purchase", "refund", "lead")

Status = Literal["pending", "sent", "dead", "rejected"]
STATUSES: tuple[str, ...] = ("pending", "sent", "dead", "rejected")


@dataclass(frozen=True, slots=True)
class Destination:
    id: str
    workspace_id: str
    kind: Kind
    name: str
    account_id: str  # GA4 measurement id, Meta pixel id, TikTok pixel code
    credential_enc: str  # Fernet token (hoplink.webhooks.secrets.SecretBox)
    credential_hint: str  # the last characters, for a masked display
    events: tuple[str, ...]
    click_sample_rate: float
    click_event_name: str | None
    test_code: str | None
    enabled: bool
    created_at: datetime
    updated_at: datetime

    def wants(self, event: str) -> bool:
        return self.enabled and event in self.events

    @property
    def masked_credential(self) -> str:
        return "••••" + self.credential_hint


@dataclass(frozen=True, slots=True)
class ClickFacts:
    """What is known of a click when it is forwarded: never an IP address."""

    click_id: str
    workspace_id: str
    link_id: str
    ts: float  # unix seconds
    visitor_hash: str  # the daily visitor id (keyed, salted hash)
    user_agent: str
    ad_click_ids: dict[str, str]
    country: str | None = None
    device: str | None = None
    link_code: str = ""
    link_host: str = ""
    page_url: str = ""  # the destination the visitor was sent to (event_source_url)
    utm: dict[str, str | None] = field(default_factory=dict)
    channel: str | None = None
    campaign_id: str | None = None


@dataclass(frozen=True, slots=True)
class ConversionFacts:
    """A recorded conversion event (purchase, refund, lead) with its click, if any."""

    event_id: str
    kind: str  # purchase | refund | lead
    occurred_at: datetime
    order_id: str | None
    amount: int | None  # minor units
    currency: str | None
    items: list[dict[str, Any]]
    customer: dict[str, str]  # hashes only (conversions/identity.py)
    click: ClickFacts | None


@dataclass(frozen=True, slots=True)
class Built:
    """One platform event, ready to queue: ``payload`` is the platform's JSON object for
    it; ``group_key`` what must be equal for events to share a request (GA4 client_id)."""

    event_key: str
    payload: dict[str, Any]
    occurred_at: datetime
    group_key: str = ""


@dataclass(frozen=True, slots=True)
class Refused:
    """An event outside the platform's rules: journalled as ``rejected`` with the rule."""

    event_key: str
    rule: str
    occurred_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Entry:
    """A row of the forwarding journal (and queue)."""

    id: str
    workspace_id: str
    destination_id: str
    event_key: str
    kind: str
    ref: str
    group_key: str
    payload: str
    occurred_at: datetime
    status: Status
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None = None
    answer_status: int | None = None
    answer: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """A platform's answer to one request, as the delivery loop acts on it."""

    ok: bool
    retry: bool  # a 5xx, 429 or network failure: send again later
    message: str  # the platform's own words (or the network error)
    status: int | None = None


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """A destination's live status."""

    last_success: datetime | None
    failures_last_hour: int
    queued: int
    dead: int
