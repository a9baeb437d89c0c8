"""Destination health against a local fake marketplace, on SQLite and PostgreSQL.

The marketplace plays shopee.sg (the shipped presets apply: its sold-out text, its search
page) on a random loopback address; a second server plays a shop whose certificate nobody
trusts. The SSRF canaries listen on 127.0.0.1-3 (ports 80 and 443): a product that
redirects there, and a shop whose name resolves there, must be judged without a single
connection reaching them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest_asyncio
from fake_marketplace import Marketplace, Product, resolver_for, running, self_signed

import factories
from hoplink.ids import utcnow
from hoplink.linkhealth.checker import HealthChecker
from hoplink.linkhealth.markers import load_presets
from hoplink.linkhealth.probe import Prober
from hoplink.linkhealth.service import HealthOnCommit, check_now, link_health, set_auto_fallback
from hoplink.links import experiments
from hoplink.links.models import Link
from hoplink.links.service import LinkSpec, create_links, update_link
from hoplink.links.spec import LinkEdit, LinkRules
from hoplink.net.fetch import FetchLimits, SafeFetcher
from hoplink.observability.metrics import REGISTRY
from hoplink.storage.database import Database
from hoplink.webhooks.secrets import SecretBox
from hoplink.webhooks.service import create_endpoint
from hoplink.workspaces.models import Workspace

SHOP = "shopee.sg"
TLS_SHOP = "secure-shop.example"
INTERNAL_SHOP = "intranet-shop.example"  # resolves to a canary's address
CANARY_HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")


@dataclass
class Canaries:
    hits: list[tuple[str, int]] = field(default_factory=list)
    servers: list[asyncio.Server] = field(default_factory=list)


@pytest_asyncio.fixture
async def canaries() -> AsyncIterator[Canaries]:
    found = Canaries()
    for host in CANARY_HOSTS:
        for port in (80, 443):

            async def hit(
                r: asyncio.StreamReader, w: asyncio.StreamWriter, at: tuple[str, int] = (host, port)
            ) -> None:
                found.hits.append(at)
                w.close()

            found.servers.append(
                await asyncio.start_server(
                    hit, host, port, family=socket.AF_INET, reuse_address=True
                )
            )
    try:
        yield found
    finally:
        for server in found.servers:
            server.close()
            await server.wait_closed()


@dataclass
class World:
    db: Database
    market: Marketplace
    tls_market: Marketplace
    ws: Workspace
    names: dict[str, str]


def _products() -> dict[str, Product]:
    return {
        "/live-1": Product(etag='"v1"'),
        "/soldout-1": Product(body="<html><h1>Phone case</h1><div>Sold out</div></html>"),
        "/delisted-1": Product(status=302, location="/search?keyword=phone+case"),
        "/gone-1": Product(status=404, body="not here"),
        "/slow-1": Product(delay=3.0),
        "/to-canary-1": Product(status=302, location="http://127.0.0.1/admin"),
        "/flip-1": Product(status=404),
        "/head-refused-1": Product(head_status=405),
    }


@pytest_asyncio.fixture
async def world(db: Database, tmp_path: Path, canaries: Canaries) -> AsyncIterator[World]:
    db.listeners.before_commit(HealthOnCommit())
    market = Marketplace(products=_products())
    tls_market = Marketplace(products={"/secure-item-1": Product()})
    async with running(market), running(tls_market, port=443, tls=self_signed(tmp_path, TLS_SHOP)):
        names = {SHOP: market.address, TLS_SHOP: tls_market.address, INTERNAL_SHOP: "127.0.0.2"}
        async with db.transaction() as tx:
            ws = await factories.workspace(tx)
        yield World(db, market, tls_market, ws, names)
    assert canaries.hits == [], "a private address was fetched"


def checker(w: World, *, timeout: float = 1.0, per_host: int = 8, batch: int = 50) -> HealthChecker:
    limits = FetchLimits(
        connect_timeout=timeout,
        total_timeout=timeout,
        max_redirects=5,
        # The test allowance: exactly the two fake shops' addresses, nothing else private.
        allow_networks=tuple(
            ipaddress.ip_network(f"{a}/32") for a in (w.market.address, w.tls_market.address)
        ),
    )
    fetcher = SafeFetcher(limits, resolver=resolver_for(w.names))
    prober = Prober(fetcher, presets=load_presets(), per_host=per_host, host_delay=0.0)
    return HealthChecker(db=w.db, prober=prober, batch=batch, concurrency=16)


async def make_links(w: World, urls: Sequence[str], **spec: object) -> list[Link]:
    async with w.db.transaction() as tx:
        domain = await factories.domain(tx)
        made = await create_links(
            tx, workspace=w.ws, domain=domain, actor="test", rules=LinkRules(),
            specs=[LinkSpec(url=u, **spec) for u in urls],  # type: ignore[arg-type]
            all_or_nothing=True,
        )  # fmt: skip
    return [m for m in made if isinstance(m, Link)]


async def states(w: World, links: Sequence[Link]) -> dict[str, tuple[str, str | None]]:
    async with w.db.transaction() as tx:
        out = {}
        for link in links:
            health, _ = await link_health(tx, workspace=w.ws, link_id=link.id)
            out[link.destination_url.rsplit("/", 1)[1]] = (health.state, health.reason)
        return out


def _counted(state: str) -> float:
    return REGISTRY.get_sample_value("hoplink_health_checks_total", {"state": state}) or 0.0


async def _messages(w: World) -> list[dict[str, object]]:
    async with w.db.transaction() as tx:
        found = await tx.webhooks(w.ws.id).messages(limit=500)
    return [orjson.loads(m.payload) for m in found if m.event_type == "link.health"]


async def _subscribe(w: World) -> None:
    async with w.db.transaction() as tx:
        await create_endpoint(
            tx, workspace_id=w.ws.id, url="https://hooks.example/in", events=("link.health",),
            box=SecretBox("k" * 32),
        )  # fmt: skip


async def test_each_product_gets_its_state_within_one_check(world: World) -> None:
    w = world
    await _subscribe(w)
    urls = [f"http://{SHOP}{p}" for p in w.market.products if p != "/flip-1"]
    urls += [f"https://{TLS_SHOP}/secure-item-1", f"http://{INTERNAL_SHOP}/intranet-item-1"]
    links = await make_links(w, urls)
    broken_before = _counted("broken")
    assert await checker(w).check_due() == len(links)
    assert _counted("broken") - broken_before == 5  # hoplink_health_checks_total
    assert await states(w, links) == {
        "live-1": ("healthy", "ok"),
        "soldout-1": ("degraded", "sold_out"),
        "delisted-1": ("broken", "redirected_search"),
        "gone-1": ("broken", "http_404"),
        "slow-1": ("degraded", "timeout"),
        "to-canary-1": ("broken", "refused"),
        "head-refused-1": ("healthy", "ok"),
        "secure-item-1": ("broken", "tls"),
        "intranet-item-1": ("broken", "refused"),
    }
    # Politeness: robots.txt asked once per origin, every request names hoplink.
    assert len(w.market.seen("/robots.txt")) == 1
    assert all("hoplink" in r.headers["user-agent"] for r in w.market.requests)
    # HEAD first; a page with markers to look for is then read with GET.
    assert [r.method for r in w.market.seen("/live-1")] == ["HEAD", "GET"]
    assert [r.method for r in w.market.seen("/gone-1")] == ["HEAD", "GET"]
    # Every change that matters became a link.health webhook in the outbox (not "healthy",
    # the first state of a new link, which is no news).
    sent = {str(m["data"]["url"]).rsplit("/", 1)[1]: m["data"] for m in await _messages(w)}  # type: ignore[index]
    assert set(sent) == {
        "soldout-1", "delisted-1", "gone-1", "slow-1", "to-canary-1", "secure-item-1",
        "intranet-item-1",
    }  # fmt: skip
    assert sent["gone-1"]["state"] == "broken" and sent["gone-1"]["previous_state"] == "unknown"
    assert sent["gone-1"]["reason"] == "http_404" and sent["gone-1"]["status_code"] == 404


async def test_second_round_is_conditional_and_unchanged_pages_are_not_read(world: World) -> None:
    w = world
    [link] = await make_links(w, [f"http://{SHOP}/live-1"])
    check = checker(w)
    await check.check_due()
    async with w.db.transaction() as tx:
        assert await check_now(tx, workspace=w.ws, link_id=link.id) == 1
    await check.check_due()
    second = w.market.seen("/live-1")[2:]
    assert [r.method for r in second] == ["HEAD"]  # 304: the page is not fetched again
    assert second[0].headers["if-none-match"] == '"v1"'
    assert (await states(w, [link]))["live-1"] == ("healthy", "ok")


async def test_robots_disallow_is_obeyed(world: World) -> None:
    w = world
    w.market.robots = "User-agent: hoplink\nDisallow: /\n"
    [link] = await make_links(w, [f"http://{SHOP}/live-1"])
    await checker(w).check_due()
    assert (await states(w, [link]))["live-1"] == ("unknown", "robots_disallowed")
    assert w.market.seen("/live-1") == []


async def test_auto_fallback_switches_while_broken_and_back_when_healthy(world: World) -> None:
    w = world
    [link] = await make_links(w, [f"http://{SHOP}/flip-1"], expiry_url=f"http://{SHOP}/live-1")
    async with w.db.transaction() as tx:
        await set_auto_fallback(tx, workspace=w.ws, link_id=link.id, mode="broken", actor="t")
    check = checker(w)
    await check.check_due()
    async with w.db.transaction() as tx:
        switched = await tx.links(w.ws.id).get(link.id)
        health, history = await link_health(tx, workspace=w.ws, link_id=link.id)
    assert switched is not None and switched.destination_url == f"http://{SHOP}/live-1"
    assert health.state == "broken" and health.switched_from == f"http://{SHOP}/flip-1"
    assert [(e.new_state, e.switch) for e in history] == [("broken", "to_fallback")]

    # While switched, the original destination is what gets checked; it comes back.
    w.market.products["/flip-1"] = Product()
    async with w.db.transaction() as tx:
        await check_now(tx, workspace=w.ws, link_id=link.id)
    await check.check_due()
    async with w.db.transaction() as tx:
        restored = await tx.links(w.ws.id).get(link.id)
        health, history = await link_health(tx, workspace=w.ws, link_id=link.id)
        changes = await tx.links(w.ws.id).history(link.id)
    assert restored is not None and restored.destination_url == f"http://{SHOP}/flip-1"
    assert health.state == "healthy" and not health.switched
    assert [(e.new_state, e.switch) for e in history] == [
        ("healthy", "restored"),
        ("broken", "to_fallback"),
    ]
    # The link's own history shows both edits, by the health check.
    moves = [(h.old_value, h.new_value) for h in changes if h.field == "destination_url"]
    assert (f"http://{SHOP}/flip-1", f"http://{SHOP}/live-1") in moves
    assert (f"http://{SHOP}/live-1", f"http://{SHOP}/flip-1") in moves


async def test_two_checkers_never_check_one_link_twice_in_a_round(
    world: World, db_url: str
) -> None:
    from dbs import async_url

    w = world
    for i in range(40):
        w.market.products[f"/p-{i}"] = Product(delay=0.02)
    links = await make_links(w, [f"http://{SHOP}/p-{i}" for i in range(40)])
    other_db = Database.from_url(async_url(db_url))
    try:
        first = checker(w, batch=7)
        second = checker(w, batch=7)
        second.db = other_db

        async def drain(c: HealthChecker) -> None:
            while await c.check_due():
                pass

        await asyncio.gather(drain(first), drain(second))
    finally:
        await other_db.dispose()
    assert first.checked + second.checked == len(links)
    assert first.checked > 0 and second.checked > 0
    for i in range(40):
        assert len(w.market.seen(f"/p-{i}", "HEAD")) == 1, f"/p-{i}"
    assert set((await states(w, links)).values()) == {("healthy", "ok")}


async def test_per_host_limit_holds(world: World) -> None:
    w = world
    for i in range(12):
        w.market.products[f"/q-{i}"] = Product(delay=0.1)
    await make_links(w, [f"http://{SHOP}/q-{i}" for i in range(12)])
    await checker(w, per_host=2).check_due()
    assert w.market.most_in_flight == 2


async def test_owner_edit_or_turning_fallback_off_ends_the_switch(world: World) -> None:
    w = world
    first, second = await make_links(
        w, [f"http://{SHOP}/gone-1", f"http://{SHOP}/delisted-1"],
        expiry_url=f"http://{SHOP}/live-1",
    )  # fmt: skip
    async with w.db.transaction() as tx:
        for link in (first, second):
            await set_auto_fallback(tx, workspace=w.ws, link_id=link.id, mode="broken", actor="t")
    await checker(w).check_due()
    async with w.db.transaction() as tx:
        for link in (first, second):
            found = await tx.links(w.ws.id).get(link.id)
            assert found is not None and found.destination_url == f"http://{SHOP}/live-1"
        # The owner points the first link somewhere else: theirs wins, the switch ends.
        await update_link(
            tx, workspace=w.ws, link_id=first.id, edit=LinkEdit(url=f"http://{SHOP}/p-new"),
            actor="owner",
        )  # fmt: skip
        # Turning automatic fallback off puts the second link's product URL back at once.
        await set_auto_fallback(tx, workspace=w.ws, link_id=second.id, mode="off", actor="t")
    async with w.db.transaction() as tx:
        one, _ = await link_health(tx, workspace=w.ws, link_id=first.id)
        two, _ = await link_health(tx, workspace=w.ws, link_id=second.id)
        edited = await tx.links(w.ws.id).get(first.id)
        restored = await tx.links(w.ws.id).get(second.id)
    assert not one.switched and edited is not None
    assert edited.destination_url == f"http://{SHOP}/p-new"
    assert one.next_check_at <= utcnow()  # its URL changed: due at once
    assert not two.switched and restored is not None
    assert restored.destination_url == f"http://{SHOP}/delisted-1"


async def test_rule_and_variant_urls_are_checked_too(world: World) -> None:
    w = world
    [link] = await make_links(w, [f"http://{SHOP}/live-1"])
    async with w.db.transaction() as tx:
        await experiments.start_test(
            tx, workspace=w.ws, link_id=link.id, actor=None, policy=None,
            variants=[{"weight": 1}, {"url": f"http://{SHOP}/gone-1", "weight": 1}],
        )  # fmt: skip
    await checker(w).check_due()
    async with w.db.transaction() as tx:
        health, _ = await link_health(tx, workspace=w.ws, link_id=link.id)
    assert (health.state, health.reason, health.url) == (
        "broken", "http_404", f"http://{SHOP}/gone-1",
    )  # fmt: skip
    assert w.market.seen("/live-1") and w.market.seen("/gone-1")
