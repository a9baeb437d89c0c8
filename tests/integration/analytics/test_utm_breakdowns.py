"""utm_content (ad group) and utm_term (ad) breakdowns: a generated stream of clicks
through the real worker, then the stats API, against counts computed here independently
— workspace-wide (as of each click) and in a link-level scope (the links as they are now),
on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest_asyncio

from api_client import Api, running_api
from hoplink.clicks.models import Click
from hoplink.ingest.worker import Worker

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Version/17.4 Mobile Safari/604.1"
PREVIEW = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
DAY = datetime.now(UTC).date() - timedelta(days=4)
T0 = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC).timestamp()
# (utm_content, utm_term, in the campaign?) of each link; "双11 广告组" checks non-ASCII values.
LINKS = [
    ("adgroup-a", "ad-1", True),
    ("adgroup-a", "ad-2", True),
    ("双11 广告组", "ad-1", True),
    ("adgroup-b", None, False),
    (None, "ad-3", True),
    (None, None, True),
]


@pytest_asyncio.fixture
async def api(db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(db_url, tmp_path / "data") as client:
        yield client


class _NoSource:
    async def read(self, max_items: int, wait: float) -> tuple[list[Click], object]:
        return [], None

    async def ack(self, token: object) -> None:
        return None


def _expected(
    clicks: list[Click], links: dict[str, dict[str, Any]], field: str, *, per_link: bool
) -> list[tuple[str, int, int, int]]:
    """(value, pv, human_pv, uv), most clicked first. uv counts visitor-days: workspace-wide
    credited to the value of the visitor's first human click of the UTC day; per link (a
    link-level scope sums its links) to every link they clicked that day."""
    pv: dict[str, int] = defaultdict(int)
    human: dict[str, int] = defaultdict(int)
    uv: dict[str, int] = defaultdict(int)
    seen: set[tuple[Any, ...]] = set()
    for c in sorted(clicks, key=lambda c: c.ts):
        value = links[c.link_id][field]
        is_human = c.user_agent != PREVIEW and c.method == "GET"
        key = (int(c.ts // 86400), c.visitor_hash) + ((c.link_id,) if per_link else ())
        first = is_human and key not in seen
        if first:
            seen.add(key)
        if value is None:
            continue
        pv[value] += 1
        human[value] += is_human
        uv[value] += first
    return sorted(((v, pv[v], human[v], uv[v]) for v in pv), key=lambda r: (-r[1], r[0]))


async def test_utm_content_and_term_breakdowns_equal_the_ground_truth(api: Api) -> None:
    ws = await api.workspace("Ad Shop", timezone="UTC")
    writer = {"Authorization": f"Bearer {await api.key(ws)}"}
    campaign = (
        await api.http.post("/api/v1/campaigns", json={"name": "Q4"}, headers=writer)
    ).json()
    links: dict[str, dict[str, Any]] = {}
    for n, (content, term, in_campaign) in enumerate(LINKS):
        body = {
            "url": f"https://shop.example.com/item/{n}",
            "utm_content": content,
            "utm_term": term,
            "campaign_id": campaign["id"] if in_campaign else None,
        }
        r = await api.http.post("/api/v1/links", json=body, headers=writer)
        assert r.status_code == 201, r.text
        links[r.json()["id"]] = r.json()
    rng = random.Random(10)
    ids = list(links)
    clicks = [
        Click(
            click_id=f"{n:032x}",
            ts=T0 + rng.randrange(2 * 86400),
            link_id=rng.choice(ids),
            workspace_id=ws.id,
            domain="hop.test",
            method="HEAD" if rng.random() < 0.05 else "GET",
            user_agent=PREVIEW if rng.random() < 0.1 else PHONE,
            referrer="",
            accept_language="en",
            country="US",
            visitor_hash=f"v{rng.randrange(40)}",
        )
        for n in range(600)
    ]
    await Worker(db=api.db, source=_NoSource()).process(clicks)
    # Editing a link afterwards moves nothing workspace-wide (the worker kept the value
    # each click had); a link-level scope follows the links as they are now.
    moved = ids[0]
    r = await api.http.patch(
        f"/api/v1/links/{moved}", json={"utm_content": "adgroup-c"}, headers=writer
    )
    assert r.status_code == 200, r.text
    now = {**links, moved: {**links[moved], "utm_content": "adgroup-c"}}

    params = {"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat(), "top": "50"}
    params["metric"] = "pv"
    scopes = [
        ("/api/v1/stats/workspace", links, False),
        (f"/api/v1/stats/campaign/{campaign['id']}", now, True),
    ]
    for url, truth, per_link in scopes:
        body = (await api.http.get(url, params=params, headers=writer)).json()
        in_scope = [c for c in clicks if truth is links or truth[c.link_id]["campaign_id"]]
        for name in ("utm_content", "utm_term"):
            got = [(i["value"], i["pv"], i["human_pv"], i["uv"]) for i in body["breakdowns"][name]]
            want = _expected(in_scope, truth, name, per_link=per_link)
            assert got == want, (url, name, got, want)
        export = await api.http.get(f"{url}/breakdown/utm_content", params=params, headers=writer)
        assert [i["value"] for i in export.json()["items"]] == [
            i["value"] for i in body["breakdowns"]["utm_content"]
        ]
    workspace = (await api.http.get(scopes[0][0], params=params, headers=writer)).json()
    assert {i["value"] for i in workspace["breakdowns"]["utm_content"]} == {
        "adgroup-a",
        "双11 广告组",
        "adgroup-b",
    }
