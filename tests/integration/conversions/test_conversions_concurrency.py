"""50 concurrent posts of one order make one order, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from conv_support import post, shop
from sqlalchemy import func, select

from api_client import Api, running_api
from hoplink.storage import tables as t


@pytest_asyncio.fixture
async def api(db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(db_url, tmp_path / "data") as client:
        yield client


async def _counts(api: Api) -> tuple[int, int]:
    async with api.db.transaction(write=False) as tx:
        orders = (await tx.conn.execute(select(func.count()).select_from(t.orders))).scalar_one()
        events = (
            await tx.conn.execute(select(func.count()).select_from(t.conversion_events))
        ).scalar_one()
    return int(orders), int(events)


async def test_fifty_concurrent_posts_of_the_same_order_make_one(api: Api) -> None:
    s = await shop(api)
    body = {"type": "purchase", "order_id": "RACE-1", "amount": 4200, "currency": "USD"}
    answers = await asyncio.gather(*(post(api, s.headers, body) for _ in range(50)))
    statuses = Counter(r.json()["status"] for r in answers)
    assert statuses == {"created": 1, "duplicate": 49}, statuses
    assert {r.json()["order"]["id"] for r in answers} == {answers[0].json()["order"]["id"]}
    assert await _counts(api) == (1, 1)


async def test_concurrent_posts_with_their_own_event_ids_and_refunds(api: Api) -> None:
    s = await shop(api)
    body = {"type": "purchase", "order_id": "RACE-2", "amount": 5000, "currency": "USD"}
    answers = await asyncio.gather(
        *(post(api, s.headers, body | {"event_id": f"evt-{i}"}) for i in range(50))
    )
    assert Counter(r.json()["status"] for r in answers) == {"created": 1, "duplicate": 49}
    # the same refund 50 times at once: refunded once
    refund = {"type": "refund", "order_id": "RACE-2", "amount": 1000, "event_id": "rf"}
    answers = await asyncio.gather(*(post(api, s.headers, refund) for _ in range(50)))
    assert Counter(r.json()["status"] for r in answers) == {"refunded": 1, "duplicate": 49}
    async with api.db.transaction(write=False) as tx:
        refunded = (await tx.conn.execute(select(t.orders.c.refunded))).scalar_one()
    assert refunded == 1000
    assert await _counts(api) == (1, 2)
