"""Refresh-ahead: links in use late in their TTL are reloaded in the background, in batches.

They fall due one request at a time; each used to be loaded as it fell due, one query for
one or a few links, which on SQLite took a large share of the web process's CPU (issue 17).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
from edge_client import Edge
from sqlalchemy import event

from hoplink.redirect.cache import MISSING, RedirectCache

LINKS = 30


async def test_links_falling_due_one_by_one_reload_in_one_query(
    edge: Edge, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = await edge.workspace()
    links = [await edge.link(ws, f"https://shop.example.com/item/{i}") for i in range(LINKS)]
    cache, resolver, now = _cleared_with_a_clock(edge, monkeypatch)
    for link in links:  # loaded at "now"
        assert (await edge.http.get(f"/{link.code}")).status_code == 302
    await resolver.wait_idle()

    with _link_loads(edge) as statements:
        now[0] += 0.85 * cache.ttl  # past every link's refresh point, before its expiry
        for i, link in enumerate(links):  # each request lets the event loop run
            r = await edge.http.get(f"/{link.code}")
            assert r.status_code == 302
            assert r.headers["location"].startswith(f"https://shop.example.com/item/{i}?")
        await resolver.wait_idle()

    assert len(statements) == 1, statements  # all thirty in one query
    # Reloaded: each entry now lives a full TTL from its refresh, past its first expiry.
    now[0] += 0.5 * cache.ttl
    for link in links:
        assert cache.get(link.domain, link.code) is not MISSING


async def test_a_full_batch_of_due_links_loads_without_waiting(
    edge: Edge, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = await edge.workspace()
    link = await edge.link(ws, "https://shop.example.com/item/1")
    cache = edge.runtime.redirect_cache
    resolver = edge.app.redirect.resolver
    monkeypatch.setattr(resolver, "refresh_delay", 3600.0)
    now = [time.monotonic()]
    monkeypatch.setattr(cache, "_clock", lambda: now[0])
    _no_invalidations(cache, monkeypatch)
    assert (await edge.http.get(f"/{link.code}")).status_code == 302
    await resolver.wait_idle()

    now[0] += 0.85 * cache.ttl
    monkeypatch.setattr("hoplink.redirect.resolver.MAX_BATCH", 1)
    assert (await edge.http.get(f"/{link.code}")).status_code == 302
    # Due and a batch full: loading already, not waiting an hour for its timer.
    assert resolver._refresh == []
    assert resolver._refresh_timer is None
    await resolver.wait_idle()
    now[0] += 0.5 * cache.ttl
    assert cache.get(link.domain, link.code) is not MISSING


async def test_a_visitors_miss_loads_before_queued_refreshes(edge: Edge) -> None:
    ws = await edge.workspace()
    links = [await edge.link(ws, f"https://shop.example.com/item/{i}") for i in range(151)]
    *warm, cold = links
    resolver = edge.app.redirect.resolver
    host = cold.domain

    loads: list[Any] = []

    def record(*args: Any) -> None:
        if "links.code IN" in str(args[2]):
            loads.append(args[3])

    engine = edge.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for link in warm:  # more refreshes queued than one query takes
            resolver._enqueue(host, link.code, background=True)
        visitor = resolver._enqueue(host, cold.code)  # a miss, queued after them
        target = await visitor
        await resolver.wait_idle()
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert target is not None and target.link_id == cold.id
    # Two loaders ran the two queries side by side (either may reach the database first);
    # the visitor's code is in the first batch taken: a full one, with 99 refreshes.
    batches = sorted((_values(p) for p in loads), key=len, reverse=True)
    assert [len(b) for b in batches] == [1 + 100, 1 + 51]  # the host, then the codes
    assert cold.code in batches[0]


@contextlib.contextmanager
def _link_loads(edge: Edge) -> Iterator[list[str]]:
    """The link look-up statements (``links.code IN``) run inside the block."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        if "links.code IN" in str(args[2]):
            statements.append(str(args[2]))

    engine = edge.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _values(parameters: Any) -> list[Any]:
    return list(parameters.values()) if isinstance(parameters, dict) else list(parameters)


