"""Issue 14, accounts in Chromium: change the password, accept an invitation, turn on
two-factor sign-in and sign in with it — on a desktop (1366 px, English) and a phone
(390 px, Chinese), with no horizontal overflow, no inline script or style refused by the
CSP, and screenshots for docs/dashboard.md."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
from browser_server import OWNER, PASSWORD, SLUG, Server, run_async
from browser_session import Session, open_session
from playwright.sync_api import Browser, expect

NEW_PASSWORD = "a fresh passphrase 42"
VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1366, "height": 850}, "locale": "en-US"},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "zh-CN",
    },
}


async def _add_user(server: Server, email: str) -> None:
    from hoplink.accounts.users import add_member, create_user
    from hoplink.storage.database import Database
    from hoplink.workspaces.models import Role

    db = Database.from_url(f"sqlite+aiosqlite:///{server.data_dir / 'hoplink.db'}")
    try:
        async with db.transaction() as tx:
            ws = await tx.workspaces.find(SLUG)
            assert ws is not None
            user = await create_user(tx, email=email, password=PASSWORD)
            await add_member(tx, user=user, workspace=ws, role=Role.MEMBER)
    finally:
        await db.dispose()


def _open(browser: Browser, server: Server, kind: str) -> Session:
    return open_session(browser, server, **VIEWPORTS[kind])


def _fits(session: Session, kind: str, where: str) -> None:
    session.page.wait_for_load_state("load")  # measured styled, not mid-navigation
    width = session.page.evaluate("document.documentElement.scrollWidth")
    limit = VIEWPORTS[kind]["viewport"]["width"]
    assert width <= limit, (where, width)
    assert session.csp_violations() == [], (where, session.csp_violations())


def _sign_in_form(session: Session, email: str, password: str) -> None:
    session.go("/app/signin")
    session.page.locator("#email").fill(email)
    session.page.locator("#password").fill(password)
    session.page.locator("form[action='/app/signin'] button[type=submit]").click()
    session.page.wait_for_load_state("load")


def _sign_out(session: Session) -> None:
    session.page.locator("form[action='/app/signout'] button[type=submit]").click()
    session.page.wait_for_url("**/app/signin")


@pytest.mark.parametrize("kind", ["desktop", "phone"])
def test_change_password(browser: Browser, server: Server, kind: str) -> None:
    email = f"pw-{kind}@shop.test"
    run_async(lambda: _add_user(server, email))
    s = _open(browser, server, kind)
    page = s.page
    try:
        s.sign_in(email)
        page.locator("a.account-link").click()
        page.wait_for_url("**/app/account")
        _fits(s, kind, "account page")
        s.screenshot(f"account-{kind}")
        page.locator("#current-password").fill("not my password")
        page.locator("#new-password").fill(NEW_PASSWORD)
        page.locator("#confirm-password").fill(NEW_PASSWORD)
        page.locator("form[action='/app/account/password'] button[type=submit]").click()
        expect(page.locator("#page-error")).to_be_visible()
        page.locator("#current-password").fill(PASSWORD)
        page.locator("#new-password").fill(NEW_PASSWORD)
        page.locator("#confirm-password").fill(NEW_PASSWORD)
        page.locator("form[action='/app/account/password'] button[type=submit]").click()
        page.wait_for_url("**/app/account")
        expect(page.locator("p.flash.ok")).to_be_visible()
        _fits(s, kind, "account page after the change")
        _sign_out(s)
        _sign_in_form(s, email, PASSWORD)
        expect(page.locator("#signin-error")).to_be_visible()  # the old one no longer works
        _sign_in_form(s, email, NEW_PASSWORD)
        page.wait_for_url("**/app/w/**")
    finally:
        s.context.close()


@pytest.mark.parametrize("kind", ["desktop", "phone"])
def test_invitation_accepted(browser: Browser, server: Server, kind: str) -> None:
    invitee = f"invitee-{kind}@shop.test"
    owner = _open(browser, server, "desktop")
    try:
        owner.sign_in(OWNER)
        owner.go(f"/app/w/{SLUG}/settings")
        owner.page.locator("#member-email").fill(invitee)
        owner.page.locator("#member-role").select_option("viewer")
        owner.page.locator("form[action$='/settings/members'] button[type=submit]").click()
        link = owner.page.locator("#invite-link").inner_text().strip()
        if kind == "desktop":
            owner.screenshot("settings-invitation-desktop")
    finally:
        owner.context.close()
    path = urlsplit(link).path
    assert path.startswith("/app/invite/"), link
    s = _open(browser, server, kind)
    page = s.page
    try:
        s.go(path)
        expect(page.locator("h1")).to_contain_text("My Store")
        _fits(s, kind, "invitation page")
        s.screenshot(f"invitation-{kind}")
        page.locator("#new-password").fill(NEW_PASSWORD)
        page.locator("#confirm-password").fill(NEW_PASSWORD)
        page.locator("#accept-invite").click()
        page.wait_for_url(f"**/app/w/{SLUG}/links")
        expect(page.locator("footer")).to_contain_text(invitee)
        _fits(s, kind, "links after joining")
        s.go(path)  # single-use
        expect(page.locator("h1")).not_to_contain_text("My Store")
    finally:
        s.context.close()


@pytest.mark.parametrize("kind", ["desktop", "phone"])
def test_two_factor_enrolment_and_sign_in(browser: Browser, server: Server, kind: str) -> None:
    email = f"totp-{kind}@shop.test"
    run_async(lambda: _add_user(server, email))
    s = _open(browser, server, kind)
    page = s.page
    try:
        s.sign_in(email)
        s.go("/app/account")
        page.locator("#totp-start").click()
        page.wait_for_url("**/app/account/2fa")
        qr = page.locator("#totp-qr")
        expect(qr).to_be_visible()
        assert qr.evaluate("img => img.naturalWidth") > 100  # the QR image really loaded
        _fits(s, kind, "enrolment")
        s.screenshot(f"two-factor-enrol-{kind}")
        key = page.locator("#totp-secret").inner_text().replace(" ", "")
        # A wrong current password: the page says so at the password field, nothing on.
        page.locator("#totp-code").fill(pyotp.TOTP(key).now())
        page.locator("#totp-password").fill("not my password")
        page.locator("form[action='/app/account/2fa'] button[type=submit]").click()
        wrong = {"desktop": "The current password is wrong.", "phone": "当前密码不正确。"}
        expect(page.locator("#err-password")).to_contain_text(wrong[kind])
        expect(page.locator("#totp-password")).to_have_value("")
        page.locator("#totp-code").fill(pyotp.TOTP(key).now())
        page.locator("#totp-password").fill(PASSWORD)
        page.locator("form[action='/app/account/2fa'] button[type=submit]").click()
        codes = page.locator("#recovery-codes li")
        expect(codes).to_have_count(10)
        _fits(s, kind, "recovery codes")
        s.screenshot(f"two-factor-codes-{kind}")
        s.go("/app/account")
        _sign_out(s)
        _sign_in_form(s, email, PASSWORD)
        page.wait_for_url("**/app/signin/2fa")
        _fits(s, kind, "second step")
        s.screenshot(f"two-factor-signin-{kind}")
        page.locator("#code").fill("000000" if pyotp.TOTP(key).now() != "000000" else "111111")
        page.locator("form[action='/app/signin/2fa'] button[type=submit]").click()
        expect(page.locator("#err-code")).to_be_visible()
        # The enrolment used this step's code; a code is never accepted twice.
        page.locator("#code").fill(pyotp.TOTP(key).at(time.time() + 30))
        page.locator("form[action='/app/signin/2fa'] button[type=submit]").click()
        page.wait_for_url("**/app/w/**")
    finally:
        s.context.close()
