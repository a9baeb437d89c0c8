"""The redirect cache: TTLs, LRU bound, negative entries, invalidation (injected clock)."""

from __future__ import annotations

from clocks import Clock
from hoplink.redirect.cache import MISSING, RedirectCache
from hoplink.storage.redirects import Site, Target

SITE = Site("dom_test", None)


def target(n: int = 1, workspace: str = "ws_a") -> Target:
    return Target(f"lnk_{n}", workspace, f"https://shop.example.com/{n}", False, False, "verified")


def make(clock: Clock, *, size: int = 100) -> RedirectCache:
    return RedirectCache(ttl=30, negative_ttl=5, max_entries=size, clock=clock)


def test_entry_is_served_until_its_ttl_then_missing() -> None:
    clock = Clock()
    cache = make(clock)
    cache.put("hop.test", "abc", target(), generation=cache.generation)
    clock.now += 29.9
    assert cache.get("hop.test", "abc") == target()
    clock.now += 0.1
    assert cache.get("hop.test", "abc") is MISSING


def test_use_does_not_extend_the_ttl() -> None:
    clock = Clock()
    cache = make(clock)
    cache.put("hop.test", "abc", target(), generation=cache.generation)
    for _ in range(5):
        clock.now += 7
        cache.get("hop.test", "abc")
    assert cache.get("hop.test", "abc") is MISSING  # 35 s after loading


def test_miss_is_cached_with_the_shorter_ttl() -> None:
    clock = Clock()
    cache = make(clock)
    assert cache.get("hop.test", "nope") is MISSING
    cache.put("hop.test", "nope", None, generation=cache.generation)
    clock.now += 4.9
    assert cache.get("hop.test", "nope") is None
    clock.now += 0.1
    assert cache.get("hop.test", "nope") is MISSING


def test_least_recently_used_entry_is_evicted_at_the_bound() -> None:
    clock = Clock()
    cache = make(clock, size=3)
    for n in (1, 2, 3):
        cache.put("hop.test", f"c{n}", target(n), generation=cache.generation)
    assert cache.get("hop.test", "c1") == target(1)  # c1 is now the most recent
    cache.put("hop.test", "c4", target(4), generation=cache.generation)
    assert len(cache) == 3
    assert cache.get("hop.test", "c2") is MISSING
    assert cache.get("hop.test", "c1") == target(1)
    assert cache.get("hop.test", "c3") == target(3)
    assert cache.get("hop.test", "c4") == target(4)


def test_hosts_are_part_of_the_key() -> None:
    cache = make(Clock())
    cache.put("a.test", "abc", target(1), generation=cache.generation)
    assert cache.get("b.test", "abc") is MISSING
    assert cache.get("a.test", "abc") == target(1)


def test_invalidate_drops_the_entry_and_a_load_begun_before_it() -> None:
    cache = make(Clock())
    cache.put("hop.test", "abc", target(1), generation=cache.generation)
    begun = cache.generation  # a database load starts here ...
    cache.invalidate("hop.test", "abc")  # ... the link is edited meanwhile ...
    assert cache.get("hop.test", "abc") is MISSING
    cache.put("hop.test", "abc", target(1), generation=begun)  # ... its stale answer arrives
    assert cache.get("hop.test", "abc") is MISSING
    cache.put("hop.test", "abc", target(2), generation=cache.generation)
    assert cache.get("hop.test", "abc") == target(2)


def test_invalidate_workspace_drops_only_its_links() -> None:
    cache = make(Clock())
    cache.put("hop.test", "a", target(1, "ws_a"), generation=cache.generation)
    cache.put("hop.test", "b", target(2, "ws_b"), generation=cache.generation)
    cache.put("hop.test", "x", None, generation=cache.generation)
    cache.invalidate_workspace("ws_a")
    assert cache.get("hop.test", "a") is MISSING
    assert cache.get("hop.test", "b") == target(2, "ws_b")
    assert cache.get("hop.test", "x") is None


def test_known_hosts_expire_and_clear_forgets_them() -> None:
    clock = Clock()
    cache = make(clock)
    assert cache.hosts() is None
    cache.put_hosts({"hop.test": SITE}, generation=cache.generation)
    assert cache.hosts() == {"hop.test": SITE}
    clock.now += 30
    assert cache.hosts() is None
    cache.put_hosts({"hop.test": SITE}, generation=cache.generation)
    cache.put("hop.test", "a", target(), generation=cache.generation)
    cache.clear()
    assert cache.hosts() is None
    assert cache.get("hop.test", "a") is MISSING


def test_known_hosts_fall_due_once_before_they_expire() -> None:
    clock = Clock()
    cache = make(clock)  # TTL 30 s
    cache.put_hosts({"hop.test": SITE}, generation=cache.generation)
    clock.now += 23
    assert cache.hosts() == {"hop.test": SITE}
    assert not cache.hosts_due  # before 80 % of the TTL
    clock.now += 2
    assert cache.hosts() == {"hop.test": SITE}  # still served while it reloads
    assert cache.hosts_due
    cache.hosts_due = False
    assert cache.hosts() == {"hop.test": SITE}
    assert not cache.hosts_due  # once per map, not once per request
    cache.put_hosts({"hop.test": SITE}, generation=cache.generation)  # reloaded
    clock.now += 20
    assert cache.hosts() is not None  # a full TTL from the reload, past the first expiry
    assert not cache.hosts_due


