"""A link's campaign tools in Chromium: the rule builder (with and without JavaScript), the
A/B test and the schedule, at 1366 px and on a 390 px phone in Chinese; the short link then
answers as the rule says. Screenshots for docs/campaigns.md."""

from __future__ import annotations

import re

from browser_server import SLUG, Server
from browser_session import Session, open_session
from playwright.sync_api import Browser, Page, expect

TIKTOK_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Version/4.0 Chrome/120.0.0.0 Mobile Safari/537.36 musical_ly_2023405020"
    " BytedanceWebview/d8a21c6"
)


def _new_link(session: Session, url: str) -> str:
    """Create a link through the form; its page's path."""
    page = session.page
    session.go(f"/app/w/{SLUG}/links/new")
    page.get_by_label("Product URL").fill(url)
    page.get_by_role("button", name="Create short link").click()
    expect(page.locator(".flash.ok")).to_be_visible()
    return page.url.split("?")[0].replace(session.server.url, "")


def _fits(page: Page, width: int) -> None:
    # After a form's POST and redirect the flash can show before the new document's
    # stylesheet applies (under load: 6,187 px, unstyled); measure the loaded page.
    page.wait_for_load_state("load")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, (scroll, width)


def test_rule_builder_ab_test_and_schedule_at_1366(browser: Browser, server: Server) -> None:
    s = open_session(browser, server, viewport={"width": 1366, "height": 900})
    page = s.page
    try:
        s.sign_in()
        path = _new_link(s, "https://shop.example.com/item/77")
        builder = page.locator("#rule-builder")
        # The script shows only the fields the chosen condition type uses.
        expect(builder.locator("#f-c0_values")).to_be_hidden()
        builder.locator("#f-c0_type").select_option("in_app")
        expect(builder.locator("#f-c0_values")).to_be_visible()
        expect(builder.locator("#f-c0_name")).to_be_hidden()
        builder.locator("#f-c0_values").fill("tiktok")
        builder.locator("#f-c1_type").select_option("os")
        builder.locator("#f-c1_values").fill("android")
        expect(builder.locator('.condition[data-row="3"]')).to_be_hidden()
        builder.get_by_role("button", name="Add a condition").click()
        expect(builder.locator('.condition[data-row="3"]')).to_be_visible()
        expect(builder.locator("#f-action_preset")).to_be_hidden()
        builder.get_by_label("Open the marketplace app").check()
        expect(builder.locator("#f-action_preset")).to_be_visible()
        builder.locator("#f-action_preset").select_option("amazon")
        builder.locator("#f-action_url").fill("http://10.0.0.1/admin")  # refused by policy
        builder.get_by_role("button", name="Save rule").click()
        expect(page.locator("#err-action_url")).to_be_visible()
        expect(page.locator("#f-action_url")).to_have_attribute("aria-invalid", "true")
        expect(page.locator("#f-c0_values")).to_have_value("tiktok")  # the input is kept
        page.locator("#f-action_url").fill("https://www.amazon.com/dp/B0BROWSER")
        page.get_by_role("button", name="Save rule").click()
        expect(page.locator(".flash.ok")).to_contain_text("Rule saved.")
        expect(page.locator("table.rules tbody tr")).to_have_count(1)

        # A second rule, then the first moves below it.
        builder = page.locator("#rule-builder")
        builder.locator("#f-rule_name").fill("Germany")
        builder.locator("#f-c0_type").select_option("country")
        builder.locator("#f-c0_values").fill("DE")
        builder.locator("#f-action_url").fill("https://shop.example.com/de/item/77")
        builder.get_by_role("button", name="Save rule").click()
        expect(page.locator("table.rules tbody tr")).to_have_count(2)
        page.get_by_role("button", name="Move rule 1 down").click()
        expect(page.locator("table.rules tbody tr").first).to_contain_text("Germany")

        # The short link answers the TikTok-on-Android visitor with the app hand-off.
        code = page.locator("#short-url").inner_text().strip().rsplit("/", 1)[1]
        answer = server.short(code, headers={"user-agent": TIKTOK_ANDROID})
        assert answer.status_code == 302
        assert answer.headers["location"].startswith("intent://"), answer.headers["location"]

        # The A/B test: refused weight shown by its field, then started.
        ab = page.locator("#ab")
        ab.locator("#f-v1_url").fill("https://shop.example.com/item/77-b")
        ab.locator("#f-v1_weight").fill("0")
        ab.get_by_role("button", name="Start the A/B test").click()
        expect(page.locator("#err-v1_weight")).to_be_visible()
        page.locator("#f-v1_weight").fill("50")
        page.get_by_role("button", name="Start the A/B test").click()
        expect(page.locator(".flash.ok")).to_contain_text("A/B test started.")
        expect(page.locator("table.ab-results tbody tr")).to_have_count(2)

        # Schedule and click limit.
        page.locator("#f-max_clicks").fill("1000")
        page.locator("#f-expiry_url").fill("https://shop.example.com/sold-out")
        page.get_by_role("button", name="Save schedule").click()
        expect(page.locator(".flash.ok")).to_contain_text("Schedule and click limit saved.")
        expect(page.locator("#f-max_clicks")).to_have_value("1000")
        _fits(page, 1366)
        page.locator("#rules").screenshot(path=str(_shot("campaign-rules-1366")))
        page.locator("#ab").screenshot(path=str(_shot("campaign-ab-1366")))
        s.screenshot("campaign-link-page-1366")

        # Editing: the builder is filled from the rule, row by row.
        page.locator("table.rules tbody tr").nth(1).get_by_role("link", name="Edit").click()
        expect(page.locator("#rule-builder h3")).to_have_text("Edit rule")
        expect(page.locator("#f-c0_type")).to_have_value("in_app")
        expect(page.locator("#f-c1_values")).to_have_value("android")
        assert s.csp_violations() == []
        assert path.startswith(f"/app/w/{SLUG}/links/")
    finally:
        s.context.close()


