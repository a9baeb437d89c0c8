"""Values of the conversions domain: events as received, orders, settings, results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class EventType(StrEnum):
    LEAD = "lead"
    ADD_TO_CART = "add_to_cart"
    PURCHASE = "purchase"
    REFUND = "refund"
    CANCEL = "cancel"

    @property
    def needs_order(self) -> bool:
        return self in (EventType.PURCHASE, EventType.REFUND, EventType.CANCEL)


class Model(StrEnum):
    """Attribution models; every order keeps its path, the model is chosen when reading."""

    LAST_CLICK = "last_click"
    FIRST_CLICK = "first_click"
    LINEAR = "linear"


class OrderStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class Unattributed(StrEnum):
    """Why an order has no click: kept and shown, never dropped."""

    NO_CLICK = "no_click"  # neither a click id nor link + visitor given
    UNKNOWN_CLICK = "unknown_click"  # no such click in this workspace (or no visitor match)
    OUTSIDE_WINDOW = "outside_window"  # the click is older than the window (or after)


class Source(StrEnum):
    API = "api"
    INGEST_KEY = "ingest_key"
    DASHBOARD = "dashboard"
    ORDER_EXPORT = "order_export"  # a marketplace's order-export CSV (API, dashboard, CLI)


@dataclass(frozen=True, slots=True)
class Item:
    sku: str
    quantity: int
    price: int  # minor units of the event's currency, per unit

    def as_dict(self) -> dict[str, object]:
        return {"sku": self.sku, "quantity": self.quantity, "price": self.price}


@dataclass(frozen=True, slots=True)
class ConversionEvent:
    """One validated event (``parse.parse_event``), ready to be stored."""

    type: EventType
    event_id: str
    occurred_at: datetime
    order_id: str | None = None
    amount: int | None = None  # minor units; refunds: the amount refunded (None: the rest)
    currency: str | None = None
    items: tuple[Item, ...] = ()
    customer: dict[str, str] = field(default_factory=dict)  # hashes only
    click_id: str | None = None
    link_id: str | None = None
    # Visitor hashes of the buyer's IP + user agent under the salts still kept (the API
    # computes them; the address itself goes no further).
    visitor_hashes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Click:
    """A stored click, as attribution sees it."""

    click_id: str
    link_id: str
    ts: datetime
    visitor_hash: str
    bot: bool


@dataclass(frozen=True, slots=True)
class Touch:
    click_id: str
    link_id: str
    ts: datetime
    is_first: bool
    is_last: bool
    touches: int


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    workspace_id: str
    order_id: str
    status: OrderStatus
    currency: str
    amount: int
    refunded: int
    placed_at: datetime
    click_id: str | None
    link_id: str | None
    matched_by: str | None
    unattributed: Unattributed | None
    items: list[dict[str, object]]
    customer: dict[str, str]
    revision: int
    created_at: datetime
    updated_at: datetime

    @property
    def net(self) -> int:
        return self.amount - self.refunded


@dataclass(frozen=True, slots=True)
class Settings:
    """A workspace's attribution settings (defaults when never saved)."""

    window_days: int = 7
    model: Model = Model.LAST_CLICK
    currency: str = "USD"
    commission_bp: int = 800  # basis points: 800 = 8 %


@dataclass(frozen=True, slots=True)
class CommissionRule:
    id: str
    kind: str  # tag | campaign
    ref: str  # tag name or campaign id
    rate_bp: int


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DUPLICATE = "duplicate"
    RECORDED = "recorded"  # lead / add_to_cart
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class EventResult:
    event_id: str
    outcome: Outcome
    order: Order | None = None
