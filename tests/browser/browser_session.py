"""A browser context on the live server that records dialogs, page errors and CSP
violations, and writes screenshots to test-artifacts/screenshots/."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from browser_server import OWNER, PASSWORD, Server
from playwright.sync_api import Browser, BrowserContext, Page

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# Runs before any page script and is not subject to the page's CSP: it records what the
# page would report as a CSP violation.
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@dataclass
class Watch:
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Session:
    """A browser context on the live server, with what it saw go wrong."""

    server: Server
    context: BrowserContext
    page: Page
    watch: Watch

    def go(self, path: str) -> Any:
        return self.page.goto(self.server.url + path)

    def sign_in(self, email: str = OWNER, password: str = PASSWORD) -> None:
        self.go("/app/signin")
        self.page.locator("#email").fill(email)
        self.page.locator("#password").fill(password)
        self.page.locator("form[action='/app/signin'] button[type=submit]").click()
        self.page.wait_for_url("**/app/w/**")

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def csp_violations(self) -> list[str]:
        found: list[str] = self.page.evaluate("window.__csp || []")
        return found


def open_session(browser: Browser, server: Server, **context_options: Any) -> Session:
    options: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}, "locale": "en-US"}
    options.update(context_options)
    context = browser.new_context(**options)
    context.add_init_script(WATCH)
    page = context.new_page()
    watch = Watch()

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: watch.errors.append(str(error)))
    page.set_default_timeout(10_000)
    return Session(server=server, context=context, page=page, watch=watch)
