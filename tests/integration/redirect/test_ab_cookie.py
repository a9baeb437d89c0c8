"""The optional A/B cookie (HOPLINK_AB_COOKIE_DAYS): off, nothing is set and a cookie is
ignored; on, the first visit stores the variant for the link's path, a returning visitor
whose daily visitor id changed (a new UTC day, another network) keeps that variant, and a
cookie that names no variant of the running test (forged, another link's, a stopped test's)
is ignored and rewritten. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest_asyncio
from edge_client import Edge, running_edge

from clickids import without_click_id
from hoplink.links import experiments
from hoplink.links.models import Link

PRODUCT = "https://shop.example.com/item/1"
B = "https://shop.example.com/item/1-b"
DAYS = 30


@pytest_asyncio.fixture
async def cookie_edge(db_url: str, tmp_path: Path) -> AsyncIterator[Edge]:
    async with running_edge(db_url, tmp_path / "data", ab_cookie_days=DAYS) as running:
        yield running


async def _tested(edge: Edge) -> tuple[Link, dict[str, str]]:
    """A link with a 50/50 test; variant id → its URL (as the Location carries it)."""
    ws = await edge.workspace()
    link = await edge.link(ws, PRODUCT)
    async with edge.db.transaction() as tx:
        link, test = await experiments.start_test(
            tx, workspace=ws, link_id=link.id, actor=None, policy=None,
            variants=[{"weight": 1}, {"url": B, "weight": 1}],
        )  # fmt: skip
    return link, {v.id: v.url or link.final_url for v in test.variants}


async def _get(edge: Edge, code: str, headers: dict[str, str]) -> httpx.Response:
    """A visit with exactly these headers (the client's own cookie jar stays empty)."""
    edge.http.cookies.clear()
    return await edge.http.get(f"/{code}", headers=headers)


def _agent(i: int) -> str:
    """A distinct visitor (the daily visitor id hashes address and user agent)."""
    return f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_{i} like Mac OS X) Safari/604.1 v{i}"


async def test_the_cookie_keeps_the_variant_when_the_daily_id_changes(cookie_edge: Edge) -> None:
    edge = cookie_edge
    link, urls = await _tested(edge)
    first = await _get(edge, link.code, {"user-agent": _agent(0)})
    assert first.status_code == 302
    got = without_click_id(first.headers["location"])
    [variant] = [v for v, u in urls.items() if u == got]
    assert first.headers["set-cookie"] == (
        f"hl_ab={variant}; Max-Age={DAYS * 86400}; Path=/{link.code}; HttpOnly; SameSite=Lax"
    )
    cookie = {"cookie": f"other=1; hl_ab={variant}"}

    # The same person after midnight UTC (or on another network) has another daily visitor
    # id; among 40 of those, some hash to the other variant. The cookie wins every time.
    differ = 0
    for i in range(1, 41):
        bare = await _get(edge, link.code, {"user-agent": _agent(i)})
        differ += without_click_id(bare.headers["location"]) != got
        kept = await _get(edge, link.code, {"user-agent": _agent(i)} | cookie)
        assert without_click_id(kept.headers["location"]) == got
        assert "set-cookie" not in kept.headers  # it already names the variant
    assert differ > 5  # the daily id alone would have moved these visitors
    clicks = await edge.clicks()
    with_cookie = clicks[2::2]  # the first visit, then (bare, with cookie) pairs
    assert len(clicks) == 81 and {c.variant for c in with_cookie} == {variant}


async def test_a_cookie_naming_no_running_variant_is_ignored_and_rewritten(
    cookie_edge: Edge,
) -> None:
    edge = cookie_edge
    link, urls = await _tested(edge)
    _, other_urls = await _tested(edge)
    foreign = next(iter(other_urls))  # a variant of another link's test
    ua = {"user-agent": _agent(7)}
    bare = without_click_id((await _get(edge, link.code, ua)).headers["location"])
    [mine] = [v for v, u in urls.items() if u == bare]
    for value in (foreign, "var_AAAAAAAAAAAAAAAA", "https://evil.example/", "var_1;hl_ab=x"):
        r = await _get(edge, link.code, ua | {"cookie": f"hl_ab={value}"})
        assert without_click_id(r.headers["location"]) == bare  # the daily id decides
        assert r.headers["set-cookie"].startswith(f"hl_ab={mine}; ")

    # Stopped: the link redirects to the winner; the test's cookie names nothing any more.
    ws_id = link.workspace_id
    async with edge.db.transaction() as tx:
        ws = await tx.workspaces.get(ws_id)
        assert ws is not None
        await experiments.stop_test(
            tx, workspace=ws, link_id=link.id, winner=next(iter(urls)), actor=None, policy=None
        )
    r = await _get(edge, link.code, ua | {"cookie": f"hl_ab={next(iter(urls))}"})
    assert without_click_id(r.headers["location"]) == link.final_url
    assert "set-cookie" not in r.headers


async def test_off_by_default_no_cookie_is_set_or_read(edge: Edge) -> None:
    link, urls = await _tested(edge)
    ua = {"user-agent": _agent(3)}
    r = await _get(edge, link.code, ua)
    assert "set-cookie" not in r.headers
    got = without_click_id(r.headers["location"])
    other = next(v for v, u in urls.items() if u != got)
    r = await _get(edge, link.code, ua | {"cookie": f"hl_ab={other}"})
    assert without_click_id(r.headers["location"]) == got  # the daily visitor id only
    assert "set-cookie" not in r.headers
