"""Sign in and out, session cookie flags, safe redirects, and the login throttle."""

from __future__ import annotations

import re

import pytest
from dashboard_harness import PASSWORD, Dash

from hoplink.dashboard.sessions import COOKIE
from hoplink.dashboard.throttle import LoginThrottle
from hoplink.workspaces.models import Role


async def test_signing_in_opens_the_workspace_and_signing_out_closes_it(dash: Dash) -> None:
    ws = await dash.workspace()
    await dash.user("ann@example.com", ws, Role.MEMBER)
    b = dash.browser()
    first = await b.get("/")
    assert first.status_code == 303 and first.headers["location"] == "/app/signin"
    page = await b.get("/app/signin")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    signed = await b.post("/app/signin", {"email": "Ann@Example.com ", "password": PASSWORD})
    assert signed.status_code == 303
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/app" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over HTTPS it is set (below)
    home = await b.get("/app/", follow_redirects=True)
    assert home.status_code == 200 and home.url.path == f"/app/w/{ws.slug}/links"
    out = await b.post("/app/signout")
    assert out.status_code == 303 and out.headers["location"] == "/app/signin"
    after = await b.get(f"/app/w/{ws.slug}/links")
    assert after.status_code == 303
    assert after.headers["location"].startswith("/app/signin?next=/app/w/")


async def test_the_session_cookie_is_secure_over_https(dash: Dash) -> None:
    ws = await dash.workspace()
    await dash.user("sec@example.com", ws)
    b = dash.browser()
    b.http.base_url = "https://hop.test"  # type: ignore[misc]
    await b.get("/app/signin")
    response = await b.post(
        "/app/signin",
        {"email": "sec@example.com", "password": PASSWORD},
        origin="https://hop.test",
    )
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]
    assert response.headers["strict-transport-security"].startswith("max-age=")


@pytest.mark.parametrize(
    "target",
    ["https://evil.test/", "//evil.test/x", "/\\evil.test", "/app/\tx", "javascript:alert(1)"],
)
async def test_next_never_leaves_the_dashboard(dash: Dash, target: str) -> None:
    ws = await dash.workspace()
    await dash.user("nx@example.com", ws)
    b = dash.browser()
    await b.get("/app/signin")
    response = await b.post(
        "/app/signin", {"email": "nx@example.com", "password": PASSWORD, "next": target}
    )
    assert response.status_code == 303 and response.headers["location"] == "/app/"


def _visible(html: str) -> str:
    """The page without its per-session token (the only part allowed to differ)."""
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


async def test_unknown_user_and_wrong_password_get_the_same_answer(dash: Dash) -> None:
    ws = await dash.workspace()
    await dash.user("real@example.com", ws)
    b = dash.browser()
    await b.get("/app/signin")
    wrong = await b.post("/app/signin", {"email": "real@example.com", "password": "nope-nope"})
    b2 = dash.browser()
    await b2.get("/app/signin")
    unknown = await b2.post(
        "/app/signin",
        {"email": "real@example.com".replace("real", "ghost"), "password": "nope-nope"},
    )
    assert wrong.status_code == unknown.status_code == 400
    assert "Wrong e-mail address or password." in wrong.text
    assert _visible(wrong.text).replace("real@", "X@") == _visible(unknown.text).replace(
        "ghost@", "X@"
    )
    assert "set-cookie" not in wrong.headers and "set-cookie" not in unknown.headers


async def test_the_account_is_throttled_after_five_failures_even_for_the_right_password(
    dash: Dash,
) -> None:
    ws = await dash.workspace()
    await dash.user("victim@example.com", ws)
    b = dash.browser(("198.51.100.7", 4000))
    await b.get("/app/signin")
    for _ in range(5):  # five wrong passwords are answered as such ...
        r = await b.post("/app/signin", {"email": "victim@example.com", "password": "guess-1234"})
        assert "Wrong e-mail address or password." in r.text
    # ... then the account is locked (2 s, doubling with each further failure)
    locked = await b.post("/app/signin", {"email": "victim@example.com", "password": "guess-1234"})
    assert "Too many sign-in attempts" in locked.text
    right = await b.post("/app/signin", {"email": "victim@example.com", "password": PASSWORD})
    assert right.status_code == 429 and "Too many sign-in attempts" in right.text
    assert int(right.headers["retry-after"]) >= 1
    # The same for an account that does not exist: nothing tells the two apart.
    for _ in range(6):
        ghost = await b.post(
            "/app/signin", {"email": "ghost@example.com", "password": "guess-1234"}
        )
    assert ghost.status_code == 429 and "Too many sign-in attempts" in ghost.text
    # Another person, on another address, signing in to their own account is not affected.
    await dash.user("other@example.com", ws)
    other = dash.browser(("203.0.113.9", 4000))
    await other.get("/app/signin")
    ok = await other.post("/app/signin", {"email": "other@example.com", "password": PASSWORD})
    assert ok.status_code == 303


async def test_one_address_guessing_many_accounts_is_slowed(dash: Dash) -> None:
    b = dash.browser(("192.0.2.50", 4000))
    await b.get("/app/signin")
    answers = [
        await b.post("/app/signin", {"email": f"u{i}@example.com", "password": "guess-1234"})
        for i in range(22)
    ]
    assert "Too many sign-in attempts" in answers[-1].text
    assert all("Too many" not in a.text for a in answers[:20])


def test_backoff_doubles_and_is_capped() -> None:
    now = [0.0]
    throttle = LoginThrottle(account_free=2, base=1.0, cap=8.0, clock=lambda: now[0])
    waits = []
    for _ in range(8):
        throttle.failed("a@x.test", None)
        waits.append(throttle.retry_after("a@x.test", None))
    assert waits == [0, 1, 2, 4, 8, 8, 8, 8]
    now[0] = 9.0
    assert throttle.retry_after("a@x.test", None) == 0
    throttle.succeeded("a@x.test")
    throttle.failed("a@x.test", None)
    assert throttle.retry_after("a@x.test", None) == 0
    now[0] = 10_000.0  # records are forgotten after an hour without failures
    assert throttle.retry_after("a@x.test", None) == 0


def test_memory_stays_bounded_whatever_is_sprayed() -> None:
    throttle = LoginThrottle(max_entries=100)
    for i in range(1000):
        throttle.failed(f"user{i}@x.test", f"10.0.{i // 256}.{i % 256}")
    assert len(throttle.accounts.records) == 100 and len(throttle.addresses.records) == 100