def test_zero_size_or_ttl_caches_nothing() -> None:
    none = RedirectCache(ttl=30, negative_ttl=5, max_entries=0, clock=Clock())
    none.put("hop.test", "a", target(), generation=none.generation)
    assert none.get("hop.test", "a") is MISSING
    no_negative = RedirectCache(ttl=30, negative_ttl=0, max_entries=10, clock=Clock())
    no_negative.put("hop.test", "a", None, generation=no_negative.generation)
    assert no_negative.get("hop.test", "a") is MISSING


def test_use_late_in_the_ttl_asks_once_for_a_background_reload() -> None:
    clock = Clock()
    cache = make(clock)
    cache.put("hop.test", "abc", target(), generation=cache.generation)
    clock.now += 14.9  # before half the TTL: never due
    cache.get("hop.test", "abc")
    assert cache.due == []
    clock.now += 9.1  # past 80% of it: always due
    for _ in range(3):
        assert cache.get("hop.test", "abc") == target()
    assert cache.due == [("hop.test", "abc")]  # once, however often it is used
    cache.due.clear()
    cache.put("hop.test", "abc", target(2), generation=cache.generation)  # the reload
    clock.now += 29
    assert cache.get("hop.test", "abc") == target(2)


def test_a_link_used_early_in_its_ttl_is_due_at_its_refresh_point_unasked() -> None:
    """Used only before its refresh point: due once that point passes (any lookup sweeps),
    so its next visitor, after the TTL, does not wait for a query."""
    clock = Clock()
    cache = make(clock)
    cache.put("hop.test", "abc", target(), generation=cache.generation)
    cache.put("hop.test", "other", target(2), generation=cache.generation)
    clock.now += 5
    assert cache.get("hop.test", "abc") == target()
    clock.now += 19.1  # past 80 % of the TTL: past every refresh point
    assert cache.get("hop.test", "nothing-cached") is MISSING  # any lookup
    assert sorted(cache.due) == [("hop.test", "abc"), ("hop.test", "other")]
    cache.due.clear()
    assert cache.get("hop.test", "abc") == target()
    assert cache.due == []  # once


def test_a_link_unused_for_two_ttls_is_not_reloaded_ahead() -> None:
    clock = Clock()
    cache = make(clock)
    cache.put("hop.test", "abc", target(), generation=cache.generation)
    clock.now += 24.1
    cache.get("hop.test", "x")
    assert cache.due == [("hop.test", "abc")]  # loaded for a visitor 24 s ago: in use
    cache.due.clear()
    cache.put("hop.test", "abc", target(), generation=cache.generation)  # the reload
    clock.now += 24.1
    cache.get("hop.test", "x")
    assert cache.due == [("hop.test", "abc")]  # used 48 s ago: still within two TTLs
    cache.due.clear()
    cache.put("hop.test", "abc", target(), generation=cache.generation)
    clock.now += 24.1
    cache.get("hop.test", "x")
    assert cache.due == []  # 72 s without a visitor: left to expire
    clock.now += 6
    assert cache.get("hop.test", "abc") is MISSING


def test_links_in_use_that_expired_in_a_quiet_spell_are_reloaded_on_the_next_lookup() -> None:
    """No lookup for longer than the TTL: nothing is swept meanwhile; the first lookup after
    it asks for every link used in the last two TTLs (one batch of queries, the visitors'
    own misses first), instead of each next visitor waiting for its own."""
    clock = Clock()
    cache = make(clock)
    cache.put("hop.test", "abc", target(), generation=cache.generation)
    clock.now += 10
    assert cache.get("hop.test", "abc") == target()
    clock.now += 25  # expired, used 25 s ago
    assert cache.get("hop.test", "x") is MISSING
    assert cache.due == [("hop.test", "abc")]
    assert cache.get("hop.test", "abc") is MISSING  # until the reload lands


def test_dropped_and_replaced_entries_are_not_reloaded_ahead() -> None:
    clock = Clock()
    cache = make(clock, size=1)
    cache.put("hop.test", "a", target(1), generation=cache.generation)
    cache.put("hop.test", "b", target(2), generation=cache.generation)  # evicts "a"
    cache.invalidate("hop.test", "b")
    clock.now += 24.1
    cache.get("hop.test", "x")
    assert cache.due == []


def test_misses_are_never_reloaded_ahead() -> None:
    clock = Clock()
    cache = make(clock)
    cache.put("hop.test", "nope", None, generation=cache.generation)
    clock.now += 4.9
    assert cache.get("hop.test", "nope") is None
    assert cache.due == []


def test_stale_serves_an_expired_link_for_a_bounded_time_only() -> None:
    clock = Clock()
    cache = make(clock)
    cache.put("hop.test", "abc", target(), generation=cache.generation)
    cache.put("hop.test", "nope", None, generation=cache.generation)
    assert cache.stale("hop.test", "abc", 60) == target()
    clock.now += 30 + 59
    assert cache.get("hop.test", "abc") is MISSING
    assert cache.stale("hop.test", "abc", 60) == target()
    assert cache.stale("hop.test", "nope", 60) is MISSING
    clock.now += 1
    assert cache.stale("hop.test", "abc", 60) is MISSING
    cache.invalidate("hop.test", "abc")
    assert cache.stale("hop.test", "abc", 10**9) is MISSING
