"""The conversions repository on real SQLite and PostgreSQL (each test rolled back):
settings, commission rules, events, orders with their revisions and touches, the orders
list and its pages, visitors' clicks — each kept to its workspace, each order and event id
recorded once per workspace."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from schema_rows import T0, click_row, link_row

from factories import domain, workspace
from hoplink.conversions.models import (
    CommissionRule,
    ConversionEvent,
    EventType,
    Item,
    Model,
    Order,
    OrderStatus,
    Settings,
    Source,
    Touch,
    Unattributed,
)
from hoplink.storage.conversions import BatchRepo, OrderFilter
from hoplink.storage.tx import Tx


def order(
    ws_id: str,
    pk: str,
    order_id: str,
    *,
    minutes: int = 0,
    link_id: str | None = None,
    refunded: int = 0,
) -> Order:
    at = T0 + timedelta(minutes=minutes)
    return Order(
        id=pk,
        workspace_id=ws_id,
        order_id=order_id,
        status=OrderStatus.PARTIALLY_REFUNDED if refunded else OrderStatus.OPEN,
        currency="EUR",
        amount=12_500,
        refunded=refunded,
        placed_at=at,
        click_id="clk_" + pk if link_id else None,
        link_id=link_id,
        matched_by="click_id" if link_id else None,
        unattributed=None if link_id else Unattributed.NO_CLICK,
        items=[{"sku": "SKU-1", "quantity": 2, "price": 6250}],
        customer={"email_sha256": "ab" * 32},
        revision=1,
        created_at=at,
        updated_at=at,
    )


def event(event_id: str, minutes: int, order_id: str | None = "A-1") -> ConversionEvent:
    return ConversionEvent(
        type=EventType.PURCHASE,
        event_id=event_id,
        occurred_at=T0 + timedelta(minutes=minutes),
        order_id=order_id,
        amount=12_500,
        currency="EUR",
        items=(Item("SKU-1", 2, 6250),),
    )


# -- settings and commission rules ----------------------------------------------------


async def test_settings_default_until_saved_then_replaced_per_workspace(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, "Other Shop")
    repo = tx.conversions(ws.id)
    assert await repo.settings() == Settings()
    first = Settings(window_days=30, model=Model.LINEAR, currency="JPY", commission_bp=1250)
    await repo.save_settings(first, T0)
    assert await repo.settings() == first
    second = Settings(window_days=1, model=Model.FIRST_CLICK, currency="EUR", commission_bp=0)
    await repo.save_settings(second, T0 + timedelta(days=1))
    assert await repo.settings() == second
    assert await tx.conversions(other.id).settings() == Settings()


async def test_a_rule_per_kind_and_reference_is_replaced_not_duplicated(tx: Tx) -> None:
    ws = await workspace(tx)
    repo = tx.conversions(ws.id)
    await repo.put_rule(CommissionRule("cr_tag", "tag", "summer", 500), T0)
    await repo.put_rule(CommissionRule("cr_cmp", "campaign", "cmp_1", 900), T0)
    await repo.put_rule(CommissionRule("cr_new", "tag", "summer", 700), T0)  # same kind+ref
    assert await repo.rules() == [
        CommissionRule("cr_cmp", "campaign", "cmp_1", 900),
        CommissionRule("cr_tag", "tag", "summer", 700),  # the first id, the new rate
    ]
    assert await repo.delete_rule("cr_tag") is True
    assert await repo.delete_rule("cr_tag") is False
    assert [r.id for r in await repo.rules()] == ["cr_cmp"]


async def test_rules_are_never_read_or_deleted_from_another_workspace(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, "Other Shop")
    await tx.conversions(other.id).put_rule(CommissionRule("cr_theirs", "tag", "x", 100), T0)
    await tx.conversions(ws.id).put_rule(CommissionRule("cr_mine", "tag", "x", 300), T0)
    mine = tx.conversions(ws.id)
    assert [r.id for r in await mine.rules()] == ["cr_mine"]
    assert await mine.delete_rule("cr_theirs") is False
    assert await tx.conversions(other.id).rules() == [CommissionRule("cr_theirs", "tag", "x", 100)]


# -- events ---------------------------------------------------------------------------


async def test_an_event_id_is_recorded_once_per_workspace(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, "Other Shop")

    async def insert(ws_id: str, pk: str, e: ConversionEvent) -> bool:
        return await tx.conversions(ws_id).insert_event(
            id=pk,
            event=e,
            source=Source.API,
            received_at=T0 + timedelta(hours=1),
            amount=e.amount,
            click_id=None,
            link_id=None,
        )

    assert await insert(ws.id, "cev_1", event("evt-1", 0)) is True
    assert await insert(ws.id, "cev_2", event("evt-1", 5)) is False  # a replay
    assert await insert(other.id, "cev_3", event("evt-1", 0)) is True  # theirs: its own
    assert await tx.conversions(ws.id).event_exists("evt-1") is True
    assert await tx.conversions(ws.id).event_exists("evt-2") is False
    await insert(ws.id, "cev_4", event("evt-0", -10))
    await insert(ws.id, "cev_5", event("evt-9", 1, order_id="B-1"))
    found = await tx.conversions(ws.id).events_of_order("A-1")
    assert [(e["event_id"], e["occurred_at"]) for e in found] == [
        ("evt-0", T0 - timedelta(minutes=10)),
        ("evt-1", T0),  # the first one written, not the replay
    ]
    assert found[1]["source"] == "api" and found[1]["amount"] == 12_500
    assert len(await tx.conversions(other.id).events_of_order("A-1")) == 1


# -- orders, revisions, touches ---------------------------------------------------------


async def test_an_order_round_trips_and_its_id_is_taken_once_per_workspace(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, "Other Shop")
    repo = tx.conversions(ws.id)
    placed = order(ws.id, "ord_1", "A-1", link_id="lnk_1")
    assert await repo.insert_order(placed) is True
    assert await repo.get("ord_1") == placed
    assert await repo.order_for_update("A-1") == placed
    assert await repo.insert_order(order(ws.id, "ord_2", "A-1")) is False  # a concurrent twin
    assert await repo.get("ord_2") is None
    assert await tx.conversions(other.id).insert_order(order(other.id, "ord_3", "A-1")) is True
    assert await tx.conversions(other.id).get("ord_1") is None
    assert await tx.conversions(other.id).order_for_update("A-1") == order(other.id, "ord_3", "A-1")

    later = T0 + timedelta(days=1)
    await repo.update_order("ord_1", refunded=2500, status="partially_refunded", updated_at=later)
    await tx.conversions(other.id).update_order("ord_1", refunded=12_500)  # not theirs
    changed = await repo.get("ord_1")
    assert changed == replace(
        placed, refunded=2500, status=OrderStatus.PARTIALLY_REFUNDED, updated_at=later
    )


async def test_revisions_and_touches_read_back_in_order_within_the_workspace(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, "Other Shop")
    repo = tx.conversions(ws.id)
    placed = order(ws.id, "ord_1", "A-1", link_id="lnk_b")
    await repo.insert_order(placed)
    await repo.insert_revision(id="orv_1", order=placed, event_id="evt-1", changed_at=T0)
    revised = replace(placed, revision=2, amount=9_900)
    await repo.insert_revision(
        id="orv_2", order=revised, event_id="evt-2", changed_at=T0 + timedelta(hours=2)
    )
    assert [(r["revision"], r["amount"], r["event_id"]) for r in await repo.revisions("ord_1")] == [
        (1, 12_500, "evt-1"),
        (2, 9_900, "evt-2"),
    ]
    path = [
        Touch("clk_c", "lnk_b", T0 - timedelta(hours=1), False, True, 3),
        Touch("clk_a", "lnk_a", T0 - timedelta(days=3), True, False, 3),
        Touch("clk_b", "lnk_a", T0 - timedelta(days=1), False, False, 3),
    ]
    await repo.insert_touches(placed, path)
    await repo.insert_touches(placed, [])
    assert await repo.touches("ord_1") == [path[1], path[2], path[0]]  # oldest first
    theirs = tx.conversions(other.id)
    assert await theirs.revisions("ord_1") == [] and await theirs.touches("ord_1") == []


async def test_the_orders_list_filters_and_pages_newest_first(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, "Other Shop")
    repo = tx.conversions(ws.id)
    placed = [
        order(ws.id, "ord_a", "5000-1", minutes=0, link_id="lnk_1"),
        order(ws.id, "ord_b", "50%-2", minutes=10, refunded=100),
        order(ws.id, "ord_c", "50_3", minutes=10, link_id="lnk_2"),  # same time as ord_b
        order(ws.id, "ord_d", "7000-4", minutes=20, link_id="lnk_1", refunded=12_500),
    ]
    for o in placed:
        await repo.insert_order(o)
    await tx.conversions(other.id).insert_order(order(other.id, "ord_z", "5000-9", minutes=30))

    async def ids(f: OrderFilter = OrderFilter(), **kw: object) -> list[str]:
        return [o.id for o in await repo.list_orders(f, limit=10, **kw)]  # type: ignore[arg-type]

    assert await ids() == ["ord_d", "ord_c", "ord_b", "ord_a"]  # a tie: the larger id first
    assert await ids(OrderFilter(attributed=True)) == ["ord_d", "ord_c", "ord_a"]
    assert await ids(OrderFilter(attributed=False)) == ["ord_b"]
    assert await ids(OrderFilter(refunded=True)) == ["ord_d", "ord_b"]
    assert await ids(OrderFilter(refunded=False)) == ["ord_c", "ord_a"]
    assert await ids(OrderFilter(link_id="lnk_1")) == ["ord_d", "ord_a"]
    assert await ids(OrderFilter(search="50")) == ["ord_c", "ord_b", "ord_a"]
    # The search is a plain prefix: % and _ are characters, not patterns.
    assert await ids(OrderFilter(search="50%")) == ["ord_b"]
    assert await ids(OrderFilter(search="50_")) == ["ord_c"]
    assert await ids(OrderFilter(search="9")) == []

    pages: list[list[str]] = []
    before = None
    while True:
        page = await repo.list_orders(OrderFilter(), limit=2, before=before)
        if not page:
            break
        pages.append([o.id for o in page])
        before = (page[-1].placed_at, page[-1].id)
    assert pages == [["ord_d", "ord_c"], ["ord_b", "ord_a"]]
    # A page boundary between two orders of the same instant loses neither.
    tie = await repo.list_orders(OrderFilter(), limit=10, before=(placed[2].placed_at, "ord_c"))
    assert [o.id for o in tie] == ["ord_b", "ord_a"]


# -- visitors' clicks -------------------------------------------------------------------


async def test_visitor_clicks_are_this_workspaces_newest_first_in_the_window(tx: Tx) -> None:
    dom = await domain(tx)
    ws, other = await workspace(tx), await workspace(tx, "Other Shop")
    a = await link_row(tx, ws.id, dom.id, "codeA01")
    b = await link_row(tx, ws.id, dom.id, "codeB01")
    theirs = await link_row(tx, other.id, dom.id, "codeZ01")
    h = timedelta(hours=1)
    await click_row(tx, ws.id, a, "c1", T0 - 5 * h, visitor_hash="vis-1")
    await click_row(tx, ws.id, b, "c2", T0 - 3 * h, visitor_hash="vis-1", bot="scanner")
    await click_row(tx, ws.id, a, "c3", T0 - 1 * h, visitor_hash="vis-2")
    await click_row(tx, ws.id, a, "c4", T0 - 30 * h, visitor_hash="vis-1")  # before the window
    await click_row(tx, ws.id, a, "c5", T0 + h, visitor_hash="vis-1")  # after it
    await click_row(tx, other.id, theirs, "c6", T0 - 2 * h, visitor_hash="vis-1")
    await click_row(tx, ws.id, a, "c7", T0 - 2 * h, visitor_hash="vis-3")
    repo = tx.conversions(ws.id)
    since, until = T0 - 24 * h, T0

    found = await repo.visitor_clicks(["vis-1", "vis-2"], since, until)
    assert [(c.click_id, c.link_id, c.bot) for c in found] == [
        ("c3", a, False),
        ("c2", b, True),
        ("c1", a, False),
    ]
    assert found[0].ts == T0 - h and found[0].visitor_hash == "vis-2"
    assert [c.click_id for c in await repo.visitor_clicks(["vis-1"], since, until, link_id=a)] == [
        "c1"
    ]
    assert [c.click_id for c in await repo.visitor_clicks(["vis-1"], since, T0 - 5 * h)] == ["c1"]
    assert [
        c.click_id for c in await repo.visitor_clicks(["vis-1", "vis-2"], since, until, limit=1)
    ] == ["c3"]
    assert await repo.visitor_clicks([], since, until) == []
    batch = BatchRepo(tx.conn, ws.id)
    assert {c.click_id for c in await batch.clicks_of_visitors(["vis-1"], since, until)} == {
        "c1",
        "c2",
    }
    assert [
        c.click_id for c in await tx.conversions(other.id).visitor_clicks(["vis-1"], since, until)
    ] == ["c6"]


# -- set-at-a-time writes ---------------------------------------------------------------


async def test_batch_inserts_skip_ids_taken_and_report_what_they_wrote(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, "Other Shop")
    batch = BatchRepo(tx.conn, ws.id)
    await batch.insert_order(order(ws.id, "ord_old", "A-1"))
    await BatchRepo(tx.conn, other.id).insert_order(order(other.id, "ord_x", "A-2"))
    fresh = [order(ws.id, "ord_2", "A-2", minutes=1), order(ws.id, "ord_3", "A-3", minutes=2)]
    taken = order(ws.id, "ord_dup", "A-1")
    assert await batch.insert_orders([taken, *fresh]) == {"A-2", "A-3"}
    assert await batch.insert_orders([]) == set()
    assert await batch.get("ord_2") == fresh[0]
    assert await batch.get("ord_dup") is None
    assert await batch.existing_orders(["A-1", "A-2", "A-9"]) == {"A-1", "A-2"}
    assert await BatchRepo(tx.conn, other.id).existing_orders(["A-1", "A-2"]) == {"A-2"}

    touch = Touch("clk_1", "lnk_1", T0, True, True, 1)
    await batch.insert_touches_many([(fresh[0], touch), (fresh[1], touch)])
    assert await batch.touches("ord_2") == [touch] and await batch.touches("ord_3") == [touch]

    def event_row(pk: str, event_id: str) -> dict[str, object]:
        return {
            "id": pk,
            "event_id": event_id,
            "type": "purchase",
            "order_id": "A-2",
            "occurred_at": T0,
            "received_at": T0,
            "amount": 100,
            "currency": "EUR",
            "items": [],
            "customer": {},
            "click_id": None,
            "link_id": None,
            "source": "ingest_key",
        }

    assert await batch.insert_events_many([event_row("cev_1", "e-1")]) == {"e-1"}
    assert await batch.insert_events_many(
        [event_row("cev_2", "e-1"), event_row("cev_3", "e-2")]
    ) == {"e-2"}
    assert await batch.existing_events(["e-1", "e-2", "e-3"]) == {"e-1", "e-2"}
    assert await BatchRepo(tx.conn, other.id).existing_events(["e-1"]) == set()
