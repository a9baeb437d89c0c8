"""Cost of one ``RateLimiter.hit``: in-process, and through Redis (one script call).

    .venv/bin/python bench/ratelimit.py [redis://127.0.0.1:6379/0]

Uses keys under a prefix of its own and deletes them afterwards.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid

from redis.asyncio import Redis

from hoplink.ratelimit import Limit, LocalLimiter, RateLimiter

N_LOCAL = 200_000
N_REDIS = 5_000


async def main(url: str) -> None:
    limit = Limit("bench", 1_000_000, 60.0)  # never refuses: every hit takes the full path
    local = RateLimiter(secret="bench")  # noqa: S106 - not a password
    keys = [f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}" for i in range(10_000)]
    started = time.perf_counter()
    for i in range(N_LOCAL):
        await local.hit(limit, keys[i % len(keys)])
    per_local = (time.perf_counter() - started) / N_LOCAL
    raw = LocalLimiter()
    started = time.perf_counter()
    for i in range(N_LOCAL):
        raw.hit(limit, keys[i % len(keys)])
    per_raw = (time.perf_counter() - started) / N_LOCAL

    prefix = f"hlbench:{uuid.uuid4().hex}:"
    client = Redis.from_url(url)
    shared = RateLimiter(secret="bench", redis=client, prefix=prefix)  # noqa: S106
    try:
        await shared.hit(limit, "warm-up")  # loads the script
        started = time.perf_counter()
        for i in range(N_REDIS):
            await shared.hit(limit, keys[i % len(keys)])
        per_redis = (time.perf_counter() - started) / N_REDIS
        started = time.perf_counter()
        for start in range(0, N_REDIS, 50):
            await asyncio.gather(
                *(shared.hit(limit, keys[i % len(keys)]) for i in range(start, start + 50))
            )
        per_redis_concurrent = (time.perf_counter() - started) / N_REDIS
        assert shared.fallbacks == 0
    finally:
        found = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if found:
            await client.delete(*found)
        await client.aclose()
    print(f"LocalLimiter.hit (GCRA, dict):            {per_raw * 1e6:6.2f} µs")
    print(f"RateLimiter.hit in-process (+key hash):   {per_local * 1e6:6.2f} µs")
    print(f"RateLimiter.hit via Redis, sequential:    {per_redis * 1e6:6.1f} µs")
    print(f"RateLimiter.hit via Redis, 50 concurrent: {per_redis_concurrent * 1e6:6.1f} µs each")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/0"))
