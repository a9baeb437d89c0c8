"""A conversion event as JSON → a validated ``ConversionEvent``, or every field's error.

Validation lives here, not in the API schema, so a bulk call answers per item and the
dashboard's CSV import and the API refuse exactly the same things.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hoplink.conversions.identity import hash_customer
from hoplink.conversions.models import ConversionEvent, EventType, Item
from hoplink.conversions.money import CURRENCIES, MAX_AMOUNT
from hoplink.errors import FieldError, InvalidInput

MAX_ITEMS = 200
MAX_QUANTITY = 1_000_000
# An event may be reported this much ahead of our clock (the store's clock drifts).
FUTURE_SKEW = timedelta(hours=1)
MAX_AGE = timedelta(days=400)
_EVENT_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_CLICK_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_LINK_ID_RE = re.compile(r"^[A-Za-z0-9_]{1,32}$")
_CTRL_RE = re.compile(r"[\x00-\x1f\x7f]")
_FIELDS = frozenset(
    {
        "type",
        "event_id",
        "order_id",
        "occurred_at",
        "amount",
        "currency",
        "items",
        "customer",
        "click_id",
        "link_id",
        "client_ip",
        "user_agent",
    }
)
_CUSTOMER_FIELDS = frozenset({"external_id", "email", "phone", "email_sha256", "phone_sha256"})
_TYPES = ", ".join(t.value for t in EventType)


@dataclass(frozen=True, slots=True)
class VisitorHint:
    """The buyer's address and user agent, to find their click by visitor hash; never kept."""

    ip: str
    user_agent: str


class _Errors:
    def __init__(self) -> None:
        self.list: list[FieldError] = []

    def add(self, field: str, code: str, message: str) -> None:
        self.list.append(FieldError(field, code, message))


def _text(
    raw: Mapping[str, Any], name: str, errors: _Errors, *, max_len: int, pattern: re.Pattern[str]
) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add(name, "string_type", "must be a string")
        return None
    if not pattern.match(value):
        errors.add(name, "invalid", f"use 1 to {max_len} of the allowed characters")
        return None
    return value


def _amount(value: Any, field: str, errors: _Errors) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(field, "int_type", "must be a whole number of minor units (cents)")
        return None
    if value < 0:
        errors.add(field, "negative", "must not be negative")
        return None
    if value > MAX_AMOUNT:
        errors.add(field, "too_large", f"must be at most {MAX_AMOUNT} minor units")
        return None
    return int(value)


