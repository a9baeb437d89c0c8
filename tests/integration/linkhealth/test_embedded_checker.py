"""The checker as deployed: the serving process's embedded worker runs it from the settings
(its own fetcher, resolver, presets), a link created through the API is checked at once,
"check now" through the API is honoured within a poll, and a link.health webhook reaches a
subscribed endpoint's outbox. The names resolve through a local DNS server; the fetcher may
reach exactly the fake marketplace's address (the test allowance)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest_asyncio
from fake_marketplace import Marketplace, Product, running

from api_client import Api, running_api
from security.dns_server import DnsServer, dns_server

API = "/api/v1"


@dataclass
class World:
    api: Api
    auth: dict[str, str]
    market: Marketplace
    dns: DnsServer


@pytest_asyncio.fixture
async def world(db_url: str, tmp_path: Path) -> AsyncIterator[World]:
    market = Marketplace(products={"/phone-1": Product(status=404)})
    async with dns_server() as dns, running(market):
        dns.records[("shopee.sg.", "A")] = [market.address]
        async with running_api(
            db_url,
            tmp_path / "data",
            health_enabled=True,
            health_poll_interval=0.05,
            health_host_delay=0,
            health_timeout=2,
            outbound_dns_servers=dns.address,
            outbound_allow_private=f"{market.address}/32",
        ) as api:
            _ws, auth = await api.tenant()
            yield World(api, auth, market, dns)


async def _state(w: World, link_id: str, want: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for _ in range(200):
        r = await w.api.http.get(f"{API}/links/{link_id}/health", headers=w.auth)
        body = r.json()
        if body["state"] == want:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"still {body.get('state')}: {body}")


async def test_created_link_is_checked_and_check_now_is_honoured(world: World) -> None:
    w = world
    r = await w.api.http.post(
        f"{API}/webhooks",
        json={"url": f"http://{w.market.address}/hook", "events": ["link.health"]},
        headers=w.auth,
    )
    assert r.status_code == 201, r.text
    r = await w.api.http.post(
        f"{API}/links", json={"url": "http://shopee.sg/phone-1"}, headers=w.auth
    )
    assert r.status_code == 201, r.text
    link_id = r.json()["id"]
    broken = await _state(w, link_id, "broken")
    assert broken["reason"] == "http_404" and broken["history"][0]["new_state"] == "broken"
    assert ("shopee.sg.", "A") in w.dns.queries

    w.market.products["/phone-1"] = Product()
    r = await w.api.http.post(f"{API}/links/{link_id}/health/check", headers=w.auth)
    assert r.status_code == 202
    healthy = await _state(w, link_id, "healthy")
    assert [h["new_state"] for h in healthy["history"]] == ["healthy", "broken"]
    summary = (await w.api.http.get(f"{API}/health", headers=w.auth)).json()
    assert summary["counts"]["healthy"] == 1
    # Both changes went to the webhook (delivered to the marketplace's /hook or queued).
    for _ in range(100):
        if len(w.market.seen("/hook", "POST")) >= 2:
            break
        await asyncio.sleep(0.05)
    assert len(w.market.seen("/hook", "POST")) == 2
