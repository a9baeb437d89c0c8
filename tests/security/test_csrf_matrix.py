"""CSRF matrix: every state-changing dashboard route by every forgery → 403, nothing written.

The routes are those the running dashboard serves with POST, PUT, PATCH or DELETE, so a
route added later is attacked too (with its form from ``FORMS``, or an empty one: the check
runs before any view). Each attack is otherwise a valid request from a signed-in owner; the
positive control sends the same request with the session's token from our own origin and
must not meet the CSRF refusal, so the matrix cannot pass for a route that refuses anyway.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from security.routes import FILES, FORMS, dashboard_routes, param_kind, path_params
from security.tenants import Browser, World, diff, signed_in, snapshot

ORIGIN = "http://hop.test"
REFUSAL = "This form has expired or was sent from another site"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _unsafe_routes(world: World) -> list[tuple[str, str]]:
    return [(m, p) for m, p in dashboard_routes(world) if m in UNSAFE]


def test_the_dashboard_has_state_changing_routes() -> None:
    from hoplink.dashboard.app import routes

    assert sum(1 for r in routes() if "POST" in (getattr(r, "methods", None) or ())) >= 16


async def test_every_state_changing_route_is_classified(world: World) -> None:
    for method, path in _unsafe_routes(world):
        assert path in FORMS, f"{method} {path}: add a valid form to security/routes.py FORMS"
        unknown = [p for p in path_params(path) if param_kind(path, p) is None]
        assert unknown == [], f"{method} {path}: classify {unknown} in DASH_PARAMS"


def _path(world: World, path: str) -> str:
    values = world.a.ids()
    return re.sub(
        r"\{(\w+)(?::\w+)?\}", lambda m: values.get(str(param_kind(path, m.group(1))), "x"), path
    )


def _form(world: World, path: str) -> dict[str, Any]:
    """The route's valid form, its references ({variant}) naming tenant A's objects."""
    values = world.a.ids()
    return {
        k: re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), v)
        if isinstance(v, str)
        else v
        for k, v in FORMS.get(path, {}).items()
    }


async def _send(
    browser: Browser,
    method: str,
    url: str,
    form: dict[str, Any],
    *,
    token: str | None,
    headers: dict[str, str],
    token_header: str | None = None,
    files: dict[str, Any] | None = None,
) -> httpx.Response:
    data = dict(form)
    if token is not None:
        data["csrf_token"] = token
    sent = dict(headers)
    if token_header is not None:
        sent["X-CSRF-Token"] = token_header
    return await browser.http.request(method, url, data=data, files=files, headers=sent)


async def test_csrf_every_unsafe_route_refuses_every_forgery(world: World) -> None:
    browser = await signed_in(world.dash, world.a)
    other = await signed_in(world.dash, world.b)  # a valid token, of another session
    anonymous = world.dash.browser()
    await anonymous.get("/app/signin")
    own = browser.token
    assert own and other.token and anonymous.token and len({own, other.token, anonymous.token}) == 3
    same = {"Origin": ORIGIN}
    attacks: dict[str, dict[str, Any]] = {
        "no token": {"token": None, "headers": same},
        "empty token": {"token": "", "headers": same},
        "bad token": {"token": "x" * len(own), "headers": same},
        "truncated token": {"token": own[:-1], "headers": same},
        "token of another user's session": {"token": other.token, "headers": same},
        "token of an anonymous session": {"token": anonymous.token, "headers": same},
        "bad header token": {"token": None, "headers": same, "token_header": "y" * len(own)},
        "foreign Origin": {"token": own, "headers": {"Origin": "https://evil.test"}},
        "null Origin": {"token": own, "headers": {"Origin": "null"}},
        "look-alike Origin": {"token": own, "headers": {"Origin": "http://hop.test.evil.test"}},
        "other port Origin": {"token": own, "headers": {"Origin": "http://hop.test:8443"}},
        "subdomain Origin": {"token": own, "headers": {"Origin": "http://evil.hop.test"}},
        "foreign Origin, header token": {
            "token": None,
            "headers": {"Origin": "https://evil.test"},
            "token_header": own,
        },
        "foreign Referer without Origin": {
            "token": own,
            "headers": {"Referer": "https://evil.test/page"},
        },
        "foreign Origin, own Referer": {
            "token": own,
            "headers": {"Origin": "https://evil.test", "Referer": f"{ORIGIN}/app/"},
        },
    }
    routes = _unsafe_routes(world)
    before = await snapshot(world.db)
    cases = 0
    for method, path in routes:
        url, form = _path(world, path), _form(world, path)
        for name, attack in attacks.items():
            response = await _send(browser, method, url, form, files=FILES.get(path), **attack)
            where = (name, method, path)
            assert response.status_code == 403, (where, response.status_code)
            assert REFUSAL in response.text, where
            assert "set-cookie" not in response.headers, where
            cases += 1
    assert diff(before, await snapshot(world.db)) == {}
    assert cases == len(routes) * len(attacks)
    print(f"CSRF: {len(routes)} routes x {len(attacks)} forgeries = {cases} cases")
    # Still signed in, same token: the forgeries changed nothing in the session either.
    assert (await browser.get(f"/app/w/{world.a.ws.slug}/links")).status_code == 200
    assert browser.token == own
    # Positive control (sign-out last: it ends the session).
    for method, path in sorted(routes, key=lambda mp: mp[1] == "/app/signout"):
        url, form = _path(world, path), _form(world, path)
        response = await _send(
            browser,
            method,
            url,
            form,
            token=browser.token,
            headers={"Origin": ORIGIN},
            files=FILES.get(path),
        )
        # The view ran: a page, a redirect, or its own refusal (the report names no existing
        # link: 422; the admin pages are not for this owner: 404) — never the CSRF one.
        assert REFUSAL not in response.text, (method, path)
        assert response.status_code in (200, 303, 404, 422), (method, path, response.status_code)
        await browser.get(f"/app/w/{world.a.ws.slug}/links")  # the token (signing in rotates it)
    # A POST with neither Origin nor Referer is decided by the token alone (old browsers,
    # privacy proxies): with the token it passes, without it it is refused.
    fresh = await signed_in(world.dash, world.b)
    url = f"/app/w/{world.b.ws.slug}/campaigns"
    refused = await fresh.http.post(url, data={"name": "no headers"})
    assert refused.status_code == 403
    accepted = await fresh.http.post(url, data={"name": "no headers", "csrf_token": fresh.token})
    assert accepted.status_code in (200, 303)
