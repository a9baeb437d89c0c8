"""Recording conversion events: dedupe → attribute → create, update or refund the order.

Idempotency: an event id is recorded once per workspace (a replay is a ``duplicate``);
an order id is one order per workspace (a purchase re-sent with the same amount is a
``duplicate``, with another amount an ``updated`` order with its earlier amount kept as a
revision). Concurrent writers of one order meet on its unique key and then on its row lock.
The caller owns the transaction; a bulk caller wraps each event in a savepoint.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from hoplink.clicks.service import find_click
from hoplink.conversions.attribution import CLOCK_SKEW, as_click, check_anchor, path_of
from hoplink.conversions.models import (
    Click,
    ConversionEvent,
    EventResult,
    EventType,
    Order,
    OrderStatus,
    Outcome,
    Settings,
    Source,
    Touch,
    Unattributed,
)
from hoplink.errors import Conflict, FieldError, InvalidInput
from hoplink.ids import new_id
from hoplink.storage.conversions import ConversionRepo
from hoplink.storage.tx import Tx


@dataclasses.dataclass(frozen=True, slots=True)
class Attribution:
    touches: list[Touch]
    matched_by: str | None
    reason: Unattributed | None

    @property
    def last(self) -> Touch | None:
        return self.touches[-1] if self.touches else None


async def attribute(
    tx: Tx, repo: ConversionRepo, event: ConversionEvent, settings: Settings
) -> Attribution:
    """The order's path of clicks, or why it has none."""
    window, placed = settings.window_days, event.occurred_at
    anchor: Click | None
    if event.click_id is not None:
        stored = await find_click(tx, workspace_id=repo.workspace_id, click_id=event.click_id)
        anchor, matched_by = (as_click(stored) if stored else None), "click_id"
    elif event.link_id is not None and event.visitor_hashes:
        found = await repo.visitor_clicks(
            event.visitor_hashes,
            placed - timedelta(days=window),
            placed + CLOCK_SKEW,
            link_id=event.link_id,
            limit=1,
        )
        anchor, matched_by = (found[0] if found else None), "visitor"
    else:
        return Attribution([], None, Unattributed.NO_CLICK)
    reason = check_anchor(anchor, placed, window)
    if reason is not None or anchor is None:
        return Attribution([], None, reason)
    others = await repo.visitor_clicks(
        [anchor.visitor_hash], placed - timedelta(days=window), anchor.ts, limit=200
    )
    return Attribution(path_of(anchor, others, placed, window), matched_by, None)


def _status(amount: int, refunded: int, cancelled: bool = False) -> OrderStatus:
    if cancelled:
        return OrderStatus.CANCELLED
    if refunded == 0:
        return OrderStatus.OPEN
    return OrderStatus.REFUNDED if refunded >= amount else OrderStatus.PARTIALLY_REFUNDED


async def record_event(
    tx: Tx,
    *,
    workspace_id: str,
    event: ConversionEvent,
    settings: Settings,
    source: Source,
    now: datetime,
) -> EventResult:
    """Record one validated event; InvalidInput for what only the stored state can refuse
    (an unknown order to refund, a refund larger than what is left)."""
    repo = tx.conversions(workspace_id)
    if await repo.event_exists(event.event_id):
        order = await repo.order_for_update(event.order_id) if event.order_id else None
        return EventResult(event.event_id, Outcome.DUPLICATE, order)
    if event.type is EventType.PURCHASE:
        return await _purchase(tx, repo, event, settings, source, now)
    if event.type in (EventType.REFUND, EventType.CANCEL):
        return await _reverse(repo, event, source, now)
    found = await attribute(tx, repo, event, settings)
    last = found.last
    await _insert_event(
        repo, event, source, now, event.amount, last.click_id if last else None, last
    )
    return EventResult(event.event_id, Outcome.RECORDED)


async def _insert_event(
    repo: ConversionRepo,
    event: ConversionEvent,
    source: Source,
    now: datetime,
    amount: int | None,
    click_id: str | None,
    last: Touch | None,
) -> bool:
    return await repo.insert_event(
        id=new_id("cev"),
        event=event,
        source=source,
        received_at=now,
        amount=amount,
        click_id=click_id,
        link_id=last.link_id if last else None,
    )


