"""Refresh-ahead: links in use late in their TTL are reloaded in the background, in batches.

They fall due one request at a time; each used to be loaded as it fell due, one query for
one or a few links, which on SQLite took a large share of the web process's CPU (issue 17).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from edge_client import Edge
from sqlalchemy import event

from hoplink.redirect.cache import MISSING

LINKS = 30


async def test_links_falling_due_one_by_one_reload_in_one_query(
    edge: Edge, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = await edge.workspace()
    links = [await edge.link(ws, f"https://shop.example.com/item/{i}") for i in range(LINKS)]
    cache = edge.runtime.redirect_cache
    resolver = edge.app.redirect.resolver
    now = [time.monotonic()]
    monkeypatch.setattr(cache, "_clock", lambda: now[0])
    cache.clear()
    for link in links:  # loaded at "now"
        assert (await edge.http.get(f"/{link.code}")).status_code == 302
    await resolver.wait_idle()

    statements: list[str] = []

    def count(*args: Any) -> None:
        if "links.code IN" in str(args[2]):
            statements.append(str(args[2]))

    engine = edge.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        now[0] += 0.85 * cache.ttl  # past every link's refresh point, before its expiry
        for i, link in enumerate(links):  # each request lets the event loop run
            r = await edge.http.get(f"/{link.code}")
            assert r.status_code == 302
            assert r.headers["location"].startswith(f"https://shop.example.com/item/{i}?")
        await resolver.wait_idle()
    finally:
        event.remove(engine, "before_cursor_execute", count)

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
    assert await resolver.resolve(host, warm[0].code) is not None  # the hosts map, loaded

    loads: list[Any] = []

    def record(*args: Any) -> None:
        if "links.code IN" in str(args[2]):
            loads.append(args[3])

    engine = edge.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for link in warm:  # more refreshes queued than one query takes
            resolver._enqueue(host, link.code, background=True)
        target = await resolver.resolve(host, cold.code)
        await resolver.wait_idle()
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert target is not None and target.link_id == cold.id
    assert len(loads) == 2
    assert cold.code in [str(v) for v in _values(loads[0])]  # in the first query


def _values(parameters: Any) -> list[Any]:
    return list(parameters.values()) if isinstance(parameters, dict) else list(parameters)
