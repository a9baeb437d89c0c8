"""Redis goes away under load: redirects keep answering 302, clicks are spooled to disk
by the web process, and replayed when Redis is back; every 302 is counted once."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from stream_support import Load, counted, create_link, wait_counted

from hoplink.storage.database import Database
from private_redis import private_redis
from processes import free_port, hoplink, production_env, wait_http


async def test_redis_outage_spools_and_replays(
    pg: Database, pg_database: str, tmp_path: Path
) -> None:
    link = await create_link(pg)
    data_dir = tmp_path / "data"
    port = free_port()
    with private_redis(tmp_path / "redis", append_only=True) as redis_server:
        env = production_env(
            db_url=pg_database,
            redis_url=redis_server.url,
            prefix="outage:",
            data_dir=data_dir,
            HOPLINK_PORT=str(port),
            HOPLINK_CLICK_STREAM_XADD_TIMEOUT="0.3",
            HOPLINK_CLICK_SPOOL_RETRY_INTERVAL="0.2",
        )
        with (
            hoplink(["serve"], env, tmp_path / "serve.log") as web,
            hoplink(["worker"], env, tmp_path / "worker.log") as worker,
        ):
            url = f"http://127.0.0.1:{port}"
            wait_http(url, proc=web)
            worker.wait_for("hoplink worker running")
            load = Load(url, f"/{link.code}", concurrency=16)
            running = asyncio.create_task(load.run())
            await load.until(200)

            redis_server.stop()  # under load
            before = load.redirects
            await load.until(before + 300)
            spools = list((data_dir / "spool").glob("*/*.seg"))
            assert spools and sum(p.stat().st_size for p in spools) > 0
            web.wait_for("Redis unreachable")

            redis_server.start()  # same port, same append-only file
            web.wait_for("Redis is back", timeout=15)
            await load.until(load.redirects + 150)
            load.stop.set()
            await running

            # Every answer was a redirect: no 5xx, no dropped connection, during the outage.
            assert set(load.statuses) == {302} and load.errors == 0, (load.statuses, load.errors)
            await wait_counted(pg, link.id, load.redirects, within=20)
            assert await counted(pg, link.id) == (load.redirects,) * 3
            web.signal(signal.SIGTERM)
            web.wait(20)
            worker.signal(signal.SIGTERM)
            assert worker.wait(20) == 0
        # Replayed spools are removed when the process stops.
        assert not list((data_dir / "spool").glob("*/*.seg"))
