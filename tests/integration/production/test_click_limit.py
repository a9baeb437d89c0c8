"""A link's click limit under load in production mode: 32 concurrent clients on
`hoplink serve --workers 2`, `hoplink worker` counting. The link expires (answers its expiry
URL) and the overshoot stays within the documented tolerance (docs/campaigns.md): the
clicks served while the worker's count and the invalidation travel, at most the request
rate times (flush interval + invalidation bound + one batch)."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

import factories
from clickids import without_click_id
from hoplink.links import service
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.storage.database import Database
from hoplink.storage.tables import clicks
from private_redis import private_redis
from processes import free_port, hoplink, production_env, wait_http

LIMIT = 400
EXPIRED = "https://shop.example.com/sold-out"
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Version/17.4 Mobile Safari"
FLUSH = 0.05
# The documented bound on how long the edge keeps serving after the limit-th human click:
# the worker's flush interval, its batch commit (milliseconds on a quiet machine; this test
# allows 5 s, seen on a machine running many test suites at once) and the invalidation
# bound (1 s).
COMMIT_SECONDS = 5.0
SLACK_SECONDS = FLUSH + COMMIT_SECONDS + 1.0


async def test_max_clicks_across_two_web_processes_with_32_clients(
    pg: Database, pg_database: str, tmp_path: Path
) -> None:
    async with pg.transaction() as tx:
        link = await service.create_link(
            tx,
            workspace=await factories.workspace(tx),
            domain=await factories.domain(tx),
            spec=LinkSpec(url="https://shop.example.com/item/1", max_clicks=LIMIT,
                          expiry_url=EXPIRED),
            actor=None,
            rules=LinkRules(),
        )  # fmt: skip
    port = free_port()
    with private_redis(tmp_path / "redis", append_only=True) as redis_server:
        env = production_env(
            db_url=pg_database,
            redis_url=redis_server.url,
            prefix="limit:",
            data_dir=tmp_path / "data",
            HOPLINK_PORT=str(port),
            HOPLINK_WORKER_FLUSH_INTERVAL=str(FLUSH),
        )
        with (
            hoplink(["serve", "--workers", "2"], env, tmp_path / "serve.log") as web,
            hoplink(["worker"], env, tmp_path / "worker.log") as worker,
        ):
            web.wait_for("with 2 web processes", timeout=90)
            worker.wait_for("hoplink worker running", timeout=90)
            url = f"http://127.0.0.1:{port}"
            wait_http(url, timeout=90, proc=web)
            served: list[str] = []
            expired_at: list[float] = []
            stop = asyncio.Event()

            async def client(http: httpx.AsyncClient) -> None:
                while not stop.is_set():
                    r = await http.get(f"/{link.code}")
                    assert r.status_code == 302, r.text
                    location = without_click_id(r.headers["location"])  # hl_click=...
                    served.append(location)
                    if location == EXPIRED and not expired_at:
                        expired_at.append(time.monotonic())
                    # Keep going a while after expiry: no node may serve the link again.
                    if expired_at and time.monotonic() - expired_at[0] > 2.0:
                        stop.set()

            headers = {"host": factories.DEFAULT_HOST, "user-agent": BROWSER}
            limits = httpx.Limits(max_connections=32)
            started = time.monotonic()
            async with httpx.AsyncClient(
                base_url=url, headers=headers, limits=limits, timeout=10
            ) as http:
                await asyncio.wait_for(asyncio.gather(*(client(http) for _ in range(32))), 120)
            assert expired_at, "the link never expired"
            elapsed = expired_at[0] - started
            live = [loc for loc in served if loc != EXPIRED]
            rate = len(live) / elapsed
            # After the first expiry answer, both processes answer the expiry URL (allow
            # the requests already in flight, one per client).
            first = served.index(EXPIRED)
            assert sum(1 for loc in served[first:] if loc != EXPIRED) <= 32
            overshoot = len(live) - LIMIT
            print(
                f"limit {LIMIT}: {len(live)} served before expiry (overshoot {overshoot}) at"
                f" {rate:,.0f} req/s; tolerance {rate * SLACK_SECONDS:,.0f}"
            )
            assert 0 <= overshoot <= rate * SLACK_SECONDS
            for proc in (web, worker):
                proc.signal(signal.SIGTERM)
            assert web.wait(25) == 0 and worker.wait(25) == 0
    async with pg.engine.connect() as conn:
        humans = await conn.scalar(
            select(func.count()).where(clicks.c.link_id == link.id, clicks.c.bot.is_(None))
        )
    assert humans is not None and humans >= LIMIT
