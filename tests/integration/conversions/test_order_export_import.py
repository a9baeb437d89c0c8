"""POST /api/v1/conversions/import: marketplace order exports through a saved column
mapping, with a preview, a result per row, and idempotency by order id (both databases)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio
from conv_support import click, shop, write_clicks
from sqlalchemy import func, select

from api_client import Api, assert_problem, running_api
from hoplink.storage import tables as t

CSV = {"Content-Type": "text/csv"}
DAY = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")

SHOPEE = (
    "Order ID,Order Status,Order Creation Date,SKU Reference No.,Deal Price,Quantity,"
    "Product Subtotal,Grand Total\n"
    f'SO-1,Completed,{DAY} 14:05,TSHIRT-M,"1,299.00",2,"2,598.00","2,650.00"\n'
    f'SO-1,Completed,{DAY} 14:05,CAP,99.00,1,99.00,"2,650.00"\n'
    f"SO-2,Cancelled,{DAY} 15:00,CAP,99.00,1,99.00,99.00\n"
    f"SO-3,Unpaid,{DAY} 16:00,CAP,99.00,1,99.00,99.00\n"
    "SO-4,Completed,yesterday,CAP,99.00,1,99.00,99.00\n"
    f"SO-5,Completed,{DAY} 17:00,CAP,abc,1,,\n"
)


@pytest_asyncio.fixture
async def api(db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(db_url, tmp_path / "data") as client:
        yield client


async def _orders(api: Api) -> dict[str, tuple[str, int, int, str]]:
    async with api.db.transaction(write=False) as tx:
        rows = await tx.conn.execute(
            select(
                t.orders.c.order_id,
                t.orders.c.status,
                t.orders.c.amount,
                t.orders.c.refunded,
                t.orders.c.currency,
            )
        )
        return {r.order_id: (r.status, r.amount, r.refunded, r.currency) for r in rows}


async def _import(api: Api, headers: dict[str, str], body: str, **params: Any) -> Any:
    r = await api.http.post(
        "/api/v1/conversions/import", content=body.encode(), params=params, headers=headers | CSV
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_preview_then_import_then_the_same_file_again(api: Api) -> None:
    s = await shop(api)
    preview = await _import(api, s.headers, SHOPEE, preset="shopee", currency="PHP", dry_run="true")
    assert preview["dry_run"] is True and preview["rows"] == 6 and preview["orders"] == 2
    by_row = {r["row"]: r for r in preview["results"]}
    assert by_row[2]["status"] == by_row[3]["status"] == "created"
    assert by_row[4]["status"] == "cancelled"
    assert by_row[5]["status"] == "skipped"
    assert by_row[6]["errors"][0]["column"] == "Order Creation Date"
    assert by_row[7]["errors"][0]["column"] == "Deal Price"
    assert preview["counts"] == {"created": 2, "cancelled": 1, "skipped": 1, "error": 2}
    assert await _orders(api) == {}  # a preview stores nothing
    done = await _import(api, s.headers, SHOPEE, preset="shopee", currency="PHP")
    assert done["dry_run"] is False and done["counts"] == preview["counts"]
    assert await _orders(api) == {
        "SO-1": ("open", 265_000, 0, "PHP"),
        "SO-2": ("cancelled", 9_900, 9_900, "PHP"),
    }
    again = await _import(api, s.headers, SHOPEE, preset="shopee", currency="PHP")
    assert again["counts"] == {"duplicate": 3, "skipped": 1, "error": 2}
    async with api.db.transaction(write=False) as tx:
        events = await tx.conn.execute(select(func.count()).select_from(t.conversion_events))
        assert events.scalar_one() == 3  # two purchases and one cancel, once each


async def test_saved_mapping_refunds_and_attribution_by_a_click_column(api: Api) -> None:
    s = await shop(api)
    c = click(s.links[0], s.ws_id, datetime.now(UTC) - timedelta(days=3), "v1")
    await write_clicks(api, [c])
    mapping = {
        "preset": "generic",
        "columns": {
            "order_id": "Bestellnummer",
            "placed_at": "Datum",
            "amount": "Summe",
            "refund_amount": "Erstattet",
            "click_id": "Notiz",
        },
        "currency": "eur",
    }
    r = await api.http.put("/api/v1/conversions/import/mapping", json=mapping, headers=s.headers)
    assert r.status_code == 200, r.text
    assert r.json()["currency"] == "EUR"
    got = await api.http.get("/api/v1/conversions/import/mapping", headers=s.headers)
    assert got.json()["columns"]["order_id"] == "Bestellnummer"
    first = (
        f"Bestellnummer;Datum;Summe;Erstattet;Notiz\nB-1;{DAY}T10:00:00Z;1.234,50;0;{c.click_id}\n"
    )
    out = await _import(api, s.headers, first)
    assert out["counts"] == {"created": 1}
    orders = (await api.http.get("/api/v1/conversions/orders", headers=s.headers)).json()
    assert orders["items"][0]["attributed"] and orders["items"][0]["link_id"] == s.links[0]["id"]
    refunded = first.replace(";0;", ";200,00;")
    out = await _import(api, s.headers, refunded)
    assert out["counts"] == {"refunded": 1}
    assert (await _orders(api))["B-1"] == ("partially_refunded", 123_450, 20_000, "EUR")
    assert (await _import(api, s.headers, refunded))["counts"] == {"duplicate": 1}
    more = refunded.replace(";200,00;", ";300,00;")
    assert (await _import(api, s.headers, more))["counts"] == {"refunded": 1}
    assert (await _orders(api))["B-1"][2] == 30_000  # the difference, not 300 again


async def test_amazon_tab_delimited_and_tiktok_description_row(api: Api) -> None:
    s = await shop(api)
    amazon = (
        "amazon-order-id\tpurchase-date\torder-status\tsku\tquantity\tcurrency\titem-price\n"
        f"111-1\t{DAY}T08:00:00+00:00\tShipped\tMUG\t2\tUSD\t25.98\n"
        f"111-2\t{DAY}T09:00:00+00:00\tPending\tMUG\t1\tUSD\t\n"
    )
    out = await _import(api, s.headers, amazon, preset="amazon")
    assert out["counts"] == {"created": 1, "skipped": 1}
    tiktok = (
        "Order ID,Order Status,Seller SKU,Quantity,SKU Subtotal After Discount,Order Amount,"
        "Order Refund Amount,Created Time\n"
        "Platform unique order ID.,Current order status.,Seller sku,Qty,Subtotal,Total,Refund,"
        "Time\n"
        f"5768,Completed,HAT,1,$10.00,$12.50,$0.00,{DAY[5:7]}/{DAY[8:10]}/{DAY[:4]} 2:05:11 PM\n"
    )
    out = await _import(api, s.headers, tiktok, preset="tiktok_shop", currency="USD")
    assert out["counts"] == {"created": 1}
    orders = await _orders(api)
    assert orders["111-1"] == ("open", 2_598, 0, "USD")
    assert orders["5768"] == ("open", 1_250, 0, "USD")


async def test_bad_files_and_mappings_are_4xx_naming_the_field(api: Api) -> None:
    s = await shop(api)
    url = "/api/v1/conversions/import"
    r = await api.http.post(url, content=b"a,b\n1,2\n", headers=s.headers | CSV)
    assert_problem(r, 422, "invalid_input", "file")
    r = await api.http.post(
        url, params={"preset": "shopee"}, content=b"Order ID\nX\n", headers=s.headers | CSV
    )
    assert_problem(r, 422, "invalid_input", "columns.placed_at")
    r = await api.http.post(url, content=b"order_id\n\xff\n", headers=s.headers | CSV)
    assert_problem(r, 422, "invalid_input", "file")
    r = await api.http.post(url, params={"preset": "ebay"}, content=b"x", headers=s.headers | CSV)
    assert_problem(r, 422, "invalid_input", "preset")
    put = "/api/v1/conversions/import/mapping"
    for body, field in [
        ({"preset": "generic", "columns": {"colour": "x"}}, "columns.colour"),
        ({"preset": "generic", "columns": {"order_id": "a\u0000b"}}, "columns.order_id"),
        ({"preset": "generic", "currency": "XYZ"}, "currency"),
        ({"preset": "nope"}, "preset"),
    ]:
        r = await api.http.put(put, json=body, headers=s.headers)
        assert r.status_code == 422, (body, r.text)
        assert any(e["field"] == field for e in r.json()["errors"]), (field, r.json())
    big = "order_id,placed_at,amount\n" + "x" * (4 * 1024 * 1024 + 10)
    r = await api.http.post(url, content=big.encode(), headers=s.headers | CSV)
    assert_problem(r, 413, "payload_too_large")
    assert await _orders(api) == {}


async def test_ingest_key_imports_and_another_workspaces_click_is_unknown(api: Api) -> None:
    mine, theirs = await shop(api), await shop(api, "Other Store")
    c = click(theirs.links[0], theirs.ws_id, datetime.now(UTC) - timedelta(days=3), "v9")
    await write_clicks(api, [c])
    made = await api.http.post(
        "/api/v1/conversions/ingest-keys", json={"name": "export"}, headers=mine.headers
    )
    ingest = {"Authorization": f"Bearer {made.json()['key']}"}
    body = (
        f"order_id,placed_at,amount,currency,hl_click\nX-1,{DAY}T10:00:00Z,10.00,USD,{c.click_id}\n"
    )
    out = await _import(api, ingest, body, preset="generic")
    assert out["counts"] == {"created": 1}
    detail = (await api.http.get("/api/v1/conversions/orders", headers=mine.headers)).json()
    order = detail["items"][0]
    assert not order["attributed"] and order["unattributed_reason"] == "unknown_click"
    assert (await api.http.get("/api/v1/conversions/orders", headers=theirs.headers)).json()[
        "items"
    ] == []


async def test_odd_cells_are_row_errors_never_500(api: Api) -> None:
    s = await shop(api)
    body = (
        "order_id,placed_at,amount,currency,quantity\n"
        f"Q-1,{DAY}T10:00:00Z,10.00,USD,²\n"
        f"Q-2,{DAY}T10:00:00Z,1e999,USD,1\n"
        f"Q-3,{DAY}T10:00:00Z,{'9' * 400},USD,1\n"
        f"Q-4,{DAY}T10:00:00Z,.,USD,1\n"
        f"{'Q' * 200},{DAY}T10:00:00Z,1.00,USD,1\n"
        f"Q-6,{DAY}T10:00:00Z,1.00,usd,1\n"
    )
    out = await _import(api, s.headers, body, preset="generic")
    by_row = {r["row"]: r for r in out["results"]}
    assert by_row[2]["errors"][0]["column"] == "quantity"
    assert [by_row[n]["status"] for n in range(2, 8)] == ["error"] * 5 + ["created"]
    assert by_row[6]["errors"][0]["column"] == "order_id"


async def test_an_order_with_a_bad_line_is_not_imported_in_part(api: Api) -> None:
    """One line of an order that cannot be read refuses the whole order, every row of it
    reported: recorded from its good lines only, it had a wrong total (and that total went
    to the ad platforms, which never see a later correction)."""
    s = await shop(api)
    body = (
        "order_id,placed_at,amount,currency,sku,quantity,line_amount\n"
        f"M-1,{DAY}T10:00:00Z,,USD,A,1,3.00\n"
        f"M-1,{DAY}T10:00:00Z,,EUR,B,1,4.00\n"
        f"P-1,{DAY}T10:00:00Z,,USD,A,1,3.00\n"
        f"P-1,{DAY}T10:00:00Z,,USD,B,1,abc\n"
        f"OK-1,{DAY}T10:00:00Z,,USD,A,2,6.00\n"
    )
    for dry_run in ("true", "false"):
        out = await _import(api, s.headers, body, preset="generic", dry_run=dry_run)
        by_row = {r["row"]: r for r in out["results"]}
        assert [by_row[n]["status"] for n in range(2, 7)] == ["error"] * 4 + ["created"]
        assert by_row[3]["errors"][0]["code"] == "mixed"
        assert by_row[5]["errors"][0]["column"] == "line_amount"
        for n in (2, 4):  # the readable line of each refused order
            assert by_row[n]["errors"][0]["code"] == "order_has_errors", by_row[n]
        assert out["counts"] == {"error": 4, "created": 1}
    assert await _orders(api) == {"OK-1": ("open", 600, 0, "USD")}


async def test_a_quote_never_closed_refuses_the_file_naming_its_line(api: Api) -> None:
    """A stray opening quote made the CSV reader take the rest of the file as one cell: the
    orders below it vanished from the import and from its counts (a 4-order file answered
    `rows: 2`). Now the file is refused, naming the line the quote opens on."""
    s = await shop(api)
    body = (
        "order_id,placed_at,status,amount,currency\n"
        f"U-1,{DAY}T10:00:00Z,paid,10.00,USD\n"
        f'U-2,{DAY}T10:00:00Z,paid,"20.00,USD\n'
        f"U-3,{DAY}T10:00:00Z,paid,30.00,USD\n"
        f"U-4,{DAY}T10:00:00Z,paid,40.00,USD\n"
    )
    for dry_run in ("true", "false"):
        r = await api.http.post(
            "/api/v1/conversions/import",
            params={"preset": "generic", "dry_run": dry_run},
            content=body.encode(),
            headers=s.headers | CSV,
        )
        assert_problem(r, 422, "invalid_input", "file")
        assert r.json()["errors"][0]["code"] == "unclosed_quote"
        assert "line 3" in r.json()["detail"]
    assert await _orders(api) == {}
    # quotes that close, over several lines, still read as one cell
    fine = body.replace('"20.00,USD', '"20.00",USD')
    done = await _import(api, s.headers, fine, preset="generic")
    assert done["counts"] == {"created": 4}
