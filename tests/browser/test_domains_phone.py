"""Settings → Domains in Chromium on a phone: add, read the instructions, copy, check.

The page must fit 390 px in English and Chinese, load no inline script or style (the CSP
would report it), and work with the mouse alone; a viewer finds it in the menu, read-only.
"""

from __future__ import annotations

from browser_server import SLUG, VIEWER, Server
from browser_session import open_session
from playwright.sync_api import Browser, expect

HOSTNAME = "shop.acme.test"  # .test never resolves: the check fails fast and says why


def test_domains_page_on_a_phone(browser: Browser, server: Server) -> None:
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
        page.get_by_role("link", name="Manage domains").click()
        page.wait_for_url(f"**/app/w/{SLUG}/settings/domains")
        page.get_by_label("Add a domain").fill("bit.ly")
        page.get_by_role("button", name="Add domain").click()
        expect(page.locator("#err-hostname")).to_contain_text("known URL shortener (bit.ly)")
        page.get_by_label("Add a domain").fill(HOSTNAME)
        page.get_by_role("button", name="Add domain").click()
        page.wait_for_url("**/settings/domains/wdm_*")
        url = page.locator("#well-known-url").inner_text()
        assert url.startswith(f"https://{HOSTNAME}/.well-known/hoplink-verification/"), url
        record = page.locator("#txt-record").inner_text()
        assert record == "hoplink-verification=" + url.rsplit("/", 1)[1]
        copy = page.locator(f"button.copy[data-copy='{record}']")
        expect(copy).to_be_visible()
        copy.click()
        expect(copy).to_have_text("Copied")
        for lang in ("en", "zh_CN"):
            if lang == "zh_CN":
                page.locator("#lang-select").select_option("zh_CN")
                page.wait_for_load_state("load")
                expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
                # The new document's own load (its stylesheet applied) before measuring:
                # unstyled, the TXT record alone is wider than a phone.
                page.wait_for_load_state("load")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (lang, width)
            phone.screenshot(f"domains-phone-instructions-{lang}")
        page.get_by_role("button", name="立即检查").click()
        page.wait_for_load_state("load")
        expect(page.locator("p.flash.error")).to_contain_text(f"{HOSTNAME} 尚未通过验证")
        expect(page.locator(".badge.status-failed")).to_be_visible()
        phone.go(f"/app/w/{SLUG}/settings/domains")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        phone.screenshot("domains-phone-list-zh_CN")
        assert phone.csp_violations() == []
        assert phone.watch.errors == []
    finally:
        phone.context.close()

    viewer = open_session(browser, server)
    try:
        viewer.sign_in(VIEWER)
        viewer.page.get_by_role("link", name="Domains", exact=True).click()
        viewer.page.wait_for_url(f"**/app/w/{SLUG}/settings/domains")
        expect(viewer.page.get_by_role("link", name=HOSTNAME)).to_be_visible()
        expect(viewer.page.get_by_role("button", name="Check now")).to_have_count(0)
        expect(viewer.page.locator("#f-hostname")).to_have_count(0)
    finally:
        viewer.context.close()
