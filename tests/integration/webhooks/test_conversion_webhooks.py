"""Conversions reach webhooks: a purchase, a changed amount and a refund each arrive once,
signed (verified with the standardwebhooks package), with the order as it then stands;
duplicates and leads send nothing; a bulk call's purchases arrive too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from receiver import Receiver, running_receiver

from api_client import Api, running_api
from processes import SECRET

API = "/api/v1"
EVENTS = ["conversion.created", "conversion.updated", "conversion.refunded"]


@pytest_asyncio.fixture
async def api(db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(
        db_url,
        tmp_path / "data",
        secret_key=SECRET,
        outbound_allow_private=("127.0.0.1",),
        webhook_poll_interval=0.05,
        webhook_retry_base=0.05,
    ) as client:
        yield client


async def _arrived(rx: Receiver, count: int) -> list[dict[str, Any]]:
    for _ in range(1200):
        if len(rx.events) >= count:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # and nothing more than that
    return sorted(rx.events.values(), key=lambda e: (e["timestamp"], e["type"]))


async def test_purchase_update_refund_each_arrive_once(api: Api) -> None:
    async with running_receiver(Receiver()) as rx:
        _ws, auth = await api.tenant()
        r = await api.http.post(
            f"{API}/webhooks", json={"url": rx.url, "events": EVENTS}, headers=auth
        )
        assert r.status_code == 201, r.text
        rx.secrets.append(r.json()["secret"])

        async def post(body: dict[str, Any]) -> None:
            got = await api.http.post(f"{API}/conversions", json=body, headers=auth)
            assert got.status_code in (200, 201), got.text

        purchase = {"type": "purchase", "order_id": "SO-1", "amount": 10_000, "currency": "USD"}
        await post(purchase)
        await post(purchase)  # a duplicate: no second webhook
        await post({"type": "lead", "event_id": "lead-1"})  # leads have no webhook
        await post(purchase | {"amount": 12_000, "event_id": "so-1-again"})
        await post({"type": "refund", "order_id": "SO-1", "amount": 2_000, "event_id": "rf-1"})
        events = await _arrived(rx, 3)
        assert [e["type"] for e in events] == EVENTS
        created, updated, refunded = (e["data"] for e in events)
        assert created["order_id"] == "SO-1" and created["amount"] == 10_000
        assert updated["amount"] == 12_000 and updated["revision"] == 2
        assert refunded["refunded"] == 2_000 and refunded["net"] == 10_000
        assert refunded["status"] == "partially_refunded"
        assert all("customer" not in e["data"] for e in events)


async def test_bulk_purchases_arrive(api: Api) -> None:
    async with running_receiver(Receiver()) as rx:
        _ws, auth = await api.tenant()
        r = await api.http.post(
            f"{API}/webhooks", json={"url": rx.url, "events": ["conversion.created"]}, headers=auth
        )
        rx.secrets.append(r.json()["secret"])
        events = [
            {"type": "purchase", "order_id": f"B-{i}", "amount": 100 + i, "currency": "EUR"}
            for i in range(5)
        ] + [{"type": "purchase", "order_id": "bad", "amount": -1, "currency": "EUR"}]
        got = await api.http.post(f"{API}/conversions", json={"events": events}, headers=auth)
        assert got.status_code == 200, got.text
        assert got.json()["accepted"] == 5
        arrived = await _arrived(rx, 5)
        assert sorted(e["data"]["order_id"] for e in arrived) == [f"B-{i}" for i in range(5)]
