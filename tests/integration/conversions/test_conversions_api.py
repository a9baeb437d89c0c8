"""POST /api/v1/conversions and the orders it makes, on the real app and both databases."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest_asyncio
from conv_support import click, iso, post, shop, write_clicks
from sqlalchemy import func, select

from api_client import Api, assert_problem, running_api
from hoplink.accounts.models import Scope
from hoplink.storage import tables as t


@pytest_asyncio.fixture
async def api(db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(db_url, tmp_path / "data") as client:
        yield client


async def _count(api: Api, table: t.Table) -> int:
    async with api.db.transaction(write=False) as tx:
        return int((await tx.conn.execute(select(func.count()).select_from(table))).scalar_one())


async def test_purchase_by_click_id_is_attributed_and_idempotent(api: Api) -> None:
    s = await shop(api)
    now = datetime.now(UTC)
    c = click(s.links[0], s.ws_id, now - timedelta(hours=2), "v1")
    await write_clicks(api, [c])
    body = {
        "type": "purchase",
        "order_id": "SO-1001",
        "amount": 12_990,
        "currency": "usd",
        "click_id": c.click_id,
        "items": [{"sku": "TSHIRT-M", "quantity": 2, "price": 6495}],
        "customer": {"email": " Buyer@Example.COM ", "phone": "+86 138-0013-8000"},
    }
    r = await post(api, s.headers, body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["status"] == "created"
    order = out["order"]
    assert order["attributed"] and order["link_id"] == s.links[0]["id"]
    assert order["currency"] == "USD" and order["matched_by"] == "click_id"
    # the same body again: one order
    again = await post(api, s.headers, body)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert await _count(api, t.orders) == 1
    assert await _count(api, t.conversion_events) == 1
    # only hashes of the customer are kept
    async with api.db.transaction(write=False) as tx:
        stored = (await tx.conn.execute(select(t.orders.c.customer))).scalar_one()
        event_row = (await tx.conn.execute(select(t.conversion_events))).one()
    assert stored["email_sha256"] == hashlib.sha256(b"buyer@example.com").hexdigest()
    assert stored["phone_sha256"] == hashlib.sha256(b"8613800138000").hexdigest()
    assert "Example" not in str(stored) and "138" not in str(stored)
    assert event_row.customer == stored


async def test_changed_amount_updates_with_history_and_refunds_reverse(api: Api) -> None:
    s = await shop(api)
    base = {"type": "purchase", "order_id": "SO-7", "amount": 10_000, "currency": "EUR"}
    assert (await post(api, s.headers, base)).json()["order"]["unattributed_reason"] == "no_click"
    changed = await post(api, s.headers, base | {"amount": 12_000})
    assert changed.json()["status"] == "updated"
    assert changed.json()["order"]["revision"] == 2
    refund = {"type": "refund", "order_id": "SO-7", "amount": 2_000, "event_id": "rf-1"}
    r = await post(api, s.headers, refund)
    assert r.json()["status"] == "refunded"
    assert r.json()["order"]["net"] == 10_000
    assert r.json()["order"]["status"] == "partially_refunded"
    assert (await post(api, s.headers, refund)).json()["status"] == "duplicate"
    too_much = await post(api, s.headers, refund | {"event_id": "rf-2", "amount": 10_001})
    assert_problem(too_much, 422, "invalid_input", "amount")
    cancel = await post(api, s.headers, {"type": "cancel", "order_id": "SO-7"})
    assert cancel.json()["order"]["status"] == "cancelled"
    assert cancel.json()["order"]["net"] == 0
    pk = cancel.json()["order"]["id"]
    detail = (await api.http.get(f"/api/v1/conversions/orders/{pk}", headers=s.headers)).json()
    assert [rv["amount"] for rv in detail["revisions"]] == [10_000]
    assert [e["type"] for e in detail["events"]] == ["purchase", "purchase", "refund", "cancel"]


async def test_bulk_answers_per_item(api: Api) -> None:
    s = await shop(api)
    events = [
        {"type": "purchase", "order_id": f"B-{i}", "amount": 100 * i, "currency": "JPY"}
        for i in range(1, 6)
    ]
    events.insert(2, {"type": "purchase", "order_id": "BAD", "amount": -1, "currency": "JPY"})
    events.append({"type": "refund", "order_id": "NOPE", "amount": 1, "currency": "JPY"})
    r = await post(api, s.headers, {"events": events})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 5 and body["rejected"] == 2
    assert body["results"][2]["errors"][0]["field"] == "amount"
    assert body["results"][6]["errors"][0]["field"] == "order_id"
    assert await _count(api, t.orders) == 5


async def test_bulk_refund_or_cancel_before_its_purchase_is_refused_as_alone(api: Api) -> None:
    """Events of a bulk call count in their order, as if posted one by one: a refund or a
    cancel listed before the purchase of its order is an ``unknown_order``, as it is alone
    (the new purchases were written first, so it reversed an order it came before), and an
    event id a lead took first is the lead's."""
    events = [
        {"type": "cancel", "order_id": "C-1"},
        {"type": "purchase", "order_id": "C-1", "amount": 1000, "currency": "USD"},
        {"type": "refund", "order_id": "R-1", "amount": 300, "event_id": "r1"},
        {"type": "purchase", "order_id": "R-1", "amount": 500, "currency": "USD"},
        {"type": "refund", "order_id": "R-1", "amount": 100, "event_id": "r2"},
        {"type": "cancel", "order_id": "U-1"},
        {"type": "purchase", "order_id": "U-1", "amount": 700, "currency": "USD"},
        {"type": "purchase", "order_id": "U-1", "amount": 900, "currency": "USD"},
        {"type": "lead", "event_id": "shared-1"},
        {
            "type": "purchase",
            "order_id": "L-1",
            "amount": 400,
            "currency": "USD",
            "event_id": "shared-1",
        },
    ]
    bulk, alone = await shop(api, "Bulk Store"), await shop(api, "Alone Store")
    r = await post(api, bulk.headers, {"events": events})
    assert r.status_code == 200, r.text
    got = [(x["status"], x["order"] and x["order"]["refunded"]) for x in r.json()["results"]]
    one_by_one = []
    for e in events:
        single = (await post(api, alone.headers, e)).json()
        one_by_one.append(
            ("error", None)
            if "status" not in single or single.get("code")
            else (single["status"], single["order"] and single["order"]["refunded"])
        )
    assert one_by_one == [
        ("error", None),
        ("created", 0),
        ("error", None),
        ("created", 0),
        ("refunded", 100),
        ("error", None),
        ("created", 0),
        ("updated", 0),
        ("recorded", None),
        ("duplicate", None),  # the lead has the event id
    ]
    assert got == one_by_one
    codes = [x["errors"][0]["code"] for x in r.json()["results"] if x["errors"]]
    assert codes == ["unknown_order"] * 3


