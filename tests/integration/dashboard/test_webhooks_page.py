"""Settings → Webhooks: add an endpoint (secret shown once), private URLs refused, delete,
replay failed messages; managers only; zh-CN."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from dashboard_harness import Dash, running_dashboard

from hoplink.ids import utcnow
from hoplink.webhooks.models import Attempt
from hoplink.webhooks.outbox import emit
from hoplink.workspaces.models import Role


@pytest_asyncio.fixture
async def dash(db_url: str, tmp_path: Path) -> AsyncIterator[Dash]:
    async with running_dashboard(
        db_url, tmp_path / "data", outbound_allow_private="127.0.0.1"
    ) as running:
        yield running


async def test_add_shows_secret_once_then_delete(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.ADMIN)
    base = f"/app/w/{ws.slug}/settings/webhooks"
    assert f'href="{base}"' in (await b.get(f"/app/w/{ws.slug}/settings")).text
    empty = await b.get(base)
    assert empty.status_code == 200 and "No endpoints yet." in empty.text
    added = await b.post(base, {"url": "http://127.0.0.1:9/in", "events": ["link.created"]})
    assert added.status_code == 200, added.text[-2000:]
    async with dash.db.transaction(write=False) as tx:
        [endpoint] = await tx.webhooks(ws.id).endpoints()
    assert endpoint.events == ("link.created",)
    secret = added.text.split('<code class="secret">', 1)[1].split("<", 1)[0]
    assert secret.startswith("whsec_")
    again = await b.get(base)
    assert secret not in again.text and "http://127.0.0.1:9/in" in again.text
    deleted = await b.post(f"{base}/{endpoint.id}/delete")
    assert deleted.status_code == 303
    assert "The webhook endpoint was deleted." in (await b.get(base)).text


async def test_private_url_and_no_events_are_refused(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.OWNER)
    base = f"/app/w/{ws.slug}/settings/webhooks"
    r = await b.post(base, {"url": "http://10.1.2.3/in", "events": ["click"]})
    assert r.status_code == 422 and 'data-for="url"' in r.text
    r = await b.post(base, {"url": "http://127.0.0.1:9/in"})
    assert r.status_code == 422 and 'data-for="events"' in r.text
    async with dash.db.transaction(write=False) as tx:
        assert await tx.webhooks(ws.id).endpoints() == []


async def test_replay_failed_and_members_are_refused_and_zh_cn(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.OWNER)
    base = f"/app/w/{ws.slug}/settings/webhooks"
    await b.post(base, {"url": "http://127.0.0.1:9/in", "events": ["link.health"]})
    async with dash.db.transaction() as tx:
        await emit(tx, workspace_id=ws.id, event_type="link.health", data={})
        [m] = await tx.webhooks(ws.id).messages()
        attempt = Attempt("wha_x", m.id, utcnow(), 500, 3, None, None)
        await tx.webhook_queue.finish(m.id, attempt=attempt, status="failed", next_attempt_at=None)
    page = await b.get(base)
    assert "1 failed messages" in page.text
    replayed = await b.post(f"{base}/replay")
    assert replayed.status_code == 303
    assert "1 failed messages will be sent again." in (await b.get(base)).text
    async with dash.db.transaction(write=False) as tx:
        assert await tx.webhook_queue.count("pending") == 1
    await b.post("/app/lang", {"lang": "zh_CN", "next": base})
    assert "添加端点" in (await b.get(base)).text
    member = dash.browser(("127.0.0.1", 50001))
    await dash.user("m@example.com", ws, Role.MEMBER)
    await member.sign_in("m@example.com")
    assert (await member.get(base)).status_code in (403, 404)
