"""Destination health in the dashboard: the link page's badge, history and "Check now",
the health page's notifications and "Dismiss all", the alert on every page; viewers
cannot trigger checks; zh-CN."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from dashboard_harness import Dash, running_dashboard

from hoplink.ids import utcnow
from hoplink.linkhealth.models import HealthEvent
from hoplink.links.models import LinkQuery
from hoplink.workspaces.models import Role


@pytest_asyncio.fixture
async def dash(db_url: str, tmp_path: Path) -> AsyncIterator[Dash]:
    async with running_dashboard(db_url, tmp_path / "data") as running:
        yield running


async def test_link_page_health_page_alert_and_check_now(dash: Dash) -> None:
    b, ws = await dash.signed_in(Role.OWNER)
    base = f"/app/w/{ws.slug}"
    made = await b.post(f"{base}/links", {"url": "https://shop.example.com/p/9", "title": "P9"})
    assert made.status_code == 303
    async with dash.db.transaction(write=False) as tx:
        [link], _ = await tx.links(ws.id).search(LinkQuery())
    page = await b.get(f"{base}/links/{link.id}")
    assert "Destination health" in page.text and "Not checked yet." in page.text
    assert 'id="health-alert"' not in page.text

    checked = await b.post(f"{base}/links/{link.id}/health/check")
    assert checked.status_code == 303
    async with dash.db.transaction(write=False) as tx:
        health = await tx.health(ws.id).get(link.id)
    assert health is not None and health.next_check_at <= utcnow()

    now = utcnow()
    async with dash.db.transaction() as tx:
        await tx.health(ws.id).update(
            link.id, {"state": "broken", "reason": "redirected_search", "checked_at": now}
        )
        await tx.health(ws.id).add_event(
            HealthEvent(
                id="hev_0000000000000000000009", workspace_id=ws.id, link_id=link.id, at=now,
                old_state="healthy", new_state="broken", reason="redirected_search",
                detail=None, url=link.destination_url, status_code=200, switch="to_fallback",
                acknowledged_at=None,
            )
        )  # fmt: skip
    page = await b.get(f"{base}/links/{link.id}")
    assert 'id="health-alert"' in page.text
    assert "Product links need attention (1)" in page.text
    assert "badge health-broken" in page.text
    assert "it was probably delisted" in page.text and "Switched to the fallback URL" in page.text

    listing = await b.get(f"{base}/health")
    assert listing.status_code == 200
    assert (
        f'href="{base}/links/{link.id}"' in listing.text and 'data-state="broken"' in listing.text
    )
    assert 'id="health-alert"' not in listing.text  # the page itself is the alert's target
    assert (await b.post(f"{base}/health/check")).status_code == 303
    assert (await b.post(f"{base}/health/acknowledge")).status_code == 303
    assert 'id="health-alert"' not in (await b.get(f"{base}/links")).text

    await b.post("/app/lang", {"lang": "zh_CN", "next": f"{base}/health"})
    zh = await b.get(f"{base}/health")
    assert "目标链接健康" in zh.text and "可能已下架" in zh.text

    viewer = dash.browser(("127.0.0.1", 50002))
    await dash.user("v@example.com", ws, Role.VIEWER)
    await viewer.sign_in("v@example.com")
    assert (await viewer.get(f"{base}/health")).status_code == 200
    assert (await viewer.post(f"{base}/links/{link.id}/health/check")).status_code == 403
    assert "Check now" not in (await viewer.get(f"{base}/links/{link.id}")).text
