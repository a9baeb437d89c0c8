"""Destination health in Chromium: the alert on every page leads to the health page, the
link page shows the broken badge, its reason and history, and "Check now" makes the link
due (the flash says so); zh-CN shows the same page translated. Screenshots for the docs."""

from __future__ import annotations

from browser_server import HOST, SLUG, run_async
from browser_session import Session
from playwright.sync_api import expect


async def _broken_link(data_dir: str) -> str:
    from datetime import timedelta

    from hoplink.config import load_settings
    from hoplink.ids import new_id, utcnow
    from hoplink.linkhealth.models import HealthEvent
    from hoplink.links.service import LinkRules, LinkSpec, create_link
    from hoplink.runtime import Runtime

    runtime = await Runtime.start(load_settings(data_dir=data_dir, default_domain=HOST))
    try:
        async with runtime.db.transaction() as tx:
            ws = await tx.workspaces.find(SLUG)
            assert ws is not None
            link = await create_link(
                tx, workspace=ws, domain=runtime.default_domain, actor="test", rules=LinkRules(),
                spec=LinkSpec(url="https://shopee.sg/phone-case-i.1.2", title="Phone case"),
            )  # fmt: skip
        now = utcnow()
        async with runtime.db.transaction() as tx:
            repo = tx.health(ws.id)
            await repo.update(
                link.id,
                {"state": "broken", "reason": "redirected_search", "checked_at": now,
                 "url": link.destination_url, "status_code": 200,
                 "next_check_at": now + timedelta(hours=6)},
            )  # fmt: skip
            await repo.add_event(
                HealthEvent(
                    id=new_id("hev"), workspace_id=ws.id, link_id=link.id, at=now,
                    old_state="healthy", new_state="broken", reason="redirected_search",
                    detail="redirected to https://shopee.sg/search?keyword=phone",
                    url=link.destination_url, status_code=200, switch=None, acknowledged_at=None,
                )
            )  # fmt: skip
        return link.id
    finally:
        await runtime.close()


async def _due(data_dir: str, link_id: str) -> bool:
    from hoplink.config import load_settings
    from hoplink.ids import utcnow
    from hoplink.runtime import Runtime

    runtime = await Runtime.start(load_settings(data_dir=data_dir, default_domain=HOST))
    try:
        async with runtime.db.transaction(write=False) as tx:
            ws = await tx.workspaces.find(SLUG)
            assert ws is not None
            found = await tx.health(ws.id).get(link_id)
        return found is not None and found.next_check_at <= utcnow()
    finally:
        await runtime.close()


def test_alert_health_page_link_section_and_check_now(session: Session) -> None:
    link_id = run_async(lambda: _broken_link(str(session.server.data_dir)))
    page = session.page
    session.sign_in()
    alert = page.locator("#health-alert")
    expect(alert).to_contain_text("Product links need attention (1)")
    alert.get_by_role("link", name="See destination health").click()
    expect(page.locator("h1")).to_have_text("Destination health")
    expect(page.locator("#health-alert")).to_have_count(0)
    expect(page.locator("[data-state=broken]")).to_have_text("1")
    expect(page.locator("table.history")).to_contain_text("probably delisted")
    session.screenshot("health-01-notifications")

    page.get_by_role("link", name="Phone case").click()
    section = page.locator("#health")
    expect(section.locator(".badge.health-broken").first).to_have_text("Broken")
    expect(section).to_contain_text("search or category page")
    session.screenshot("health-02-link")
    assert not run_async(lambda: _due(str(session.server.data_dir), link_id))
    section.get_by_role("button", name="Check now").click()
    expect(page.locator(".flash.ok")).to_contain_text("checked within a few seconds")
    assert run_async(lambda: _due(str(session.server.data_dir), link_id))

    page.goto(session.server.url + f"/app/w/{SLUG}/health")
    page.get_by_role("button", name="Dismiss all").click()
    expect(page.locator("#health-alert")).to_have_count(0)
    page.goto(session.server.url + f"/app/w/{SLUG}/links")
    expect(page.locator("#health-alert")).to_have_count(0)
    assert session.watch.errors == [] and session.csp_violations() == []
