"""A web process loads the most clicked links before it serves (a deploy's first minute),
on real PostgreSQL and Redis: from the Redis tier when another node put them there, from
the database otherwise."""

from __future__ import annotations

import time
from pathlib import Path

from linkcache_nodes import create_link, node, tenant

import factories
from clickids import without_click_id
from dbs import REDIS_URL as SHARED_REDIS
from hoplink.links.models import Link
from hoplink.storage import tables as t
from hoplink.storage.database import Database

TODAY = int(time.time() // 86_400)


async def clicked(pg: Database, count: int) -> list[Link]:
    """``count`` links, the first clicked most (today's page views: count, count - 1, ...)."""
    ws, _ = await tenant(pg)
    links = [await create_link(pg, ws, f"https://shop.example.com/item/{n}") for n in range(count)]
    async with pg.transaction() as tx:
        for n, link in enumerate(links):
            await tx.conn.execute(
                t.rollup_link_days.insert().values(
                    link_id=link.id, workspace_id=ws.id, day=TODAY, pv=count - n,
                    human_pv=count - n, uv_day=1,
                )
            )  # fmt: skip
    return links


async def test_the_most_clicked_links_are_served_from_memory_from_the_first_request(
    pg_database: str, pg: Database, prefix: str, tmp_path: Path
) -> None:
    links = await clicked(pg, 3)
    async with node(
        pg_database, tmp_path, redis_url=SHARED_REDIS, prefix=prefix, redirect_warmup_links=2
    ) as web:
        cache = web.runtime.redirect_cache
        assert len(cache) == 2
        for link in links[:2]:
            r = await web.get(link.code)
            assert r.status_code == 302
            assert without_click_id(r.headers["location"]) == link.final_url
        assert web.selects() == [] and cache.misses == 0
        # The third was not among the two most clicked: its first visitor loads it.
        assert (await web.get(links[2].code)).status_code == 302
        assert cache.misses == 1 and len(web.selects()) == 1


async def test_a_node_started_later_warms_up_from_the_redis_tier(
    pg_database: str, pg: Database, prefix: str, tmp_path: Path
) -> None:
    links = await clicked(pg, 4)
    async with node(pg_database, tmp_path / "a", redis_url=SHARED_REDIS, prefix=prefix) as a:
        assert a.shared.misses == 4  # loaded from the database, then written to Redis
        async with node(pg_database, tmp_path / "b", redis_url=SHARED_REDIS, prefix=prefix) as b:
            assert b.shared.hits == 4 and b.shared.misses == 0
            for link in links:
                r = await b.get(link.code)
                assert without_click_id(r.headers["location"]) == link.final_url
            assert b.selects() == [] and b.runtime.redirect_cache.misses == 0


async def test_no_warm_up_when_turned_off_or_nothing_was_clicked(
    pg_database: str, pg: Database, prefix: str, tmp_path: Path
) -> None:
    ws, _ = await tenant(pg)
    unclicked = await create_link(pg, ws, "https://shop.example.com/quiet")
    async with node(pg_database, tmp_path / "a", redis_url=SHARED_REDIS, prefix=prefix) as a:
        assert len(a.runtime.redirect_cache) == 0
    await clicked(pg, 2)
    async with node(
        pg_database, tmp_path / "b", redis_url=SHARED_REDIS, prefix=prefix, redirect_warmup_links=0
    ) as b:
        assert len(b.runtime.redirect_cache) == 0
        assert (await b.get(unclicked.code, factories.DEFAULT_HOST)).status_code == 302
