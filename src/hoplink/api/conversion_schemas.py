"""Bodies of the conversions API, for the OpenAPI document.

Events are validated by ``hoplink.conversions.parse`` (so a bulk call can answer per item);
these models describe them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hoplink.conversions.models import Order


class ItemIn(BaseModel):
    sku: str = Field(max_length=100)
    quantity: int = Field(1, ge=1, le=1_000_000)
    price: int = Field(0, ge=0, description="Per unit, minor units of the event's currency")


class CustomerIn(BaseModel):
    """Hashed (SHA-256) on arrival after normalising as the ad platforms ask; only the
    hashes are kept. Pre-hashed values may be sent as *_sha256 instead."""

    external_id: str | None = None
    email: str | None = None
    phone: str | None = Field(None, description="With the country code, e.g. +86 138 0013 8000")
    email_sha256: str | None = None
    phone_sha256: str | None = None


class ConversionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["lead", "add_to_cart", "purchase", "refund", "cancel"]
    event_id: str | None = Field(
        None,
        max_length=64,
        description="Your id of the event, for deduplication; derived from the order when"
        " omitted (send it for refunds of the same amount).",
    )
    order_id: str | None = Field(
        None,
        max_length=128,
        description="Required for purchase, refund and cancel; one order per id per workspace.",
    )
    occurred_at: datetime | None = Field(None, description="Default: when received")
    amount: int | None = Field(
        None,
        ge=0,
        le=10**12,
        description="Minor units (cents; yen for JPY). Purchase: the order total; refund: the"
        " amount refunded (omitted: the rest); cancel: none.",
    )
    currency: str | None = Field(None, description="ISO 4217, e.g. USD, CNY, EUR")
    items: list[ItemIn] = Field(default_factory=list, max_length=200)
    customer: CustomerIn | None = None
    click_id: str | None = Field(
        None, max_length=64, description="The hl_click value hoplink appended to the URL"
    )
    link_id: str | None = Field(
        None, description="With client_ip + user_agent: match the buyer's click on this link"
    )
    client_ip: str | None = Field(None, description="The buyer's address; hashed, never kept")
    user_agent: str | None = Field(None, description="The buyer's user agent; never kept")


class ConversionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Items are free-form here on purpose: each is validated as a ConversionIn on its own
    # and a bad one gets its errors in its own result, the others are stored.
    events: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=1000,
        description="Up to 1,000 events, each a ConversionIn; answered per item",
    )


class OrderOut(BaseModel):
    id: str
    order_id: str
    status: str
    currency: str
    amount: int
    refunded: int
    net: int
    placed_at: datetime
    attributed: bool
    click_id: str | None
    link_id: str | None
    matched_by: str | None
    unattributed_reason: str | None
    revision: int
    items: list[dict[str, object]]

    @classmethod
    def of(cls, o: Order) -> OrderOut:
        return cls(
            id=o.id,
            order_id=o.order_id,
            status=o.status.value,
            currency=o.currency,
            amount=o.amount,
            refunded=o.refunded,
            net=o.net,
            placed_at=o.placed_at,
            attributed=o.link_id is not None,
            click_id=o.click_id,
            link_id=o.link_id,
            matched_by=o.matched_by,
            unattributed_reason=o.unattributed.value if o.unattributed else None,
            revision=o.revision,
            items=o.items,
        )


class ItemError(BaseModel):
    field: str
    code: str
    message: str


class EventResultOut(BaseModel):
    index: int
    event_id: str | None
    status: str = Field(
        description="created, updated, duplicate, recorded, refunded, cancelled or error"
    )
    order: OrderOut | None = None
    errors: list[ItemError] = Field(default_factory=list)


class ConversionsOut(BaseModel):
    accepted: int
    rejected: int
    results: list[EventResultOut]


class TouchOut(BaseModel):
    click_id: str
    link_id: str
    ts: datetime
    is_first: bool
    is_last: bool


class OrderDetail(OrderOut):
    touches: list[TouchOut]
    revisions: list[dict[str, object]]
    events: list[dict[str, object]]


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None


class SettingsIO(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_days: int | None = Field(None, description="1 to 90 (default 7)")
    model: str | None = Field(None, description="last_click (default), first_click, linear")
    currency: str | None = Field(
        None,
        description="Reports' currency, ISO 4217, one in use today (a withdrawn code such"
        " as DEM is refused; one chosen before it was withdrawn stays until changed)",
    )
    commission_percent: float | None = Field(None, description="Default 8")


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["tag", "campaign"]
    ref: str = Field(description="Tag name or campaign id")
    percent: float


class RuleOut(BaseModel):
    id: str
    kind: str
    ref: str
    percent: float


class IngestKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str


class IngestKeyOut(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None
    key: str | None = Field(None, description="Only in the answer that created it")


class SpendImported(BaseModel):
    imported: int
    days: int
    campaigns: int


class RateOut(BaseModel):
    day: str
    base: str
    quote: str
    rate: str
