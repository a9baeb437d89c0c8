"""What a store can get wrong: each is a 4xx problem naming the field, and nothing is
stored. A click id of another workspace is no error: it is answered exactly as an unknown
one (the order is kept, unattributed), so nothing tells a caller it exists elsewhere."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from conv_support import click, post, shop, write_clicks
from sqlalchemy import func, select

from api_client import Api, assert_problem, running_api
from hoplink.accounts.models import Scope
from hoplink.storage import tables as t

GOOD = {"type": "purchase", "order_id": "SO-1", "amount": 1000, "currency": "USD"}
BAD: list[tuple[dict[str, Any], str]] = [
    (GOOD | {"currency": "XYZ"}, "currency"),
    (GOOD | {"currency": "US"}, "currency"),
    (GOOD | {"currency": "usd1"}, "currency"),
    (GOOD | {"currency": 840}, "currency"),
    (GOOD | {"currency": "XXX"}, "currency"),
    (GOOD | {"amount": -1}, "amount"),
    (GOOD | {"amount": 10**12 + 1}, "amount"),
    (GOOD | {"amount": 10.5}, "amount"),
    (GOOD | {"amount": "1000"}, "amount"),
    (GOOD | {"type": "pageview"}, "type"),
    ({k: v for k, v in GOOD.items() if k != "order_id"}, "order_id"),
    ({k: v for k, v in GOOD.items() if k != "currency"}, "currency"),
    (GOOD | {"items": [{"sku": "A", "quantity": 0, "price": 1}]}, "items.0.quantity"),
    (GOOD | {"items": [{"sku": "A", "quantity": 1, "price": -5}]}, "items.0.price"),
    (GOOD | {"customer": {"email": "not-an-email"}}, "customer.email"),
    (GOOD | {"customer": {"phone": "12"}}, "customer.phone"),
    (GOOD | {"click_id": "a b<script>"}, "click_id"),
    (GOOD | {"occurred_at": "yesterday"}, "occurred_at"),
    (GOOD | {"occurred_at": "2099-01-01T00:00:00Z"}, "occurred_at"),
    (GOOD | {"client_ip": "999.1.1.1", "user_agent": "x"}, "client_ip"),
    (GOOD | {"unknown": 1}, "unknown"),
    ({"type": "cancel", "order_id": "SO-1", "amount": 5}, "amount"),
]


@pytest_asyncio.fixture
async def api(db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(db_url, tmp_path / "data") as client:
        yield client


async def _stored(api: Api) -> int:
    total = 0
    async with api.db.transaction(write=False) as tx:
        for table in (t.orders, t.conversion_events, t.order_touches, t.order_revisions):
            q = select(func.count()).select_from(table)
            total += int((await tx.conn.execute(q)).scalar_one())
    return total


@pytest.mark.parametrize(("body", "field"), BAD, ids=[f for _, f in BAD])
async def test_bad_event_is_a_problem_naming_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    s = await shop(api)
    r = await post(api, s.headers, body)
    assert_problem(r, 422, "invalid_input", field)
    assert await _stored(api) == 0


async def test_bad_bodies(api: Api) -> None:
    s = await shop(api)
    big = b'{"events": [' + b'{"type": "lead"},' * 650_000 + b'{"type": "lead"}]}'
    assert len(big) > 10 * 1024 * 1024
    r = await api.http.post(
        "/api/v1/conversions", content=big, headers=s.headers | {"Content-Type": "application/json"}
    )
    assert_problem(r, 413, "payload_too_large")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: cut while reading
        for i in range(0, len(big), 1 << 20):
            yield big[i : i + (1 << 20)]

    r = await api.http.post(
        "/api/v1/conversions",
        content=chunks(),
        headers=s.headers | {"Content-Type": "application/json"},
    )
    assert_problem(r, 413, "payload_too_large")
    r = await api.http.post(
        "/api/v1/conversions",
        content=b'{"type": "purchase",',
        headers=s.headers | {"Content-Type": "application/json"},
    )
    assert_problem(r, 400, "bad_json")
    assert_problem(await post(api, s.headers, []), 422, "invalid_input")
    assert_problem(await post(api, s.headers, {"events": []}), 422, "invalid_input", "events")
    many = {"events": [{"type": "lead"}] * 1001}
    assert_problem(await post(api, s.headers, many), 422, "invalid_input", "events")
    # a refund of an order never recorded
    refund = {"type": "refund", "order_id": "NOPE", "amount": 1}
    assert_problem(await post(api, s.headers, refund), 422, "invalid_input", "order_id")
    assert await _stored(api) == 0


async def test_spend_export_without_a_daily_breakdown_is_refused(api: Api) -> None:
    """A row of a month's spend (Meta's "Reporting starts" to "Reporting ends" without a
    Day column, TikTok's "2026-11-01 - 2026-11-30") is refused naming the row: it was
    booked whole on the first day, and that day's ROAS read a month's spend."""
    s = await shop(api)
    headers = s.headers | {"Content-Type": "text/csv"}
    meta_month = (
        "Reporting starts,Reporting ends,Campaign name,Ad set name,Amount spent (USD)\n"
        "2026-11-01,2026-11-30,sale,set,300.00\n"
    )
    tiktok_month = (
        "By Day,Campaign name,Ad group name,Cost,Currency\n"
        "2026-11-01 - 2026-11-30,sale,set,300.00,USD\n"
    )
    for fmt, body in (("meta", meta_month), ("tiktok", tiktok_month)):
        r = await api.http.post(
            f"/api/v1/spend/import?format={fmt}", content=body.encode(), headers=headers
        )
        assert_problem(r, 422, "invalid_input", "rows.2.day")
        assert r.json()["errors"][0]["code"] == "not_daily", r.text
    # A daily breakdown repeats the report's whole range beside each Day: that is fine.
    meta_daily = (
        "Day,Campaign name,Ad set name,Amount spent (USD),Reporting starts,Reporting ends\n"
        "2026-11-01,sale,set,10.00,2026-11-01,2026-11-30\n"
        "2026-11-02,sale,set,12.00,2026-11-01,2026-11-30\n"
    )
    r = await api.http.post(
        "/api/v1/spend/import?format=meta", content=meta_daily.encode(), headers=headers
    )
    assert r.status_code == 200 and r.json() == {"imported": 2, "days": 2, "campaigns": 1}, r.text
    long_name = "date,campaign,spend\n2026-11-04,sale,1.00\n2026-11-04," + "c" * 201 + ",9.00\n"
    r = await api.http.post(
        "/api/v1/spend/import?format=generic", content=long_name.encode(), headers=headers
    )
    assert_problem(r, 422, "invalid_input", "rows.3.campaign")  # was skipped without a word
    tiktok_stat = "Stat time day,Campaign name,Cost,Currency\n2026-11-03 00:00:00,sale,1.00,USD\n"
    r = await api.http.post(
        "/api/v1/spend/import?format=tiktok", content=tiktok_stat.encode(), headers=headers
    )
    assert r.status_code == 200 and r.json()["days"] == 1, r.text


async def test_a_zero_refund_is_refused_as_such(api: Api) -> None:
    """A refund of 0 is a mistake in the amount; the order is not "refunded in full
    already" (what the problem said of an order with most of its amount left)."""
    s = await shop(api)
    assert (await post(api, s.headers, GOOD)).status_code == 201
    refund = {"type": "refund", "order_id": "SO-1", "amount": 300, "event_id": "r-1"}
    assert (await post(api, s.headers, refund)).status_code == 200
    r = await post(api, s.headers, refund | {"amount": 0, "event_id": "r-2"})
    assert_problem(r, 422, "invalid_input", "amount")
    error = r.json()["errors"][0]
    assert error["code"] == "zero" and "in full" not in error["message"], error
    rest = await post(api, s.headers, {"type": "refund", "order_id": "SO-1", "event_id": "r-3"})
    assert rest.status_code == 200 and rest.json()["order"]["refunded"] == 1000, rest.text
    again = await post(api, s.headers, {"type": "refund", "order_id": "SO-1", "event_id": "r-4"})
    assert again.json()["errors"][0]["code"] == "nothing_to_refund", again.text


