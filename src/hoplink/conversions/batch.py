"""A bulk call's new purchases recorded set-at-a-time; everything else event by event.

The common case of a store's export is a page of new orders. They are found with one
query per kind (known event ids, known order ids, the clicks named, those clicks'
visitors' other clicks) and written with one statement per table. An order id another
writer inserted meanwhile, a repeated order id within the call, refunds, cancels, updates
and leads go through ``service.record_event`` afterwards, in their original order, each
in its own savepoint (the caller's), so the outcome equals event-by-event recording.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from hoplink.clicks.service import find_clicks
from hoplink.conversions.attribution import as_click, check_anchor, path_of
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
from hoplink.errors import HoplinkError
from hoplink.ids import new_id
from hoplink.storage.conversions import BatchRepo
from hoplink.storage.tx import Tx

Slow = Callable[[ConversionEvent], Awaitable[EventResult]]


async def record_batch(
    tx: Tx,
    *,
    workspace_id: str,
    events: Sequence[ConversionEvent],
    settings: Settings,
    source: Source,
    now: datetime,
    one_by_one: Callable[[int, ConversionEvent], Awaitable[EventResult | HoplinkError]],
) -> dict[int, EventResult | HoplinkError]:
    repo = BatchRepo(tx.conn, workspace_id)
    known_events = await repo.existing_events([e.event_id for e in events])
    purchases = [
        (i, e)
        for i, e in enumerate(events)
        if e.type is EventType.PURCHASE and e.event_id not in known_events
    ]
    known_orders = await repo.existing_orders([e.order_id for _, e in purchases if e.order_id])
    # Order and event ids an earlier refund, cancel or lead of the call names: a purchase
    # of them goes the slow way, in its turn. Written first, it would let that event reverse
    # an order it came before, or take the event id the earlier event has. (One namespace
    # for both: a clash only sends a purchase the slow way, which is always right.)
    named: dict[str, int] = {}
    for i, e in enumerate(events):
        if e.type is not EventType.PURCHASE:
            for name in (e.order_id, e.event_id):
                if name:
                    named.setdefault(name, i)
    fast: list[tuple[int, ConversionEvent]] = []
    seen: set[str] = set(known_orders)
    seen_events: set[str] = set()
    for i, e in purchases:
        # Only the first event of an order id and of an event id; link + visitor matching
        # (rare in exports) goes the slow way.
        if e.order_id in seen or e.event_id in seen_events or (e.click_id is None and e.link_id):
            continue
        if any(named.get(name, i) < i for name in (e.order_id, e.event_id) if name):
            seen.add(str(e.order_id))  # its later purchases wait for it too
            continue
        seen.add(str(e.order_id))
        seen_events.add(e.event_id)
        fast.append((i, e))
    stored = await find_clicks(
        tx, workspace_id=workspace_id, click_ids=(e.click_id for _, e in fast if e.click_id)
    )
    anchors = {k: as_click(c) for k, c in stored.items()}
    window = timedelta(days=settings.window_days)
    matched = {i: anchors.get(e.click_id) if e.click_id else None for i, e in fast}
    usable = {
        i: a
        for (i, e) in fast
        if (a := matched[i]) is not None
        and check_anchor(a, e.occurred_at, settings.window_days) is None
    }
    others: dict[str, list[Click]] = {}
    if usable:
        since = min(e.occurred_at for i, e in fast if i in usable) - window
        until = max(a.ts for a in usable.values())
        for c in await repo.clicks_of_visitors(
            sorted({a.visitor_hash for a in usable.values()}), since, until
        ):
            others.setdefault(c.visitor_hash, []).append(c)
    orders: list[Order] = []
    touches: dict[str, list[Touch]] = {}
    by_index: dict[int, Order] = {}
    for i, e in fast:
        assert e.order_id is not None and e.amount is not None and e.currency
        anchor = usable.get(i)
        path: list[Touch] = []
        reason: Unattributed | None
        if e.click_id is None:
            reason = Unattributed.NO_CLICK
        elif anchor is None:
            reason = check_anchor(matched[i], e.occurred_at, settings.window_days)
        else:
            reason = None
            path = path_of(
                anchor, others.get(anchor.visitor_hash, []), e.occurred_at, settings.window_days
            )
        last = path[-1] if path else None
        order = Order(
            id=new_id("ord"),
            workspace_id=workspace_id,
            order_id=e.order_id,
            status=OrderStatus.OPEN,
            currency=e.currency,
            amount=e.amount,
            refunded=0,
            placed_at=e.occurred_at,
            click_id=last.click_id if last else None,
            link_id=last.link_id if last else None,
            matched_by="click_id" if last else None,
            unattributed=reason,
            items=[x.as_dict() for x in e.items],
            customer=e.customer,
            revision=1,
            created_at=now,
            updated_at=now,
        )
        orders.append(order)
        touches[order.id] = path
        by_index[i] = order
    inserted = await repo.insert_orders(orders)
    results: dict[int, EventResult | HoplinkError] = {}
    event_rows = []
    for i, e in fast:
        order = by_index[i]
        if order.order_id not in inserted:
            continue
        results[i] = EventResult(e.event_id, Outcome.CREATED, order)
        event_rows.append(
            {
                "id": new_id("cev"),
                "event_id": e.event_id,
                "type": e.type.value,
                "order_id": e.order_id,
                "occurred_at": e.occurred_at,
                "received_at": now,
                "amount": e.amount,
                "currency": e.currency,
                "items": order.items,
                "customer": e.customer,
                "click_id": order.click_id,
                "link_id": order.link_id,
                "source": source.value,
            }
        )
    await repo.insert_touches_many(
        [(o, x) for o in orders if o.order_id in inserted for x in touches[o.id]]
    )
    await repo.insert_events_many(event_rows)
    for i, e in enumerate(events):
        if i not in results:
            results[i] = await one_by_one(i, e)
    return results
