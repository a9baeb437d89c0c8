"""The worker's cache of visitor keys known to be committed: a shortcut, never the truth."""

from __future__ import annotations

from hoplink.clicks.enriched import SeenKey
from hoplink.ingest.seen import SeenCache

H = 490_000  # an hour bucket
NOW = H * 3600.0 + 600


def keys(hour: int, visitor: str) -> list[SeenKey]:
    return [
        ("h", hour, "lnk_a", visitor),
        ("h", hour, "ws_a", visitor),
        ("d", hour // 24, "lnk_a", visitor),
        ("d", hour // 24, "ws_a", visitor),
    ]


def test_only_keys_of_committed_batches_are_skipped() -> None:
    cache = SeenCache(max_keys=100, keep_hours=48)
    assert cache.unknown(keys(H, "v1"), now=NOW) == keys(H, "v1")  # empty: ask the table
    cache.remember(keys(H, "v1"), now=NOW)
    assert cache.unknown(keys(H, "v1"), now=NOW) == []
    # Another visitor, or the same one in the next hour (the day keys are known).
    assert cache.unknown(keys(H, "v2"), now=NOW) == keys(H, "v2")
    assert cache.unknown(keys(H + 1, "v1"), now=NOW) == keys(H + 1, "v1")[:2]


def test_buckets_the_purge_may_have_deleted_are_not_trusted() -> None:
    cache = SeenCache(max_keys=100, keep_hours=48)
    cache.remember(keys(H, "v1"), now=NOW)
    # 47 hours on, the purge keeps hour H even by a clock an hour ahead: still trusted.
    assert cache.unknown(keys(H, "v1"), now=NOW + 47 * 3600) == []
    # 48 hours on, a worker whose clock runs an hour ahead purges hour H: asked again.
    later = NOW + 48 * 3600
    assert ("h", H, "lnk_a", "v1") in cache.unknown(keys(H, "v1"), now=later)
    # Keys of buckets already past that horizon are not remembered at all.
    cache.remember(keys(H, "v9"), now=later)
    assert ("h", H, "ws_a", "v9") in cache.unknown(keys(H, "v9"), now=later)


def test_past_its_bound_the_cache_forgets_the_oldest_buckets() -> None:
    cache = SeenCache(max_keys=6, keep_hours=48)
    cache.remember(keys(H - 2, "v1")[:2], now=NOW)  # 2 keys of an older hour
    cache.remember(keys(H, "v2"), now=NOW)  # 4 more: at the bound
    assert len(cache) == 6
    cache.remember([("h", H, "lnk_b", "v3")], now=NOW)  # over: hour H - 2 (ended first) goes
    assert len(cache) == 5
    assert cache.unknown(keys(H - 2, "v1")[:2], now=NOW) == keys(H - 2, "v1")[:2]
    assert cache.unknown(keys(H, "v2"), now=NOW) == []
