"""A link's public stats page (issue 16) on SQLite and PostgreSQL: opt-in from the link page
or the API, an unguessable address shown once, aggregates only (no visitor data, not even
the destination), a new address retires the old one, revoking answers 404 at once, and
nobody reaches another workspace's link."""

from __future__ import annotations

import html
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from dashboard_harness import Dash, running_dashboard

import factories
from hoplink.clicks.models import Click
from hoplink.ingest.worker import Worker
from hoplink.workspaces.models import Role

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
_URL = re.compile(r"https?://[^\s<\"]+/stats/([A-Za-z0-9_-]+)")


@pytest_asyncio.fixture
async def dash(db_url: str, tmp_path: Path) -> AsyncIterator[Dash]:
    async with running_dashboard(db_url, tmp_path / "data") as running:
        yield running


class _NoSource:
    async def read(self, max_items: int, timeout: float) -> tuple[list[Click], object]:  # noqa: ASYNC109
        return [], None

    async def ack(self, token: object) -> None:
        return None


async def _clicks(
    dash: Dash, ws_id: str, link_id: str, n: int, *, days_ago: int = 0, first: int = 0
) -> None:
    now = time.time() - days_ago * 86_400
    clicks = [
        Click(
            click_id=f"pubstat{i:010d}{link_id[-4:]}",
            ts=now - (i - first) * 60,
            link_id=link_id,
            workspace_id=ws_id,
            domain=factories.DEFAULT_HOST,
            method="GET",
            user_agent=PHONE,
            referrer="https://secret-referrer.example/path",
            accept_language="en-US",
            country="DE",
            visitor_hash=f"visitor-{i % 2}",
        )
        for i in range(first, first + n)
    ]
    await Worker(db=dash.db, source=_NoSource(), retry_base=0.001).process(clicks)


async def test_turn_on_share_read_renew_and_turn_off(dash: Dash) -> None:
    owner, ws = await dash.signed_in(Role.OWNER)
    link = await dash.link(ws, url="https://shop.example.com/secret-product", title="Summer")
    await _clicks(dash, ws.id, link.id, 4)
    page = await owner.get(f"/app/w/{ws.slug}/links/{link.id}")
    assert "Public stats page" in page.text and "/public-stats/revoke" not in page.text

    on = await owner.post(f"/app/w/{ws.slug}/links/{link.id}/public-stats", {})
    assert on.status_code == 303
    shown = html.unescape((await owner.get(on.headers["location"])).text)
    match = _URL.search(shown)
    assert match is not None, shown[-3000:]
    token = match.group(1)
    assert len(token) >= 43  # 256 random bits
    again = html.unescape((await owner.get(on.headers["location"])).text)
    assert token not in again  # shown once
    assert "/public-stats/revoke" in again

    visitor = dash.browser(("203.0.113.9", 40000))
    public = await visitor.get(f"/stats/{token}")
    assert public.status_code == 200, public.text[-2000:]
    text = html.unescape(public.text)
    assert re.search(r'id="pv">\s*4<', public.text) and re.search(r'id="uv">\s*2<', public.text)
    assert "Germany" in text and "Mobile" in text and "Summer" in text
    for private in (
        "secret-product",
        "secret-referrer",
        "visitor-0",
        "pubstat",
        "iPhone",
        ws.name,
        "/app/w/",
    ):
        assert private not in text, private
    assert public.headers["x-robots-tag"] == "noindex, nofollow"
    assert public.headers["cache-control"] == "no-store"

    for wrong in (token[:-1] + ("A" if token[-1] != "A" else "B"), "short", "x" * 300):
        assert (await visitor.get(f"/stats/{wrong}")).status_code == 404

    renewed = await owner.post(f"/app/w/{ws.slug}/links/{link.id}/public-stats", {})
    fresh = _URL.search(html.unescape((await owner.get(renewed.headers["location"])).text))
    assert fresh is not None and fresh.group(1) != token
    assert (await visitor.get(f"/stats/{token}")).status_code == 404
    assert (await visitor.get(f"/stats/{fresh.group(1)}")).status_code == 200

    off = await owner.post(f"/app/w/{ws.slug}/links/{link.id}/public-stats/revoke", {})
    assert off.status_code == 303
    assert (await visitor.get(f"/stats/{fresh.group(1)}")).status_code == 404


async def test_api_roles_and_other_workspaces(dash: Dash) -> None:
    owner, ws = await dash.signed_in(Role.OWNER)
    link = await dash.link(ws, url="https://shop.example.com/a")
    rival = await dash.workspace("Rival")
    rivals = await dash.link(rival, url="https://shop.example.com/r")
    async with dash.db.transaction() as tx:
        key = await factories.api_key(tx, ws)
    http = dash.browser().http
    auth = {"authorization": f"Bearer {key}"}
    made = await http.post(f"/api/v1/links/{link.id}/public-stats", headers=auth)
    assert made.status_code == 201, made.text
    url = made.json()["url"]
    assert url.startswith(f"http://{factories.DEFAULT_HOST}/stats/")
    assert (await http.get(url)).status_code == 200
    refused = await http.post(f"/api/v1/links/{rivals.id}/public-stats", headers=auth)
    assert refused.status_code == 404
    assert (
        await http.delete(f"/api/v1/links/{rivals.id}/public-stats", headers=auth)
    ).status_code == 404
    assert (
        await http.delete(f"/api/v1/links/{link.id}/public-stats", headers=auth)
    ).status_code == 204
    assert (await http.get(url)).status_code == 404

    viewer, _ = await dash.signed_in(Role.VIEWER, ws=ws)
    await viewer.get(f"/app/w/{ws.slug}/links/{link.id}")
    denied = await viewer.post(f"/app/w/{ws.slug}/links/{link.id}/public-stats", {})
    assert denied.status_code == 403
    # Another workspace's link through one's own workspace's address: not found.
    cross = await owner.post(f"/app/w/{ws.slug}/links/{rivals.id}/public-stats", {})
    assert cross.status_code == 404
    async with dash.db.transaction(write=False) as tx:
        assert await tx.public_stats.since(workspace_id=rival.id, link_id=rivals.id) is None


async def test_the_page_covers_the_30_days_it_names(dash: Dash) -> None:
    """The page says "the last 30 days": clicks of 20 days ago count, and there is a row
    per day (it showed the stats API's default 7 days under that heading)."""
    owner, ws = await dash.signed_in(Role.OWNER)
    link = await dash.link(ws, url="https://shop.example.com/a")
    await _clicks(dash, ws.id, link.id, 3)
    await _clicks(dash, ws.id, link.id, 2, days_ago=20, first=3)
    await _clicks(dash, ws.id, link.id, 1, days_ago=40, first=5)  # outside: not counted
    on = await owner.post(f"/app/w/{ws.slug}/links/{link.id}/public-stats", {})
    match = _URL.search(html.unescape((await owner.get(on.headers["location"])).text))
    assert match is not None
    public = await dash.browser(("203.0.113.9", 40000)).get(f"/stats/{match.group(1)}")
    assert "30 days" in public.text
    assert re.search(r'id="pv">\s*5<', public.text), public.text[-3000:]
    days = re.search(r'<table class="series">.*?<tbody>(.*?)</tbody>', public.text, re.S)
    assert days is not None and days.group(1).count("<tr>") == 30
