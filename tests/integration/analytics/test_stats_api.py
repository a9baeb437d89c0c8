"""GET /api/v1/stats/… on the real app: series, breakdowns, CSV, tenancy, validation."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest_asyncio
from sqlalchemy import update

import factories
from api_client import Api, assert_problem, running_api
from hoplink.accounts.models import Scope
from hoplink.app import create_app
from hoplink.clicks.models import Click
from hoplink.config import load_settings
from hoplink.ingest.worker import Worker, embedded_worker
from hoplink.storage import tables

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/122.0.0.0 Safari/537.36"
)
PREVIEW = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
TZ = "Asia/Shanghai"  # UTC+8, no DST
DAY_D = datetime.now(UTC).date() - timedelta(days=3)
B = datetime(DAY_D.year, DAY_D.month, DAY_D.day, tzinfo=UTC).timestamp()  # UTC midnight of D


@pytest_asyncio.fixture
async def api(db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(db_url, tmp_path / "data") as client:
        yield client


@dataclass
class Shop:
    headers: dict[str, str]
    link_a: dict[str, Any]
    link_b: dict[str, Any]
    campaign: dict[str, Any]


def _click(n: int, link: dict[str, Any], ws_id: str, at: float, visitor: str, **kw: Any) -> Click:
    values: dict[str, Any] = {
        "click_id": f"c{n:04d}{link['id']}",
        "ts": at,
        "link_id": link["id"],
        "workspace_id": ws_id,
        "domain": "hop.test",
        "method": "GET",
        "user_agent": PHONE,
        "referrer": "https://m.facebook.com/",
        "accept_language": "en-US",
        "country": "US",
        "visitor_hash": visitor,
    }
    return Click(**(values | kw))


async def _shop(api: Api) -> Shop:
    ws = await api.workspace("Shanghai Shop", timezone=TZ)
    writer = {"Authorization": f"Bearer {await api.key(ws)}"}
    reader = {"Authorization": f"Bearer {await api.key(ws, frozenset({Scope.STATS_READ}))}"}
    campaign = (
        await api.http.post("/api/v1/campaigns", json={"name": "Double 11"}, headers=writer)
    ).json()
    body_a = {
        "url": "https://shop.example.com/a",
        "channel": "facebook",
        "campaign_id": campaign["id"],
        "tags": ["summer"],
    }
    a = (await api.http.post("/api/v1/links", json=body_a, headers=writer)).json()
    body_b = {"url": "https://shop.example.com/b", "channel": "tiktok"}
    b = (await api.http.post("/api/v1/links", json=body_b, headers=writer)).json()
    h = 3600
    clicks = [
        _click(1, a, ws.id, B + 1 * h, "v1"),
        _click(2, a, ws.id, B + 1 * h + 600, "v1"),
        _click(3, a, ws.id, B + 2 * h, "bot", user_agent=PREVIEW, referrer=""),
        _click(4, a, ws.id, B + 17 * h, "v2", user_agent=DESKTOP, country="DE", referrer=""),
        _click(5, b, ws.id, B + 3 * h, "v1", referrer="https://www.tiktok.com/@shop"),
        _click(6, b, ws.id, B + 3 * h, "v3", method="HEAD"),
    ]
    await Worker(db=api.db, source=_NoSource()).process(clicks)
    return Shop(reader, a, b, campaign)


class _NoSource:
    async def read(self, max_items: int, wait: float) -> tuple[list[Click], object]:
        return [], None

    async def ack(self, token: object) -> None:
        return None


D0, D1 = DAY_D.isoformat(), (DAY_D + timedelta(days=1)).isoformat()


async def _get(api: Api, url: str, headers: dict[str, str], **params: str) -> httpx.Response:
    return await api.http.get(url, params=params, headers=headers)


async def test_link_stats_series_and_breakdowns(api: Api) -> None:
    shop = await _shop(api)
    r = await _get(
        api, f"/api/v1/stats/link/{shop.link_a['id']}", shop.headers, **{"from": D0, "to": D1}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == {"type": "link", "id": shop.link_a["id"]}
    assert body["timezone"] == TZ and body["granularity"] == "day"
    assert body["from"] == f"{D0}T00:00:00+08:00"
    assert body["to"] == f"{(DAY_D + timedelta(days=2)).isoformat()}T00:00:00+08:00"
    assert body["totals"] == {"pv": 4, "human_pv": 3, "bot_pv": 1, "uv": 2}
    # 01:00-02:00 UTC on D is 09:00-10:00 on local day D; 17:00 UTC is 01:00 on D+1.
    assert [(p["t"], p["pv"], p["human_pv"], p["bot_pv"], p["uv"]) for p in body["series"]] == [
        (f"{D0}T00:00:00+08:00", 3, 2, 1, 1),
        (f"{D1}T00:00:00+08:00", 1, 1, 0, 1),
    ]
    bd = body["breakdowns"]
    assert {i["value"]: (i["pv"], i["uv"]) for i in bd["devices"]} == {
        "mobile": (2, 1),
        "desktop": (1, 1),
        "bot": (1, 0),
    }
    assert bd["devices"][0] == {
        "value": "mobile",
        "label": None,
        "pv": 2,
        "human_pv": 2,
        "bot_pv": 0,
        "uv": 1,
        "share": 0.5,
    }
    assert [(i["value"], i["pv"]) for i in bd["countries"]] == [("US", 3), ("DE", 1)]
    assert [(i["value"], i["pv"]) for i in bd["referrers"]] == [
        ("(direct)", 2),
        ("m.facebook.com", 2),
    ]
    assert [(i["value"], i["pv"]) for i in bd["bots"]] == [("Facebook preview", 1)]
    assert [(i["value"], i["pv"]) for i in bd["channels"]] == [("facebook", 4)]
    assert [(i["value"], i["label"], i["pv"]) for i in bd["campaigns"]] == [
        (shop.campaign["id"], "Double 11", 4)
    ]
    assert set(bd) == {
        "countries",
        "devices",
        "os",
        "browsers",
        "referrers",
        "languages",
        "bots",
        "rules",
        "variants",
        "channels",
        "campaigns",
        "utm_content",
        "utm_term",
    }
    assert bd["utm_content"] == bd["utm_term"] == []  # the link has neither


async def test_hourly_series_is_local_and_zero_filled(api: Api) -> None:
    shop = await _shop(api)
    r = await _get(
        api,
        "/api/v1/stats/workspace",
        shop.headers,
        **{"from": D0, "to": D0, "granularity": "hour"},
    )
    body = r.json()
    series = body["series"]
    assert len(series) == 24
    assert series[0]["t"] == f"{D0}T00:00:00+08:00"
    by_time = {p["t"]: (p["pv"], p["uv"]) for p in series if p["pv"]}
    assert by_time == {
        f"{D0}T09:00:00+08:00": (2, 1),
        f"{D0}T10:00:00+08:00": (1, 0),
        f"{D0}T11:00:00+08:00": (2, 1),
    }
    # v1 clicked both links that day: one visitor for the workspace.
    assert body["totals"] == {"pv": 5, "human_pv": 3, "bot_pv": 2, "uv": 1}
    assert sum(p["uv"] for p in series) == 2  # hourly UVs do not add up to the day's


async def test_workspace_channel_campaign_and_tag_scopes(api: Api) -> None:
    shop = await _shop(api)
    rng = {"from": D0, "to": D1}
    ws = (await _get(api, "/api/v1/stats/workspace", shop.headers, **rng)).json()
    assert ws["totals"] == {"pv": 6, "human_pv": 4, "bot_pv": 2, "uv": 2}
    assert [(i["value"], i["pv"], i["share"]) for i in ws["breakdowns"]["channels"]] == [
        ("facebook", 4, 0.6667),
        ("tiktok", 2, 0.3333),
    ]
    assert [(i["value"], i["pv"]) for i in ws["breakdowns"]["campaigns"]] == [
        (shop.campaign["id"], 4),
        ("(none)", 2),
    ]
    tiktok = (await _get(api, "/api/v1/stats/channel/TikTok", shop.headers, **rng)).json()
    assert tiktok["totals"] == {"pv": 2, "human_pv": 1, "bot_pv": 1, "uv": 1}
    campaign_url = f"/api/v1/stats/campaign/{shop.campaign['id']}"
    campaign = (await _get(api, campaign_url, shop.headers, **rng)).json()
    assert campaign["totals"]["pv"] == 4
    tag = (await _get(api, "/api/v1/stats/tag/summer", shop.headers, **rng)).json()
    assert tag["totals"] == campaign["totals"]
    sorted_by_uv = (
        await _get(api, "/api/v1/stats/workspace", shop.headers, metric="uv", top="1", **rng)
    ).json()
    assert [i["value"] for i in sorted_by_uv["breakdowns"]["devices"]] == ["mobile"]


async def test_workspace_channels_and_campaigns_are_as_of_the_click(api: Api) -> None:
    """The workspace breakdowns read the worker's channel/campaign rows (the link's values
    when clicked); a channel or campaign scope groups the links as they are now."""
    shop = await _shop(api)
    rng = {"from": D0, "to": D1}
    async with api.db.transaction() as tx:
        await tx.conn.execute(
            update(tables.links)
            .where(tables.links.c.id == shop.link_b["id"])
            .values(channel="facebook", campaign_id=shop.campaign["id"])
        )
    ws = (await _get(api, "/api/v1/stats/workspace", shop.headers, **rng)).json()
    assert [(i["value"], i["pv"]) for i in ws["breakdowns"]["channels"]] == [
        ("facebook", 4),
        ("tiktok", 2),
    ]
    assert [(i["value"], i["label"], i["pv"]) for i in ws["breakdowns"]["campaigns"]] == [
        (shop.campaign["id"], "Double 11", 4),
        ("(none)", None, 2),
    ]
    export = await _get(api, "/api/v1/stats/workspace/breakdown/campaigns", shop.headers, **rng)
    assert [(i["value"], i["pv"]) for i in export.json()["items"]] == [
        (shop.campaign["id"], 4),
        ("(none)", 2),
    ]
    facebook = (await _get(api, "/api/v1/stats/channel/facebook", shop.headers, **rng)).json()
    assert facebook["totals"]["pv"] == 6  # the scope follows the links as they are now


async def test_csv_exports(api: Api) -> None:
    shop = await _shop(api)
    url = f"/api/v1/stats/link/{shop.link_a['id']}"
    r = await _get(api, url, shop.headers, **{"from": D0, "to": D1, "format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment;" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows == [
        ["time", "pv", "human_pv", "bot_pv", "uv"],
        [f"{D0}T00:00:00+08:00", "3", "2", "1", "1"],
        [f"{D1}T00:00:00+08:00", "1", "1", "0", "1"],
    ]
    r = await _get(
        api, f"{url}/breakdown/countries", shop.headers, **{"from": D0, "to": D1, "format": "csv"}
    )
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["value", "label", "pv", "human_pv", "bot_pv", "uv", "share"]
    assert rows[1:] == [
        ["US", "", "3", "2", "1", "1", "0.75"],
        ["DE", "", "1", "1", "0", "1", "0.25"],
    ]
    r = await _get(
        api, "/api/v1/stats/workspace/breakdown/channels", shop.headers, **{"from": D0, "to": D1}
    )
    assert r.json() == {
        "breakdown": "channels",
        "items": [
            {
                "value": "facebook",
                "label": None,
                "pv": 4,
                "human_pv": 3,
                "bot_pv": 1,
                "uv": 2,
                "share": 0.6667,
            },
            {
                "value": "tiktok",
                "label": None,
                "pv": 2,
                "human_pv": 1,
                "bot_pv": 1,
                # v1's visitor-day went to its first click of the day, on the facebook link
                "uv": 0,
                "share": 0.3333,
            },
        ],
    }


def _stable(headers: httpx.Headers) -> dict[str, str]:
    """Headers minus the per-request ones (request id, the key's remaining rate budget)."""
    per_request = {"x-request-id", "ratelimit", "ratelimit-policy"}
    return {k: v for k, v in headers.items() if k not in per_request}


async def test_foreign_ids_get_the_same_404_as_missing_ones(api: Api) -> None:
    shop = await _shop(api)
    _, intruder = await api.tenant("Intruder", frozenset({Scope.STATS_READ}))
    pairs = [
        (f"/api/v1/stats/link/{shop.link_a['id']}", "/api/v1/stats/link/lnk_0000000000000000"),
        (
            f"/api/v1/stats/campaign/{shop.campaign['id']}",
            "/api/v1/stats/campaign/cmp_0000000000000000",
        ),
        (
            f"/api/v1/stats/link/{shop.link_a['id']}/breakdown/countries",
            "/api/v1/stats/link/lnk_0000000000000000/breakdown/countries",
        ),
    ]
    for foreign, missing in pairs:
        a = await api.http.get(foreign, headers=intruder)
        b = await api.http.get(missing, headers=intruder)
        assert_problem(a, 404, "not_found")
        assert a.json() == b.json()
        assert _stable(a.headers) == _stable(b.headers)
    # The intruder's own workspace shows none of the owner's traffic.
    mine = (await api.http.get("/api/v1/stats/workspace", headers=intruder)).json()
    assert mine["totals"] == {"pv": 0, "human_pv": 0, "bot_pv": 0, "uv": 0}


async def test_stats_need_the_stats_read_scope(api: Api) -> None:
    _, links_only = await api.tenant("No Stats", frozenset({Scope.LINKS_READ, Scope.LINKS_WRITE}))
    r = await api.http.get("/api/v1/stats/workspace", headers=links_only)
    body = assert_problem(r, 403, "forbidden")
    assert "stats:read" in body["detail"]
    assert_problem(await api.http.get("/api/v1/stats/workspace"), 401, "unauthenticated")


async def test_validation_errors_name_the_field(api: Api) -> None:
    _, key = await api.tenant("Validator", frozenset({Scope.STATS_READ}))
    url = "/api/v1/stats/workspace"
    cases = [
        ({"from": "2026-05-10", "to": "2026-05-01"}, "from", "from: must be before to"),
        (
            {"from": "2025-01-01", "to": "2026-03-01"},
            "to",
            "to: the range may span at most 400 days",
        ),
        ({"from": "yesterday"}, "from", None),
        ({"to": "2026-13-45"}, "to", None),
        ({"granularity": "minute"}, "granularity", "granularity: use hour or day"),
        ({"metric": "gmv"}, "metric", None),
        ({"top": "0"}, "top", None),
        ({"format": "xml"}, "format", None),
    ]
    for params, field, detail in cases:
        r = await api.http.get(url, params=params, headers=key)
        body = assert_problem(r, 422, "invalid_input", field)
        if detail is not None:
            assert body["detail"] == detail
    r = await api.http.get("/api/v1/stats/workspace/breakdown/planets", headers=key)
    assert_problem(r, 422, "invalid_input", "breakdown")
    r = await api.http.get("/api/v1/stats/channel/Not%20A%20Channel", headers=key)
    assert_problem(r, 422, "invalid_input", "channel")


async def test_default_range_is_the_last_seven_local_days(api: Api) -> None:
    shop = await _shop(api)
    body = (await api.http.get("/api/v1/stats/workspace", headers=shop.headers)).json()
    assert len(body["series"]) == 7
    today = datetime.now(ZoneInfo(TZ)).date()
    assert body["series"][-1]["t"] == f"{today.isoformat()}T00:00:00+08:00"
    assert body["totals"]["pv"] == 6  # three days ago is inside the default range


@asynccontextmanager
async def _serving_with_worker(db_url: str, data_dir: Path) -> AsyncIterator[Api]:
    config = load_settings(
        database_url=db_url, data_dir=data_dir, default_domain=factories.DEFAULT_HOST
    )
    app = create_app(config, services=[embedded_worker])
    await app.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hop.test") as http:
            yield Api(app, http)
    finally:
        await app.stop()


async def test_a_redirect_shows_up_in_the_stats_within_two_seconds(
    db_url: str, tmp_path: Path
) -> None:
    async with _serving_with_worker(db_url, tmp_path / "data") as api:
        _, headers = await api.tenant("Fresh Shop", frozenset(Scope))
        link = (
            await api.http.post(
                "/api/v1/links", json={"url": "https://shop.example.com/x"}, headers=headers
            )
        ).json()
        r = await api.http.get(f"/{link['code']}", headers={"user-agent": PHONE})
        assert r.status_code == 302
        clicked = time.monotonic()
        while True:
            stats = await api.http.get(f"/api/v1/stats/link/{link['id']}", headers=headers)
            if stats.json()["totals"]["pv"] == 1:
                break
            assert time.monotonic() - clicked < 2.0, "the click did not show up within 2 s"
            await asyncio.sleep(0.05)
        assert stats.json()["totals"] == {"pv": 1, "human_pv": 1, "bot_pv": 0, "uv": 1}


async def test_csv_export_of_a_scope_named_in_chinese(api: Api) -> None:
    """A tag named 双11 in the file name made the header un-encodable (500)."""
    _ws, headers = await api.tenant()
    body = {"url": "https://shop.example.com/a", "tags": ["双11 大促"]}
    assert (await api.http.post("/api/v1/links", json=body, headers=headers)).status_code == 201
    for path in ("/api/v1/stats/tag/双11 大促", "/api/v1/stats/tag/双11 大促/breakdown/countries"):
        r = await _get(api, path, headers, format="csv")
        assert r.status_code == 200, r.text
        disposition = r.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="hoplink-tag-_11___-')
        assert "filename*=UTF-8''hoplink-tag-%E5%8F%8C11_%E5%A4%A7%E4%BF%83-" in disposition
