"""`hoplink serve --workers 2` in production mode, stopped with SIGTERM under load: the
requests in flight are answered, and every 302 a client received is counted once."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

from stream_support import Load, counted, create_link, wait_counted

from hoplink.storage.database import Database
from private_redis import private_redis
from processes import free_port, hoplink, production_env, wait_http


async def test_sigterm_under_load_loses_no_click(
    pg: Database, pg_database: str, tmp_path: Path
) -> None:
    link = await create_link(pg)
    port = free_port()
    with private_redis(tmp_path / "redis", append_only=True) as redis_server:
        env = production_env(
            db_url=pg_database,
            redis_url=redis_server.url,
            prefix="sigterm:",
            data_dir=tmp_path / "data",
            HOPLINK_PORT=str(port),
        )
        with hoplink(["serve", "--workers", "2"], env, tmp_path / "serve.log") as web:
            web.wait_for("with 2 web processes", timeout=30)
            url = f"http://127.0.0.1:{port}"
            wait_http(url, proc=web)
            load = Load(url, f"/{link.code}", concurrency=48)
            running = asyncio.create_task(load.run())
            await load.until(500)
            web.signal(signal.SIGTERM)
            stopped_at, at_signal = time.monotonic(), load.redirects
            status = await asyncio.to_thread(web.wait, 25)
            load.stop.set()
            await running
        assert status == 0, web.text()[-3000:]
        assert "hoplink stopped" in web.text()
        # Answers kept coming after the signal (the requests in hand), and nothing but
        # redirects: connection errors only once the processes had closed their sockets.
        assert set(load.statuses) == {302}, load.statuses
        assert load.first_error_at is not None and load.first_error_at > stopped_at
        assert load.redirects > at_signal
        with hoplink(["worker"], env, tmp_path / "worker.log") as worker:
            worker.wait_for("hoplink worker running")
            await wait_counted(pg, link.id, load.redirects)
            assert await counted(pg, link.id) == (load.redirects,) * 3
            worker.signal(signal.SIGTERM)
            assert worker.wait(20) == 0
