"""Settings → Integrations: add (credential masked, never shown back), bad input named,
the test-event button shows the exact payload and the platform's answer, dead letters
with the platform's message and replay, live status; managers only; zh-CN."""

from __future__ import annotations

import html
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from dashboard_harness import Dash, running_dashboard

sys.path.insert(0, str(Path(__file__).parents[1] / "forwarding"))
from receivers import Platforms, running_platforms

import factories
from hoplink.workspaces.models import Role

TOKEN = "EAAdashboardToken1234567890wxyz"
FORM = {
    "kind": "meta",
    "name": "Shop pixel",
    "account_id": "1234567890",
    "credential": TOKEN,
    "events": ["click", "purchase"],
    "sample": "0.5",
    "test_code": "TEST777",
}


@pytest_asyncio.fixture
async def rx() -> AsyncIterator[Platforms]:
    async with running_platforms(Platforms()) as platforms:
        yield platforms


@pytest_asyncio.fixture
async def dash(db_url: str, tmp_path: Path, rx: Platforms) -> AsyncIterator[Dash]:
    async with running_dashboard(
        db_url,
        tmp_path / "data",
        outbound_allow_private="127.0.0.1",
        ga4_base_url=rx.base,
        meta_base_url=rx.base,
        tiktok_base_url=rx.base,
    ) as running:
        yield running


async def test_add_test_event_dead_letters_and_replay(dash: Dash, rx: Platforms) -> None:
    b, ws = await dash.signed_in(Role.OWNER)
    base = f"/app/w/{ws.slug}/settings/integrations"
    assert f'href="{base}"' in (await b.get(f"/app/w/{ws.slug}/settings")).text
    assert "No integrations yet." in (await b.get(base)).text
    added = await b.post(base, FORM)
    assert added.status_code == 303, added.text[-2000:]
    page = await b.get(base)
    assert "The integration was added." in page.text
    assert "••••wxyz" in page.text and TOKEN not in page.text
    async with dash.db.transaction(write=False) as tx:
        [dest] = await tx.forwarding(ws.id).destinations()
    assert dest.click_sample_rate == 0.5 and dest.events == ("click", "purchase")

    tested = await b.post(f"{base}/{dest.id}/test")
    assert tested.status_code == 200
    text = html.unescape(tested.text)
    payload = text.split('<pre class="payload" id="test-payload">', 1)[1].split("</pre>", 1)[0]
    assert '"test_event_code": "TEST777"' in payload
    assert '"access_token": "••••"' in payload and TOKEN not in text
    assert '"event_name": "PageView"' in payload
    assert "HTTP 200" in text and "events_received" in text
    assert len(rx.events["meta"]) == 1

    async with dash.db.transaction() as tx:
        await factories.dead_forward_event(
            tx, workspace_id=ws.id, destination_id=dest.id, batch_id="fwb_deaddashboard01",
            key="ev-dead-1", error="Invalid parameter: custom_data.currency",
        )  # fmt: skip
    page = await b.get(base)
    assert "ev-dead-1" in page.text and "Invalid parameter: custom_data.currency" in page.text
    assert "dead letters: 1" in page.text and "failures in the last hour: 1" in page.text
    replayed = await b.post(f"{base}/{dest.id}/replay")
    assert replayed.status_code == 303
    assert "1 events will be sent again." in (await b.get(base)).text
    async with dash.db.transaction(write=False) as tx:
        assert [e.event_key for e in await tx.forwarding(ws.id).entries(status="pending")] == [
            "ev-dead-1"
        ]
    await b.post("/app/lang", {"lang": "zh_CN", "next": base})
    zh = (await b.get(base)).text
    assert "添加集成" in zh and "发送测试事件" in zh
    deleted = await b.post(f"{base}/{dest.id}/delete")
    assert deleted.status_code == 303
    async with dash.db.transaction(write=False) as tx:
        assert await tx.forwarding(ws.id).destinations() == []


async def test_bad_input_is_named_and_members_are_refused(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.ADMIN)
    base = f"/app/w/{ws.slug}/settings/integrations"
    r = await b.post(base, {**FORM, "account_id": "not-a-pixel"})
    assert r.status_code == 422 and 'data-for="account_id"' in r.text
    assert TOKEN not in r.text  # the credential is not echoed back
    r = await b.post(base, {**FORM, "sample": "2"})
    assert r.status_code == 422 and 'data-for="sample"' in r.text
    r = await b.post(base, {**FORM, "events": []})
    assert r.status_code == 422 and 'data-for="events"' in r.text
    async with dash.db.transaction(write=False) as tx:
        assert await tx.forwarding(ws.id).destinations() == []
    member = dash.browser(("127.0.0.1", 50002))
    await dash.user("m2@example.com", ws, Role.MEMBER)
    await member.sign_in("m2@example.com")
    assert (await member.get(base)).status_code in (403, 404)


async def test_deleting_asks_first(dash: Dash) -> None:
    """Delete drops the integration with its write-only credential and its journal: the
    button leads to a question (as for API keys and domains), not straight to the delete."""
    b, ws = await dash.signed_in(Role.OWNER)
    base = f"/app/w/{ws.slug}/settings/integrations"
    assert (await b.post(base, FORM)).status_code == 303
    async with dash.db.transaction(write=False) as tx:
        [dest] = await tx.forwarding(ws.id).destinations()
    page = (await b.get(base)).text
    assert f'action="{base}/{dest.id}/delete"' not in page
    assert f'href="{base}/{dest.id}/delete"' in page
    confirm = await b.get(f"{base}/{dest.id}/delete")
    assert confirm.status_code == 200
    assert "Delete the integration Shop pixel?" in html.unescape(confirm.text)
    assert f'action="{base}/{dest.id}/delete"' in confirm.text
    member, _ = await dash.signed_in(Role.MEMBER, ws=ws)
    assert (await member.get(f"{base}/{dest.id}/delete")).status_code == 403
    async with dash.db.transaction(write=False) as tx:
        assert len(await tx.forwarding(ws.id).destinations()) == 1  # asking deletes nothing
    assert (await b.get(f"{base}/fwd_unknown/delete")).status_code == 404


async def test_a_short_credential_is_shown_fully_masked(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.OWNER)
    base = f"/app/w/{ws.slug}/settings/integrations"
    short = await b.post(
        base,
        {
            **FORM,
            "kind": "ga4",
            "account_id": "G-ABC123",
            "credential": "secret9876",
            "test_code": "",
        },
    )
    assert short.status_code == 303, short.text[-2000:]
    page = await b.get(base)
    assert "••••••••" in page.text and "9876" not in page.text