async def _purchase(
    tx: Tx,
    repo: ConversionRepo,
    event: ConversionEvent,
    settings: Settings,
    source: Source,
    now: datetime,
) -> EventResult:
    assert event.order_id is not None and event.amount is not None and event.currency
    items = [i.as_dict() for i in event.items]
    existing = await repo.order_for_update(event.order_id)
    if existing is None:
        found = await attribute(tx, repo, event, settings)
        last = found.last
        order = Order(
            id=new_id("ord"),
            workspace_id=repo.workspace_id,
            order_id=event.order_id,
            status=OrderStatus.OPEN,
            currency=event.currency,
            amount=event.amount,
            refunded=0,
            placed_at=event.occurred_at,
            click_id=last.click_id if last else None,
            link_id=last.link_id if last else None,
            matched_by=found.matched_by,
            unattributed=found.reason,
            items=items,
            customer=event.customer,
            revision=1,
            created_at=now,
            updated_at=now,
        )
        if await repo.insert_order(order):
            await repo.insert_touches(order, found.touches)
            if not await _insert_event(
                repo, event, source, now, event.amount, order.click_id, last
            ):
                raise Conflict(f"event_id {event.event_id!r} was recorded for another order")
            return EventResult(event.event_id, Outcome.CREATED, order)
        # Another writer created it since we looked: it is an existing order now.
        existing = await repo.order_for_update(event.order_id)
        assert existing is not None
    if (existing.amount, existing.currency, existing.items) == (
        event.amount,
        event.currency,
        items,
    ):
        return EventResult(event.event_id, Outcome.DUPLICATE, existing)
    if existing.refunded and event.currency != existing.currency:
        raise InvalidInput(
            FieldError("currency", "currency_changed", "the order has refunds in its currency")
        )
    if event.amount < existing.refunded:
        raise InvalidInput(
            FieldError("amount", "below_refunded", "is less than what was refunded already")
        )
    # The event first: a concurrent replay of this very event stops here, before it can
    # change the order a second time.
    if not await repo.insert_event(
        id=new_id("cev"),
        event=event,
        source=source,
        received_at=now,
        amount=event.amount,
        click_id=existing.click_id,
        link_id=existing.link_id,
    ):
        return EventResult(event.event_id, Outcome.DUPLICATE, existing)
    await repo.insert_revision(
        id=new_id("orv"), order=existing, event_id=event.event_id, changed_at=now
    )
    cancelled = existing.status is OrderStatus.CANCELLED
    updated = dataclasses.replace(
        existing,
        amount=event.amount,
        currency=event.currency,
        items=items,
        revision=existing.revision + 1,
        refunded=event.amount if cancelled else existing.refunded,
        status=_status(event.amount, existing.refunded, cancelled),
        customer={**existing.customer, **event.customer},
        updated_at=now,
    )
    await repo.update_order(
        existing.id,
        amount=updated.amount,
        currency=updated.currency,
        items=updated.items,
        revision=updated.revision,
        refunded=updated.refunded,
        status=updated.status.value,
        customer=updated.customer,
        updated_at=now,
    )
    return EventResult(event.event_id, Outcome.UPDATED, updated)


async def _reverse(
    repo: ConversionRepo, event: ConversionEvent, source: Source, now: datetime
) -> EventResult:
    assert event.order_id is not None
    order = await repo.order_for_update(event.order_id)
    if order is None:
        raise InvalidInput(
            FieldError("order_id", "unknown_order", "no purchase with this order id was recorded")
        )
    if event.currency is not None and event.currency != order.currency:
        raise InvalidInput(
            FieldError("currency", "currency_mismatch", f"the order is in {order.currency}")
        )
    left = order.amount - order.refunded
    cancel = event.type is EventType.CANCEL
    if cancel and order.status is OrderStatus.CANCELLED:
        return EventResult(event.event_id, Outcome.DUPLICATE, order)
    amount = left if cancel or event.amount is None else event.amount
    if amount > left:
        raise InvalidInput(
            FieldError("amount", "exceeds_order", f"only {left} minor units are left to refund")
        )
    if amount == 0 and not cancel:
        raise InvalidInput(
            FieldError("amount", "nothing_to_refund", "the order is refunded in full already")
        )
    if not await repo.insert_event(
        id=new_id("cev"),
        event=dataclasses.replace(event, currency=order.currency),
        source=source,
        received_at=now,
        amount=amount,
        click_id=order.click_id,
        link_id=order.link_id,
    ):
        return EventResult(event.event_id, Outcome.DUPLICATE, order)
    refunded = order.refunded + amount
    updated = dataclasses.replace(
        order, refunded=refunded, status=_status(order.amount, refunded, cancel), updated_at=now
    )
    await repo.update_order(
        order.id, refunded=refunded, status=updated.status.value, updated_at=now
    )
    outcome = Outcome.CANCELLED if cancel else Outcome.REFUNDED
    return EventResult(event.event_id, outcome, updated)
