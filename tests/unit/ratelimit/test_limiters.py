"""Both limiters: the in-process GCRA and the Redis one (the real shared Redis, under a
prefix of the test's own), and the fallback while a Redis of our own is stopped."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from redis.asyncio import Redis

from clocks import Clock
from hoplink.ratelimit import Limit, LocalLimiter, RateLimiter, parse_limit
from private_redis import private_redis

SECRET = "ratelimit-test-secret"


def test_a_burst_of_limit_events_passes_then_one_per_interval() -> None:
    clock = Clock()
    local = LocalLimiter(clock=clock)
    limit = Limit("t", 5, 10.0)  # 5 at once, then one every 2 s
    assert [local.hit(limit, "k") for _ in range(5)] == [0.0] * 5
    assert local.hit(limit, "k") == pytest.approx(2.0)
    clock.now += 1.0
    assert local.hit(limit, "k") == pytest.approx(1.0)  # refusals are not counted
    clock.now += 1.0
    assert local.hit(limit, "k") == 0.0
    assert local.hit(limit, "k") == pytest.approx(2.0)
    clock.now += 10.0  # a full window of quiet restores the whole burst
    assert [local.hit(limit, "k") for _ in range(5)] == [0.0] * 5


def test_keys_limit_names_and_costs_are_counted_apart() -> None:
    local = LocalLimiter(clock=Clock())
    a, b = Limit("a", 2, 60.0), Limit("b", 2, 60.0)
    assert local.hit(a, "x", cost=2) == 0.0
    assert local.hit(a, "x") > 0
    assert local.hit(a, "y") == 0.0 and local.hit(b, "x") == 0.0
    assert local.hit(b, "x", cost=2) > 0  # 1 + 2 > 2: refused whole, not in part
    assert local.hit(b, "x") == 0.0


def test_local_memory_stays_bounded_whatever_is_sprayed() -> None:
    local = LocalLimiter(max_entries=100, clock=Clock())
    limit = Limit("t", 1, 3600.0)
    for i in range(10_000):
        local.hit(limit, f"10.0.{i // 256}.{i % 256}")
    assert len(local) == 100
    assert local.hit(limit, "10.0.39.15") > 0  # the most recent keys are the ones kept


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("600/1m", Limit("x", 600, 60.0)),
        ("30/h", Limit("x", 30, 3600.0)),
        (" 5 / 10 s ", Limit("x", 5, 10.0)),
        ("100/2d", Limit("x", 100, 172800.0)),
        ("off", None),
        ("0", None),
    ],
)
def test_rates_are_written_as_count_per_period(spec: str, expected: Limit | None) -> None:
    assert parse_limit("x", spec) == expected


@pytest.mark.parametrize("spec", ["600", "600/", "1/0m", "0/1m", "-1/1m", "10/1w", "ten/1m"])
def test_malformed_rates_are_refused_with_an_example(spec: str) -> None:
    with pytest.raises(ValueError, match=r"e\.g\. '600/1m'"):
        parse_limit("x", spec)


async def test_redis_limits_are_shared_by_every_node(shared_redis: tuple[Redis, str]) -> None:
    client, prefix = shared_redis
    node_a = RateLimiter(secret=SECRET, redis=client, prefix=prefix)
    node_b = RateLimiter(secret=SECRET, redis=client, prefix=prefix)
    limit = Limit("create_ip", 3, 60.0)
    assert [await node_a.hit(limit, "203.0.113.5") for _ in range(2)] == [0.0, 0.0]
    assert await node_b.hit(limit, "203.0.113.5") == 0.0
    wait = await node_b.hit(limit, "203.0.113.5")  # node b saw one event, Redis three
    assert 19.0 < wait <= 20.0
    assert await node_a.hit(limit, "203.0.113.6") == 0.0
    assert node_a.fallbacks == node_b.fallbacks == 0


async def test_redis_never_sees_a_raw_key_and_keys_expire(
    shared_redis: tuple[Redis, str],
) -> None:
    client, prefix = shared_redis
    limiter = RateLimiter(secret=SECRET, redis=client, prefix=prefix)
    await limiter.hit(Limit("redirect_404", 10, 30.0), "198.51.100.23")
    keys = [k.decode() async for k in client.scan_iter(match=f"{prefix}*")]
    assert len(keys) == 1
    assert keys[0].startswith(f"{prefix}rl:redirect_404:")
    assert "198.51.100" not in keys[0]
    assert b"198.51.100" not in (await client.get(keys[0]) or b"")
    ttl = await client.pttl(keys[0])
    assert 0 < ttl <= 3000  # one event of ten per 30 s is forgotten after 3 s
    other = RateLimiter(secret="another-installation", redis=client, prefix=prefix)
    assert other.hash("198.51.100.23") != limiter.hash("198.51.100.23")


async def test_redis_refusals_are_not_counted(shared_redis: tuple[Redis, str]) -> None:
    client, prefix = shared_redis
    node_a = RateLimiter(secret=SECRET, redis=client, prefix=prefix)
    limit = Limit("api_key", 2, 0.4)  # one every 200 ms
    assert await node_a.hit(limit, "k") == 0.0
    assert await node_a.hit(limit, "k") == 0.0
    for _ in range(5):  # knocking while refused does not push the time back
        node_b = RateLimiter(secret=SECRET, redis=client, prefix=prefix)
        assert await node_b.hit(limit, "k") > 0
    await asyncio.sleep(0.25)
    assert await RateLimiter(secret=SECRET, redis=client, prefix=prefix).hit(limit, "k") == 0.0


async def test_an_unreachable_redis_falls_back_to_local_limits_and_comes_back(
    tmp_path: Path,
) -> None:
    with private_redis(tmp_path) as server:
        client = Redis.from_url(server.url, socket_connect_timeout=0.5, socket_timeout=0.5)
        limiter = RateLimiter(
            secret=SECRET, redis=client, prefix="hltest:", timeout=0.3, retry_interval=0.5
        )
        limit = Limit("api_key", 4, 60.0)
        try:
            assert await limiter.hit(limit, "key-1") == 0.0
            assert await client.dbsize() == 1
            server.stop()
            started = time.monotonic()
            answers = [await limiter.hit(limit, "key-1") for _ in range(5)]
            elapsed = time.monotonic() - started
            # No exception; the local limiter (warm: it saw the first event) decides.
            assert answers[:3] == [0.0] * 3 and all(a > 0 for a in answers[3:])
            assert limiter.fallbacks == 3  # the refusals were local anyway
            assert elapsed < 0.6, "an outage costs at most one timeout per retry interval"
            server.start()
            await asyncio.sleep(0.6)
            assert await limiter.hit(limit, "key-2") == 0.0
            assert await client.dbsize() == 1, "Redis is asked again once it is back"
            assert limiter.fallbacks == 3
        finally:
            await client.aclose()


async def test_a_redis_that_never_answers_costs_one_timeout_per_interval() -> None:
    client = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    limiter = RateLimiter(secret=SECRET, redis=client, prefix="hltest:", retry_interval=60)
    try:
        started = time.monotonic()
        answers = [await limiter.hit(Limit("x", 100, 1.0), "k") for _ in range(50)]
        assert answers == [0.0] * 50 and limiter.fallbacks == 50
        assert time.monotonic() - started < 1.0
    finally:
        await client.aclose()


def test_a_cost_of_the_whole_limit_passes_when_idle_despite_rounding() -> None:
    clock = Clock()
    clock.now = 123_456.789  # now + window - window != now in floating point
    local = LocalLimiter(clock=clock)
    assert local.hit(Limit("x", 5, 3600.0), "k", cost=5) == 0.0
    assert local.hit(Limit("x", 5, 3600.0), "k") > 0


async def test_redis_lets_a_whole_limit_cost_pass_when_idle(
    shared_redis: tuple[Redis, str],
) -> None:
    client, prefix = shared_redis
    limiter = RateLimiter(secret=SECRET, redis=client, prefix=prefix)
    limiter.local = LocalLimiter(max_entries=0)  # Redis alone decides
    for _ in range(20):  # Redis's clock has microseconds: the rounding differs each time
        key = uuid.uuid4().hex
        assert await limiter.hit(Limit("x", 7, 3600.0), key, cost=7) == 0.0
        assert await limiter.hit(Limit("x", 7, 3600.0), key) > 0


async def test_refuse_if_spent_counts_nothing_and_charge_fills_what_fits() -> None:
    from hoplink.errors import RateLimited
    from hoplink.ratelimit import RateLimiter, charge, refuse_if_spent

    clock = [1000.0]
    limiter = RateLimiter(secret="s")
    limiter.local = LocalLimiter(clock=lambda: clock[0])  # (an empty one is falsy)
    limit = Limit("refused", 3, 3600.0)
    for _ in range(10):  # checking alone never uses anything up
        await refuse_if_spent(limiter, limit, "1.2.3.4", message="x")
    await charge(limiter, limit, "1.2.3.4", 2)
    await refuse_if_spent(limiter, limit, "1.2.3.4", message="x")  # one left
    await charge(limiter, limit, "1.2.3.4", 5)  # more than is left: fills it up
    with pytest.raises(RateLimited) as exc:
        await refuse_if_spent(limiter, limit, "1.2.3.4", message="too many refused")
    assert "too many refused" in str(exc.value) and exc.value.retry_after >= 1
    await refuse_if_spent(limiter, limit, "5.6.7.8", message="x")  # another key is free
    clock[0] += 1200  # one interval later, one more fits again
    await refuse_if_spent(limiter, limit, "1.2.3.4", message="x")
