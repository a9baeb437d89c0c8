"""404s on the redirect host are limited per client address (code enumeration): after the
allowed misses, further unknown codes get 429 with Retry-After, while existing links keep
redirecting and other addresses are not affected."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import edge_client
import httpx
import pytest
from edge_client import running_edge
from redis.asyncio import Redis

from clickids import without_click_id
from dbs import REDIS_URL as SHARED_REDIS_URL


async def test_an_address_guessing_codes_gets_429_and_its_links_still_work(
    db_url: str, tmp_path: Path
) -> None:
    async with running_edge(
        db_url, tmp_path / "data", rate_limit_redirect_404="5/10m", trusted_proxies="10.0.0.0/8"
    ) as edge:
        ws = await edge.workspace()
        link = await edge.link(ws, "https://shop.example.com/item/9")
        for i in range(5):
            assert (await edge.http.get(f"/nope{i:03d}")).status_code == 404
        # Paths that cannot be codes (favicon.ico, robots.txt) are not counted as guesses.
        for path in ("/favicon.ico", "/a/b"):
            assert (await edge.http.get(path)).status_code == 404
        assert (await edge.http.get("/robots.txt")).status_code == 200  # the domain's own
        refused = await edge.http.get("/nope999")
        assert refused.status_code == 429
        assert 100 <= int(refused.headers["retry-after"]) <= 120  # one more every 120 s
        assert "Too many unknown links" in refused.text
        assert refused.headers["cache-control"] == "no-store"
        head = await edge.http.head("/nope998")
        assert head.status_code == 429 and head.content == b""
        # An existing link still redirects for that same address.
        hit = await edge.http.get(f"/{link.code}")
        assert hit.status_code == 302
        assert without_click_id(hit.headers["location"]) == link.final_url
        assert edge.app.redirect.misses_refused == 2
        # Another address (here behind a trusted proxy) is not affected.
        transport = httpx.ASGITransport(app=edge.app, client=("10.1.2.3", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://hop.test") as other:
            r = await other.get("/nope999", headers={"X-Forwarded-For": "198.51.100.40"})
            assert r.status_code == 404
            # The client address is what counts: the guesser, now through the proxy, is
            # still refused (the proxy's other clients are not lumped with it).
            r = await other.get("/nope999", headers={"X-Forwarded-For": "1.0.16.20"})
            assert r.status_code == 429


async def test_hits_never_touch_the_limiter(db_url: str, tmp_path: Path) -> None:
    async with running_edge(db_url, tmp_path / "data", rate_limit_redirect_404="1/1h") as edge:
        ws = await edge.workspace()
        link = await edge.link(ws, "https://shop.example.com/item/10")
        for _ in range(50):
            assert (await edge.http.get(f"/{link.code}")).status_code == 302
        assert len(edge.runtime.rate_limiter.local) == 0
        assert (await edge.http.get("/unknown1")).status_code == 404
        assert (await edge.http.get("/unknown2")).status_code == 429
        assert len(edge.runtime.rate_limiter.local) == 1


async def test_the_404_path_stays_fast(db_url: str, tmp_path: Path) -> None:
    """Misses answered by the negative cache, then by the limiter: both well under 5 ms."""
    async with running_edge(db_url, tmp_path / "data", rate_limit_redirect_404="20/1m") as edge:
        timings: dict[int, list[float]] = {404: [], 429: []}
        for i in range(200):
            started = time.perf_counter()
            r = await edge.http.get(f"/miss{i % 10}")
            timings[r.status_code].append(time.perf_counter() - started)
        assert len(timings[404]) == 20 and len(timings[429]) == 180
        median_429 = sorted(timings[429])[len(timings[429]) // 2]
        print(f"\nmedian 429 answer through the in-process client: {median_429 * 1e6:.0f} µs")
        assert median_429 < 0.005


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # production mode
async def test_web_nodes_sharing_redis_share_the_404_budget(db_url: str, tmp_path: Path) -> None:
    prefix = f"hltest:{uuid.uuid4().hex}:"
    shared = {
        "redis_url": SHARED_REDIS_URL,
        "redis_key_prefix": prefix,
        "rate_limit_redirect_404": "6/10m",
        "secret_key": "one-secret-for-every-node-" + "s" * 32,  # as production requires
    }
    try:
        async with (
            running_edge(db_url, tmp_path / "a", **shared) as node_a,
            running_edge(db_url, tmp_path / "b", **shared) as node_b,
        ):
            for i in range(6):  # misses alternate between the nodes
                node = node_a if i % 2 else node_b
                assert (await node.http.get(f"/gone{i}")).status_code == 404
            for node in (node_a, node_b):
                assert (await node.http.get("/gone99")).status_code == 429
                assert node.runtime.rate_limiter.fallbacks == 0
        client = Redis.from_url(SHARED_REDIS_URL)
        keys = [k.decode() async for k in client.scan_iter(match=f"{prefix}rl:*")]
        await client.aclose()
        assert len(keys) == 1 and edge_client.PEER not in keys[0]
    finally:
        client = Redis.from_url(SHARED_REDIS_URL)
        found = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if found:
            await client.delete(*found)
        await client.aclose()
