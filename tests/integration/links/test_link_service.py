"""Link services on real SQLite and PostgreSQL, each test rolled back."""

from __future__ import annotations

import itertools

import pytest

from factories import domain, workspace
from hoplink.errors import CodeTaken, InvalidInput, NotFound
from hoplink.links import service
from hoplink.links.models import LinkQuery
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkEdit, LinkRules
from hoplink.storage.tx import Tx

PRODUCT = "https://shop.example.com/item/1005006?spm=a2g0o&sku=red"


async def _create(tx: Tx, ws, dom, **kw):  # type: ignore[no-untyped-def]
    return await service.create_link(
        tx, workspace=ws, domain=dom, spec=LinkSpec(**kw), actor="test", rules=LinkRules()
    )


async def test_create_stores_canonical_destination_and_final_url(tx: Tx) -> None:
    dom = await domain(tx)
    ws = await workspace(tx, seller_id="S123", param_template={"aff_seller": "{seller_id}"})
    link = await _create(
        tx, ws, dom, url=PRODUCT, utm={"utm_source": "facebook", "utm_campaign": "双11 大促"}
    )
    assert len(link.code) == 7
    assert link.destination_url == PRODUCT
    assert link.final_url == (
        PRODUCT + "&aff_seller=S123&utm_source=facebook"
        "&utm_campaign=%E5%8F%8C11%20%E5%A4%A7%E4%BF%83"
    )
    again = await tx.links(ws.id).get(link.id)
    assert again == link


async def test_generated_code_collision_is_retried_never_overwritten(tx: Tx) -> None:
    dom = await domain(tx)
    ws = await workspace(tx)
    other = await workspace(tx, name="Other Seller")
    first = await _create(tx, other, dom, url=PRODUCT, code="Abc1234")
    forced = itertools.chain(["Abc1234", "Abc1234"], itertools.repeat("Zzz9999"))
    link = await service.create_link(
        tx,
        workspace=ws,
        domain=dom,
        spec=LinkSpec(url="https://shop.example.com/b"),
        actor=None,
        rules=LinkRules(),
        codes=lambda _n: next(forced),
    )
    assert link.code == "Zzz9999"
    still = await tx.links(other.id).get(first.id)
    assert still is not None and still.destination_url == PRODUCT


async def test_custom_code_taken_and_deleted_code_never_reused(tx: Tx) -> None:
    dom = await domain(tx)
    ws = await workspace(tx)
    other = await workspace(tx, name="Other Seller")
    link = await _create(tx, ws, dom, url=PRODUCT, code="summer-sale")
    with pytest.raises(CodeTaken):
        await _create(tx, other, dom, url=PRODUCT, code="summer-sale")
    await service.delete_link(tx, workspace=ws, link_id=link.id)
    with pytest.raises(NotFound):
        await service.get_link(tx, workspace=ws, link_id=link.id)
    with pytest.raises(CodeTaken):
        await _create(tx, other, dom, url=PRODUCT, code="summer-sale")


async def test_codes_are_case_sensitive(tx: Tx) -> None:
    dom = await domain(tx)
    ws = await workspace(tx)
    a = await _create(tx, ws, dom, url=PRODUCT, code="Promo")
    b = await _create(tx, ws, dom, url=PRODUCT, code="promo")
    assert {a.code, b.code} == {"Promo", "promo"}


async def test_other_workspace_link_is_not_found(tx: Tx) -> None:
    dom = await domain(tx)
    ws = await workspace(tx)
    other = await workspace(tx, name="Other Seller")
    link = await _create(tx, ws, dom, url=PRODUCT)
    with pytest.raises(NotFound) as foreign:
        await service.get_link(tx, workspace=other, link_id=link.id)
    with pytest.raises(NotFound) as missing:
        await service.get_link(tx, workspace=other, link_id="lnk_doesnotexist0000")
    assert str(foreign.value) == str(missing.value)
    with pytest.raises(NotFound):
        await service.update_link(
            tx, workspace=other, link_id=link.id, edit=LinkEdit(title="x"), actor=None
        )
    with pytest.raises(NotFound):
        await service.delete_link(tx, workspace=other, link_id=link.id)
    assert (await tx.links(ws.id).get(link.id)) is not None


async def test_bulk_reports_each_item_and_creates_the_good_ones(tx: Tx) -> None:
    dom = await domain(tx)
    ws = await workspace(tx)
    specs = [
        LinkSpec(url=PRODUCT),
        LinkSpec(url="javascript:alert(1)"),
        LinkSpec(url=PRODUCT, code="dup-code"),
        LinkSpec(url=PRODUCT, code="dup-code"),
        LinkSpec(url=PRODUCT, channel="myspace"),
    ]
    results = await service.create_links(
        tx, workspace=ws, domain=dom, specs=specs, actor=None, rules=LinkRules()
    )
    assert [type(r).__name__ for r in results] == [
        "Link",
        "InvalidInput",
        "Link",
        "CodeTaken",
        "InvalidInput",
    ]
    assert results[1].errors[0].field == "url"  # type: ignore[union-attr]
    assert results[4].errors[0].field == "channel"  # type: ignore[union-attr]
    _, total = await tx.links(ws.id).search(LinkQuery())
    assert total == 2


