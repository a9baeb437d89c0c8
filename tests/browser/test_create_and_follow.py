"""Sign in, create a link with UTM through the form (live preview), follow it, see the click."""

from __future__ import annotations

import re
import time

from browser_server import SLUG
from browser_session import Session
from playwright.sync_api import expect

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def test_sign_in_create_link_with_live_preview_and_see_its_click(session: Session) -> None:
    page = session.page
    session.go("/")
    expect(page).to_have_url(re.compile(r"/app/signin"))
    session.screenshot("01-sign-in")
    session.sign_in()
    expect(page.locator("h1")).to_contain_text("Links")

    page.get_by_role("link", name="New link").first.click()
    url = page.get_by_label("Product URL")
    url.fill("shop.example.com/item/1005006")
    expect(page.locator("#err-url")).to_contain_text("https://", timeout=5000)
    expect(url).to_have_attribute("aria-invalid", "true")

    url.fill("https://shop.example.com/item/1005006?sku=42")
    page.get_by_label("Channel preset").select_option("facebook_ads")
    expect(page.get_by_label("UTM source")).to_have_value("facebook")
    page.get_by_label("UTM campaign").fill("双11 大促#1")
    expected = (
        "https://shop.example.com/item/1005006?sku=42&utm_source=facebook"
        "&utm_medium=paid_social&utm_campaign=%E5%8F%8C11%20%E5%A4%A7%E4%BF%83%231"
    )
    expect(page.locator("#preview")).to_have_text(expected)
    expect(page.locator("#err-url")).to_be_hidden()
    page.get_by_label("Tags (optional)").fill("q4, shoes")
    session.screenshot("02-new-link")
    page.get_by_role("button", name="Create short link").click()

    expect(page.locator(".flash.ok")).to_contain_text("ready")
    short_url = page.locator("#short-url").inner_text()
    assert re.fullmatch(r"http://hop\.test/[0-9A-Za-z]{7}", short_url), short_url
    expect(page.locator("dd code").first).to_have_text(expected)
    qr = page.locator(".qr img")
    expect(qr).to_be_visible()
    # Visible is not loaded: on a busy machine the image may still be in flight.
    page.wait_for_function(
        "() => { const i = document.querySelector('.qr img');"
        " return i.complete && i.naturalWidth > 100 }",
        timeout=10_000,
    )
    session.screenshot("03-link-created")

    # The link's analytics, left open while a visitor follows the short link.
    page.get_by_role("link", name="Analytics").last.click()
    expect(page.locator("#total-pv")).to_have_text("0")
    page.evaluate("window.__notReloaded = true")
    code = short_url.rsplit("/", 1)[1]
    answer = session.server.short(code, headers={"user-agent": PHONE})
    assert answer.status_code == 302
    assert answer.headers["location"].startswith(expected)
    started = time.monotonic()
    expect(page.locator("#total-pv")).to_have_text("1", timeout=10_000)
    assert time.monotonic() - started < 10
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded"
    expect(page.locator("#b-devices")).to_contain_text("Mobile")
    session.screenshot("04-link-analytics")
    assert f"/app/w/{SLUG}/analytics" in page.url
    assert session.csp_violations() == []
