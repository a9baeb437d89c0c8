"""`hoplink worker` killed with SIGKILL while it holds a batch: another worker takes the
pending entries over (XAUTOCLAIM) and every click is counted exactly once."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import redis as sync_redis
from redis.asyncio import Redis
from stream_support import counted, create_link

from hoplink.clicks.models import Click
from hoplink.ingest.redis_stream import FIELD, ClickStream, RedisClickSource
from hoplink.ingest.worker import Worker
from hoplink.links.models import Link
from hoplink.storage.database import Database
from private_redis import private_redis
from processes import hoplink, production_env

KEY = "kill:clicks"
GROUP = "hoplink-workers"


def clicks_for(link: Link, n: int, tag: str) -> list[Click]:
    now = time.time()
    return [
        Click(
            click_id=f"{tag}-{i:06d}",
            ts=now - i * 0.01,
            link_id=link.id,
            workspace_id=link.workspace_id,
            domain="hop.test",
            method="GET",
            user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Safari/604.1",
            referrer="https://m.facebook.com/",
            accept_language="en-US",
            country="US",
            visitor_hash=f"{tag}-v{i % 500}",
        )
        for i in range(n)
    ]


async def fill(redis: Redis, clicks: list[Click]) -> None:
    pipe = redis.pipeline(transaction=False)
    for c in clicks:
        pipe.xadd(KEY, {FIELD: c.to_json()})
    await pipe.execute()


def consumers(url: str) -> dict[str, int]:
    client = sync_redis.Redis.from_url(url)
    try:
        try:
            found = client.xinfo_consumers(KEY, GROUP)
        except sync_redis.ResponseError as exc:
            if "NOGROUP" in str(exc):
                return {}  # the worker has not created its group yet
            raise
        return {c["name"].decode(): int(c["pending"]) for c in found}
    finally:
        client.close()


async def test_killed_worker_batch_is_finished_by_another(
    pg: Database, pg_database: str, tmp_path: Path
) -> None:
    link = await create_link(pg)
    total = 6000
    with private_redis(tmp_path / "redis", append_only=True) as server:
        redis = Redis.from_url(server.url)
        await fill(redis, clicks_for(link, total, "k"))
        env = production_env(
            db_url=pg_database,
            redis_url=server.url,
            prefix="kill:",
            data_dir=tmp_path / "data",
            HOPLINK_WORKER_BATCH_SIZE="1000",
            HOPLINK_CLICK_STREAM_CLAIM_IDLE="1.5",
        )
        with hoplink(["worker"], env, tmp_path / "worker-a.log") as first:
            first.wait_for("hoplink worker running")
            # Kill it while it holds read-but-unacknowledged entries, after it committed
            # two batches (mid-stream, past its first purge step, which holds nothing).
            deadline = time.monotonic() + 20
            mine: str | None = None
            while time.monotonic() < deadline:
                pending = consumers(server.url)
                mine = next((n for n in pending if f"-{first.pid}-" in n), None)
                if (
                    mine
                    and pending[mine] > 0
                    and (await counted(pg, link.id))[0] >= 1000
                    and consumers(server.url)[mine] > 0
                ):
                    first.signal(signal.SIGKILL)
                    break
                await asyncio.sleep(0.005)
            assert first.wait(10) == -signal.SIGKILL
        assert mine is not None
        left = consumers(server.url)[mine]
        raw_at_kill = (await counted(pg, link.id))[0]
        assert left > 0 and raw_at_kill < total, (left, raw_at_kill)

        with hoplink(["worker"], env, tmp_path / "worker-b.log") as second:
            second.wait_for("hoplink worker running")
            deadline = time.monotonic() + 25
            while time.monotonic() < deadline:
                if await counted(pg, link.id) == (total, total, total):
                    break
                await asyncio.sleep(0.1)
            assert await counted(pg, link.id) == (total, total, total)
            # The dead worker's entries are taken over (XAUTOCLAIM) once idle long enough.
            # When it was killed after a commit but before its ack, the counts are complete
            # before that, and the take-over is a replay that must count nothing twice.
            second.wait_for("took over", timeout=20)
            # Everything acknowledged and deleted: the stream is empty.
            stream = ClickStream(redis, KEY, GROUP)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                backlog = await stream.backlog()
                if (backlog.length, backlog.pending) == (0, 0):
                    break
                await asyncio.sleep(0.1)
            assert (backlog.length, backlog.pending) == (0, 0)
            assert await counted(pg, link.id) == (total, total, total)
            second.signal(signal.SIGTERM)
            assert second.wait(15) == 0
        assert consumers(server.url).get(mine, 0) == 0
        await redis.aclose()


async def test_batch_committed_but_not_acknowledged_is_not_counted_twice(
    pg: Database, tmp_path: Path
) -> None:
    """The worst moment to die: after the commit, before XACK. The batch comes again."""
    link = await create_link(pg)
    with private_redis(tmp_path / "redis", append_only=True) as server:
        redis = Redis.from_url(server.url)
        stream = ClickStream(redis, KEY, GROUP)
        await fill(redis, clicks_for(link, 300, "c"))
        dying = Worker(db=pg, source=RedisClickSource(stream, consumer="dying", claim_idle=0.2))
        batch, _token = await dying.source.read(200, 0.1)
        await dying.process(batch)  # committed ... and the process dies before ack
        assert await counted(pg, link.id) == (200, 200, 200)
        await asyncio.sleep(0.3)
        heir_source = RedisClickSource(stream, consumer="heir", claim_idle=0.2)
        heir = Worker(db=pg, source=heir_source, flush_interval=0.05)
        await heir.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            backlog = await stream.backlog()
            if backlog.length == 0:
                break
            await asyncio.sleep(0.05)
        await heir.stop()
        assert heir_source.claimed == 200
        assert heir.counters.snapshot().get("replayed") == 200  # seen, not counted again
        assert await counted(pg, link.id) == (300, 300, 300)
        await redis.aclose()


async def test_sigterm_finishes_the_batch_in_hand_and_leaves_the_rest(
    pg: Database, pg_database: str, tmp_path: Path
) -> None:
    """SIGTERM: the worker reads nothing more, commits and acknowledges what it holds, and
    exits; the rest of the stream stays for the other workers (no drain of the stream)."""
    link = await create_link(pg)
    total = 6000
    with private_redis(tmp_path / "redis", append_only=True) as server:
        redis = Redis.from_url(server.url)
        await fill(redis, clicks_for(link, total, "t"))
        env = production_env(
            db_url=pg_database,
            redis_url=server.url,
            prefix="kill:",
            data_dir=tmp_path / "data",
            HOPLINK_WORKER_BATCH_SIZE="500",
        )
        with hoplink(["worker"], env, tmp_path / "worker.log") as worker:
            worker.wait_for("hoplink worker running")
            deadline = time.monotonic() + 20
            while (await counted(pg, link.id))[0] == 0 and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            worker.signal(signal.SIGTERM)
            assert worker.wait(15) == 0
        written = (await counted(pg, link.id))[0]
        backlog = await ClickStream(redis, KEY, GROUP).backlog()
        assert backlog.pending == 0  # everything it read was committed and acknowledged
        assert 0 < written < total and written + backlog.length == total
        assert await counted(pg, link.id) == (written,) * 3
        await redis.aclose()
