"""Where a workspace's data can be sent out is audited: webhook endpoints (every link,
click and order event to a URL of the caller's choosing), ad platform integrations, and a
link's public stats page. None of them left an entry before; an admin key that was
leaked could add an endpoint, collect, delete it, and leave no trace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from api_client import Api, running_api
from hoplink import audit

API = "/api/v1"
# A receiver whose URL path is its secret, as chat and automation tools' hook URLs are.
HOOK_SECRET = "T0SECRET/B0SECRET/xoxo1234"


@pytest_asyncio.fixture
async def api(db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(
        db_url, tmp_path / "data", outbound_allow_private=("127.0.0.1",)
    ) as client:
        yield client


async def _actions(api: Api, auth: dict[str, str]) -> list[dict[str, object]]:
    r = await api.http.get(f"{API}/workspace/audit", headers=auth, params={"limit": 500})
    assert r.status_code == 200, r.text
    items: list[dict[str, object]] = r.json()["items"]
    return list(reversed(items))  # oldest first


async def test_outbound_channels_are_audited_with_their_actor(api: Api) -> None:
    _ws, auth = await api.tenant()
    before = len(await _actions(api, auth))

    r = await api.http.post(
        f"{API}/webhooks",
        json={"url": f"http://127.0.0.1:9/{HOOK_SECRET}", "events": ["click"]},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    hook = r.json()["id"]
    r = await api.http.patch(
        f"{API}/webhooks/{hook}", json={"url": "http://127.0.0.1:9/other"}, headers=auth
    )
    assert r.status_code == 200, r.text
    r = await api.http.post(
        f"{API}/webhooks/{hook}/rotate-secret", json={"overlap_seconds": 0}, headers=auth
    )
    assert r.status_code == 200, r.text
    assert (await api.http.delete(f"{API}/webhooks/{hook}", headers=auth)).status_code == 204

    body = {
        "kind": "meta",
        "name": "pixel",
        "account_id": "1234567890",
        "credential": "EAAsecretToken1234567890abcd",
        "events": ["purchase"],
    }
    r = await api.http.post(f"{API}/integrations", json=body, headers=auth)
    assert r.status_code == 201, r.text
    dest = r.json()["id"]
    r = await api.http.patch(
        f"{API}/integrations/{dest}",
        json={"credential": "EAAotherToken1234567890abcd"},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert (await api.http.delete(f"{API}/integrations/{dest}", headers=auth)).status_code == 204

    link = await api.http.post(
        f"{API}/links", json={"url": "https://shop.example.com/1"}, headers=auth
    )
    link_id = link.json()["id"]
    r = await api.http.post(f"{API}/links/{link_id}/public-stats", headers=auth)
    assert r.status_code == 201, r.text
    r = await api.http.delete(f"{API}/links/{link_id}/public-stats", headers=auth)
    assert r.status_code == 204

    entries = (await _actions(api, auth))[before:]
    assert [(e["action"], e["target"]) for e in entries] == [
        (audit.WEBHOOK_CREATED, hook),
        (audit.WEBHOOK_CHANGED, hook),
        (audit.WEBHOOK_SECRET_ROTATED, hook),
        (audit.WEBHOOK_DELETED, hook),
        (audit.INTEGRATION_CREATED, dest),
        (audit.INTEGRATION_CHANGED, dest),
        (audit.INTEGRATION_DELETED, dest),
        (audit.PUBLIC_STATS_ENABLED, link_id),
        (audit.PUBLIC_STATS_REVOKED, link_id),
    ]
    actors = {e["actor"] for e in entries}
    assert len(actors) == 1 and str(actors.pop()).startswith("key:")
    by_action = {e["action"]: e["detail"] for e in entries}
    assert by_action[audit.WEBHOOK_CREATED] == {"host": "127.0.0.1", "events": "click"}
    assert by_action[audit.INTEGRATION_CHANGED] == {"changed": "credential"}
    assert by_action[audit.INTEGRATION_CREATED] == {"kind": "meta", "account_id": "1234567890"}
    # Neither a receiver's secret URL path nor a credential is written down.
    text = str(entries)
    assert "SECRET" not in text and "Token" not in text
