"""Forwarding values: destinations, the facts an event is built from, built events, the
journal. No HTTP, no SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

import orjson


class Kind(StrEnum):
    GA4 = "ga4"
    META = "meta"
    TIKTOK = "tiktok"


# What a destination can be sent, in the order the dashboard lists them.
EVENTS: tuple[str, ...] = ("click", "purchase", "refund", "lead")

# A credential shows its last four characters only from this length on: of a shorter one
# they would give too much of it away, so it is shown fully masked.
HINT_FROM_LENGTH = 20
_MASK = "••••"


def credential_hint(secret: str) -> str:
    """What is kept in clear of a credential for its masked display: its last four
    characters when it is at least ``HINT_FROM_LENGTH`` long, else nothing."""
    return secret[-4:] if len(secret) >= HINT_FROM_LENGTH else ""


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
    credential_hint: str  # the last 4 characters of a long secret, else "" (credential_hint)
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
        return _MASK + (self.credential_hint or _MASK)


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
class Batch:
    """A row of the forwarding queue and journal: events for one destination that share a
    fate (queued, claimed, sent, retried or dead-lettered together: one row write each
    time, whatever the number of events). ``events`` holds, per event, the dict written by
    ``queued_event``: ``id``, ``key`` (the id the platform dedupes by), ``kind``, ``ref``,
    ``group`` (GA4 client_id), ``at`` (unix seconds), ``payload`` (the platform's JSON
    object, as text) and, in a ``rejected`` batch, ``error`` (the rule the event breaks)."""

    id: str
    workspace_id: str
    destination_id: str
    status: Status
    events: list[dict[str, Any]]
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None = None
    answer_status: int | None = None
    answer: str | None = None
    error: str | None = None


def queued_event(built: Built | Refused, *, kind: str, ref: str, unix_at: float) -> dict[str, Any]:
    """What a batch keeps of one event (``ref`` and ``group`` only when they say more; the
    ``id`` is given when it joins a batch). The payload is kept as JSON text: a request is
    assembled from it without parsing it again (``orjson.Fragment``), and the objects it
    was built from are freed at once instead of aging into the garbage collector's older
    generations while the batch fills."""
    event: dict[str, Any] = {
        "key": built.event_key,
        "kind": kind,
        "at": unix_at,
        "payload": orjson.dumps(built.payload).decode(),
    }
    if ref != built.event_key:
        event["ref"] = ref
    if isinstance(built, Built):
        if built.group_key:
            event["group"] = built.group_key
    else:
        event["error"] = built.rule[:300]
    return event


@dataclass(frozen=True, slots=True)
class Entry:
    """One event of the journal, as the API, dashboard and CLI show it (read out of its
    batch: ``batch_id``; status, attempts and the answer are the batch's)."""

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
    batch_id: str = ""


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


def entries_of(batch: Batch) -> list[Entry]:
    """The journal's per-event view of a batch."""
    out: list[Entry] = []
    for e in batch.events:
        key = e["key"]
        out.append(
            Entry(
                id=e["id"],
                workspace_id=batch.workspace_id,
                destination_id=batch.destination_id,
                event_key=key,
                kind=e["kind"],
                ref=e.get("ref", key),
                group_key=e.get("group", ""),
                payload=e["payload"],
                occurred_at=datetime.fromtimestamp(e["at"], UTC),
                status=batch.status,
                attempts=batch.attempts,
                next_attempt_at=batch.next_attempt_at,
                created_at=batch.created_at,
                sent_at=batch.sent_at,
                answer_status=batch.answer_status,
                answer=batch.answer,
                error=e.get("error") or batch.error,
                batch_id=batch.id,
            )
        )
    return out
