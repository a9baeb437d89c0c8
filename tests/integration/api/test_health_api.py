"""/api/v1 destination health: a link's state and history, automatic fallback settings,
"check now", the workspace's notifications (the checker itself: tests/integration/linkhealth)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from api_client import Api, assert_problem, running_api
from hoplink.ids import utcnow
from hoplink.linkhealth.models import HealthEvent

API = "/api/v1"


@pytest_asyncio.fixture
async def api(db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(db_url, tmp_path / "data") as client:
        yield client


async def test_link_health_check_now_fallback_and_notifications(api: Api) -> None:
    ws, auth = await api.tenant()
    r = await api.http.post(
        f"{API}/links", json={"url": "https://shop.example.com/p/1"}, headers=auth
    )
    assert r.status_code == 201, r.text
    link_id = r.json()["id"]

    got = await api.http.get(f"{API}/links/{link_id}/health", headers=auth)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["state"] == "unknown" and body["auto_fallback"] == "off"
    assert body["history"] == []

    r = await api.http.post(f"{API}/links/{link_id}/health/check", headers=auth)
    assert r.status_code == 202 and r.json() == {"due": 1}
    r = await api.http.post(f"{API}/health/check", headers=auth)
    assert r.status_code == 202

    # No fallback URL anywhere: automatic fallback cannot be turned on.
    r = await api.http.patch(
        f"{API}/links/{link_id}/health", json={"auto_fallback": "broken"}, headers=auth
    )
    assert_problem(r, 422, "invalid_input", "auto_fallback")
    r = await api.http.patch(
        f"{API}/links/{link_id}/health", json={"auto_fallback": "sometimes"}, headers=auth
    )
    assert r.status_code == 422
    await api.http.patch(
        f"{API}/links/{link_id}", json={"expiry_url": "https://shop.example.com/"}, headers=auth
    )
    r = await api.http.patch(
        f"{API}/links/{link_id}/health", json={"auto_fallback": "degraded"}, headers=auth
    )
    assert r.status_code == 200, r.text
    assert r.json()["auto_fallback"] == "degraded"

    async with api.db.transaction() as tx:
        await tx.health(ws.id).add_event(
            HealthEvent(
                id="hev_0000000000000000000001", workspace_id=ws.id, link_id=link_id,
                at=utcnow(), old_state="healthy", new_state="broken", reason="http_404",
                detail=None, url="https://shop.example.com/p/1", status_code=404, switch=None,
                acknowledged_at=None,
            )
        )  # fmt: skip
    summary = (await api.http.get(f"{API}/health", headers=auth)).json()
    assert summary["counts"]["unknown"] == 1
    assert [n["reason"] for n in summary["notifications"]] == ["http_404"]
    r = await api.http.post(
        f"{API}/health/notifications/acknowledge", json={"id": "hev_nope"}, headers=auth
    )
    assert r.status_code == 404
    r = await api.http.post(f"{API}/health/notifications/acknowledge", json={}, headers=auth)
    assert r.json() == {"acknowledged": 1}
    assert (await api.http.get(f"{API}/health", headers=auth)).json()["notifications"] == []
    every = await api.http.get(f"{API}/health/notifications", headers=auth)
    assert len(every.json()) == 1 and every.json()[0]["acknowledged_at"] is not None
    history = (await api.http.get(f"{API}/links/{link_id}/health", headers=auth)).json()
    assert [h["new_state"] for h in history["history"]] == ["broken"]


async def test_unknown_link_is_404(api: Api) -> None:
    _ws, auth = await api.tenant()
    r = await api.http.get(f"{API}/links/lnk_doesnotexist/health", headers=auth)
    assert r.status_code == 404
