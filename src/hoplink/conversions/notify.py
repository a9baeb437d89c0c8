"""Conversion webhooks: each recorded purchase, change of amount, refund or cancellation
becomes a ``conversion.*`` message in the webhook outbox, in the same transaction as the
order itself (so a rolled-back call sends nothing and a committed one is never missed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hoplink.conversions.models import EventResult, Order, Outcome
from hoplink.forwarding.outbox import forward_conversions
from hoplink.webhooks.outbox import emit_many

if TYPE_CHECKING:
    from hoplink.storage.tx import Tx

_EVENT_TYPES = {
    Outcome.CREATED: "conversion.created",
    Outcome.UPDATED: "conversion.updated",
    Outcome.REFUNDED: "conversion.refunded",
    Outcome.CANCELLED: "conversion.refunded",
}


def order_data(event_id: str, order: Order) -> dict[str, Any]:
    """What a receiver gets: the order as it now stands, never a customer identifier."""
    return {
        "event_id": event_id,
        "order_id": order.order_id,
        "status": str(order.status),
        "currency": order.currency,
        "amount": order.amount,
        "refunded": order.refunded,
        "net": order.net,
        "placed_at": order.placed_at.isoformat().replace("+00:00", "Z"),
        "click_id": order.click_id,
        "link_id": order.link_id,
        "matched_by": order.matched_by,
        "unattributed": str(order.unattributed) if order.unattributed else None,
        "revision": order.revision,
    }


async def emit_conversions(tx: Tx, *, workspace_id: str, results: Sequence[EventResult]) -> int:
    """Queue the webhooks of these results (duplicates and leads send none), and their
    forwarding to the workspace's ad platform destinations (leads included); the number
    of webhook messages written."""
    await forward_conversions(tx, workspace_id=workspace_id, results=results)
    items = [
        (_EVENT_TYPES[r.outcome], order_data(r.event_id, r.order))
        for r in results
        if r.outcome in _EVENT_TYPES and r.order is not None
    ]
    if not items:
        return 0
    return await emit_many(tx, workspace_id=workspace_id, items=items)
