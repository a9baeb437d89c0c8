"""Click limits and A/B figures at the repository, on real SQLite and PostgreSQL (each test
rolled back): a link is exhausted once its human clicks reach the limit, once; a variant's
traffic and orders count only its own link, dimension, days, people and workspace."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from schema_rows import T0, click_row, insert_row, link_row
from sqlalchemy import select

from factories import domain, workspace
from hoplink.events import LinkChanged
from hoplink.storage import tables as t
from hoplink.storage.experiments import VariantOrders, variant_counts, variant_orders
from hoplink.storage.limits import mark_exhausted
from hoplink.storage.tx import Tx

DAY = int(T0.timestamp() // 86400)  # the unix day of T0


async def _day_counts(tx: Tx, ws_id: str, link_id: str, day: int, pv: int, human: int) -> None:
    await insert_row(
        tx,
        t.rollup_link_days,
        "r",
        {},
        link_id=link_id,
        workspace_id=ws_id,
        day=day,
        pv=pv,
        human_pv=human,
        uv_day=human,
    )


async def _link_changes(tx: Tx) -> list[str]:
    c = t.redirect_changes.c
    rows = await tx.conn.execute(select(c.ref).where(c.kind == "link").order_by(c.id))
    return [str(r) for r in rows.scalars()]


# -- click limits -----------------------------------------------------------------------


async def test_links_whose_human_clicks_reached_the_limit_are_exhausted_once(tx: Tx) -> None:
    dom = await domain(tx)
    ws = await workspace(tx)
    earlier = T0 - timedelta(days=2)
    reached = await link_row(tx, ws.id, dom.id, "reached", max_clicks=10)
    bots = await link_row(tx, ws.id, dom.id, "botsonly", max_clicks=10)
    unlimited = await link_row(tx, ws.id, dom.id, "nolimit")
    done = await link_row(tx, ws.id, dom.id, "already", max_clicks=5, exhausted_at=earlier)
    quiet = await link_row(tx, ws.id, dom.id, "noclick", max_clicks=3)
    unasked = await link_row(tx, ws.id, dom.id, "unasked", max_clicks=2)
    await _day_counts(tx, ws.id, reached, DAY - 1, pv=6, human=6)
    await _day_counts(tx, ws.id, reached, DAY, pv=4, human=4)  # 10 over two days
    await _day_counts(tx, ws.id, bots, DAY, pv=50, human=9)  # bot clicks never count
    await _day_counts(tx, ws.id, unlimited, DAY, pv=100, human=100)
    await _day_counts(tx, ws.id, done, DAY, pv=9, human=9)
    await _day_counts(tx, ws.id, unasked, DAY, pv=3, human=3)
    start = await _link_changes(tx)
    now = T0 + timedelta(minutes=1)

    changed = await mark_exhausted(
        tx.conn, [reached, bots, unlimited, done, quiet, reached], now=now
    )

    assert changed == [LinkChanged(ws.id, reached, dom.hostname, "reached", "updated")]
    exhausted = dict(
        (await tx.conn.execute(select(t.links.c.code, t.links.c.exhausted_at))).tuples().all()
    )
    assert exhausted == {
        "reached": now,
        "botsonly": None,
        "nolimit": None,
        "already": earlier,  # kept: the first time it ran out
        "noclick": None,
        "unasked": None,  # over its limit, but not in this batch
    }
    assert await _link_changes(tx) == [*start, reached]
    # Again: nothing left to do, nothing logged.
    assert await mark_exhausted(tx.conn, [reached, done], now=now + timedelta(minutes=1)) == []
    assert await mark_exhausted(tx.conn, [], now=now) == []
    assert await _link_changes(tx) == [*start, reached]


# -- A/B figures ------------------------------------------------------------------------


async def _dim_counts(
    tx: Tx, ws_id: str, link_id: str, day: int, dim: str, value: str, pv: int
) -> None:
    await insert_row(
        tx,
        t.rollup_link_dim_days,
        "r",
        {},
        link_id=link_id,
        workspace_id=ws_id,
        day=day,
        dim=dim,
        value=value,
        pv=pv,
        human_pv=pv - 1,
        uv_day=pv // 2,
    )


async def test_variant_counts_sum_the_links_variant_rows_since_a_day(tx: Tx) -> None:
    dom = await domain(tx)
    ws, other = await workspace(tx), await workspace(tx, "Other Shop")
    ab = await link_row(tx, ws.id, dom.id, "abtest1")
    neighbour = await link_row(tx, ws.id, dom.id, "neighb1")
    await _dim_counts(tx, ws.id, ab, DAY, "variant", "a", pv=10)
    await _dim_counts(tx, ws.id, ab, DAY + 1, "variant", "a", pv=4)
    await _dim_counts(tx, ws.id, ab, DAY - 1, "variant", "a", pv=100)  # before the test
    await _dim_counts(tx, ws.id, ab, DAY, "variant", "b", pv=6)
    await _dim_counts(tx, ws.id, ab, DAY, "variant", "c", pv=50)  # not asked for
    await _dim_counts(tx, ws.id, ab, DAY, "country", "a", pv=999)  # another dimension
    await _dim_counts(tx, ws.id, neighbour, DAY, "variant", "a", pv=77)
    await _dim_counts(tx, other.id, ab, DAY + 2, "variant", "a", pv=55)  # not this workspace

    counts = await variant_counts(
        tx.conn, workspace_id=ws.id, link_id=ab, variants=["a", "b", "d"], from_day=DAY
    )
    # (clicks, human clicks, visitors); a variant without traffic has no entry.
    assert counts == {"a": (14, 12, 7), "b": (6, 5, 3)}
    assert (
        await variant_counts(tx.conn, workspace_id=ws.id, link_id=ab, variants=[], from_day=DAY)
        == {}
    )


async def _order(tx: Tx, ws_id: str, order_id: str, click: str, link: str, **given: Any) -> None:
    placed = given.pop("placed_at", T0)
    given.setdefault("currency", "USD")
    given.setdefault("refunded", 0)
    await insert_row(
        tx,
        t.orders,
        order_id,
        {},
        workspace_id=ws_id,
        order_id=order_id,
        click_id=click,
        link_id=link,
        placed_at=placed,
        placed_hour=int(placed.timestamp() // 3600),
        **given,
    )


async def test_variant_orders_follow_each_orders_click_to_its_variant(tx: Tx) -> None:
    dom = await domain(tx)
    ws, other = await workspace(tx), await workspace(tx, "Other Shop")
    ab = await link_row(tx, ws.id, dom.id, "abtest1")
    neighbour = await link_row(tx, ws.id, dom.id, "neighb1")
    theirs = await link_row(tx, other.id, dom.id, "theirs1")
    hour = timedelta(hours=1)
    for click, link, variant, bot in (
        ("c1", ab, "a", None),
        ("c2", ab, "a", None),
        ("c3", ab, "b", None),
        ("c4", ab, "a", "scanner"),  # a bot's click
        ("c5", ab, "c", None),  # a variant not asked for
        ("c6", neighbour, "a", None),
    ):
        await click_row(tx, ws.id, link, click, T0 - hour, variant=variant, bot=bot)
    await click_row(tx, other.id, theirs, "c7", T0 - hour, variant="a")
    next_day = T0 + timedelta(days=1)
    await _order(tx, ws.id, "A-1", "c1", ab, amount=1000)
    await _order(tx, ws.id, "A-2", "c1", ab, amount=500, refunded=100)  # same click again
    await _order(tx, ws.id, "A-3", "c2", ab, amount=700, currency="EUR", placed_at=next_day)
    await _order(tx, ws.id, "A-4", "c3", ab, amount=300)
    await _order(tx, ws.id, "A-5", "c4", ab, amount=9000)
    await _order(tx, ws.id, "A-6", "c5", ab, amount=9000)
    await _order(tx, ws.id, "A-7", "c1", ab, amount=9000, placed_at=T0 - 2 * hour)  # too early
    await _order(tx, ws.id, "A-8", "c6", ab, amount=9000)  # its click is another link's
    await _order(tx, ws.id, "A-9", "c6", neighbour, amount=9000)
    await _order(tx, other.id, "A-1", "c1", ab, amount=9000)  # another tenant's order
    await _order(tx, other.id, "Z-1", "c7", theirs, amount=9000)

    sums, converted = await variant_orders(
        tx.conn, workspace_id=ws.id, link_id=ab, variants=["a", "b"], since=T0 - hour
    )

    assert sorted(sums, key=lambda s: (s.variant, s.day, s.currency)) == [
        VariantOrders("a", DAY, "USD", orders=2, amount=1500, refunded=100),
        VariantOrders("a", DAY + 1, "EUR", orders=1, amount=700, refunded=0),
        VariantOrders("b", DAY, "USD", orders=1, amount=300, refunded=0),
    ]
    # Clicks that led to an order: c1 (twice) and c2 for "a", c3 for "b".
    assert converted == {"a": 2, "b": 1}
