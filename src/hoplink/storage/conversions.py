"""Orders, conversion events and attribution paths of one workspace.

Every query carries the workspace: a click id or order id of another workspace is simply
not found (the API then treats it as unknown, never as someone else's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.conversions.models import (
    Click,
    CommissionRule,
    ConversionEvent,
    Model,
    Order,
    OrderStatus,
    Settings,
    Source,
    Touch,
    Unattributed,
)
from hoplink.storage import order_rollups as rollup
from hoplink.storage import tables as t
from hoplink.storage._rows import in_list, rows_select
from hoplink.storage.rollups import dialect_insert

_O = t.orders.c
_C = t.clicks.c
_E = t.conversion_events.c


def _order(row: Row[Any]) -> Order:
    return Order(
        id=row.id,
        workspace_id=row.workspace_id,
        order_id=row.order_id,
        status=OrderStatus(row.status),
        currency=row.currency,
        amount=row.amount,
        refunded=row.refunded,
        placed_at=row.placed_at,
        click_id=row.click_id,
        link_id=row.link_id,
        matched_by=row.matched_by,
        unattributed=Unattributed(row.unattributed) if row.unattributed else None,
        items=list(row.items or []),
        customer=dict(row.customer or {}),
        revision=row.revision,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _click(row: Row[Any]) -> Click:
    return Click(
        click_id=row.click_id,
        link_id=row.link_id,
        ts=row.ts,
        visitor_hash=row.visitor_hash,
        bot=row.bot is not None,
    )


# Columns of an order that its rollup rows depend on.
_ROLLED_UP = frozenset({"link_id", "placed_hour", "currency", "amount", "refunded"})


def _state(o: Order) -> rollup.OrderState:
    return rollup.OrderState(
        link_id=o.link_id,
        hour=int(o.placed_at.timestamp() // 3600),
        currency=o.currency,
        amount=o.amount,
        refunded=o.refunded,
    )


def _touch_state(x: Touch) -> rollup.TouchState:
    return rollup.TouchState(x.link_id, x.is_first, x.touches)


@dataclass(frozen=True, slots=True)
class OrderFilter:
    attributed: bool | None = None
    refunded: bool | None = None
    link_id: str | None = None
    search: str | None = None  # order id prefix


class ConversionRepo:
    def __init__(self, conn: AsyncConnection, workspace_id: str) -> None:
        self.conn = conn
        self.workspace_id = workspace_id

    # --- settings and commission rules ----------------------------------------------------
    async def settings(self) -> Settings:
        c = t.conversion_settings.c
        row = (
            await self.conn.execute(
                select(t.conversion_settings).where(c.workspace_id == self.workspace_id)
            )
        ).first()
        if row is None:
            return Settings()
        return Settings(
            window_days=row.window_days,
            model=Model(row.model),
            currency=row.currency,
            commission_bp=row.commission_bp,
        )

    async def save_settings(self, s: Settings, now: datetime) -> None:
        values = {
            "window_days": s.window_days,
            "model": s.model.value,
            "currency": s.currency,
            "commission_bp": s.commission_bp,
            "updated_at": now,
        }
        ins = dialect_insert(self.conn, t.conversion_settings).values(
            workspace_id=self.workspace_id, **values
        )
        await self.conn.execute(
            ins.on_conflict_do_update(index_elements=["workspace_id"], set_=values)
        )

    async def rules(self) -> list[CommissionRule]:
        c = t.commission_rules.c
        rows = await self.conn.execute(
            select(t.commission_rules)
            .where(c.workspace_id == self.workspace_id)
            .order_by(c.kind, c.ref)
        )
        return [CommissionRule(r.id, r.kind, r.ref, r.rate_bp) for r in rows]

    async def put_rule(self, rule: CommissionRule, now: datetime) -> None:
        ins = dialect_insert(self.conn, t.commission_rules).values(
            id=rule.id,
            workspace_id=self.workspace_id,
            kind=rule.kind,
            ref=rule.ref,
            rate_bp=rule.rate_bp,
            created_at=now,
        )
        await self.conn.execute(
            ins.on_conflict_do_update(
                index_elements=["workspace_id", "kind", "ref"], set_={"rate_bp": rule.rate_bp}
            )
        )

    async def delete_rule(self, rule_id: str) -> bool:
        c = t.commission_rules.c
        result = await self.conn.execute(
            delete(t.commission_rules).where(c.workspace_id == self.workspace_id, c.id == rule_id)
        )
        return result.rowcount > 0

    async def tag_rule_refs(self, names: Sequence[str]) -> set[str]:
        """Those of these tag names that have a commission rule."""
        if not names:
            return set()
        c = t.commission_rules.c
        rows = await self.conn.execute(
            select(c.ref).where(
                c.workspace_id == self.workspace_id, c.kind == "tag", c.ref.in_(list(names))
            )
        )
        return {r.ref for r in rows}

    async def rename_tag_rules(self, old: str, new: str) -> None:
        """Carry the rule of tag ``old`` to ``new`` (the caller checked ``new`` has none)."""
        c = t.commission_rules.c
        await self.conn.execute(
            update(t.commission_rules)
            .where(c.workspace_id == self.workspace_id, c.kind == "tag", c.ref == old)
            .values(ref=new)
        )

    async def delete_tag_rules(self, names: Sequence[str]) -> None:
        if not names:
            return
        c = t.commission_rules.c
        await self.conn.execute(
            delete(t.commission_rules).where(
                c.workspace_id == self.workspace_id, c.kind == "tag", c.ref.in_(list(names))
            )
        )

    # --- clicks (one by id: hoplink.clicks.service.find_click) -------------------------
    async def visitor_clicks(
        self,
        hashes: Sequence[str],
        since: datetime,
        until: datetime,
        *,
        link_id: str | None = None,
        limit: int = 500,
    ) -> list[Click]:
        """This workspace's clicks by these visitors in [since, until], newest first."""
        if not hashes:
            return []
        q = select(_C.click_id, _C.link_id, _C.ts, _C.visitor_hash, _C.bot).where(
            in_list(self.conn, _C.visitor_hash, list(hashes)),
            _C.ts >= since,
            _C.ts <= until,
            _C.workspace_id == self.workspace_id,
        )
        if link_id is not None:
            q = q.where(_C.link_id == link_id)
        rows = await self.conn.execute(q.order_by(_C.ts.desc(), _C.click_id).limit(limit))
        return [_click(r) for r in rows]

    # --- events ------------------------------------------------------------------------------
    async def event_exists(self, event_id: str) -> bool:
        q = select(_E.id).where(_E.workspace_id == self.workspace_id, _E.event_id == event_id)
        return (await self.conn.execute(q)).first() is not None

    async def insert_event(
        self,
        *,
        id: str,
        event: ConversionEvent,
        source: Source,
        received_at: datetime,
        amount: int | None,
        click_id: str | None,
        link_id: str | None,
    ) -> bool:
        """Record the event; False when its event id was recorded before."""
        stmt = (
            dialect_insert(self.conn, t.conversion_events)
            .values(
                id=id,
                workspace_id=self.workspace_id,
                event_id=event.event_id,
                type=event.type.value,
                order_id=event.order_id,
                occurred_at=event.occurred_at,
                received_at=received_at,
                amount=amount,
                currency=event.currency,
                items=[i.as_dict() for i in event.items],
                customer=event.customer,
                click_id=click_id,
                link_id=link_id,
                source=source.value,
            )
            .on_conflict_do_nothing()
            .returning(_E.id)
        )
        return (await self.conn.execute(stmt)).first() is not None

    async def events_of_order(self, order_id: str) -> list[dict[str, Any]]:
        rows = await self.conn.execute(
            select(_E.event_id, _E.type, _E.occurred_at, _E.amount, _E.currency, _E.source)
            .where(_E.workspace_id == self.workspace_id, _E.order_id == order_id)
            .order_by(_E.occurred_at, _E.received_at)
        )
        return [dict(r._mapping) for r in rows]

    # --- orders ------------------------------------------------------------------------------
    async def order_for_update(self, order_id: str) -> Order | None:
        await rollup.lock_workspace(self.conn, self.workspace_id)
        q = (
            select(t.orders)
            .where(_O.workspace_id == self.workspace_id, _O.order_id == order_id)
            .with_for_update()
        )
        row = (await self.conn.execute(q)).first()
        return _order(row) if row else None

    async def get(self, pk: str) -> Order | None:
        q = select(t.orders).where(_O.workspace_id == self.workspace_id, _O.id == pk)
        row = (await self.conn.execute(q)).first()
        return _order(row) if row else None

    async def insert_order(self, order: Order) -> bool:
        """Insert unless the order id exists (a concurrent writer won); whether it did."""
        await rollup.lock_workspace(self.conn, self.workspace_id)
        stmt = (
            dialect_insert(self.conn, t.orders)
            .values(
                id=order.id,
                workspace_id=self.workspace_id,
                order_id=order.order_id,
                status=order.status.value,
                currency=order.currency,
                amount=order.amount,
                refunded=order.refunded,
                placed_at=order.placed_at,
                placed_hour=int(order.placed_at.timestamp() // 3600),
                click_id=order.click_id,
                link_id=order.link_id,
                matched_by=order.matched_by,
                unattributed=order.unattributed.value if order.unattributed else None,
                items=order.items,
                customer=order.customer,
                revision=order.revision,
                created_at=order.created_at,
                updated_at=order.updated_at,
            )
            .on_conflict_do_nothing()
            .returning(_O.id)
        )
        if (await self.conn.execute(stmt)).first() is None:
            return False
        delta = rollup.Delta()
        delta.order(_state(order))
        await rollup.apply(self.conn, self.workspace_id, delta)
        return True

    async def update_order(self, pk: str, **values: Any) -> None:
        """Change an order; the rollups lose what it counted before and gain what it
        counts now (amount, refunds, currency, link or hour: whatever ``values`` change)."""
        await rollup.lock_workspace(self.conn, self.workspace_id)
        before = None
        if _ROLLED_UP.intersection(values):
            before = await rollup.states_of(self.conn, self.workspace_id, pk)
        await self.conn.execute(
            update(t.orders)
            .where(_O.workspace_id == self.workspace_id, _O.id == pk)
            .values(**values)
        )
        if before is None:
            return
        old, touches = before
        new = rollup.OrderState(
            link_id=values.get("link_id", old.link_id),
            hour=values.get("placed_hour", old.hour),
            currency=values.get("currency", old.currency),
            amount=values.get("amount", old.amount),
            refunded=values.get("refunded", old.refunded),
        )
        delta = rollup.Delta()
        delta.whole(old, touches, -1)
        delta.whole(new, touches)
        await rollup.apply(self.conn, self.workspace_id, delta)

    async def insert_revision(
        self, *, id: str, order: Order, event_id: str, changed_at: datetime
    ) -> None:
        await self.conn.execute(
            t.order_revisions.insert().values(
                id=id,
                workspace_id=self.workspace_id,
                order_pk=order.id,
                revision=order.revision,
                event_id=event_id,
                amount=order.amount,
                currency=order.currency,
                items=order.items,
                changed_at=changed_at,
            )
        )

    async def revisions(self, pk: str) -> list[dict[str, Any]]:
        c = t.order_revisions.c
        rows = await self.conn.execute(
            select(c.revision, c.amount, c.currency, c.changed_at, c.event_id)
            .where(c.workspace_id == self.workspace_id, c.order_pk == pk)
            .order_by(c.revision)
        )
        return [dict(r._mapping) for r in rows]

    async def insert_touches(self, order: Order, touches: Sequence[Touch]) -> None:
        if not touches:
            return
        order_pk = order.id
        await self.conn.execute(
            t.order_touches.insert(),
            [
                {
                    "order_pk": order_pk,
                    "click_id": x.click_id,
                    "workspace_id": self.workspace_id,
                    "link_id": x.link_id,
                    "ts": x.ts,
                    "is_first": x.is_first,
                    "is_last": x.is_last,
                    "touches": x.touches,
                }
                for x in touches
            ],
        )
        delta = rollup.Delta()
        delta.touches(_state(order), [_touch_state(x) for x in touches])
        await rollup.apply(self.conn, self.workspace_id, delta)

    async def touches(self, pk: str) -> list[Touch]:
        c = t.order_touches.c
        rows = await self.conn.execute(
            select(t.order_touches)
            .where(c.workspace_id == self.workspace_id, c.order_pk == pk)
            .order_by(c.ts, c.is_last)
        )
        return [Touch(r.click_id, r.link_id, r.ts, r.is_first, r.is_last, r.touches) for r in rows]

    async def list_orders(
        self, f: OrderFilter, *, limit: int, before: tuple[datetime, str] | None = None
    ) -> list[Order]:
        """Newest first; ``before`` = (placed_at, id) of the last row of the previous page."""
        q = select(t.orders).where(_O.workspace_id == self.workspace_id)
        if f.attributed is not None:
            q = q.where(_O.link_id.is_not(None) if f.attributed else _O.link_id.is_(None))
        if f.refunded is not None:
            q = q.where(_O.refunded > 0 if f.refunded else _O.refunded == 0)
        if f.link_id is not None:
            q = q.where(_O.link_id == f.link_id)
        if f.search:
            q = q.where(_O.order_id.startswith(f.search, autoescape=True))
        if before is not None:
            q = q.where(
                (_O.placed_at < before[0]) | ((_O.placed_at == before[0]) & (_O.id < before[1]))
            )
        q = q.order_by(_O.placed_at.desc(), _O.id.desc()).limit(limit)
        return [_order(r) for r in await self.conn.execute(q)]


class BatchRepo(ConversionRepo):
    """Set-at-a-time reads and writes for a bulk call (the per-event path makes ~7 round
    trips per event)."""

    async def existing_events(self, event_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(event_ids), 500):
            q = select(_E.event_id).where(
                _E.workspace_id == self.workspace_id,
                in_list(self.conn, _E.event_id, list(event_ids[i : i + 500])),
            )
            found.update((await self.conn.execute(q)).scalars())
        return found

    async def existing_orders(self, order_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(order_ids), 500):
            q = select(_O.order_id).where(
                _O.workspace_id == self.workspace_id,
                in_list(self.conn, _O.order_id, list(order_ids[i : i + 500])),
            )
            found.update((await self.conn.execute(q)).scalars())
        return found

    async def clicks_of_visitors(
        self, hashes: Sequence[str], since: datetime, until: datetime
    ) -> list[Click]:
        out: list[Click] = []
        for i in range(0, len(hashes), 500):
            q = select(_C.click_id, _C.link_id, _C.ts, _C.visitor_hash, _C.bot).where(
                in_list(self.conn, _C.visitor_hash, list(hashes[i : i + 500])),
                _C.ts >= since,
                _C.ts <= until,
                _C.workspace_id == self.workspace_id,
            )
            out += [_click(r) for r in await self.conn.execute(q)]
        return out

    async def insert_orders(self, orders: Sequence[Order]) -> set[str]:
        """Insert the orders whose order id is new; the order ids inserted."""
        if not orders:
            return set()
        await rollup.lock_workspace(self.conn, self.workspace_id)
        rows = [
            (
                o.id,
                self.workspace_id,
                o.order_id,
                o.status.value,
                o.currency,
                o.amount,
                o.refunded,
                o.placed_at,
                int(o.placed_at.timestamp() // 3600),
                o.click_id,
                o.link_id,
                o.matched_by,
                o.unattributed.value if o.unattributed else None,
                o.items,
                o.customer,
                o.revision,
                o.created_at,
                o.updated_at,
            )
            for o in orders
        ]
        inserted = set(await _insert_rows(self.conn, _ORDER_COLUMNS, rows, _O.order_id))
        delta = rollup.Delta()
        for o in orders:
            if o.order_id in inserted:
                delta.order(_state(o))
        await rollup.apply(self.conn, self.workspace_id, delta)
        return inserted

    async def insert_touches_many(self, touches: Sequence[tuple[Order, Touch]]) -> None:
        """The touches of orders this transaction inserted."""
        if touches:
            rows = [
                (
                    o.id,
                    x.click_id,
                    self.workspace_id,
                    x.link_id,
                    x.ts,
                    x.is_first,
                    x.is_last,
                    x.touches,
                )
                for o, x in touches
            ]
            await _insert_rows(self.conn, _TOUCH_COLUMNS, rows, None)
            delta = rollup.Delta()
            for o, x in touches:
                delta.touches(_state(o), [_touch_state(x)])
            await rollup.apply(self.conn, self.workspace_id, delta)

    async def insert_events_many(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Insert events (dicts of conversion_events columns); the event ids inserted."""
        if not rows:
            return set()
        values = [
            tuple(
                self.workspace_id if c.name == "workspace_id" else r[c.name] for c in _EVENT_COLUMNS
            )
            for r in rows
        ]
        return set(await _insert_rows(self.conn, _EVENT_COLUMNS, values, _E.event_id))


# Set-at-a-time inserts: the rows travel as one parameter per column (PostgreSQL) or one
# JSON document (SQLite), see storage._rows.rows_select; an executemany of 1,000 orders
# spent most of a bulk call binding each value in Python.
_ORDER_COLUMNS = tuple(
    t.orders.c[n]
    for n in (
        "id",
        "workspace_id",
        "order_id",
        "status",
        "currency",
        "amount",
        "refunded",
        "placed_at",
        "placed_hour",
        "click_id",
        "link_id",
        "matched_by",
        "unattributed",
        "items",
        "customer",
        "revision",
        "created_at",
        "updated_at",
    )
)
_TOUCH_COLUMNS = tuple(
    t.order_touches.c[n]
    for n in (
        "order_pk",
        "click_id",
        "workspace_id",
        "link_id",
        "ts",
        "is_first",
        "is_last",
        "touches",
    )
)
_EVENT_COLUMNS = tuple(
    t.conversion_events.c[n]
    for n in (
        "id",
        "workspace_id",
        "event_id",
        "type",
        "order_id",
        "occurred_at",
        "received_at",
        "amount",
        "currency",
        "items",
        "customer",
        "click_id",
        "link_id",
        "source",
    )
)


async def _insert_rows(
    conn: AsyncConnection,
    columns: Sequence[Column[Any]],
    rows: Sequence[Sequence[Any]],
    returning: Column[Any] | None,
) -> list[Any]:
    """Insert ``rows``; with ``returning``, ON CONFLICT DO NOTHING and the values of that
    column of the rows inserted."""
    table = columns[0].table
    names = [c.name for c in columns]
    stmt: Any = dialect_insert(conn, table)
    params: Any = None
    if conn.dialect.name == "postgresql":
        # asyncpg binds an executemany in C already (and has no json[] for ``unnest``).
        params = [dict(zip(names, row, strict=True)) for row in rows]
    else:
        stmt = stmt.from_select(names, rows_select(conn, columns, rows))
    if returning is not None:
        stmt = stmt.on_conflict_do_nothing().returning(returning)
    result = await conn.execute(stmt, params)
    return list(result.scalars()) if returning is not None else []
