"""Cross-node invalidation on real PostgreSQL and Redis: a change made on one node (API, CLI)
is served by every other node within 1 second; a subscriber that lost Redis starts over."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from linkcache_nodes import Node, create_link, node, tenant

import factories
from changes import committed
from clickids import without_click_id
from dbs import REDIS_URL as SHARED_REDIS
from hoplink.events import LinkChanged
from hoplink.links import service
from hoplink.links.spec import LinkEdit
from hoplink.storage.database import Database
from private_redis import private_redis
from processes import HOPLINK, free_port, hoplink, production_env, wait_http

URL = "https://shop.example.com/item/1005006?sku=42"


async def seconds_until(n: Node, code: str, *, status: int, location: str | None = None) -> float:
    """Poll ``n`` every 5 ms until it answers ``status`` (and ``location``); seconds taken."""
    started = time.monotonic()
    while True:
        r = await n.get(code)
        if r.status_code == status and (
            location is None or without_click_id(r.headers["location"]) == location
        ):
            return time.monotonic() - started
        if r.status_code not in (302, 404, 410):
            raise AssertionError(f"unexpected {r.status_code}")
        if time.monotonic() - started > 5:
            raise AssertionError(f"still {r.status_code} {r.headers.get('location')} after 5 s")
        await asyncio.sleep(0.005)


async def test_an_api_edit_on_one_node_is_served_by_the_other_within_a_second(
    nodes: tuple[Node, Node], pg: Database
) -> None:
    a, b = nodes
    ws, auth = await tenant(pg)
    link = await create_link(pg, ws, URL)
    # Warm both nodes (B from Redis: the tier that must be invalidated too).
    assert without_click_id((await a.get(link.code)).headers["location"]) == link.final_url
    assert without_click_id((await b.get(link.code)).headers["location"]) == link.final_url
    assert b.shared.hits == 1
    delays = []
    for n in range(5):
        new_url = f"https://shop.example.com/new/{n}"
        r = await a.http.patch(f"/api/v1/links/{link.id}", json={"url": new_url}, headers=auth)
        assert r.status_code == 200, r.text
        # at once on A
        assert without_click_id((await a.get(link.code)).headers["location"]) == new_url
        delays.append(await seconds_until(b, link.code, status=302, location=new_url))
    print("in-process nodes, edit → other node (ms):", [round(d * 1000, 1) for d in delays])
    assert max(delays) < 1.0, delays
    # Turning a link off and deleting it travel the same way (archiving keeps redirecting).
    r = await a.http.patch(f"/api/v1/links/{link.id}", json={"disabled": True}, headers=auth)
    assert r.status_code == 200, r.text
    assert await seconds_until(b, link.code, status=404) < 1.0
    assert b.invalidation.received >= 6


async def test_a_cli_suspension_reaches_running_nodes_within_a_second(
    nodes: tuple[Node, Node], pg: Database, pg_database: str, prefix: str, tmp_path: Path
) -> None:
    a, b = nodes
    ws, _ = await tenant(pg)
    link = await create_link(pg, ws, URL)
    assert (await a.get(link.code)).status_code == 302
    assert (await b.get(link.code)).status_code == 302
    env = production_env(
        db_url=pg_database, redis_url=SHARED_REDIS, prefix=prefix, data_dir=tmp_path / "cli"
    )
    # A short-lived process: its publish must go out before it exits.
    done = await asyncio.to_thread(
        subprocess.run,
        [HOPLINK, "workspace", "suspend", ws.slug, "--reason", "phishing reports"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for n in (a, b):
        assert await seconds_until(n, link.code, status=410) < 1.0


async def test_a_subscriber_back_from_a_redis_outage_clears_its_cache(
    pg_database: str, pg: Database, tmp_path: Path
) -> None:
    ws, _ = await tenant(pg)
    link = await create_link(pg, ws, URL)
    with private_redis(tmp_path / "redis") as server:
        async with (
            node(pg_database, tmp_path / "a", redis_url=server.url, prefix="hl:") as a,
            node(pg_database, tmp_path / "b", redis_url=server.url, prefix="hl:") as b,
        ):
            assert without_click_id((await b.get(link.code)).headers["location"]) == link.final_url
            server.stop()
            # An edit while Redis is down: A cannot publish it (it keeps retrying) ...
            async with a.db.transaction() as tx:
                edited = await service.update_link(
                    tx,
                    workspace=ws,
                    link_id=link.id,
                    edit=LinkEdit(url="https://shop.example.com/new"),
                    actor="t",
                )
            await asyncio.sleep(0.3)
            assert a.invalidation.pending and a.invalidation.publish_failures >= 1
            # ... and B, cut off, still serves its copy (bounded by redirect_cache_ttl).
            assert without_click_id((await b.get(link.code)).headers["location"]) == link.final_url
            resubscribes = b.invalidation.resubscribes
            server.start()  # a fresh Redis: whatever was published meanwhile is gone
            delay = await seconds_until(b, link.code, status=302, location=edited.final_url)
            assert b.invalidation.resubscribes == resubscribes + 1
            assert delay < 10
            assert await a.invalidation.flushed(10)


_AGAIN = LinkChanged("ws_x", "lnk_x", factories.DEFAULT_HOST, "Again12", "updated")


async def test_a_change_repeated_while_its_publish_is_in_flight_is_sent_again(
    nodes: tuple[Node, Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = nodes
    sent: list[set[str]] = []
    drop = a.shared.drop

    async def slow_drop(links: set[str], workspaces: set[str], *, everything: bool) -> None:
        sent.append(set(links))
        if len(sent) == 1:  # a second edit of the same link commits while this is in flight
            await committed(a.db, _AGAIN)
        await drop(links, workspaces, everything=everything)

    monkeypatch.setattr(a.shared, "drop", slow_drop)
    received = b.invalidation.received
    await committed(a.db, _AGAIN)
    assert await a.invalidation.flushed(5)
    assert sent == [{"hop.test/Again12"}, {"hop.test/Again12"}]
    assert not a.invalidation.pending
    deadline = time.monotonic() + 1
    while b.invalidation.received < received + 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)


async def test_two_serve_processes_an_api_edit_reaches_the_other_within_a_second(
    pg: Database, pg_database: str, prefix: str, tmp_path: Path
) -> None:
    """The same, with two real `hoplink serve` processes (uvicorn, uvloop) on one Redis."""
    ws, auth = await tenant(pg)
    link = await create_link(pg, ws, URL)
    ports = free_port(), free_port()
    envs = [
        production_env(
            db_url=pg_database,
            redis_url=SHARED_REDIS,
            prefix=prefix,
            data_dir=tmp_path / f"node{n}",
            HOPLINK_PORT=str(port),
        )
        for n, port in enumerate(ports)
    ]
    with (
        hoplink(["serve"], envs[0], tmp_path / "a.log") as proc_a,
        hoplink(["serve"], envs[1], tmp_path / "b.log") as proc_b,
    ):
        a_url, b_url = (f"http://127.0.0.1:{port}" for port in ports)
        await asyncio.to_thread(wait_http, a_url, 30, proc_a)
        await asyncio.to_thread(wait_http, b_url, 30, proc_b)
        host = {"host": factories.DEFAULT_HOST}
        async with httpx.AsyncClient(timeout=5, headers=host) as http:
            assert (
                without_click_id((await http.get(f"{b_url}/{link.code}")).headers["location"])
                == link.final_url
            )
            delays = []
            for n in range(3):
                new_url = f"https://shop.example.com/new/{n}"
                r = await http.patch(
                    f"{a_url}/api/v1/links/{link.id}", json={"url": new_url}, headers=auth
                )
                assert r.status_code == 200, r.text
                started = time.monotonic()
                while (
                    without_click_id((await http.get(f"{b_url}/{link.code}")).headers["location"])
                    != new_url
                ):
                    assert time.monotonic() - started < 5, "B never saw the edit"
                    await asyncio.sleep(0.005)
                delays.append(time.monotonic() - started)
        print("serve processes, edit → other node (ms):", [round(d * 1000, 1) for d in delays])
        assert max(delays) < 1.0, delays
