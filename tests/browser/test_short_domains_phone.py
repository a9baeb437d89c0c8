"""Settings → Short domains in Chromium on a phone (issue 16): add a custom short domain,
read and copy the exact DNS records, check (the name never resolves: the check says what
it found), set what visitors see. Fits 390 px in English and Chinese, no inline script or
style; a viewer sees the records read-only."""

from __future__ import annotations

from browser_server import SLUG, VIEWER, Server
from browser_session import open_session
from playwright.sync_api import Browser, expect

HOSTNAME = "go.brand.test"  # .test never resolves: the check fails fast and says why


def test_short_domains_page_on_a_phone(browser: Browser, server: Server) -> None:
    phone = open_session(
        browser,
        server,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = phone.page
    try:
        phone.sign_in()
        phone.go(f"/app/w/{SLUG}/settings")
        page.get_by_role("link", name="Manage short domains").click()
        page.wait_for_url(f"**/app/w/{SLUG}/settings/short-domains")
        page.get_by_label("Add a short domain").fill("https://go.brand.test/x")
        page.get_by_role("button", name="Add short domain").click()
        expect(page.locator("#err-hostname")).to_be_visible()
        page.get_by_label("Add a short domain").fill(HOSTNAME)
        page.get_by_role("button", name="Add short domain").click()
        page.wait_for_url("**/settings/short-domains/dom_*")
        names = page.locator("code.record-name").all_inner_texts()
        values = page.locator("code.record-value").all_inner_texts()
        assert names == [f"_hoplink.{HOSTNAME}"], names
        assert len(values) == 1 and values[0].startswith("hoplink-domain="), values
        copy = page.locator(f"button.copy[data-copy='{values[0]}']")
        expect(copy).to_be_visible()
        copy.click()
        expect(copy).to_have_text("Copied")
        for lang in ("en", "zh_CN"):
            if lang == "zh_CN":
                page.locator("#lang-select").select_option("zh_CN")
                page.wait_for_load_state("load")
                expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
                page.wait_for_load_state("load")  # the new document styled before measuring
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (lang, width)
            phone.screenshot(f"short-domains-phone-records-{lang}")
        page.get_by_role("button", name="立即检查").click()
        page.wait_for_load_state("load")
        expect(page.locator("p.flash.error")).to_contain_text("尚未找到含有令牌的记录")
        page.get_by_label("首页跳转").fill("https://shop.example.com/")
        page.get_by_role("button", name="保存").click()
        page.wait_for_load_state("load")
        expect(page.locator("p.flash").first).to_contain_text("设置已保存")
        expect(page.get_by_label("首页跳转")).to_have_value("https://shop.example.com/")
        assert phone.csp_violations() == []
        assert phone.watch.errors == []
    finally:
        phone.context.close()

    viewer = open_session(browser, server)
    try:
        viewer.sign_in(VIEWER)
        viewer.page.get_by_role("link", name="Short domains").click()
        viewer.page.wait_for_url(f"**/app/w/{SLUG}/settings/short-domains")
        viewer.page.get_by_role("link", name=HOSTNAME).click()
        expect(viewer.page.locator("code.record-name")).to_have_text(f"_hoplink.{HOSTNAME}")
        expect(viewer.page.get_by_role("button", name="Check now")).to_have_count(0)
        expect(viewer.page.locator("#f-root_url")).to_have_count(0)
    finally:
        viewer.context.close()
