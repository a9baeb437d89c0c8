"""Redirects/s of the three lookup paths of production mode, in one process, no network
client: the redirect ASGI app is called directly, so the figures are hoplink's own cost.

- local hit: the link is in the in-process cache (Redis is not touched);
- Redis hit: redirect_cache_size=0 (links are never kept locally; the known hosts still
  are), so every lookup is answered by the Redis tier (concurrent misses share one MGET);
- database: both caches off, every lookup is a (batched) PostgreSQL query.
Each path is measured twice: the lookup alone (Resolver.resolve) and the whole redirect
(lookup + click capture + XADD to the Redis Stream + 302), with 64 concurrent requests.

    .venv/bin/python bench/linkcache.py [--links 1000] [--seconds 5]

Needs PostgreSQL (HOPLINK_TEST_PG_URL; a fresh database is created and dropped) and Redis
(HOPLINK_TEST_REDIS_URL, default redis://127.0.0.1:6379/0; a key prefix of its own).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import factories
from hoplink.app import HoplinkApp
from hoplink.config import load_settings
from hoplink.links import service
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.storage import migrate
from hoplink.storage.database import create_engine

PG = os.environ.get("HOPLINK_TEST_PG_URL", "postgresql://127.0.0.1:5432/test")
REDIS = os.environ.get("HOPLINK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
CONCURRENCY = 64


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(PG.replace("postgresql://", "postgres://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def run_for(seconds: float, one: Any) -> float:
    """Requests/s of ``one()`` with CONCURRENCY callers."""
    done = 0
    stop = time.monotonic() + seconds

    async def caller() -> None:
        nonlocal done
        while time.monotonic() < stop:
            await one()
            done += 1

    started = time.monotonic()
    await asyncio.gather(*(caller() for _ in range(CONCURRENCY)))
    return done / (time.monotonic() - started)


def scope(code: str) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": f"/{code}",
        "query_string": b"",
        "headers": [
            (b"host", b"hop.test"),
            (b"user-agent", b"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)"),
            (b"accept-language", b"en-US,en;q=0.9"),
        ],
        "client": ("1.0.16.20", 50000),
    }


async def measure(name: str, url: str, prefix: str, codes: list[str], seconds: float, **kw: Any):
    with tempfile.TemporaryDirectory() as data:
        settings = load_settings(
            database_url=url,
            data_dir=Path(data),
            default_domain="hop.test",
            redis_url=REDIS,
            redis_key_prefix=prefix,
            secret_key="bench-" + "x" * 32,
            **kw,
        )
        app = HoplinkApp(settings, services=())
        await app.start()
        try:
            resolver = app.redirect.resolver
            for code in codes:  # everything loaded once: into Redis (and the local cache)
                await resolver.resolve("hop.test", code)

            async def lookup() -> None:
                await resolver.resolve("hop.test", random.choice(codes))

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": b"", "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    assert message["status"] == 302, message

            async def redirect() -> None:
                await app.redirect(scope(random.choice(codes)), receive, send)

            lookups = await run_for(seconds, lookup)
            redirects = await run_for(seconds, redirect)
            print(f"{name:<12} lookups/s {lookups:>9,.0f}   redirects/s {redirects:>7,.0f}")
        finally:
            await app.stop()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--links", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    name = f"hoplink_bench_{secrets.token_hex(4)}"
    await admin(f'CREATE DATABASE "{name}"')
    prefix = f"bench:{secrets.token_hex(4)}:"
    url = PG.rsplit("/", 1)[0] + "/" + name
    try:
        engine = create_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
        await migrate.upgrade(engine)
        await engine.dispose()
        from hoplink.storage.database import Database

        db = Database.from_url(url.replace("postgresql://", "postgresql+asyncpg://"))
        codes = []
        async with db.transaction() as tx:
            dom = await factories.domain(tx)
            ws = await factories.workspace(tx)
            for n in range(args.links):
                link = await service.create_link(
                    tx,
                    workspace=ws,
                    domain=dom,
                    spec=LinkSpec(url=f"https://shop.example.com/item/{n}?sku=42"),
                    actor=None,
                    rules=LinkRules(),
                )
                codes.append(link.code)
        await db.dispose()
        print(f"{args.links} links, {CONCURRENCY} concurrent requests, {args.seconds:.0f} s each")
        await measure("local hit", url, prefix, codes, args.seconds)
        await measure("Redis hit", url, prefix, codes, args.seconds, redirect_cache_size=0)
        await measure(
            "database",
            url,
            prefix + "db:",
            codes,
            args.seconds,
            redirect_cache_size=0,
            shared_cache_ttl=0,
        )
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        client = redis.Redis.from_url(REDIS)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


if __name__ == "__main__":
    asyncio.run(main())
