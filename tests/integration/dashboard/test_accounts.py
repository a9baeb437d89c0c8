"""Issue 14, accounts: the account page (password change, sessions), reset links (the
operator's and by e-mail), invitations by link and two-factor sign-in, through the real
app on SQLite and PostgreSQL; brute force on tokens and codes is refused."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
import pytest_asyncio
from dashboard_harness import PASSWORD, Browser, Dash, running_dashboard
from sqlalchemy import select

from hoplink.accounts import recovery
from hoplink.accounts.passwords import verify_password
from hoplink.dashboard.sessions import COOKIE
from hoplink.ids import utcnow
from hoplink.storage import tables as t
from hoplink.workspaces.models import Role

NEW_PASSWORD = "a brand new passphrase"


async def _actions(dash: Dash) -> list[str]:
    async with dash.db.transaction(write=False) as tx:
        rows = await tx.conn.execute(select(t.audit_log.c.action).order_by(t.audit_log.c.at))
        return [r[0] for r in rows]


async def _password_is(dash: Dash, email: str, password: str) -> bool:
    async with dash.db.transaction(write=False) as tx:
        found = await tx.users.by_email(email)
    assert found is not None
    return verify_password(found[1], password)


async def _signed_in_cookie(dash: Dash, email: str) -> tuple[Browser, str]:
    b = dash.browser()
    await b.sign_in(email)
    cookie = b.http.cookies.get(COOKIE, domain="hop.test", path="/app")
    assert cookie
    return b, cookie


async def _opens(dash: Dash, cookie: str, path: str) -> bool:
    http = dash.browser().http
    http.cookies.set(COOKIE, cookie, domain="hop.test", path="/app")
    return (await http.get(path)).status_code == 200


# --- the account page: password and sessions ---------------------------------------------


async def test_change_password_needs_the_current_one_and_ends_other_sessions(
    dash: Dash,
) -> None:
    ws = await dash.workspace()
    await dash.user("ann@example.com", ws, Role.MEMBER)
    here, _ = await _signed_in_cookie(dash, "ann@example.com")
    _, other_cookie = await _signed_in_cookie(dash, "ann@example.com")
    page = await here.get("/app/account")
    assert page.status_code == 200 and page.text.count("/sessions/") >= 1
    wrong = await here.post(
        "/app/account/password",
        {"current_password": "not it at all", "new_password": NEW_PASSWORD,
         "confirm_password": NEW_PASSWORD},
    )  # fmt: skip
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text
    mismatch = await here.post(
        "/app/account/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": "x"},
    )
    assert mismatch.status_code == 422
    short = await here.post(
        "/app/account/password",
        {"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"},
    )
    assert short.status_code == 422 and "at least 10 characters" in short.text
    assert await _password_is(dash, "ann@example.com", PASSWORD)
    assert await _opens(dash, other_cookie, "/app/account")
    done = await here.post(
        "/app/account/password",
        {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
         "confirm_password": NEW_PASSWORD},
    )  # fmt: skip
    assert done.status_code == 303
    assert await _password_is(dash, "ann@example.com", NEW_PASSWORD)
    assert (await here.get("/app/account")).status_code == 200  # this session stays
    assert not await _opens(dash, other_cookie, "/app/account")  # the other one ended
    assert "password.changed" in await _actions(dash)
    again = dash.browser()
    await again.sign_in("ann@example.com", NEW_PASSWORD)


async def test_the_current_password_check_is_throttled_like_sign_in(dash: Dash) -> None:
    ws = await dash.workspace()
    await dash.user("bob@example.com", ws, Role.MEMBER)
    b, _ = await _signed_in_cookie(dash, "bob@example.com")
    statuses = []
    for _ in range(7):
        r = await b.post(
            "/app/account/password",
            {"current_password": "guess guess guess", "new_password": NEW_PASSWORD,
             "confirm_password": NEW_PASSWORD},
        )  # fmt: skip
        statuses.append(r.status_code)
    assert "Too many sign-in attempts" in r.text
    assert statuses.count(400) == 7  # shown on the page, never a change
    assert await _password_is(dash, "bob@example.com", PASSWORD)


async def test_sessions_list_and_sign_out_everywhere_else(dash: Dash) -> None:
    ws = await dash.workspace()
    await dash.user("cy@example.com", ws, Role.MEMBER)
    await dash.user("eve@example.com", ws, Role.MEMBER)
    here, _ = await _signed_in_cookie(dash, "cy@example.com")
    _, second = await _signed_in_cookie(dash, "cy@example.com")
    _, third = await _signed_in_cookie(dash, "cy@example.com")
    eve, _ = await _signed_in_cookie(dash, "eve@example.com")
    page = await here.get("/app/account")
    ids = re.findall(r"/app/account/sessions/([0-9a-f]{64})/end", page.text)
    assert len(ids) == 2  # the two others; this browser is marked, not endable
    # Another user's session id is not theirs to end: like one that does not exist.
    eve_page = await eve.get("/app/account")
    assert re.findall(r"/app/account/sessions/([0-9a-f]{64})/end", eve_page.text) == []
    foreign = await eve.post(f"/app/account/sessions/{ids[0]}/end")
    missing = await eve.post(f"/app/account/sessions/{'0' * 64}/end")
    assert foreign.status_code == missing.status_code == 404
    assert await _opens(dash, second, "/app/account") and await _opens(dash, third, "/app/account")
    one = await here.post(f"/app/account/sessions/{ids[0]}/end")
    assert one.status_code == 303
    assert sum([await _opens(dash, second, "/app/account"),
                await _opens(dash, third, "/app/account")]) == 1  # fmt: skip
    everywhere = await here.post("/app/account/sessions/signout")
    assert everywhere.status_code == 303
    assert not await _opens(dash, second, "/app/account")
    assert not await _opens(dash, third, "/app/account")
    assert (await here.get("/app/account")).status_code == 200
    assert (await eve.get("/app/account")).status_code == 200  # others' sessions untouched


# --- reset links -------------------------------------------------------------------------


async def _reset_secret(dash: Dash, email: str, minutes: int = 30) -> str:
    async with dash.db.transaction() as tx:
        found = await tx.users.by_email(email)
        assert found is not None
        secret, _ = await recovery.issue_reset(
            tx, user=found[0], lifetime=timedelta(minutes=minutes), origin="cli", actor="cli"
        )
    return secret


async def test_a_reset_link_works_once_ends_every_session_and_is_stored_hashed(
    dash: Dash,
) -> None:
    ws = await dash.workspace()
    await dash.user("dee@example.com", ws, Role.MEMBER)
    _, cookie = await _signed_in_cookie(dash, "dee@example.com")
    secret = await _reset_secret(dash, "dee@example.com")
    async with dash.db.transaction(write=False) as tx:
        stored = [r[0] for r in await tx.conn.execute(select(t.password_resets.c.id))]
    assert stored == [hashlib.sha256(secret.encode()).hexdigest()]
    b = dash.browser()
    page = await b.get(f"/app/reset/{secret}")
    assert page.status_code == 200 and "dee@example.com" in page.text
    bad = await b.post(
        f"/app/reset/{secret}", {"new_password": "short", "confirm_password": "short"}
    )
    assert bad.status_code == 422
    done = await b.post(
        f"/app/reset/{secret}", {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    assert done.status_code == 303 and done.headers["location"] == "/app/signin"
    assert await _password_is(dash, "dee@example.com", NEW_PASSWORD)
    assert not await _opens(dash, cookie, "/app/account")
    for reuse in (await b.get(f"/app/reset/{secret}"), await b.post(
        f"/app/reset/{secret}", {"new_password": "another one 123", "confirm_password":
                                 "another one 123"})):  # fmt: skip
        assert reuse.status_code == 404 and "does not work" in reuse.text
    assert await _password_is(dash, "dee@example.com", NEW_PASSWORD)
    actions = await _actions(dash)
    assert "password.reset_issued" in actions and "password.reset" in actions


async def test_expired_and_superseded_links_do_not_work(dash: Dash) -> None:
    ws = await dash.workspace()
    await dash.user("fay@example.com", ws, Role.MEMBER)
    old = await _reset_secret(dash, "fay@example.com")
    new = await _reset_secret(dash, "fay@example.com")  # replaces the older link
    b = dash.browser()
    assert (await b.get(f"/app/reset/{old}")).status_code == 404
    assert (await b.get(f"/app/reset/{new}")).status_code == 200
    async with dash.db.transaction() as tx:
        await tx.conn.execute(
            t.password_resets.update().values(expires_at=utcnow() - timedelta(seconds=1))
        )
    gone = await b.post(
        f"/app/reset/{new}", {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    assert gone.status_code == 404
    assert await _password_is(dash, "fay@example.com", PASSWORD)


@pytest_asyncio.fixture
async def tight(db_url: str, tmp_path: Path) -> AsyncIterator[Dash]:
    async with running_dashboard(
        db_url, tmp_path / "data", rate_limit_account_tokens="10/10m", rate_limit_totp="5/5m"
    ) as running:
        yield running


async def test_guessing_reset_and_invitation_tokens_is_refused(tight: Dash) -> None:
    dash = tight
    ws = await dash.workspace()
    await dash.user("gus@example.com", ws, Role.MEMBER)
    secret = await _reset_secret(dash, "gus@example.com")
    attacker = dash.browser(client=("10.1.0.1", 50001))
    statuses = []
    for i in range(40):
        guess = f"{i:03d}" + secret[3:]  # the right shape, a wrong token
        path = f"/app/reset/{guess}" if i % 2 else f"/app/invite/{guess}"
        statuses.append((await attacker.get(path)).status_code)
    assert statuses[:10] == [404] * 10 and set(statuses[10:]) == {429}
    # Refused before the token is looked at: the right token too, and nothing changes.
    right = await attacker.post(
        f"/app/reset/{secret}", {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    assert right.status_code == 429 and "retry-after" in right.headers
    assert await _password_is(dash, "gus@example.com", PASSWORD)
    # Another address is not held back by the attacker's count.
    other = dash.browser(client=("10.1.0.2", 50002))
    assert (await other.get(f"/app/reset/{secret}")).status_code == 200


# --- invitations ------------------------------------------------------------------------


async def _invite(browser: Browser, ws_slug: str, email: str, role: str = "member") -> str:
    made = await browser.post(f"/app/w/{ws_slug}/settings/members", {"email": email, "role": role})
    assert made.status_code == 200, made.text[-1500:]
    match = re.search(r'id="invite-link"[^>]*>([^<]+)<', made.text)
    assert match, made.text[-2000:]
    return match.group(1).rsplit("/", 1)[1]


async def test_an_invitee_sets_their_own_password_and_joins_once(dash: Dash) -> None:
    owner, ws = await dash.signed_in(Role.OWNER)
    token = await _invite(owner, ws.slug, "newbie@example.com", "viewer")
    async with dash.db.transaction(write=False) as tx:
        [row] = list(await tx.conn.execute(select(t.invitations)))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    settings = await owner.get(f"/app/w/{ws.slug}/settings")
    assert "newbie@example.com" in settings.text and "/revoke" in settings.text
    invitee = dash.browser()
    page = await invitee.get(f"/app/invite/{token}")
    assert page.status_code == 200 and "newbie@example.com" in page.text
    mismatch = await invitee.post(
        f"/app/invite/{token}", {"password": NEW_PASSWORD, "confirm_password": "other"}
    )
    assert mismatch.status_code == 422
    joined = await invitee.post(
        f"/app/invite/{token}", {"password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    assert joined.status_code == 303 and joined.headers["location"] == f"/app/w/{ws.slug}/links"
    assert (await invitee.get(f"/app/w/{ws.slug}/links")).status_code == 200
    async with dash.db.transaction(write=False) as tx:
        found = await tx.users.by_email("newbie@example.com")
        assert found is not None
        membership = await tx.users.membership(found[0].id, ws.id)
    assert membership is not None and membership.role is Role.VIEWER
    assert (await dash.browser().get(f"/app/invite/{token}")).status_code == 404
    actions = await _actions(dash)
    assert "invitation.created" in actions and "invitation.accepted" in actions


async def test_a_revoked_invitation_and_an_existing_accounts_password(dash: Dash) -> None:
    owner, ws = await dash.signed_in(Role.OWNER)
    token = await _invite(owner, ws.slug, "late@example.com")
    settings = await owner.get(f"/app/w/{ws.slug}/settings")
    [inv_id] = re.findall(r"/settings/invitations/(inv_\w+)/revoke", settings.text)
    assert (
        await owner.post(f"/app/w/{ws.slug}/settings/invitations/{inv_id}/revoke")
    ).status_code == 303
    assert (await dash.browser().get(f"/app/invite/{token}")).status_code == 404
    assert "invitation.revoked" in await _actions(dash)
    # An address with an account (made meanwhile elsewhere) joins with its own password.
    other_ws = await dash.workspace("Other")
    await dash.user("late@example.com", other_ws, Role.MEMBER)
    token2 = await _invite(owner, ws.slug, "late2@example.com")
    async with dash.db.transaction() as tx:  # the invitation names an existing account now
        await tx.conn.execute(t.invitations.update().values(email="late@example.com"))
    b = dash.browser()
    page = await b.get(f"/app/invite/{token2}")
    assert 'autocomplete="current-password"' in page.text
    wrong = await b.post(f"/app/invite/{token2}", {"password": "not the password"})
    assert wrong.status_code == 400
    ok = await b.post(f"/app/invite/{token2}", {"password": PASSWORD})
    assert ok.status_code == 303
    assert (await b.get(f"/app/w/{ws.slug}/links")).status_code == 200


# --- two-factor -------------------------------------------------------------------------


async def _enrol(b: Browser) -> tuple[str, list[str]]:
    page = await b.get("/app/account/2fa")
    assert page.status_code == 200 and 'src="data:image/svg+xml' in page.text
    secret = re.search(r'id="totp-secret"[^>]*>([^<]+)<', page.text)
    assert secret
    key = secret.group(1).replace(" ", "")
    # The right code without the current password turns nothing on (a stolen session
    # must not enrol its own authenticator); the error names the password field.
    for password in ("", "wrong wrong wrong"):
        refused = await b.post(
            "/app/account/2fa", {"code": pyotp.TOTP(key).now(), "password": password}
        )
        assert refused.status_code == 400
        assert 'id="err-password"' in refused.text
        assert "The current password is wrong." in refused.text
        assert "recovery-codes" not in refused.text
    bad = await b.post(
        "/app/account/2fa",
        {
            "code": "000000" if pyotp.TOTP(key).now() != "000000" else "111111",
            "password": PASSWORD,
        },
    )
    assert bad.status_code == 422
    done = await b.post("/app/account/2fa", {"code": pyotp.TOTP(key).now(), "password": PASSWORD})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", done.text)
    assert len(codes) == 10
    return key, codes


async def _password_step(dash: Dash, email: str) -> Browser:
    b = dash.browser()
    await b.get("/app/signin")
    r = await b.post("/app/signin", {"email": email, "password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/app/signin/2fa"
    await b.get("/app/signin/2fa")
    return b


async def test_totp_enrolment_sign_in_replay_and_recovery_codes(dash: Dash) -> None:
    ws = await dash.workspace()
    await dash.user("tia@example.com", ws, Role.MEMBER)
    b, _ = await _signed_in_cookie(dash, "tia@example.com")
    key, codes = await _enrol(b)
    async with dash.db.transaction(write=False) as tx:
        [row] = list(await tx.conn.execute(select(t.user_totp)))
        stored = [r.id for r in await tx.conn.execute(select(t.recovery_codes))]
    assert key not in row.secret_sealed and row.confirmed_at is not None
    assert len(stored) == 10 and not any(c in s for c in codes for s in stored)
    # The password alone no longer signs in.
    step = await _password_step(dash, "tia@example.com")
    assert (await step.get(f"/app/w/{ws.slug}/links")).status_code == 303
    wrong = await step.post("/app/signin/2fa", {"code": "12345"})
    assert wrong.status_code == 400
    # The enrolment used this step's code; the next step's is accepted (one step of drift).
    code = pyotp.TOTP(key).at(time.time() + 30)
    ok = await step.post("/app/signin/2fa", {"code": code})
    assert ok.status_code == 303
    assert (await step.get(f"/app/w/{ws.slug}/links")).status_code == 200
    # The same code again (a shoulder-surfer's replay) is refused.
    replay = await _password_step(dash, "tia@example.com")
    assert (await replay.post("/app/signin/2fa", {"code": code})).status_code == 400
    # A recovery code works once.
    assert (await replay.post("/app/signin/2fa", {"code": codes[0].upper()})).status_code == 303
    again = await _password_step(dash, "tia@example.com")
    assert (await again.post("/app/signin/2fa", {"code": codes[0]})).status_code == 400
    actions = await _actions(dash)
    assert "totp.enabled" in actions and "totp.recovery_code_used" in actions
    # Turning it off needs the password.
    refused = await b.post("/app/account/2fa/disable", {"password": "wrong wrong wrong"})
    assert refused.status_code == 400
    assert (await b.post("/app/account/2fa/disable", {"password": PASSWORD})).status_code == 303
    assert "totp.disabled" in await _actions(dash)
    plain = dash.browser()
    await plain.sign_in("tia@example.com")  # a password alone again


FULLWIDTH = "\uff11\uff12\uff13\uff14\uff15\uff16"


async def test_odd_codes_are_refused_never_a_server_error(dash: Dash) -> None:
    ws = await dash.workspace()
    await dash.user("oz@example.com", ws, Role.MEMBER)
    b, _ = await _signed_in_cookie(dash, "oz@example.com")
    await _enrol(b)
    step = await _password_step(dash, "oz@example.com")
    for odd in (FULLWIDTH, "abcde-\uff46ghij", "x" * 64):
        assert (await step.post("/app/signin/2fa", {"code": odd})).status_code == 400


async def test_guessing_totp_codes_is_refused(tight: Dash) -> None:
    dash = tight
    ws = await dash.workspace()
    await dash.user("uma@example.com", ws, Role.MEMBER)
    b, _ = await _signed_in_cookie(dash, "uma@example.com")
    key, _ = await _enrol(b)  # one wrong code counted; right ones cost nothing
    step = await _password_step(dash, "uma@example.com")
    right = pyotp.TOTP(key).at(time.time() + 30)
    statuses = []
    for i in range(10):
        guess = f"{(int(right) + 1 + i) % 1_000_000:06d}"
        statuses.append((await step.post("/app/signin/2fa", {"code": guess})).status_code)
    assert statuses[:4] == [400] * 4 and set(statuses[4:]) == {429}, statuses
    # Limited per account: the right code from a fresh sign-in is refused too.
    fresh = await _password_step(dash, "uma@example.com")
    refused = await fresh.post("/app/signin/2fa", {"code": right})
    assert refused.status_code == 429 and "retry-after" in refused.headers
    assert (await fresh.get(f"/app/w/{ws.slug}/links")).status_code == 303


async def test_an_owner_can_require_two_factor_of_the_workspace(dash: Dash) -> None:
    ws = await dash.workspace()
    await dash.user("own@example.com", ws, Role.OWNER)
    await dash.user("mem@example.com", ws, Role.MEMBER)
    await dash.user("adm@example.com", ws, Role.ADMIN)
    owner, _ = await _signed_in_cookie(dash, "own@example.com")
    first = await owner.post(f"/app/w/{ws.slug}/settings/security", {"require_totp": "1"})
    assert first.status_code == 409  # the owner enrols first
    admin, _ = await _signed_in_cookie(dash, "adm@example.com")
    assert (
        await admin.post(f"/app/w/{ws.slug}/settings/security", {"require_totp": "1"})
    ).status_code == 403
    await _enrol(owner)
    assert (
        await owner.post(f"/app/w/{ws.slug}/settings/security", {"require_totp": "1"})
    ).status_code == 303
    assert "workspace.totp_rule" in await _actions(dash)
    member, _ = await _signed_in_cookie(dash, "mem@example.com")
    asked = await member.get(f"/app/w/{ws.slug}/links")
    assert asked.status_code == 303 and asked.headers["location"] == "/app/account/2fa"
    page = await member.get("/app/account/2fa")
    assert "requires two-factor" in page.text
    assert (await owner.get(f"/app/w/{ws.slug}/links")).status_code == 200
    await _enrol(member)
    assert (await member.get(f"/app/w/{ws.slug}/links")).status_code == 200


def _form(**kw: Any) -> dict[str, Any]:
    return kw


@pytest.mark.parametrize("path", ["/app/account", "/app/account/2fa"])
async def test_account_pages_need_a_sign_in(dash: Dash, path: str) -> None:
    r = await dash.browser().get(path)
    assert r.status_code == 303 and r.headers["location"].startswith("/app/signin")


async def test_invitations_are_limited_per_workspace(db_url: str, tmp_path: Path) -> None:
    async with running_dashboard(db_url, tmp_path / "data", rate_limit_invitations="3/1d") as dash:
        owner, ws = await dash.signed_in(Role.OWNER)
        for i in range(3):
            await _invite(owner, ws.slug, f"inv{i}@example.com")
        refused = await owner.post(
            f"/app/w/{ws.slug}/settings/members", {"email": "inv3@example.com", "role": "member"}
        )
        assert refused.status_code == 429 and "retry-after" in refused.headers
        assert 'value="inv3@example.com"' in refused.text  # the form keeps what was typed
        async with dash.db.transaction(write=False) as tx:
            assert len(await tx.invitations.pending(ws.id, utcnow())) == 3
