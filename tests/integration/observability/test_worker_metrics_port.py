"""``hoplink worker --metrics-port``: the worker process serves its own metrics."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from obs_support import Samples, running, samples, total

import factories
from dbs import REDIS_URL as SHARED_REDIS
from hoplink.clicks.models import Click
from hoplink.ingest.journal import ClickJournal
from hoplink.links import service
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.storage.database import Database
from private_redis import key_prefix
from processes import Proc, free_port, hoplink, production_env

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


async def test_worker_serves_its_metrics(db: Database, db_url: str, tmp_path: Path) -> None:
    async with db.transaction() as tx:
        dom = await factories.domain(tx)
        ws = await factories.workspace(tx)
        link = await service.create_link(
            tx,
            workspace=ws,
            domain=dom,
            spec=LinkSpec(url="https://shop.example.com/item/9"),
            actor=None,
            rules=LinkRules(),
        )
    data_dir = tmp_path / "data"
    writer = ClickJournal(data_dir / "journal")  # the web process's side
    now = time.time()
    for i in range(10):
        writer.put(
            Click(
                click_id=uuid4().hex,
                ts=now - i,
                link_id=link.id,
                workspace_id=link.workspace_id,
                domain=factories.DEFAULT_HOST,
                method="HEAD" if i == 0 else "GET",  # one link-preview style HEAD: flagged
                user_agent=PHONE,
                referrer="",
                accept_language="en",
                country="DE",
                visitor_hash=f"v{i}",
            )
        )
    port = free_port()
    env = {**os.environ, "HOPLINK_DATABASE_URL": db_url, "HOPLINK_WORKER_FLUSH_INTERVAL": "0.05"}
    args = ["worker", "--data-dir", str(data_dir), "--metrics-port", str(port)]
    with hoplink(args, env, tmp_path / "worker.log") as worker:
        try:
            found = await _scrape_until(
                port, worker, lambda f: total(f, "hoplink_worker_written_total") == 10
            )
            assert total(found, "hoplink_worker_written_total") == 10
            assert total(found, "hoplink_worker_batch_duration_seconds_count") >= 1
            assert total(found, "hoplink_worker_clicks_flagged_total", reason="head_request") == 1
            assert total(found, "hoplink_click_queue_backlog_bytes", queue="journal") == 0
            assert "hoplink_worker_clicks_dropped_total" in found
            assert "hoplink_http_requests_total" in found  # same registry; no requests here
        finally:
            worker.signal(signal.SIGTERM)
            status = await asyncio.to_thread(worker.wait, 20)
            await writer.close()
    assert status == 0, worker.tail()


async def test_production_worker_reports_the_stream(pg_database: str, tmp_path: Path) -> None:
    """A web node XADDs three clicks; `hoplink worker` consumes them and its metrics show
    the stream read, acknowledged and empty again."""
    with key_prefix() as prefix:
        settings: dict[str, Any] = {"redis_url": SHARED_REDIS, "redis_key_prefix": prefix}
        port = free_port()
        async with running(pg_database, tmp_path / "web", **settings) as app:
            link = await app.link()
            for _ in range(3):
                assert (await app.http.get(f"/{link.code}")).status_code == 302
            env = production_env(
                db_url=pg_database,
                redis_url=SHARED_REDIS,
                prefix=prefix,
                data_dir=tmp_path / "worker",
                HOPLINK_WORKER_METRICS_PORT=str(port),
            )
            with hoplink(["worker"], env, tmp_path / "worker.log") as worker:
                try:
                    found = await _scrape_until(
                        port,
                        worker,
                        lambda f: (
                            total(f, "hoplink_worker_written_total") == 3
                            and total(f, "hoplink_click_queue_depth", queue="redis") == 0
                        ),
                    )
                finally:
                    worker.signal(signal.SIGTERM)
                    await asyncio.to_thread(worker.wait, 20)
        assert total(found, "hoplink_worker_written_total") == 3, worker.tail()
        assert total(found, "hoplink_click_source_entries_read_total") == 3
        assert total(found, "hoplink_click_source_acked_total") == 3
        assert total(found, "hoplink_click_queue_reachable", queue="redis") == 1
        assert total(found, "hoplink_click_queue_depth", queue="redis") == 0
        assert total(found, "hoplink_click_consumer_lag_seconds", queue="redis") == 0


async def _scrape_until(port: int, worker: Proc, done: Callable[[Samples], bool]) -> Samples:
    found: Samples = {}
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            assert worker.running(), worker.tail()
            try:
                found = samples((await http.get(f"http://127.0.0.1:{port}/metrics")).text)
            except httpx.TransportError:
                await asyncio.sleep(0.1)
                continue
            if done(found):
                break
            await asyncio.sleep(0.2)
    return found
