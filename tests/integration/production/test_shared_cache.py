"""The Redis tier of link lookups (production mode), on real PostgreSQL and Redis: shared by
nodes, written back after database loads, invalidated, and skipped when Redis is down."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import redis
from linkcache_nodes import Node, create_link, node, tenant

import factories
from changes import committed
from clickids import without_click_id
from dbs import REDIS_URL as SHARED_REDIS
from hoplink.events import LinkChanged, ShortDomainChanged
from hoplink.ids import new_id, utcnow
from hoplink.links.models import ShortDomain
from hoplink.storage.database import Database
from hoplink.storage.redirects import Target, resolve
from hoplink.workspaces.models import WorkspaceStatus
from hoplink.workspaces.service import set_status
from private_redis import private_redis

URL = "https://shop.example.com/item/1005006?sku=42"


def redis_keys(prefix: str) -> set[str]:
    client = redis.Redis.from_url(SHARED_REDIS, decode_responses=True)
    try:
        return set(client.scan_iter(match=prefix + "*"))
    finally:
        client.close()


async def test_a_link_resolved_on_one_node_is_served_by_another_without_a_query(
    nodes: tuple[Node, Node], pg: Database
) -> None:
    a, b = nodes
    ws, _ = await tenant(pg)
    link = await create_link(pg, ws, URL)
    r = await a.get(link.code)
    assert r.status_code == 302 and without_click_id(r.headers["location"]) == link.final_url
    assert len(a.selects()) == 2  # the known hosts, then the link; both written to Redis
    r = await b.get(link.code)
    assert r.status_code == 302 and without_click_id(r.headers["location"]) == link.final_url
    assert b.selects() == []
    assert b.shared.hits == 1
    # Then from B's own memory: a local hit does not touch Redis.
    for _ in range(5):
        assert without_click_id((await b.get(link.code)).headers["location"]) == link.final_url
    assert b.shared.hits == 1 and b.shared.misses == 0


async def test_not_found_is_shared_too_and_a_new_link_clears_it(
    nodes: tuple[Node, Node], pg: Database
) -> None:
    a, b = nodes
    _, auth = await tenant(pg)
    assert (await a.get("summer-sale")).status_code == 404
    assert (await b.get("summer-sale")).status_code == 404
    assert b.selects() == []  # "not found" came from Redis
    # Creating the code through the API on A: the marker is deleted and B is told.
    r = await a.http.post("/api/v1/links", json={"url": URL, "code": "summer-sale"}, headers=auth)
    assert r.status_code == 201, r.text
    await a.invalidation.flushed(2)
    deadline = time.monotonic() + 1
    while (await b.get("summer-sale")).status_code != 302:
        assert time.monotonic() < deadline, "B still says 404"
        await asyncio.sleep(0.01)


async def test_a_load_that_raced_an_edit_is_not_written_back(
    nodes: tuple[Node, Node], pg: Database
) -> None:
    a, _ = nodes
    ws, _ = await tenant(pg)
    link = await create_link(pg, ws, URL)
    key = (factories.DEFAULT_HOST, link.code)
    token, found = await a.shared.get_many([key])  # a loader read the generation ...
    assert token is not None and found == {}
    edit = LinkChanged(ws.id, link.id, factories.DEFAULT_HOST, link.code, "updated")
    await committed(a.db, edit)  # ... an edit came in ...
    await a.invalidation.flushed(2)
    target = await _target(a, link.code)
    await a.shared.put_many(token, [(key, target)])  # ... so its result is dropped
    assert (await a.shared.get_many([key]))[1] == {}
    token, _ = await a.shared.get_many([key])
    await a.shared.put_many(token, [(key, target)])  # a load after the edit is kept
    assert (await a.shared.get_many([key]))[1] == {key: target}


async def _target(n: Node, code: str) -> Target | None:
    async with n.db.engine.connect() as conn:
        return await resolve(conn, factories.DEFAULT_HOST, code)


async def test_suspension_and_domain_changes_delete_the_redis_entries(
    nodes: tuple[Node, Node], pg: Database, prefix: str
) -> None:
    a, b = nodes
    ws, _ = await tenant(pg)
    other, _ = await tenant(pg, "Other Store")
    mine = [await create_link(pg, ws, f"{URL}&n={n}") for n in range(3)]
    theirs = await create_link(pg, other, URL)
    for link in [*mine, theirs]:
        assert (await a.get(link.code)).status_code == 302
    assert len([k for k in redis_keys(prefix) if ":l:" in k]) == 4
    async with a.db.transaction() as tx:
        await set_status(tx, ref=ws.id, status=WorkspaceStatus.SUSPENDED)
    await a.invalidation.flushed(2)
    links = {k.rsplit("/", 1)[1] for k in redis_keys(prefix) if ":l:" in k}
    assert links == {theirs.code}
    b.queries.clear()
    assert (await b.get(mine[0].code)).status_code == 410  # from the database
    assert len(b.selects()) >= 1
    assert (await b.get(theirs.code)).status_code == 302
    await committed(a.db, ShortDomainChanged(None))
    await a.invalidation.flushed(2)
    assert [k for k in redis_keys(prefix) if ":l:" in k or k.endswith(":hosts")] == []


async def test_redirects_keep_working_from_the_database_when_redis_is_down(
    pg_database: str, pg: Database, tmp_path: Path
) -> None:
    ws, _ = await tenant(pg)
    links = [await create_link(pg, ws, f"{URL}&n={n}") for n in range(4)]
    with private_redis(tmp_path / "redis") as server:
        async with node(
            pg_database, tmp_path / "a", redis_url=server.url, prefix="hltest:down:"
        ) as a:
            assert (await a.get(links[0].code)).status_code == 302  # via Redis, then cached
            server.stop()
            started = time.monotonic()
            for link in links[1:]:  # never seen: Redis first (fails), then the database
                r = await a.get(link.code)
                assert (
                    r.status_code == 302
                    and without_click_id(r.headers["location"]) == link.final_url
                )
            assert (await a.get("nosuchcode")).status_code == 404
            assert time.monotonic() - started < 3  # skipped, not waited on, after one error
            assert a.shared.errors >= 1
            assert a.shared.breaker.rejected >= 1  # the breaker skipped Redis afterwards
            # Edits while Redis is down still drop the local copy at once.
            edit = LinkChanged(ws.id, links[0].id, factories.DEFAULT_HOST, links[0].code, "updated")
            await committed(a.db, edit)
            assert (await a.get(links[0].code)).status_code == 302
            assert a.invalidation.pending
            server.start()  # same port: the publisher gets through, the subscriber is back
            assert await a.invalidation.flushed(10)
            await asyncio.wait_for(a.invalidation.subscribed.wait(), 10)
            assert a.invalidation.resubscribes >= 2
            for link in links:
                assert (await a.get(link.code)).status_code == 302


async def test_custom_domains_are_shared_with_their_settings_through_redis(
    nodes: tuple[Node, Node], pg: Database
) -> None:
    """The map of hosts (issue 16) travels through Redis with each domain's settings: node
    B answers a custom domain's root, robots.txt and 404 redirect without a query."""
    a, b = nodes
    ws, _ = await tenant(pg)
    now = utcnow()
    async with pg.transaction() as tx:
        await tx.short_domains.insert(
            ShortDomain(
                id=new_id("dom"),
                hostname="go.brand.example",
                workspace_id=ws.id,
                is_default=False,
                status="verified",
            ),
            now,
        )
        found = await tx.short_domains.by_hostname("go.brand.example")
        assert found is not None
        await tx.short_domains.update(
            found.id,
            root_url="https://brand.example.com/",
            not_found_url="https://brand.example.com/404",
            robots="User-agent: *\nAllow: /\n",
        )
    await committed(a.db, ShortDomainChanged("go.brand.example"))
    await a.invalidation.flushed(2)
    r = await a.get("", host="go.brand.example")
    assert r.status_code == 302 and r.headers["location"] == "https://brand.example.com/"
    b.queries.clear()
    r = await b.get("", host="go.brand.example")
    assert r.status_code == 302 and r.headers["location"] == "https://brand.example.com/"
    assert (await b.get("robots.txt", host="go.brand.example")).text == "User-agent: *\nAllow: /\n"
    assert b.selects() == []
    r = await b.get("nope-nope", host="go.brand.example")  # the code itself is looked up
    assert r.headers["location"] == "https://brand.example.com/404"
