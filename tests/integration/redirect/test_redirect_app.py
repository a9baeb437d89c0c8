"""The redirect edge end to end (ASGI, real database, real journal), on both backends."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from edge_client import Edge
from sqlalchemy import event

from changes import committed
from clickids import without_click_id
from hoplink.events import ShortDomainChanged
from hoplink.links import service
from hoplink.links.spec import LinkEdit
from hoplink.workspaces.models import WorkspaceStatus
from hoplink.workspaces.service import set_status

PRODUCT = "https://shop.example.com/item/1005006?sku=42#reviews"


@contextmanager
def count_queries(edge: Edge) -> Iterator[list[str]]:
    seen: list[str] = []

    def before(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        seen.append(statement)

    event.listen(edge.db.engine.sync_engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(edge.db.engine.sync_engine, "before_cursor_execute", before)


def selects(statements: list[str]) -> list[str]:
    """The link lookups among the statements (the change feed's poll of
    ``redirect_changes`` runs every 0.5 s on its own and is not one)."""
    return [
        s
        for s in statements
        if s.lstrip().upper().startswith("SELECT") and "redirect_changes" not in s
    ]


async def test_302_to_the_stored_final_url_with_headers_and_a_journaled_click(edge: Edge) -> None:
    ws = await edge.workspace(seller_id="S1", param_template={"aff": "{seller_id}"})
    link = await edge.link(ws, PRODUCT, utm={"utm_source": "tiktok"})
    r = await edge.http.get(
        f"/{link.code}?utm_source=evil&redirect=https://evil.example/",
        headers={
            "user-agent": "Mozilla/5.0 (iPhone) Instagram 300.0",
            "referer": "https://l.instagram.com/",
            "accept-language": "de-DE,de;q=0.9",
        },
    )
    assert r.status_code == 302
    assert [without_click_id(v) for v in r.headers.get_list("location")] == [link.final_url]
    assert link.final_url == (
        "https://shop.example.com/item/1005006?sku=42&aff=S1&utm_source=tiktok#reviews"
    )
    assert r.headers["cache-control"] == "private, max-age=90"
    assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert r.headers["content-length"] == "0" and r.content == b""
    [click] = await edge.clicks()
    assert click.link_id == link.id and click.workspace_id == ws.id
    assert click.domain == "hop.test" and click.method == "GET"
    assert click.user_agent == "Mozilla/5.0 (iPhone) Instagram 300.0"
    assert click.referrer == "https://l.instagram.com/"
    assert click.accept_language == "de-DE,de;q=0.9"
    assert click.country == "JP"  # the peer 1.0.16.20, from the bundled registry data
    assert re.fullmatch(r"[0-9a-f]{32}", click.visitor_hash)
    assert re.fullmatch(r"[0-9a-f]{32}", click.click_id)


async def test_unknown_code_and_malformed_paths_are_plain_404s(edge: Edge) -> None:
    # "/" itself is the dashboard (sign-in); every other non-code path is a plain 404.
    for path in ("/NoSuchCode", "/abc/def", "/-abc", "/a%0d%0ab", "/" + "a" * 65):
        r = await edge.http.get(path)
        assert r.status_code == 404, path
        assert "location" not in r.headers
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert b"does not exist" in r.content
    assert await edge.clicks() == []


async def test_unknown_host_is_404_even_when_the_code_exists_elsewhere(edge: Edge) -> None:
    ws = await edge.workspace()
    other = await edge.link(ws, PRODUCT, host="go.brand.example")
    r = await edge.http.get(f"/{other.code}")  # Host: hop.test
    assert r.status_code == 404
    r = await edge.http.get(f"/{other.code}", headers={"host": "evil.example"})
    assert r.status_code == 404
    r = await edge.http.get(f"/{other.code}", headers={"host": "GO.Brand.Example"})
    assert r.status_code == 302
    assert without_click_id(r.headers["location"]) == other.final_url
    # A port does not make another host (some clients and proxies send one) ...
    r = await edge.http.get(f"/{other.code}", headers={"host": "go.brand.example:8443"})
    assert r.status_code == 302
    # ... and does not make an unknown one known.
    r = await edge.http.get(f"/{other.code}", headers={"host": "evil.example:443"})
    assert r.status_code == 404


async def test_archived_link_keeps_redirecting_and_suspended_workspace_is_410(
    edge: Edge,
) -> None:
    ws = await edge.workspace()
    archived = await edge.link(ws, PRODUCT)
    live = await edge.link(ws, PRODUCT)
    async with edge.db.transaction() as tx:
        await service.update_link(
            tx, workspace=ws, link_id=archived.id, edit=LinkEdit(archived=True), actor="t"
        )
    # Archiving only tidies the seller's list: a running ad keeps working (issue 14).
    r = await edge.http.get(f"/{archived.code}")
    assert r.status_code == 302 and without_click_id(r.headers["location"]) == archived.final_url
    assert (await edge.http.get(f"/{live.code}")).status_code == 302
    async with edge.db.transaction() as tx:  # dropped from this node's cache on commit
        await set_status(tx, ref=ws.id, status=WorkspaceStatus.SUSPENDED)
    r = await edge.http.get(f"/{live.code}")
    assert r.status_code == 410
    assert "location" not in r.headers and b"no longer available" in r.content
    assert len(await edge.clicks()) == 2  # the two 302s


async def test_head_is_a_get_without_body(edge: Edge) -> None:
    ws = await edge.workspace()
    link = await edge.link(ws, PRODUCT)
    r = await edge.http.head(f"/{link.code}")
    assert r.status_code == 302
    assert without_click_id(r.headers["location"]) == link.final_url
    assert r.content == b""
    r = await edge.http.head("/missing1")
    assert r.status_code == 404 and r.content == b""
    [click] = await edge.clicks()
    assert click.method == "HEAD"


async def test_other_methods_are_405(edge: Edge) -> None:
    ws = await edge.workspace()
    link = await edge.link(ws, PRODUCT)
    r = await edge.http.post(f"/{link.code}")
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"


async def test_edit_is_served_at_once_on_this_node_after_commit(edge: Edge) -> None:
    ws = await edge.workspace()
    link = await edge.link(ws, PRODUCT)
    location = (await edge.http.get(f"/{link.code}")).headers["location"]
    assert without_click_id(location) == link.final_url
    with pytest.raises(RuntimeError):
        async with edge.db.transaction() as tx:
            await service.update_link(
                tx, workspace=ws, link_id=link.id, edit=LinkEdit(archived=True), actor="t"
            )
            raise RuntimeError("rolled back")
    with count_queries(edge) as statements:  # a rollback drops its events: still cached
        location = (await edge.http.get(f"/{link.code}")).headers["location"]
        assert without_click_id(location) == link.final_url
    assert selects(statements) == []
    async with edge.db.transaction() as tx:
        edited = await service.update_link(
            tx,
            workspace=ws,
            link_id=link.id,
            edit=LinkEdit(url="https://shop.example.com/new"),
            actor="t",
        )
    r = await edge.http.get(f"/{link.code}")
    assert (
        without_click_id(r.headers["location"])
        == edited.final_url
        == "https://shop.example.com/new"
    )
    async with edge.db.transaction() as tx:
        await service.delete_link(tx, workspace=ws, link_id=link.id)
    assert (await edge.http.get(f"/{link.code}")).status_code == 404


async def test_misses_are_cached_and_a_new_code_is_served_once_created(edge: Edge) -> None:
    # The change feed clears the cache when its poll sees the fixture's own domain row: a
    # poll landing between the requests below would load both again (when one lands
    # depends on how long start-up awaited, e.g. the warm-up's query). This is the cache.
    for task in edge.runtime._tasks:
        if task.get_name() == "redirect-changes":
            task.cancel()
    ws = await edge.workspace()
    with count_queries(edge) as statements:
        for _ in range(20):
            assert (await edge.http.get("/summer-sale")).status_code == 404
    assert len(selects(statements)) <= 2  # the known hosts, then the code: once each
    await edge.link(ws, PRODUCT, code="summer-sale")  # drops the negative entry on commit
    assert (await edge.http.get("/summer-sale")).status_code == 302


async def test_unknown_hosts_never_reach_the_database_once_hosts_are_known(edge: Edge) -> None:
    # The cross-process change feed (redirect/changefeed.py) clears the cache when it sees
    # the fixture's own domain row in the change log; this test is about the cache alone.
    for task in edge.runtime._tasks:
        if task.get_name() == "redirect-changes":
            task.cancel()
    await edge.http.get("/warmup1")
    with count_queries(edge) as statements:
        for n in range(30):
            r = await edge.http.get(f"/code{n}", headers={"host": f"random{n}.example"})
            assert r.status_code == 404
        r = await edge.http.get("/nohost", headers={"host": "bad host\\"})
        assert r.status_code == 404
    assert selects(statements) == []


async def test_new_domain_is_known_after_a_short_domain_change(edge: Edge) -> None:
    await edge.http.get("/warmup1")
    ws = await edge.workspace()
    link = await edge.link(ws, PRODUCT, host="new.brand.example")
    headers = {"host": "new.brand.example"}
    # The domain's event makes the new host known at once on this node (the change log
    # would also bring it within the change feed's poll, for changes made elsewhere).
    await committed(edge.db, ShortDomainChanged("new.brand.example"))
    assert (await edge.http.get(f"/{link.code}", headers=headers)).status_code == 302


async def test_a_cold_hot_link_is_loaded_once_for_concurrent_requests(edge: Edge) -> None:
    ws = await edge.workspace()
    link = await edge.link(ws, PRODUCT)
    await edge.http.get("/warmup1")
    with count_queries(edge) as statements:
        responses = await asyncio.gather(*(edge.http.get(f"/{link.code}") for _ in range(50)))
    assert {r.status_code for r in responses} == {302}
    assert len(selects(statements)) == 1
    assert len(await edge.clicks()) == 50


async def test_forward_query_adds_visitor_parameters_but_never_replaces_ours(edge: Edge) -> None:
    ws = await edge.workspace(seller_id="S1", param_template={"aff": "{seller_id}"})
    link = await edge.link(
        ws, "https://shop.example.com/p?sku=1", utm={"utm_source": "fb"}, forward_query=True
    )
    r = await edge.http.get(
        f"/{link.code}?fbclid=AbC&aff=THIEF&utm_source=x&utm_term=y&hl_click=z&sku=2&n=%0d%0a"
    )
    assert without_click_id(r.headers["location"]) == (
        "https://shop.example.com/p?sku=1&aff=S1&utm_source=fb&fbclid=AbC"
    )
    plain = await edge.link(ws, "https://shop.example.com/q")
    r = await edge.http.get(f"/{plain.code}?fbclid=AbC")
    assert without_click_id(r.headers["location"]) == plain.final_url  # off by default


async def test_click_is_captured_when_the_cache_serves_it_too(edge: Edge) -> None:
    ws = await edge.workspace()
    link = await edge.link(ws, PRODUCT)
    for _ in range(3):
        await edge.http.get(f"/{link.code}", headers={"user-agent": "UA"})
    clicks = await edge.clicks()
    assert len({c.click_id for c in clicks}) == 3
    assert len({c.visitor_hash for c in clicks}) == 1  # same IP, UA, workspace and day


async def test_a_failing_journal_still_redirects_and_counts_the_loss(edge: Edge) -> None:
    ws = await edge.workspace()
    link = await edge.link(ws, PRODUCT)
    await edge.journal.close()  # every put now fails (a full or vanished disk)
    r = await edge.http.get(f"/{link.code}")
    assert r.status_code == 302
    assert without_click_id(r.headers["location"]) == link.final_url
    assert edge.app.redirect.clicks_lost == 1