def _cleared_with_a_clock(
    edge: Edge, monkeypatch: pytest.MonkeyPatch
) -> tuple[RedirectCache, Any, list[float]]:
    """The redirect cache emptied, on a clock the test moves (``now[0]``), with no
    invalidation landing; and the resolver."""
    cache = edge.runtime.redirect_cache
    now = [time.monotonic()]
    monkeypatch.setattr(cache, "_clock", lambda: now[0])
    cache.clear()
    _no_invalidations(cache, monkeypatch)
    return cache, edge.app.redirect.resolver, now


def _no_invalidations(cache: RedirectCache, monkeypatch: pytest.MonkeyPatch) -> None:
    """The change feed sees the links just created a poll later and drops their entries,
    which would reload them: not what these tests are about, so no invalidation lands."""
    for name in ("invalidate", "invalidate_workspace", "clear"):
        monkeypatch.setattr(cache, name, lambda *args: None)


async def test_the_map_of_hosts_reloads_before_it_expires(
    edge: Edge, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past 80 % of its TTL the map of known hosts is reloaded in the background; before,
    the request at its expiry (one every TTL) waited for the query."""
    ws = await edge.workspace()
    link = await edge.link(ws, "https://shop.example.com/item/1")
    cache, resolver, now = _cleared_with_a_clock(edge, monkeypatch)
    assert (await edge.http.get(f"/{link.code}")).status_code == 302
    await resolver.wait_idle()
    assert cache.hosts() is not None

    statements: list[str] = []

    def count(*args: Any) -> None:
        if "domains.hostname" in str(args[2]) and "links" not in str(args[2]):
            statements.append(str(args[2]))

    engine = edge.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        now[0] += 0.85 * cache.ttl  # past the map's refresh point, before its expiry
        assert (await edge.http.get(f"/{link.code}")).status_code == 302
        for _ in range(50):  # the background reload
            if not resolver._tasks:
                break
            await asyncio.gather(*resolver._tasks, return_exceptions=True)
        assert len(statements) == 1, statements
        now[0] += 0.5 * cache.ttl  # past the first load's expiry
        assert cache.hosts() is not None  # a full TTL from the reload: no request waits
        assert (await edge.http.get(f"/{link.code}")).status_code == 302
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements


async def test_links_in_use_reload_at_their_refresh_point_with_no_request_then(
    edge: Edge, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quiet spell past the links' refresh points (no request to sweep the cache): the
    resolver's timer reloads the links used in the last two TTLs, so the next burst of
    visitors finds them in memory instead of waiting for the database."""
    ws = await edge.workspace()
    links = [await edge.link(ws, f"https://shop.example.com/item/{i}") for i in range(5)]
    cache, resolver, now = _cleared_with_a_clock(edge, monkeypatch)
    monkeypatch.setattr(resolver, "refresh_delay", 0.01)
    for link in links:
        assert (await edge.http.get(f"/{link.code}")).status_code == 302
    await resolver.wait_idle()
    timer = resolver._sweep_timer
    assert timer is not None  # armed at the soonest refresh point, ~15 s ahead

    with _link_loads(edge) as statements:
        now[0] += 0.85 * cache.ttl  # past every refresh point; no request comes
        timer.cancel()  # the timer's real ~15 s, on the moved clock: due at once
        resolver._sweep_timer = None
        resolver._arm_sweep()
        for _ in range(200):
            await asyncio.sleep(0.01)
            if statements and not resolver._loading:
                break
        await resolver.wait_idle()
    assert len(statements) == 1, statements  # the five together, with no visitor
    now[0] += 0.5 * cache.ttl  # past the first load's expiry
    for link in links:
        assert cache.get(link.domain, link.code) is not MISSING
    resolver.close()
    assert resolver._sweep_timer is None
    resolver._arm_sweep()
    assert resolver._sweep_timer is None  # closed: nothing is scheduled any more
