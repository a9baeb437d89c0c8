"""/api/v1/webhooks on the real app (SQLite and PostgreSQL): secrets shown once, SSRF and
bad input refused naming the field, scope, delivery log and replay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from receiver import Receiver, running_receiver

from api_client import Api, assert_problem, running_api
from hoplink.accounts.models import Scope
from processes import SECRET

API = "/api/v1"


@pytest_asyncio.fixture
async def api(db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(
        db_url,
        tmp_path / "data",
        secret_key=SECRET,
        outbound_allow_private=("127.0.0.1",),
        webhook_poll_interval=0.05,
        webhook_retry_base=0.05,
    ) as client:
        yield client


@pytest_asyncio.fixture
async def strict_api(db_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(db_url, tmp_path / "data", secret_key=SECRET) as client:
        yield client


async def test_create_list_rotate_delete(api: Api) -> None:
    _ws, auth = await api.tenant()
    r = await api.http.post(
        f"{API}/webhooks",
        json={"url": "http://127.0.0.1:9/in", "events": ["link.created", "click"]},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["secret"].startswith("whsec_")
    listed = (await api.http.get(f"{API}/webhooks", headers=auth)).json()
    assert [e["id"] for e in listed] == [created["id"]]
    assert "secret" not in listed[0] and created["secret"] not in str(listed)
    r = await api.http.post(
        f"{API}/webhooks/{created['id']}/rotate-secret",
        json={"overlap_seconds": 3600},
        headers=auth,
    )
    assert r.status_code == 200 and r.json()["secret"] != created["secret"]
    assert r.json()["previous_secret_until"] is not None
    r = await api.http.patch(
        f"{API}/webhooks/{created['id']}", json={"enabled": False}, headers=auth
    )
    assert r.json()["enabled"] is False
    assert (
        await api.http.delete(f"{API}/webhooks/{created['id']}", headers=auth)
    ).status_code == 204
    r = await api.http.get(f"{API}/webhooks/{created['id']}", headers=auth)
    assert_problem(r, 404, "not_found")


async def test_private_addresses_are_refused(strict_api: Api) -> None:
    _ws, auth = await strict_api.tenant()
    for url in ("http://127.0.0.1:8080/in", "http://192.168.1.10/in", "http://localhost/in"):
        r = await strict_api.http.post(
            f"{API}/webhooks", json={"url": url, "events": ["click"]}, headers=auth
        )
        assert_problem(r, 422, "invalid_input", "url")
    async with strict_api.db.transaction() as tx:
        assert await tx.webhooks(_ws.id).endpoints() == []


async def test_bad_input_names_the_field(api: Api) -> None:
    _ws, auth = await api.tenant()
    r = await api.http.post(
        f"{API}/webhooks", json={"url": "http://127.0.0.1:9/", "events": ["nope"]}, headers=auth
    )
    assert r.status_code == 422 and "events" in r.text
    r = await api.http.post(
        f"{API}/webhooks", json={"url": "http://127.0.0.1:9/", "events": []}, headers=auth
    )
    assert r.status_code == 422 and "events" in r.text
    r = await api.http.post(
        f"{API}/webhooks", json={"url": "javascript:alert(1)", "events": ["click"]}, headers=auth
    )
    assert_problem(r, 422, "invalid_input", "url")


async def test_needs_workspace_admin_scope(api: Api) -> None:
    _ws, auth = await api.tenant(scopes=frozenset({Scope.LINKS_WRITE, Scope.LINKS_READ}))
    r = await api.http.get(f"{API}/webhooks", headers=auth)
    assert r.status_code == 403


async def test_link_event_delivered_then_log_and_replay(api: Api) -> None:
    async with running_receiver(Receiver(fail_first=1)) as rx:
        _ws, auth = await api.tenant()
        r = await api.http.post(
            f"{API}/webhooks", json={"url": rx.url, "events": ["link.created"]}, headers=auth
        )
        endpoint = r.json()
        rx.secrets.append(endpoint["secret"])
        r = await api.http.post(
            f"{API}/links", json={"url": "https://shop.example.com/p"}, headers=auth
        )
        assert r.status_code == 201, r.text
        # No delivery call here: the app's embedded worker (as `hoplink serve` runs it)
        # delivers on its own.
        for _ in range(1200):
            if rx.events:
                break
            await asyncio.sleep(0.05)
        [event] = rx.events.values()
        assert event["type"] == "link.created" and event["data"]["id"] == r.json()["id"]
        messages = (
            await api.http.get(f"{API}/webhooks/{endpoint['id']}/messages", headers=auth)
        ).json()
        detail = (
            await api.http.get(f"{API}/webhooks/messages/{messages[0]['id']}", headers=auth)
        ).json()
        assert detail["status"] == "delivered"
        assert [a["status_code"] for a in detail["log"]] == [500, 200]
        # Nothing failed: replaying one answers 404, replaying all replays none.
        r = await api.http.post(f"{API}/webhooks/messages/{messages[0]['id']}/replay", headers=auth)
        assert_problem(r, 404, "not_found")
        r = await api.http.post(f"{API}/webhooks/replay", json={}, headers=auth)
        assert r.json() == {"replayed": 0}
