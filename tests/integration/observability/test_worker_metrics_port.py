"""``hoplink worker --metrics-port``: the worker process serves its own metrics."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from obs_support import running, samples, total
from redis.asyncio import Redis

import factories
from dbs import REDIS_URL as SHARED_REDIS
from hoplink.clicks.journal import ClickJournal
from hoplink.clicks.models import Click
from hoplink.links import service
from hoplink.links.service import LinkSpec
from hoplink.storage.database import Database

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
            code_length=7,
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
    port = _free_port()
    env = {**os.environ, "HOPLINK_DATABASE_URL": db_url, "HOPLINK_WORKER_FLUSH_INTERVAL": "0.05"}
    command = [sys.executable, "-m", "hoplink.cli", "worker", "--data-dir", str(data_dir)]
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *command, "--metrics-port", str(port), env=env, stdout=out, stderr=out
        )
    try:
        found = await _scrape_until(
            port, process, log, lambda f: total(f, "hoplink_worker_written_total") == 10
        )
        assert total(found, "hoplink_worker_written_total") == 10
        assert total(found, "hoplink_worker_batch_duration_seconds_count") >= 1
        assert total(found, "hoplink_worker_clicks_flagged_total", reason="head_request") == 1
        assert total(found, "hoplink_click_queue_backlog_bytes", queue="journal") == 0
        assert "hoplink_worker_clicks_dropped_total" in found
        assert "hoplink_http_requests_total" in found  # same registry; no requests here
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 20)
        await writer.close()
    assert process.returncode == 0, _tail(log)


async def test_production_worker_reports_the_stream(pg_database: str, tmp_path: Path) -> None:
    """A web node XADDs three clicks; `hoplink worker` consumes them and its metrics show
    the stream read, acknowledged and empty again."""
    prefix = f"hltest:{uuid4().hex}:"
    settings: dict[str, Any] = {"redis_url": SHARED_REDIS, "redis_key_prefix": prefix}
    port = _free_port()
    log = tmp_path / "worker.log"
    try:
        async with running(pg_database, tmp_path / "web", **settings) as app:
            link = await app.link()
            for _ in range(3):
                assert (await app.http.get(f"/{link.code}")).status_code == 302
            env = {
                **os.environ,
                "HOPLINK_DATABASE_URL": pg_database,
                "HOPLINK_REDIS_URL": SHARED_REDIS,
                "HOPLINK_REDIS_KEY_PREFIX": prefix,
                "HOPLINK_DATA_DIR": str(tmp_path / "worker"),
                "HOPLINK_WORKER_FLUSH_INTERVAL": "0.05",
                "HOPLINK_WORKER_METRICS_PORT": str(port),
            }
            with log.open("wb") as out:
                process = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "hoplink.cli", "worker", env=env, stdout=out, stderr=out
                )
            try:
                found = await _scrape_until(
                    port,
                    process,
                    log,
                    lambda f: (
                        total(f, "hoplink_worker_written_total") == 3
                        and total(f, "hoplink_click_queue_depth", queue="redis") == 0
                    ),
                )
            finally:
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 20)
        assert total(found, "hoplink_worker_written_total") == 3, _tail(log)
        assert total(found, "hoplink_click_source_entries_read_total") == 3
        assert total(found, "hoplink_click_source_acked_total") == 3
        assert total(found, "hoplink_click_queue_reachable", queue="redis") == 1
        assert total(found, "hoplink_click_queue_depth", queue="redis") == 0
        assert total(found, "hoplink_click_consumer_lag_seconds", queue="redis") == 0
    finally:
        client = Redis.from_url(SHARED_REDIS)
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]


async def _scrape_until(
    port: int,
    process: asyncio.subprocess.Process,
    log: Path,
    done: Callable[[Samples], bool],
) -> Samples:
    found: Samples = {}
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            assert process.returncode is None, _tail(log)
            try:
                found = samples((await http.get(f"http://127.0.0.1:{port}/metrics")).text)
            except httpx.TransportError:
                await asyncio.sleep(0.1)
                continue
            if done(found):
                break
            await asyncio.sleep(0.2)
    return found


def _tail(log: Path) -> str:
    return log.read_text()[-3000:]