async def test_spend_import_names_a_bad_currency_parameter(api: Api) -> None:
    """``?currency=`` is the query parameter's fault, not every row's: the problem names
    ``currency`` (it named ``rows.2.currency``, a column the file does not have)."""
    s = await shop(api)
    csv = b"date,campaign,spend\n2026-11-30,sale,12.50\n"
    headers = s.headers | {"Content-Type": "text/csv"}
    r = await api.http.post(
        "/api/v1/spend/import?format=generic&currency=zz", content=csv, headers=headers
    )
    assert_problem(r, 422, "invalid_input", "currency")
    r = await api.http.post(
        "/api/v1/spend/import?format=generic&currency=eur", content=csv, headers=headers
    )
    assert r.status_code == 200 and r.json()["imported"] == 1, r.text


async def test_another_workspaces_click_id_is_answered_as_unknown(api: Api) -> None:
    mine = await shop(api, "Mine")
    theirs = await shop(api, "Theirs")
    c = click(theirs.links[0], theirs.ws_id, datetime.now(UTC) - timedelta(hours=1), "v")
    await write_clicks(api, [c])
    foreign = await post(api, mine.headers, GOOD | {"order_id": "A", "click_id": c.click_id})
    missing = await post(api, mine.headers, GOOD | {"order_id": "B", "click_id": "clkNoSuch"})
    assert foreign.status_code == missing.status_code == 201
    a, b = foreign.json()["order"], missing.json()["order"]
    for key in ("attributed", "link_id", "click_id", "matched_by", "unattributed_reason"):
        assert a[key] == b[key], key
    assert a["unattributed_reason"] == "unknown_click" and a["link_id"] is None
    assert theirs.links[0]["id"] not in foreign.text
    async with api.db.transaction(write=False) as tx:
        rows = (await tx.conn.execute(select(t.order_touches))).all()
    assert rows == []


