"""The conversions flow in a real browser: make an ingest key in Settings → Conversions, a
visitor follows a short link, the shop reports the order with that click's id, and the
seller sees the order and its GMV on the analytics page, in the orders list and with its
click path on the order's page — in English, then in Chinese."""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

import httpx
from browser_server import HOST, SLUG, run_async
from browser_session import Session
from playwright.sync_api import expect

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


async def _link(data_dir: str) -> tuple[str, str]:
    from hoplink.config import load_settings
    from hoplink.links.service import LinkRules, LinkSpec, create_link
    from hoplink.runtime import Runtime

    runtime = await Runtime.start(load_settings(data_dir=data_dir, default_domain=HOST))
    try:
        async with runtime.db.transaction() as tx:
            ws = await tx.workspaces.find(SLUG)
            assert ws is not None
            link = await create_link(
                tx,
                workspace=ws,
                domain=runtime.default_domain,
                spec=LinkSpec(url="https://shop.example.com/item/77", title="Summer dress"),
                actor="test",
                rules=LinkRules(),
            )
        return link.id, link.code
    finally:
        await runtime.close()


async def _click_of(data_dir: str, link_id: str) -> str | None:
    from sqlalchemy import select

    from hoplink.config import load_settings
    from hoplink.runtime import Runtime
    from hoplink.storage.tables import clicks

    runtime = await Runtime.start(load_settings(data_dir=data_dir, default_domain=HOST))
    try:
        async with runtime.db.transaction(write=False) as tx:
            q = select(clicks.c.click_id).where(clicks.c.link_id == link_id)
            found: str | None = (await tx.conn.execute(q)).scalar()
            return found
    finally:
        await runtime.close()


def test_ingest_key_order_by_click_id_seen_in_the_dashboard(session: Session) -> None:
    page, server = session.page, session.server
    session.sign_in()
    session.go(f"/app/w/{SLUG}/settings")
    page.get_by_role("link", name="Conversion settings").click()
    expect(page.locator("h1")).to_have_text("Conversions")
    page.get_by_label("New key name").fill("my shop")
    page.get_by_role("button", name="Create ingest key").click()
    key = page.locator("#new-ingest-key").inner_text().strip()
    assert re.fullmatch(r"hlik_[0-9A-Za-z]{10}_[0-9A-Za-z]{32}", key), key
    session.screenshot("conversions-01-settings")

    link_id, code = run_async(lambda: _link(str(server.data_dir)))
    assert server.short(code, headers={"user-agent": PHONE}).status_code == 302
    click_id = None
    deadline = time.monotonic() + 15
    while click_id is None and time.monotonic() < deadline:
        click_id = run_async(lambda: _click_of(str(server.data_dir), link_id))
        time.sleep(0.1)
    assert click_id is not None, "the worker did not write the click"

    order = httpx.post(
        f"{server.url}/api/v1/conversions",
        headers={"Authorization": f"Bearer {key}"},
        json={
            "type": "purchase",
            "order_id": "SO-2026-0001",
            "amount": 25_990,
            "currency": "USD",
            "click_id": click_id,
            "items": [{"sku": "DRESS-S", "quantity": 1, "price": 25_990}],
        },
    )
    assert order.status_code == 201, order.text
    assert order.json()["order"]["link_id"] == link_id

    session.go(f"/app/w/{SLUG}/analytics")
    expect(page.locator("#total-orders")).to_have_text("1")
    expect(page.locator("#total-gmv")).to_have_text("$259.90")
    expect(page.locator("#funnel-orders")).to_have_text("1")
    session.screenshot("conversions-02-analytics")
    # The orders panel's export: the API's conversions CSV, its last row the totals.
    with page.expect_download() as download:
        page.get_by_role("link", name="Export orders CSV").click()
    assert re.fullmatch(
        r"hoplink-.+-orders-workspace-[\d-]+\.csv", download.value.suggested_filename
    )
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    total = rows[-1]
    assert (total["time"], total["orders"], total["gmv"]) == ("total", "1", "25990")
    assert total["commission"] == "2079"  # 8 % of 259.90, rounded half to even

    page.get_by_role("link", name="Orders").first.click()
    page.get_by_label("Show").select_option("attributed")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.orders")).to_contain_text("Summer dress")
    page.get_by_role("link", name="SO-2026-0001").click()
    expect(page.locator(".click-path")).to_contain_text(click_id)
    expect(page.locator(".click-path")).to_contain_text("last click")
    session.screenshot("conversions-03-order")

    page.locator("#lang-select").select_option("zh_CN")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("h2#path-title")).to_have_text("点击路径")
    session.go(f"/app/w/{SLUG}/analytics")
    expect(page.locator("#conv-title")).to_contain_text("订单和 GMV")
    expect(page.locator("#total-gmv")).to_have_text("US$259.90")
    expect(page.locator("#export-orders")).to_have_text("导出订单 CSV")
    session.screenshot("conversions-04-analytics-zh")
    assert session.csp_violations() == []
