"""The order rollups, written in the transaction that writes the orders.

Reports read these instead of scanning ``orders`` and ``order_touches`` (1 M orders took
seconds). Every write of an order goes through ``storage.conversions``, which turns it
into a ``Delta`` here: a new order adds its row (last click, or unattributed), its touches
add first-click and linear rows, and an update (an amount changed, a refund, a cancel)
subtracts what the order contributed before and adds what it contributes now. Erasing a
workspace deletes these rows with every other table that has a ``workspace_id``.

Credit stays exact in integers. Last and first click credit one row per order with
``touches`` = 1. Linear credits each touch 1/n of the order, n = the order's touch count:
the row of (link, n) adds the touch's whole order (orders + 1, gmv + amount) and the reader
divides the row by n, so no share is ever rounded when it is written (n ≤ 50 values, so
a (link, hour, currency) has few rows).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.conversions.models import Model
from hoplink.storage import tables as t
from hoplink.storage.rollups import upsert_add_rows

UNATTRIBUTED = ""  # the link_id of unattributed orders' rows (last_click only)
_SUMS = ("orders", "gmv", "refunded")

# (model, hour, link_id, currency, touches)
Key = tuple[str, int, str, str, int]


@dataclass(frozen=True, slots=True)
class OrderState:
    """What an order contributes to the rollups."""

    link_id: str | None
    hour: int  # placed_hour
    currency: str
    amount: int
    refunded: int


@dataclass(frozen=True, slots=True)
class TouchState:
    link_id: str
    is_first: bool
    touches: int


@dataclass
class Delta:
    """Signed changes to the rollup rows of one workspace."""

    rows: dict[Key, list[int]] = field(default_factory=dict)

    def _add(self, key: Key, sign: int, o: OrderState) -> None:
        sums = self.rows.setdefault(key, [0, 0, 0])
        sums[0] += sign
        sums[1] += sign * o.amount
        sums[2] += sign * o.refunded

    def order(self, o: OrderState, sign: int = 1) -> None:
        """The order's own row: its last touch's link, or unattributed."""
        link = o.link_id or UNATTRIBUTED
        self._add((Model.LAST_CLICK.value, o.hour, link, o.currency, 1), sign, o)

    def touches(self, o: OrderState, touches: Iterable[TouchState], sign: int = 1) -> None:
        for x in touches:
            if x.is_first:
                self._add((Model.FIRST_CLICK.value, o.hour, x.link_id, o.currency, 1), sign, o)
            self._add((Model.LINEAR.value, o.hour, x.link_id, o.currency, x.touches), sign, o)

    def whole(self, o: OrderState, touches: Sequence[TouchState], sign: int = 1) -> None:
        self.order(o, sign)
        self.touches(o, touches, sign)


async def lock_workspace(conn: AsyncConnection, workspace_id: str) -> None:
    """Serialise the order writers of one workspace until commit (PostgreSQL; SQLite has
    one writer anyway). A transaction locks order rows and rollup rows in an order no key
    sort can fix (a bulk call's orders one by one, an order then its touches' rows), so two
    of them could each wait for the other; taken before the first order row is locked,
    this lock leaves no cycle."""
    if conn.dialect.name == "postgresql":
        key = func.hashtextextended(f"hoplink.orders:{workspace_id}", 0)
        await conn.execute(select(func.pg_advisory_xact_lock(key)))


async def apply(conn: AsyncConnection, workspace_id: str, delta: Delta) -> None:
    """Add ``delta`` to the hour, day and workspace-hour rows (after ``lock_workspace``)."""
    hours: dict[Key, list[int]] = {}
    days: dict[Key, list[int]] = {}
    series: dict[tuple[int, str], list[int]] = {}
    for key, sums in delta.rows.items():
        if not any(sums):
            continue
        model, hour, link, currency, n = key
        hours[key] = sums
        _merge(days, (model, hour // 24, link, currency, n), sums)
        if model == Model.LAST_CLICK.value:
            _merge(series, (hour, currency), sums)
    for table, rows in (
        (t.order_rollup_hours, hours),
        (t.order_rollup_days, days),
        (t.order_rollup_workspace_hours, series),
    ):
        columns = list(table.primary_key.columns) + [table.c[n] for n in _SUMS]
        await upsert_add_rows(
            conn,
            table,
            columns,
            _SUMS,
            [(workspace_id, *key, *sums) for key, sums in sorted(rows.items())],
        )


def _merge(into: dict[Any, list[int]], key: Any, sums: list[int]) -> None:
    found = into.setdefault(key, [0, 0, 0])
    for i, v in enumerate(sums):
        found[i] += v


async def states_of(
    conn: AsyncConnection, workspace_id: str, order_pk: str
) -> tuple[OrderState, list[TouchState]] | None:
    """An order's current contribution, read back (before an update changes it)."""
    o, x = t.orders.c, t.order_touches.c
    row = (
        await conn.execute(
            select(o.link_id, o.placed_hour, o.currency, o.amount, o.refunded).where(
                o.workspace_id == workspace_id, o.id == order_pk
            )
        )
    ).first()
    if row is None:
        return None
    touches = await conn.execute(
        select(x.link_id, x.is_first, x.touches).where(
            x.workspace_id == workspace_id, x.order_pk == order_pk
        )
    )
    state = OrderState(row.link_id, row.placed_hour, row.currency, row.amount, row.refunded)
    return state, [TouchState(r.link_id, bool(r.is_first), r.touches) for r in touches]
