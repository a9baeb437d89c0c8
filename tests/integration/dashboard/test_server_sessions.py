"""Issue 15, finding 5: sessions end on the server, at once, wherever they are ended.

A saved cookie replayed after sign-out, after its user was removed from the workspace,
or after an operator's "sign out everywhere" (admin page and CLI) opens nothing; a
password change (``end_sessions(except_session=...)``) keeps only the session that made it.
"""

from __future__ import annotations

import re

import httpx
import pytest
from dashboard_harness import PASSWORD, Browser, Dash

from hoplink.accounts import sessions
from hoplink.dashboard.sessions import COOKIE
from hoplink.workspaces.models import Role


def _replay(dash: Dash, cookie: str) -> httpx.AsyncClient:
    """A second client holding a copy of a session cookie (a thief's)."""
    http = dash.browser().http
    http.cookies.set(COOKIE, cookie, domain="hop.test", path="/app")
    return http


async def _signed_in(dash: Dash, email: str) -> tuple[Browser, str]:
    b = dash.browser()
    await b.sign_in(email)
    cookie = b.http.cookies.get(COOKIE, domain="hop.test", path="/app")
    assert cookie
    return b, cookie


async def _opens(http: httpx.AsyncClient, path: str) -> bool:
    response = await http.get(path)
    if response.status_code == 303:
        assert response.headers["location"].startswith("/app/signin")
        return False
    assert response.status_code == 200, response.status_code
    return True


async def test_a_cookie_replayed_after_sign_out_opens_nothing(dash: Dash) -> None:
    ws = await dash.workspace()
    await dash.user("ann@example.com", ws, Role.MEMBER)
    b, cookie = await _signed_in(dash, "ann@example.com")
    thief = _replay(dash, cookie)
    page = f"/app/w/{ws.slug}/links"
    assert await _opens(thief, page)
    assert (await b.post("/app/signout")).status_code == 303
    assert not await _opens(thief, page)
    assert not await _opens(b.http, page)


async def test_a_removed_member_is_signed_out_at_once(dash: Dash) -> None:
    ws = await dash.workspace()
    await dash.user("owner@example.com", ws, Role.OWNER)
    member = await dash.user("mia@example.com", ws, Role.MEMBER)
    other = await dash.workspace("Other Store")
    async with dash.db.transaction() as tx:
        from hoplink.accounts.users import add_member

        await add_member(tx, user=member, workspace=other, role=Role.MEMBER)
    _, cookie = await _signed_in(dash, "mia@example.com")
    mia = _replay(dash, cookie)
    assert await _opens(mia, f"/app/w/{other.slug}/links")
    owner, _ = await _signed_in(dash, "owner@example.com")
    await owner.get(f"/app/w/{ws.slug}/settings")
    removed = await owner.post(f"/app/w/{ws.slug}/settings/members/{member.id}/remove")
    assert removed.status_code == 303
    # Not only the workspace they left: the whole sign-in is over.
    assert not await _opens(mia, f"/app/w/{other.slug}/links")
    assert await _opens(owner.http, f"/app/w/{ws.slug}/links")


async def test_an_operator_signs_a_user_out_everywhere_from_the_admin_page(dash: Dash) -> None:
    ws = await dash.workspace()
    await dash.user("bob@example.com", ws, Role.MEMBER)
    await dash.user("carol@example.com", ws, Role.MEMBER)
    await dash.user("ops@example.com", platform_admin=True)
    laptop, _ = await _signed_in(dash, "bob@example.com")
    phone, _ = await _signed_in(dash, "bob@example.com")
    carol, _ = await _signed_in(dash, "carol@example.com")
    ops, _ = await _signed_in(dash, "ops@example.com")
    listing = await ops.get("/app/admin/users")
    assert listing.status_code == 200
    row = re.search(r'<tr id="user-[^"]+">\s*<td>bob@example.com.*?</tr>', listing.text, re.S)
    assert row and "<td>2</td>" in row.group(0)
    done = await ops.post("/app/admin/users/signout", {"email": "bob@example.com"})
    assert done.status_code == 303 and done.headers["location"] == "/app/admin/users"
    page = f"/app/w/{ws.slug}/links"
    assert not await _opens(laptop.http, page)
    assert not await _opens(phone.http, page)
    assert await _opens(carol.http, page)
    assert await _opens(ops.http, "/app/admin/users")
    # A member cannot use the page (it answers like a missing one).
    assert (
        await carol.post("/app/admin/users/signout", {"email": "ops@example.com"})
    ).status_code == 404
    assert await _opens(ops.http, "/app/admin/users")


async def test_end_sessions_can_keep_the_callers_session(dash: Dash) -> None:
    """What a password change does (issue 14 calls this)."""
    ws = await dash.workspace()
    user = await dash.user("dan@example.com", ws, Role.MEMBER)
    keep, keep_cookie = await _signed_in(dash, "dan@example.com")
    other, _ = await _signed_in(dash, "dan@example.com")
    async with dash.db.transaction(write=False) as tx:
        live = await sessions.sessions_of(tx, user_id=user.id)
    assert len(live) == 2
    kept_id = _session_id_of(dash, keep_cookie)
    assert kept_id in {s.id for s in live}
    async with dash.db.transaction() as tx:
        ended = await sessions.end_sessions(tx, user_id=user.id, except_session=kept_id)
    assert ended == 1
    page = f"/app/w/{ws.slug}/links"
    assert await _opens(keep.http, page)
    assert not await _opens(other.http, page)


def _secret_of(dash: Dash, cookie: str) -> str:
    """The session secret ``cookie`` carries (as the app reads it)."""
    from hoplink.dashboard.sessions import SessionMiddleware

    assert dash.app.runtime is not None
    reader = SessionMiddleware(
        lambda *a: None,  # type: ignore[arg-type,return-value]
        secret=dash.app.runtime.settings.resolve_secret_key(),
        is_https=lambda scope: False,
    )
    secret = reader._load(cookie)["sid"]
    assert isinstance(secret, str)
    return secret


def _session_id_of(dash: Dash, cookie: str) -> str:
    return sessions.session_id(_secret_of(dash, cookie))


async def test_the_session_table_holds_no_cookie_secret(dash: Dash) -> None:
    ws = await dash.workspace()
    user = await dash.user("eve@example.com", ws, Role.MEMBER)
    _, cookie = await _signed_in(dash, "eve@example.com")
    async with dash.db.transaction(write=False) as tx:
        (stored,) = await sessions.sessions_of(tx, user_id=user.id)
    secret = _secret_of(dash, cookie)
    assert stored.id == sessions.session_id(secret) != secret
    assert secret not in repr(stored)


@pytest.mark.parametrize(
    "target",
    ["/app/../..//evil.com", "/app/%2e%2e/%2e%2e//evil.com", "/app/./../evil"],
)
async def test_next_is_normalised_to_a_path_under_the_app(dash: Dash, target: str) -> None:
    ws = await dash.workspace()
    await dash.user("nx@example.com", ws)
    b = dash.browser()
    page = await b.get(f"/app/signin?next={target}")
    echoed = re.findall(r'name="next" value="([^"]*)"', page.text)
    assert "/app/" in echoed, echoed  # the sign-in form's, normalised
    # (the language switch carries the page's own address, which it normalises on use)
    response = await b.post(
        "/app/signin", {"email": "nx@example.com", "password": PASSWORD, "next": target}
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert location == "/app/" or (location.startswith("/app/") and ".." not in location)