def _items(value: Any, errors: _Errors) -> tuple[Item, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        errors.add("items", "list_type", "must be a list")
        return ()
    if len(value) > MAX_ITEMS:
        errors.add("items", "too_many", f"at most {MAX_ITEMS} items")
        return ()
    items = []
    for i, raw in enumerate(value):
        if not isinstance(raw, dict):
            errors.add(f"items.{i}", "dict_type", "must be a JSON object")
            continue
        unknown = set(raw) - {"sku", "quantity", "price"}
        for name in sorted(unknown):
            errors.add(f"items.{i}.{name}", "extra_forbidden", "is not a known field")
        sku = raw.get("sku")
        if not isinstance(sku, str) or not 1 <= len(sku) <= 100 or _CTRL_RE.search(sku):
            errors.add(f"items.{i}.sku", "invalid", "give 1 to 100 printable characters")
            sku = None
        qty = raw.get("quantity", 1)
        if isinstance(qty, bool) or not isinstance(qty, int) or not 1 <= qty <= MAX_QUANTITY:
            errors.add(f"items.{i}.quantity", "invalid", f"use a whole number 1 to {MAX_QUANTITY}")
            qty = None
        price = _amount(raw.get("price", 0), f"items.{i}.price", errors)
        if sku is not None and qty is not None and price is not None:
            items.append(Item(sku=sku, quantity=qty, price=price))
    return tuple(items)


def _occurred_at(value: Any, now: datetime, errors: _Errors) -> datetime:
    if value is None:
        return now
    if not isinstance(value, str):
        errors.add("occurred_at", "string_type", "must be an ISO 8601 date-time string")
        return now
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        errors.add(
            "occurred_at",
            "invalid_datetime",
            "must be an ISO 8601 date-time with a time zone, e.g. 2026-11-01T08:00:00Z",
        )
        return now
    if parsed > now + FUTURE_SKEW:
        errors.add("occurred_at", "in_future", "is in the future")
    elif parsed < now - MAX_AGE:
        errors.add("occurred_at", "too_old", f"must be within the last {MAX_AGE.days} days")
    return parsed


def _default_event_id(kind: EventType, parts: list[object]) -> str:
    if kind in (EventType.LEAD, EventType.ADD_TO_CART):
        return f"{kind.value[:1]}-{secrets.token_hex(16)}"
    digest = hashlib.sha256("\x00".join(map(str, parts)).encode()).hexdigest()[:40]
    return f"{kind.value[:1]}-{digest}"


def parse_event(raw: Any, *, now: datetime) -> tuple[ConversionEvent, VisitorHint | None]:
    """Validate one event; InvalidInput lists every bad field (dotted names)."""
    errors = _Errors()
    if not isinstance(raw, dict):
        raise InvalidInput(FieldError("", "dict_type", "each event must be a JSON object"))
    for name in sorted(set(raw) - _FIELDS):
        errors.add(name, "extra_forbidden", "is not a known field")
    kind: EventType | None = None
    try:
        kind = EventType(str(raw.get("type")))
    except ValueError:
        errors.add("type", "invalid", f"use one of {_TYPES}")
    order_id = raw.get("order_id")
    if order_id is not None and (
        not isinstance(order_id, str)
        or not 1 <= len(order_id) <= 128
        or _CTRL_RE.search(order_id)
        or order_id != order_id.strip()
    ):
        errors.add("order_id", "invalid", "give 1 to 128 printable characters")
        order_id = None
    if kind is not None and kind.needs_order and raw.get("order_id") is None:
        errors.add("order_id", "missing", f"is required for a {kind.value}")
    amount = _amount(raw.get("amount"), "amount", errors)
    if kind is EventType.PURCHASE and raw.get("amount") is None:
        errors.add("amount", "missing", "is required for a purchase (minor units, e.g. cents)")
    if kind is EventType.REFUND and amount == 0:
        errors.add("amount", "zero", "a refund is at least 1 minor unit; leave it out for the rest")
    if kind is EventType.CANCEL and raw.get("amount") is not None:
        errors.add("amount", "not_allowed", "a cancel reverses the whole order; send a refund")
    currency = raw.get("currency")
    if currency is not None:
        code = currency.strip().upper() if isinstance(currency, str) else ""
        if code not in CURRENCIES:
            errors.add("currency", "invalid_currency", "is not an ISO 4217 currency code")
            currency = None
        else:
            currency = code
    elif (raw.get("amount") is not None and kind is not EventType.REFUND) or raw.get("items"):
        # A refund is in its order's currency; anything else with a value names its currency.
        errors.add("currency", "missing", "is required with an amount (ISO 4217, e.g. USD)")
    items = _items(raw.get("items"), errors)
    customer: dict[str, str] = {}
    raw_customer = raw.get("customer")
    if raw_customer is not None:
        if not isinstance(raw_customer, dict) or any(
            not isinstance(v, str) for v in raw_customer.values()
        ):
            errors.add("customer", "dict_type", "must be an object of strings")
        else:
            for name in sorted(set(raw_customer) - _CUSTOMER_FIELDS):
                errors.add(f"customer.{name}", "extra_forbidden", "is not a known field")
            customer, bad = hash_customer(
                external_id=raw_customer.get("external_id"),
                email=raw_customer.get("email"),
                phone=raw_customer.get("phone"),
                email_sha256=raw_customer.get("email_sha256"),
                phone_sha256=raw_customer.get("phone_sha256"),
            )
            errors.list += bad
    click_id = _text(raw, "click_id", errors, max_len=64, pattern=_CLICK_ID_RE)
    link_id = _text(raw, "link_id", errors, max_len=32, pattern=_LINK_ID_RE)
    hint = _visitor(raw, errors)
    event_id = _text(raw, "event_id", errors, max_len=64, pattern=_EVENT_ID_RE)
    occurred_at = _occurred_at(raw.get("occurred_at"), now, errors)
    if errors.list:
        raise InvalidInput(errors.list)
    assert kind is not None
    if event_id is None:
        # A re-sent purchase or cancel is the same event whenever it is sent; two refunds
        # of the same amount are told apart by their time (or better, their own event_id).
        when = raw.get("occurred_at") if kind is EventType.REFUND else None
        event_id = _default_event_id(
            kind, [order_id, amount, currency, [i.as_dict() for i in items], when]
        )
    event = ConversionEvent(
        type=kind,
        event_id=event_id,
        occurred_at=occurred_at,
        order_id=order_id,
        amount=amount,
        currency=currency,
        items=items,
        customer=customer,
        click_id=click_id,
        link_id=link_id,
    )
    return event, hint


def _visitor(raw: Mapping[str, Any], errors: _Errors) -> VisitorHint | None:
    ip, ua = raw.get("client_ip"), raw.get("user_agent")
    if ip is None and ua is None:
        return None
    if not isinstance(ip, str) or not isinstance(ua, str):
        errors.add(
            "client_ip" if not isinstance(ip, str) else "user_agent",
            "missing",
            "client_ip and user_agent go together (both strings)",
        )
        return None
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        errors.add("client_ip", "invalid", "is not an IP address")
        return None
    if len(ua) > 1000:
        errors.add("user_agent", "too_long", "at most 1000 characters")
        return None
    return VisitorHint(ip=str(address), user_agent=ua)
