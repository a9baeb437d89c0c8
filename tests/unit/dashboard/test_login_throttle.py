"""The login throttle's attempt/success protocol, in process and shared through Redis (the
real shared one under a prefix of the test's own; a private one for the outage)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from redis.asyncio import Redis

from clocks import Clock
from hoplink.dashboard.throttle import LoginThrottle, SharedLoginThrottle
from private_redis import private_redis

SECRET = "throttle-test-secret"


def test_an_attempt_counts_as_a_failure_until_it_succeeds() -> None:
    clock = Clock()
    throttle = LoginThrottle(account_free=3, ip_free=5, base=2.0, clock=clock)
    # Ten attempts in flight at once (none answered yet): only the free ones go through.
    answers = [throttle.attempt("a@x.test", "192.0.2.1") for _ in range(10)]
    assert answers[:3] == [0.0] * 3 and all(a == 2.0 for a in answers[3:])
    throttle.succeeded("a@x.test", "192.0.2.1")
    assert throttle.attempt("a@x.test", "192.0.2.1") == 0.0  # the account is cleared ...
    assert throttle.addresses.records["192.0.2.1"].failures == 3  # ... the address refunded


def test_a_refund_below_the_free_count_lifts_the_address_lock() -> None:
    clock = Clock()
    throttle = LoginThrottle(account_free=50, ip_free=2, base=60.0, clock=clock)
    assert throttle.attempt("a@x.test", "192.0.2.9") == 0.0
    assert throttle.attempt("b@x.test", "192.0.2.9") == 0.0  # the 2nd counts: locked ...
    assert throttle.retry_after("c@x.test", "192.0.2.9") == 60.0
    throttle.succeeded("b@x.test", "192.0.2.9")  # ... but it was the right password
    assert throttle.retry_after("c@x.test", "192.0.2.9") == 0.0


def _node(client: Redis | None, prefix: str) -> SharedLoginThrottle:
    local = LoginThrottle(account_free=5, ip_free=20, base=2.0, cap=900.0)
    return SharedLoginThrottle(local=local, secret=SECRET, redis=client, prefix=prefix)


async def test_two_nodes_share_one_throttle(shared_redis: tuple[Redis, str]) -> None:
    client, prefix = shared_redis
    a, b = _node(client, prefix), _node(client, prefix)
    for node in (a, b, a, b, a):  # five failures, spread over the two nodes
        assert await node.attempt("victim@x.test", "198.51.100.1") == 0.0
    wait = await b.attempt("victim@x.test", "198.51.100.2")  # another address, same account
    assert 1.0 < wait <= 2.0
    assert await a.attempt("other@x.test", "198.51.100.1") == 0.0
    await a.succeeded("other@x.test", "198.51.100.1")
    assert a.fallbacks == b.fallbacks == 0


async def test_throttle_records_in_redis_are_hashed_and_forgotten(
    shared_redis: tuple[Redis, str],
) -> None:
    client, prefix = shared_redis
    node = _node(client, prefix)
    assert await node.attempt("Someone@Example.com", "203.0.113.77") == 0.0
    keys = sorted([k.decode() async for k in client.scan_iter(match=f"{prefix}*")])
    assert [k.rsplit(":", 2)[1] for k in keys] == ["a", "ip"]
    dump = " ".join(keys) + repr([await client.hgetall(k) for k in keys])
    assert "203.0.113" not in dump and "example" not in dump.lower()
    ttls = [await client.pttl(k) for k in keys]
    assert all(3_500_000 < ttl <= 3_600_000 for ttl in ttls)  # forgotten after an hour
    await node.succeeded("Someone@Example.com", "203.0.113.77")
    assert [k async for k in client.scan_iter(match=f"{prefix}*")] == []  # all given back


async def test_concurrent_attempts_on_many_nodes_pass_only_the_free_count(
    shared_redis: tuple[Redis, str],
) -> None:
    client, prefix = shared_redis
    nodes = [_node(client, prefix) for _ in range(10)]
    answers = await asyncio.gather(
        *(nodes[i % 10].attempt("target@x.test", f"10.9.0.{i}") for i in range(200))
    )
    assert sum(1 for a in answers if a == 0.0) == 5


async def test_the_throttle_falls_back_to_the_process_while_redis_is_down(
    tmp_path: Path,
) -> None:
    with private_redis(tmp_path) as server:
        client = Redis.from_url(server.url, socket_connect_timeout=0.5, socket_timeout=0.5)
        node = _node(client, "hltest:")
        node.retry_interval = 0.3
        try:
            assert await node.attempt("x@x.test", "192.0.2.3") == 0.0
            server.stop()
            started = time.monotonic()
            answers = [await node.attempt("x@x.test", "192.0.2.3") for _ in range(6)]
            assert time.monotonic() - started < 1.0
            # The process saw the first failure too: four more pass, then it locks.
            assert answers[:4] == [0.0] * 4 and answers[4] > 0 and answers[5] > 0
            assert node.fallbacks >= 1
            await node.succeeded("x@x.test", "192.0.2.3")  # no exception either
        finally:
            await client.aclose()