def test_the_builder_on_a_phone_in_chinese(browser: Browser, server: Server) -> None:
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
        _new_link(phone, "https://shop.example.com/item/88")
        page.locator("#lang-select").select_option("zh_CN")
        page.wait_for_load_state("load")
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
        expect(page.locator("#rules-title")).to_have_text("路由规则")
        builder = page.locator("#rule-builder")
        builder.locator("#f-c0_type").select_option("language")
        builder.locator("#f-c0_values").fill("de, fr")
        builder.locator("#f-action_url").fill("https://shop.example.com/eu/item/88")
        builder.get_by_role("button", name="保存规则").click()
        expect(page.locator(".flash.ok")).to_contain_text("规则已保存。")
        page.locator("#f-v1_url").fill("https://shop.example.com/item/88-b")
        page.get_by_role("button", name="开始 A/B 测试").click()
        expect(page.locator("table.ab-results")).to_be_visible()
        _fits(page, 390)
        page.locator("#rules").screenshot(path=str(_shot("campaign-rules-phone-zh_CN")))
        phone.screenshot("campaign-link-page-phone-zh_CN")
        assert phone.csp_violations() == []
    finally:
        phone.context.close()


def test_the_basics_work_without_javascript(browser: Browser, server: Server) -> None:
    nojs = open_session(
        browser, server, viewport={"width": 1366, "height": 900}, java_script_enabled=False
    )
    page = nojs.page
    try:
        nojs.sign_in()
        _new_link(nojs, "https://shop.example.com/item/99")
        builder = page.locator("#rule-builder")
        # Three rows, every field of each shown; the "add" button is the script's.
        expect(builder.locator(".condition:visible")).to_have_count(3)
        expect(builder.locator("#f-c2_start")).to_be_visible()
        expect(builder.get_by_role("button", name="Add a condition")).to_be_hidden()
        builder.locator("#f-c0_type").select_option("query")
        builder.locator("#f-c0_name").fill("src")
        builder.locator("#f-c0_equals").fill("fb")
        builder.locator("#f-action_url").fill("https://shop.example.com/fb/item/99")
        builder.get_by_role("button", name="Save rule").click()
        expect(page.locator(".flash.ok")).to_contain_text("Rule saved.")
        expect(page.locator("table.rules")).to_contain_text("src")
        code = page.locator("#short-url").inner_text().strip().rsplit("/", 1)[1]
        answer = nojs.server.short(f"{code}?src=fb")
        assert re.match(
            r"https://shop\.example\.com/fb/item/99\?hl_click=", answer.headers["location"]
        )
        page.locator("#f-max_clicks").fill("0")
        page.get_by_role("button", name="Save schedule").click()
        expect(page.locator("#err-max_clicks")).to_be_visible()
    finally:
        nojs.context.close()


def _shot(name: str) -> object:
    from browser_session import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
