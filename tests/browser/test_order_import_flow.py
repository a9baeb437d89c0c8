"""Importing a marketplace order export in a real browser: save the column mapping in
Settings → Conversions, upload the file, read the preview (nothing stored, every row's
result), import it, see the orders; then the same page in Chinese."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from browser_server import SLUG
from browser_session import Session
from playwright.sync_api import expect

DAY = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")


def test_mapping_preview_and_import(session: Session, tmp_path: Path) -> None:
    page = session.page
    session.sign_in()
    session.go(f"/app/w/{SLUG}/conversions")
    page.locator("#mp-preset").select_option("tiktok_shop")
    page.get_by_label("Currency of the amounts").select_option("USD")
    page.get_by_role("button", name="Save mapping").click()
    expect(page.locator("#mp-preset")).to_have_value("tiktok_shop")

    export = tmp_path / "tiktok-orders.csv"
    export.write_text(
        "Order ID,Order Status,Seller SKU,Quantity,SKU Subtotal After Discount,Order Amount,"
        "Created Time\n"
        f"5768001,Completed,HAT,1,$10.00,$12.50,{DAY[5:7]}/{DAY[8:10]}/{DAY[:4]} 2:05:11 PM\n"
        f"5768002,Unpaid,HAT,1,$10.00,$10.00,{DAY[5:7]}/{DAY[8:10]}/{DAY[:4]} 3:05:11 PM\n"
    )
    page.locator("#oi-file").set_input_files(str(export))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("h1")).to_have_text("Preview of the order import")
    expect(page.locator("table.import-rows")).to_contain_text("5768001")
    expect(page.locator("table.import-rows")).to_contain_text("Skipped (not paid)")
    session.screenshot("order-import-01-preview")
    page.get_by_role("button", name="Import these orders").click()
    expect(page.locator("h1")).to_have_text("Orders imported")
    page.get_by_role("link", name="See the orders").click()
    expect(page.locator("table.orders")).to_contain_text("5768001")
    expect(page.locator("table.orders")).not_to_contain_text("5768002")
    session.screenshot("order-import-02-orders")

    page.locator("#lang-select").select_option("zh_CN")
    # The choice reloads the page: wait for it before going on, or the reload lands last.
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    session.go(f"/app/w/{SLUG}/conversions")
    expect(page.locator("#orders-import-title")).to_have_text("从平台订单导出文件导入订单")
    assert session.csp_violations() == []