async def test_ingest_key_records_only_conversions_and_can_be_revoked(api: Api) -> None:
    s = await shop(api)
    made = await api.http.post(
        "/api/v1/conversions/ingest-keys", json={"name": "store"}, headers=s.headers
    )
    assert made.status_code == 201, made.text
    raw = made.json()["key"]
    assert raw.startswith("hlik_")
    ingest = {"Authorization": f"Bearer {raw}"}
    r = await post(api, ingest, {"type": "lead", "event_id": "lead-1"})
    assert r.status_code == 200 and r.json()["status"] == "recorded"
    # not a key for anything else
    assert_problem(await api.http.get("/api/v1/links", headers=ingest), 401, "unauthenticated")
    listed = await api.http.get("/api/v1/conversions/ingest-keys", headers=s.headers)
    assert raw not in listed.text and listed.json()[0]["key"] is None
    async with api.db.transaction(write=False) as tx:
        hashes = (await tx.conn.execute(select(t.ingest_keys.c.key_hash))).scalars().all()
    assert hashes == [hashlib.sha256(raw.encode()).hexdigest()]
    key_id = made.json()["id"]
    assert (
        await api.http.delete(f"/api/v1/conversions/ingest-keys/{key_id}", headers=s.headers)
    ).status_code == 204
    assert_problem(await post(api, ingest, {"type": "lead"}), 401, "unauthenticated")


async def test_scope_is_required(api: Api) -> None:
    s = await shop(api)
    ws_key = await api.key(
        (await api.workspace("Other")), frozenset({Scope.LINKS_READ, Scope.STATS_READ})
    )
    r = await post(api, {"Authorization": f"Bearer {ws_key}"}, {"type": "lead"})
    body = assert_problem(r, 403, "forbidden")
    assert "conversions:write" in body["detail"]
    assert s


