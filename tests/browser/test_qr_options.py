"""QR options in Chromium: upload a logo in Settings, pick colours, margin and error
correction on a link's page, and scan what the browser shows (zxing-cpp reads the
screenshot of the SVG image, as a phone's camera would read the screen)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import zxingcpp
from browser_server import SLUG, Server
from browser_session import open_session
from PIL import Image
from playwright.sync_api import Browser, expect


@pytest.mark.parametrize(("width", "locale"), [(390, "zh-CN"), (1366, "en-US")])
def test_qr_with_options_and_logo_scans(
    browser: Browser, server: Server, tmp_path: Path, width: int, locale: str
) -> None:
    s = open_session(browser, server, viewport={"width": width, "height": 900}, locale=locale)
    page = s.page
    try:
        s.sign_in()
        logo = tmp_path / "logo.png"
        image = Image.new("RGB", (200, 200), "#e63946")
        image.paste(Image.new("RGB", (80, 200), "#ffffff"), (60, 0))
        image.save(logo)
        s.go(f"/app/w/{SLUG}/settings")
        page.locator("#f-logo").set_input_files(str(logo))
        page.locator("form[action$='/settings/qr-logo'] button[type=submit]").click()
        expect(page.locator("img.logo-preview")).to_be_visible()

        s.go(f"/app/w/{SLUG}/links/new")
        page.locator("#f-url").fill(f"https://shop.example.com/item/qr-{width}")
        page.locator("#link-form button.primary[type=submit]").click()
        expect(page.locator("#short-url")).to_be_visible()
        short = page.locator("#short-url").inner_text()
        page.locator("details.qr-options summary").click()
        page.locator("#qr-dark").fill("#1d3557")
        page.locator("#qr-light").fill("#f1faee")
        page.locator("#qr-margin").select_option("2")
        page.locator("#qr-error").select_option("q")
        page.locator("input[name=logo]").check()
        page.locator("#qr-form button[type=submit]").click()
        page.wait_for_url("**logo=1**")
        page.wait_for_function(
            "() => { const i = document.getElementById('qr-image');"
            " return i.complete && i.naturalWidth > 0 }"
        )
        assert "dark=%231d3557" in (page.locator("#qr-image").get_attribute("src") or "")
        shot = page.locator("#qr-image").screenshot()
        found = [r.text for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))]
        assert found == [short], found
        png_href = page.locator("#qr-png").get_attribute("href") or ""
        assert "logo=1" in png_href and "download=1" in png_href
        page.wait_for_load_state("load")  # measured styled, not mid-navigation
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        s.screenshot(f"qr-options-{width}-{locale}")
        assert s.csp_violations() == []
        assert s.watch.errors == []
    finally:
        s.context.close()
