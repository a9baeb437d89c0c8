"""Bulk upload with one bad row, the Chinese UI, a phone-sized screen, a viewer."""

from __future__ import annotations

import re
from pathlib import Path

from browser_server import SLUG, VIEWER, Server
from browser_session import Session, open_session
from playwright.sync_api import Browser, expect

CSV = (
    "url,utm_source,utm_medium,utm_campaign,channel,tags,title\n"
    "https://shop.example.com/item/1,facebook,social,spring,facebook,q4|bulk,First\n"
    "https://shop.example.com/item/2,tiktok,social,spring,tiktok,bulk,Second\n"
    "ftp://shop.example.com/item/3,email,email,spring,email,bulk,Third\n"
    "https://shop.example.com/item/4,,,,kol,bulk,Fourth\n"
)


def test_csv_bulk_upload_reports_the_bad_row_precisely(session: Session, tmp_path: Path) -> None:
    page = session.page
    session.sign_in()
    session.go(f"/app/w/{SLUG}/bulk")
    upload = tmp_path / "links.csv"
    upload.write_text(CSV, encoding="utf-8")
    page.get_by_label("CSV file").set_input_files(str(upload))
    session.screenshot("05-bulk-form")
    page.get_by_role("button", name="Create links").click()
    expect(page.locator("#job-state")).to_contain_text("Finished", timeout=15_000)
    expect(page.locator("#job-counts")).to_contain_text("3 created")
    errors = page.locator("table.bulk-errors tbody tr")
    expect(errors).to_have_count(1)
    # Line 4 of the file (the header is line 1), the url field, and why.
    expect(errors.first.locator("td").nth(0)).to_have_text("4")
    expect(errors.first.locator("td").nth(2)).to_have_text("url")
    expect(errors.first.locator("td").nth(3)).to_contain_text("only http and https")
    expect(page.locator("table.bulk-created tbody tr")).to_have_count(3)
    session.screenshot("06-bulk-results")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download results (CSV)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.count(",created,") == 3 and ",error,,,url," in text


def test_chinese_ui_from_accept_language_and_the_switch(browser: Browser, server: Server) -> None:
    chinese = open_session(browser, server, locale="zh-CN")
    try:
        chinese.go("/app/signin")
        expect(chinese.page.locator("h1")).to_have_text("登录")
        assert chinese.page.locator("html").get_attribute("lang") == "zh-Hans"
        chinese.sign_in()
        expect(chinese.page.locator("h1")).to_contain_text("链接")
        chinese.go(f"/app/w/{SLUG}/links/new")
        expect(chinese.page.get_by_label("商品链接")).to_be_visible()
        chinese.page.get_by_label("商品链接").fill("example.com/x")
        expect(chinese.page.locator("#err-url")).to_contain_text("https://")
        chinese.go(f"/app/w/{SLUG}/analytics?range=7d")
        expect(chinese.page.locator("#h-countries")).to_have_text("国家/地区")
        chinese.screenshot("07-analytics-zh")
        # The switch: back to English, remembered in a cookie.
        chinese.page.locator("#lang-select").select_option("en")
        expect(chinese.page.locator("#h-countries")).to_have_text("Countries")
        chinese.go(f"/app/w/{SLUG}/links")
        expect(chinese.page.locator("h1")).to_contain_text("Links")
        assert chinese.watch.dialogs == [] and chinese.watch.errors == []
    finally:
        chinese.context.close()


def test_phone_sized_screen(browser: Browser, server: Server) -> None:
    phone = open_session(
        browser,
        server,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    try:
        phone.sign_in()
        for name, path in [
            ("08-phone-links", f"/app/w/{SLUG}/links"),
            ("09-phone-new-link", f"/app/w/{SLUG}/links/new"),
            ("10-phone-analytics", f"/app/w/{SLUG}/analytics"),
        ]:
            phone.go(path)
            width = phone.page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (path, width)
            phone.screenshot(name)
        # The form is usable at this size: the preview works.
        phone.go(f"/app/w/{SLUG}/links/new")
        phone.page.get_by_label("Product URL").fill("https://shop.example.com/m")
        expect(phone.page.locator("#preview")).to_have_text("https://shop.example.com/m")
    finally:
        phone.context.close()


def test_a_viewer_sees_stats_but_cannot_edit(session: Session) -> None:
    page = session.page
    session.sign_in(VIEWER)
    expect(page.get_by_role("link", name="New link")).to_have_count(0)
    expect(page.get_by_role("link", name="Settings")).to_have_count(0)
    links = page.locator("table.links a.title")
    if links.count():
        links.first.click()
        expect(page.get_by_role("link", name="Edit")).to_have_count(0)
        expect(page.get_by_role("button", name="Archive")).to_have_count(0)
    response = session.go(f"/app/w/{SLUG}/links/new")
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("Not allowed")
    response = session.go(f"/app/w/{SLUG}/analytics")
    assert response.status == 200
    session.screenshot("11-viewer-analytics")
    assert re.search(r"/analytics", page.url)