async def test_visitor_match_on_link_within_window(api: Api) -> None:
    s = await shop(api)
    assert api.app.runtime is not None
    salts = api.app.runtime.salts
    ua = "Mozilla/5.0 (Linux; Android 14) Mobile"
    from hoplink.clicks.salts import visitor_hash

    now = datetime.now(UTC)
    key = await salts.key_at(now.timestamp())
    c = click(
        s.links[0],
        s.ws_id,
        now - timedelta(minutes=30),
        visitor_hash(key, s.ws_id, "203.0.113.9", ua),
    )
    await write_clicks(api, [c])
    r = await post(
        api,
        s.headers,
        {
            "type": "purchase",
            "order_id": "V-1",
            "amount": 500,
            "currency": "USD",
            "link_id": s.links[0]["id"],
            "client_ip": "203.0.113.9",
            "user_agent": ua,
            "occurred_at": iso(now),
        },
    )
    order = r.json()["order"]
    assert order["click_id"] == c.click_id and order["matched_by"] == "visitor"


async def test_models_credit_the_path_at_read_time(api: Api) -> None:
    """A visitor clicks link A, then link B, then buys with B's click id: last-click
    credits B, first-click A, linear half each; a bot click and another visitor's click
    on the way are not part of the path."""
    s = await shop(
        api,
        links=[{"url": "https://shop.example.com/a"}, {"url": "https://shop.example.com/b"}],
    )
    a, b = s.links
    now = datetime.now(UTC)
    first = click(a, s.ws_id, now - timedelta(hours=5), "buyer")
    bot = click(a, s.ws_id, now - timedelta(hours=4), "buyer", user_agent="curl/8.0")
    other = click(a, s.ws_id, now - timedelta(hours=3), "someone-else")
    last = click(b, s.ws_id, now - timedelta(hours=1), "buyer")
    await write_clicks(api, [first, bot, other, last])
    r = await post(
        api,
        s.headers,
        {
            "type": "purchase",
            "order_id": "M-1",
            "amount": 1000,
            "currency": "USD",
            "click_id": last.click_id,
        },
    )
    pk = r.json()["order"]["id"]
    detail = (await api.http.get(f"/api/v1/conversions/orders/{pk}", headers=s.headers)).json()
    assert [x["click_id"] for x in detail["touches"]] == [first.click_id, last.click_id]

    async def by_link(model: str) -> dict[str, tuple[float, int]]:
        report = await api.http.get(
            "/api/v1/stats/conversions/workspace",
            headers=s.headers,
            params={"model": model, "group": "link"},
        )
        assert report.json()["model"] == model
        return {
            row["value"]: (row["orders"], row["gmv"])
            for row in report.json()["groups"]["link"]
            if row["orders"]
        }

    assert await by_link("last_click") == {b["id"]: (1, 1000)}
    assert await by_link("first_click") == {a["id"]: (1, 1000)}
    assert await by_link("linear") == {a["id"]: (0.5, 500), b["id"]: (0.5, 500)}
    bad = await api.http.get(
        "/api/v1/stats/conversions/workspace", headers=s.headers, params={"model": "u"}
    )
    assert_problem(bad, 422, "invalid_input", "model")


async def test_report_csv_holds_its_one_group_and_refuses_several(api: Api) -> None:
    """The CSV has one breakdown's columns: asked for two, it silently dropped the second
    (a seller exporting by link and by channel got links only). Now a 422 naming `group`."""
    s = await shop(api)
    path = "/api/v1/stats/conversions/workspace"
    one = await api.http.get(path, headers=s.headers, params={"format": "csv", "group": "link"})
    assert one.status_code == 200
    assert one.text.splitlines()[0].startswith("link,label,clicks,")
    two = await api.http.get(
        path, headers=s.headers, params={"format": "csv", "group": ["link", "channel"]}
    )
    assert_problem(two, 422, "invalid_input", "group")
    assert "one group" in two.json()["detail"]
    # JSON carries every group asked for
    both = await api.http.get(path, headers=s.headers, params={"group": ["link", "channel"]})
    assert set(both.json()["groups"]) == {"link", "channel"}