async def test_bulk_all_or_nothing_writes_nothing_on_any_error(tx: Tx) -> None:
    dom = await domain(tx)
    ws = await workspace(tx)
    specs = [LinkSpec(url=PRODUCT), LinkSpec(url="ftp://x.example.com/")]
    with pytest.raises(InvalidInput) as exc:
        await service.create_links(
            tx,
            workspace=ws,
            domain=dom,
            specs=specs,
            actor=None,
            rules=LinkRules(),
            all_or_nothing=True,
        )
    assert exc.value.errors[0].field == "items.1.url"
    _, total = await tx.links(ws.id).search(LinkQuery())
    assert total == 0


async def test_edit_destination_recomputes_final_url_and_keeps_history(tx: Tx) -> None:
    dom = await domain(tx)
    ws = await workspace(tx)
    link = await _create(tx, ws, dom, url=PRODUCT, utm={"utm_source": "tiktok"})
    edited = await service.update_link(
        tx,
        workspace=ws,
        link_id=link.id,
        edit=LinkEdit(url="https://shop.example.com/item/2", tags=["sale", "q4"]),
        actor="user:alice",
    )
    assert edited.final_url == "https://shop.example.com/item/2?utm_source=tiktok"
    assert edited.code == link.code
    assert edited.tags == ["q4", "sale"]
    history = await tx.links(ws.id).history(link.id)
    by_field = {h.field: h for h in history}
    assert by_field["destination_url"].old_value == PRODUCT
    assert by_field["destination_url"].new_value == "https://shop.example.com/item/2"
    assert by_field["destination_url"].changed_by == "user:alice"


async def test_search_filters_and_sorts(tx: Tx) -> None:
    dom = await domain(tx)
    ws = await workspace(tx)
    await _create(tx, ws, dom, url=PRODUCT, title="Red shoes", tags=["shoes"], channel="tiktok")
    await _create(tx, ws, dom, url=PRODUCT, title="Blue hat", tags=["hats"], channel="facebook")
    archived = await _create(tx, ws, dom, url=PRODUCT, title="Old")
    await service.update_link(
        tx, workspace=ws, link_id=archived.id, edit=LinkEdit(archived=True), actor=None
    )
    repo = tx.links(ws.id)
    found, total = await repo.search(LinkQuery(tag="shoes"))
    assert total == 1 and found[0].title == "Red shoes"
    found, _ = await repo.search(LinkQuery(channel="facebook"))
    assert [f.title for f in found] == ["Blue hat"]
    found, _ = await repo.search(LinkQuery(text="SHOES"))
    assert [f.title for f in found] == ["Red shoes"]
    found, total = await repo.search(LinkQuery(archived=None, sort="title", per_page=2))
    assert total == 3 and [f.title for f in found] == ["Blue hat", "Old"]
    found, _ = await repo.search(LinkQuery(archived=True))
    assert [f.title for f in found] == ["Old"]


async def test_search_totals_hold_past_the_last_page_and_with_filters(tx: Tx) -> None:
    dom = await domain(tx)
    ws = await workspace(tx)
    for i in range(5):
        await _create(
            tx, ws, dom, url=PRODUCT, title=f"Summer deal {i}", tags=["sun"] if i < 3 else []
        )
    await _create(tx, ws, dom, url=PRODUCT, title="Winter coat", tags=["sun"])
    repo = tx.links(ws.id)
    found, total = await repo.search(LinkQuery(text="SUMMER", per_page=2))
    assert total == 5 and len(found) == 2
    found, total = await repo.search(LinkQuery(text="summer", per_page=2, page=9))
    assert total == 5 and found == []
    found, total = await repo.search(LinkQuery(text="summer", tag="sun"))
    assert total == 3 and all(f.title and f.title.startswith("Summer") for f in found)


@pytest.mark.parametrize("sort", ["title", "-title"])
async def test_links_without_a_title_sort_last_both_ways(tx: Tx, sort: str) -> None:
    dom = await domain(tx)
    ws = await workspace(tx)
    for title in (None, "Blue hat", None, "Red shoes", "   "):
        await _create(tx, ws, dom, url=PRODUCT, title=title)
    repo = tx.links(ws.id)
    found, total = await repo.search(LinkQuery(sort=sort))
    titled = ["Blue hat", "Red shoes"] if sort == "title" else ["Red shoes", "Blue hat"]
    assert total == 5 and [f.title for f in found] == [*titled, None, None, None]
    # paging through keeps them last too
    first, _ = await repo.search(LinkQuery(sort=sort, per_page=2))
    rest, _ = await repo.search(LinkQuery(sort=sort, per_page=2, page=2))
    assert [f.title for f in first + rest] == [*titled, None, None]