async def test_an_unreadable_csv_upload_is_a_422_not_a_500(api: Api) -> None:
    """A cell longer than the csv module's field limit (128 KiB) raised csv.Error, which
    went up as a 500 from the spend import, the order export import and the exchange-rate
    upload; each now names the field and the line, and stores nothing."""
    s = await shop(api)
    csv_headers = s.headers | {"Content-Type": "text/csv"}
    huge = "x" * 200_000
    spend = f"date,campaign,spend\n2026-11-04,{huge},1.00\n"
    r = await api.http.post(
        "/api/v1/spend/import?format=generic", content=spend.encode(), headers=csv_headers
    )
    body = assert_problem(r, 422, "invalid_input", "file")
    error = body["errors"][0]
    assert error["code"] == "unreadable_csv" and "line 2" in error["message"]
    orders = f"order_id,placed_at,amount,currency\nSO-1,2026-11-04,{huge},USD\n"
    r = await api.http.post(
        "/api/v1/conversions/import",
        params={"preset": "generic"},
        content=orders.encode(),
        headers=csv_headers,
    )
    assert_problem(r, 422, "invalid_input", "file")
    _, operator = await api.tenant("Platform Ops", frozenset({Scope.RATES_WRITE}))
    rates = f"2026-11-01,USD,CNY,{huge}\n"
    r = await api.http.post(
        "/api/v1/fx/rates", content=rates.encode(), headers=operator | {"Content-Type": "text/csv"}
    )
    assert_problem(r, 422, "invalid_input", "rows")
    assert await _stored(api) == 0
    async with api.db.transaction(write=False) as tx:
        for table in (t.ad_spend, t.fx_rates):
            count = select(func.count()).select_from(table)
            assert (await tx.conn.execute(count)).scalar_one() == 0


async def test_spend_file_with_a_quote_never_closed_is_refused_naming_its_line(api: Api) -> None:
    """With more than 128 KB after the stray quote, the csv module's cell limit made this a
    500; a short file lost the rows under the quote into one cell."""
    s = await shop(api)
    headers = s.headers | {"Content-Type": "text/csv"}
    rows = "2026-11-30,sale,a,1.00,USD\n" * 8000
    for tail in (rows, "2026-11-30,sale,a,1.00,USD\n"):
        body = "date,campaign,ad_group,spend,currency\n" + '2026-11-29,"sale,a,1.00,USD\n' + tail
        r = await api.http.post(
            "/api/v1/spend/import?format=generic", content=body, headers=headers
        )
        assert_problem(r, 422, "invalid_input", "file")
        assert r.json()["errors"][0]["code"] == "unclosed_quote"
        assert r.json()["detail"].startswith("file: line 2:")
    async with api.db.transaction(write=False) as tx:
        assert (
            await tx.conn.execute(select(func.count()).select_from(t.ad_spend))
        ).scalar_one() == 0
