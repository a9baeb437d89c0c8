"""RedisClickSink and RedisClickSource against a real redis-server (one of the test's own,
so its server-side statistics count only our traffic)."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from hoplink.clicks.models import Click
from hoplink.config import ConfigError, load_settings
from hoplink.ingest.journal import ClickJournal
from hoplink.ingest.redis_stream import (
    FIELD,
    ClickStream,
    RedisClickSink,
    RedisClickSource,
    check_production_mode,
)
from private_redis import PrivateRedis, private_redis
from processes import HOPLINK


def click(n: int) -> Click:
    return Click(
        click_id=f"click-{n:08d}",
        ts=time.time(),
        link_id="lnk_test",
        workspace_id="ws_test",
        domain="hop.test",
        method="GET",
        user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0",
        referrer="https://news.example/",
        accept_language="en",
        country="FR",
        visitor_hash=f"visitor-{n}",
    )


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    with private_redis(tmp_path / "redis", append_only=True) as server:
        yield server


@pytest_asyncio.fixture
async def redis(redis_server: PrivateRedis) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url, socket_connect_timeout=0.5, socket_timeout=2)
    yield client
    await client.aclose()


def stream(redis: Redis) -> ClickStream:
    return ClickStream(redis=redis, key="t:clicks", group="workers")


async def stats(redis: Redis) -> tuple[int, int]:
    """(XADD commands executed, read events the server processed) so far."""
    commands: dict[str, Any] = await redis.info("commandstats")
    reads: dict[str, Any] = await redis.info("stats")
    return int(commands.get("cmdstat_xadd", {}).get("calls", 0)), int(
        reads["total_reads_processed"]
    )


async def test_concurrent_puts_share_pipelines(redis: Redis, tmp_path: Path) -> None:
    sink = RedisClickSink(stream(redis), spool_root=tmp_path / "spool")
    await redis.ping()
    xadds_before, reads_before = await stats(redis)
    first = asyncio.create_task(sink.put(click(0)))
    await asyncio.sleep(0)  # the first pipeline (one click) is now on its way
    await asyncio.sleep(0)
    assert sink.pipelines == 0 and len(sink._flushers) == 1
    # 400 requests arrive while that round-trip is in flight: they travel together next.
    await asyncio.gather(first, *(sink.put(click(n)) for n in range(1, 401)))
    xadds_after, reads_after = await stats(redis)
    assert sink.added == 401 and sink.spooled == 0
    assert sink.pipelines == 2
    assert xadds_after - xadds_before == 401
    # One XADD per round-trip would be >= 401 reads by the server; a pipeline of 400
    # clicks (~200 KB) takes a few 16 KB reads. (+2: our two INFO calls.)
    assert reads_after - reads_before <= 40, reads_after - reads_before
    assert await redis.xlen("t:clicks") == 401
    ids = [Click.from_json(f[FIELD]).click_id for _, f in await redis.xrange("t:clicks")]
    assert sorted(ids) == [f"click-{n:08d}" for n in range(401)]
    await sink.close()


async def test_redis_down_spools_then_replays(
    redis: Redis, redis_server: PrivateRedis, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    sink = RedisClickSink(stream(redis), spool_root=spool, xadd_timeout=0.5, retry_interval=0.1)
    sink.start()
    await asyncio.gather(*(sink.put(click(n)) for n in range(50)))
    redis_server.stop()
    started = time.monotonic()
    await asyncio.gather(*(sink.put(click(n)) for n in range(50, 250)))
    assert time.monotonic() - started < 2.0  # one failed round-trip, then straight to disk
    assert sink.degraded and sink.spooled == 200 and sink.xadd_failures >= 1
    assert (spool / sink.node).is_dir()
    # More while it is down go straight to the spool, without waiting for Redis.
    started = time.monotonic()
    await sink.put(click(250))
    assert time.monotonic() - started < 0.05
    redis_server.start()
    deadline = time.monotonic() + 10
    while sink.degraded and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    assert not sink.degraded and sink.replayed == 201
    await sink.put(click(251))  # live again
    assert sink.added == 51
    ids = {Click.from_json(f[FIELD]).click_id for _, f in await redis.xrange("t:clicks")}
    assert ids == {f"click-{n:08d}" for n in range(252)}
    await sink.close()
    assert not (spool / sink.node).exists()  # replayed: nothing left behind


async def test_spools_of_dead_processes_are_adopted(redis: Redis, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    dead = ClickJournal(spool / "otherhost-123-abcdef")  # what a killed web process left
    for n in range(30):
        dead.put(click(n))
    await dead.close()  # the lock is released, as the kernel does when a process dies
    alive = ClickJournal(spool / "otherhost-456-fedcba")  # a live process's: not touched
    alive.put(click(99))
    sink = RedisClickSink(stream(redis), spool_root=spool, retry_interval=0.05)
    sink.start()
    deadline = time.monotonic() + 10
    while sink.replayed < 30 and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    assert sink.replayed == 30
    assert not (spool / "otherhost-123-abcdef").exists()
    assert (spool / "otherhost-456-fedcba").is_dir()
    assert await redis.xlen("t:clicks") == 30
    await sink.close()
    await alive.close()


async def test_source_acks_after_commit_claims_from_dead_consumers_drops_corrupt(
    redis: Redis,
) -> None:
    s = stream(redis)
    for n in range(10):
        await redis.xadd(s.key, {FIELD: click(n).to_json()})
    await redis.xadd(s.key, {FIELD: b"{not json"})
    await redis.xadd(s.key, {b"other": b"field"})
    dead = RedisClickSource(s, consumer="dead", claim_idle=0.3)
    clicks, _token = await dead.read(4, 0.1)  # read, never acknowledged: the worker died
    assert [c.click_id for c in clicks] == [f"click-{n:08d}" for n in range(4)]
    live = RedisClickSource(s, consumer="live", claim_idle=0.3)
    got, token = await live.read(100, 0.1)
    assert len(got) == 6 and live.dropped == 2  # corrupt ones: acknowledged, never handed out
    await live.ack(token)
    assert (await s.backlog()).pending == 4  # the dead worker's
    await asyncio.sleep(0.4)
    live._next_claim = 0.0
    claimed, token = await live.read(100, 0.1)
    assert sorted(c.click_id for c in claimed) == [f"click-{n:08d}" for n in range(4)]
    assert live.claimed == 4
    backlog = await s.backlog()
    assert backlog.pending == 4 and backlog.length == 4  # not acknowledged yet
    await live.ack(token)
    backlog = await s.backlog()
    assert (backlog.length, backlog.pending, backlog.lag) == (0, 0, 0)
    live.stop_reading()
    assert (await live.read(100, 0.1))[0] == []


async def test_a_batch_of_reads_is_acknowledged_in_one_transaction(redis: Redis) -> None:
    s = stream(redis)
    for n in range(9):
        await redis.xadd(s.key, {FIELD: click(n).to_json()})
    source = RedisClickSource(s, consumer="w1")
    source._next_claim = float("inf")
    tokens = [(await source.read(3, 0))[1] for _ in range(3)]
    before: dict[str, Any] = await redis.info("commandstats")
    await source.ack_all(tokens)
    after: dict[str, Any] = await redis.info("commandstats")
    calls = [int(info.get("cmdstat_xack", {}).get("calls", 0)) for info in (before, after)]
    assert calls[1] - calls[0] == 1
    backlog = await s.backlog()
    assert (backlog.length, backlog.pending) == (0, 0) and source.acked == 9


async def test_a_blocking_read_takes_the_clicks_of_a_moment_together(redis: Redis) -> None:
    # A worker that keeps up would otherwise get one click per round trip (and one ack).
    s = stream(redis)
    source = RedisClickSource(s, consumer="w1")
    source._next_claim = float("inf")
    assert (await source.read(10, 0))[0] == []  # creates the group

    async def trickle() -> None:
        for n in range(3):
            await redis.xadd(s.key, {FIELD: click(n).to_json()})
            await asyncio.sleep(0.002)

    writer = asyncio.create_task(trickle())
    clicks, _ = await source.read(10, 5.0)
    await writer
    assert [c.click_id for c in clicks] == [f"click-{n:08d}" for n in range(3)]


async def test_source_rereads_its_own_pending_entries_after_a_connection_error(
    redis: Redis, redis_server: PrivateRedis
) -> None:
    """A reply lost with its connection leaves entries delivered to this consumer that it
    never saw; after the error it reads its own pending entries again, at once."""
    s = stream(redis)
    client = Redis.from_url(redis_server.url, retry=Retry(NoBackoff(), 0))  # as run_worker's
    source = RedisClickSource(ClickStream(client, s.key, s.group), consumer="w1")
    source._next_claim = float("inf")  # not XAUTOCLAIM: that would take claim_idle
    assert (await source.read(10, 0))[0] == []  # creates the group
    for n in range(5):
        await redis.xadd(s.key, {FIELD: click(n).to_json()})
    # Delivered to w1 as if by a read whose reply never arrived.
    await redis.xreadgroup(s.group, "w1", {s.key: ">"}, count=10)
    blocked = asyncio.create_task(source.read(10, 3.0))
    await asyncio.sleep(0.2)
    await redis.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    with pytest.raises(RedisConnectionError):
        await blocked
    clicks, token = await source.read(10, 0.1)
    assert sorted(c.click_id for c in clicks) == [f"click-{n:08d}" for n in range(5)]
    await source.ack(token)
    assert (await s.backlog()).pending == 0
    assert (await source.read(10, 0.1))[0] == []  # nothing handed out twice
    await client.aclose()


def test_production_mode_refuses_sqlite(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:1/0")
    with pytest.raises(ConfigError, match="PostgreSQL HOPLINK_DATABASE_URL"):
        check_production_mode(settings)
    env = {"HOPLINK_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(  # noqa: S603 - our own entry point
        [HOPLINK, "serve", "--workers", "2"], env=env, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert "--workers needs production mode" in done.stderr
    assert "one writer process" in done.stderr.replace("\n", " ")
    done = subprocess.run(  # noqa: S603
        [HOPLINK, "worker"],
        env={**env, "HOPLINK_REDIS_URL": "redis://127.0.0.1:1/0"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "needs a PostgreSQL" in done.stderr.replace("\n", " ")


async def test_ad_click_ids_travel_through_the_stream_and_the_spool(
    redis: Redis, redis_server: PrivateRedis, tmp_path: Path
) -> None:
    sink = RedisClickSink(
        stream(redis), spool_root=tmp_path / "spool", xadd_timeout=0.5, retry_interval=0.1
    )
    sink.start()
    tagged = dataclasses.replace(click(1), ad_click_ids={"fbclid": "IwAR0x-Y", "ScCid": "s_1"})
    plain = click(2)
    await sink.put(tagged)
    await sink.put(plain)
    redis_server.stop()
    spooled = dataclasses.replace(click(3), ad_click_ids={"gclid": "Cj0K.1"})
    await sink.put(spooled)  # Redis is down: to the disk spool, replayed later
    assert sink.spooled == 1
    redis_server.start()
    deadline = time.monotonic() + 10
    while sink.degraded and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    source = RedisClickSource(stream(redis), consumer="w1")
    got, token = await source.read(10, 0.5)
    await source.ack(token)
    assert sorted(got, key=lambda c: c.click_id) == [tagged, plain, spooled]
    assert [c.ad_click_ids for c in sorted(got, key=lambda c: c.click_id)] == [
        {"fbclid": "IwAR0x-Y", "ScCid": "s_1"},
        None,
        {"gclid": "Cj0K.1"},
    ]
    await sink.close()
