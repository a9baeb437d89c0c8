"""Security headers on every HTML page hoplink serves, and the session cookie's flags.

Pages: every GET route of the running dashboard (derived from its routing table) for a
signed-in owner, the sign-in page, the dashboard's 403/404 and CSRF-refusal pages, the
redirect host's 404/405/410 pages, the API docs and whatever answers ``/report``. Each must
carry a CSP with neither 'unsafe-inline' nor 'unsafe-eval' for scripts and styles and with
``frame-ancestors 'none'``, ``X-Content-Type-Options: nosniff`` and a Referrer-Policy;
HSTS exactly when the request came over HTTPS (TLS socket, or a trusted proxy's
X-Forwarded-Proto) — never because an untrusted client claims it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest_asyncio
from starlette.types import ASGIApp, Receive, Scope, Send

from hoplink.workspaces.models import Role, WorkspaceStatus
from hoplink.workspaces.service import set_status
from security.routes import dashboard_routes, fill
from security.tenants import (
    Browser,
    Dash,
    World,
    make_tenant,
    running_dashboard,
    start_bulk_job,
)

PROXY = "10.9.8.7"
STRANGER = "203.0.113.9"
SAFE_REFERRER_POLICIES = {
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
}
TRANSPORTS = {
    # name: (URL the browser sees, socket peer, extra headers, is HTTPS). Behind a proxy the
    # browser speaks HTTPS to the proxy while the app's socket is plain HTTP (see _Plain).
    "http": ("http://hop.test", "127.0.0.1", {}, False),
    "https socket": ("https://hop.test", "127.0.0.1", {}, True),
    "trusted proxy, https": ("https://hop.test", PROXY, {"X-Forwarded-Proto": "https"}, True),
    "trusted proxy, http": ("http://hop.test", PROXY, {"X-Forwarded-Proto": "http"}, False),
    "untrusted claims https": (
        "http://hop.test",
        STRANGER,
        {"X-Forwarded-Proto": "https"},
        False,
    ),
}


@dataclass
class Site:
    world: World
    gone_code: str  # a link of a suspended workspace


@pytest_asyncio.fixture
async def site(db_url: str, tmp_path: Path) -> AsyncIterator[Site]:
    async with running_dashboard(
        db_url, tmp_path / "data", trusted_proxies=(f"{PROXY}/32",)
    ) as dash:
        a = await make_tenant(dash, "a")
        b = await make_tenant(dash, "b")
        await start_bulk_job(dash, a)
        suspended = await dash.workspace("Suspended")
        gone = await dash.link(suspended)
        async with dash.db.transaction() as tx:
            await set_status(tx, ref=suspended.id, status=WorkspaceStatus.SUSPENDED)
        yield Site(World(dash=dash, a=a, b=b), gone.code)


class _Plain:
    """The app behind a TLS-terminating proxy: whatever the browser used, the socket the app
    sees is plain HTTP; only X-Forwarded-Proto says otherwise."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app({**scope, "scheme": "http"}, receive, send)


def client(dash: Dash, transport: str) -> Browser:
    base, peer, headers, _ = TRANSPORTS[transport]
    app: ASGIApp = _Plain(dash.app) if peer == PROXY else dash.app
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(peer, 50000)),
        base_url=base,
        headers=headers,
    )
    dash.clients.append(http)
    return Browser(http)


def csp_directives(value: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            out.setdefault(words[0].lower(), [w.lower() for w in words[1:]])
    return out


def check_page(response: httpx.Response, https: bool, where: object) -> None:
    h = response.headers
    assert "content-security-policy" in h, where
    csp = csp_directives(h["content-security-policy"])
    default = csp.get("default-src")
    for directive in ("script-src", "style-src"):
        sources = csp.get(directive, default)
        assert sources is not None, (where, directive, "neither it nor default-src is set")
        for bad in ("'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"):
            assert bad not in sources, (where, directive, bad)
    assert csp.get("frame-ancestors") == ["'none'"], (where, h["content-security-policy"])
    assert h.get("x-content-type-options") == "nosniff", where
    assert h.get("referrer-policy") in SAFE_REFERRER_POLICIES, (where, h.get("referrer-policy"))
    hsts = h.get("strict-transport-security")
    if https:
        assert hsts is not None, (where, "HSTS missing over HTTPS")
        max_age = re.search(r"max-age=(\d+)", hsts)
        assert max_age and int(max_age.group(1)) >= 180 * 86400, (where, hsts)
    else:
        assert hsts is None, (where, "HSTS over plain HTTP")


async def _pages(site: Site, transport: str) -> list[tuple[str, httpx.Response]]:
    """Every HTML page, fetched over ``transport``."""
    dash, a = site.world.dash, site.world.a
    pages: list[tuple[str, httpx.Response]] = []
    anonymous = client(dash, transport)
    pages.append(("sign-in", await anonymous.get("/app/signin")))
    bad = await anonymous.post("/app/signin", {"email": a.owner_email, "password": "wrong"})
    pages.append(("failed sign-in", bad))
    pages.append(("CSRF refusal", await anonymous.post("/app/signin", {}, token="forged")))
    owner = client(dash, transport)
    await owner.sign_in(a.owner_email)
    for method, path in dashboard_routes(site.world):
        if method == "GET":
            pages.append((path, await owner.get(fill(path, a.ids()))))
    missing = f"/app/w/{a.ws.slug}/links/lnk_{'0' * 16}"
    pages.append(("dashboard 404", await owner.get(missing)))
    pages.append(("unknown dashboard path", await owner.get("/app/no/such/page")))
    pages.append(("foreign workspace", await owner.get(f"/app/w/{site.world.b.ws.slug}/links")))
    member_email = f"member-{a.ws.slug}-{transport.replace(' ', '')}@example.com".replace(",", "")
    await dash.user(member_email, a.ws, Role.MEMBER)
    member = client(dash, transport)
    await member.sign_in(member_email)
    pages.append(("dashboard 403", await member.get(f"/app/w/{a.ws.slug}/settings")))
    visitor = client(dash, transport)
    pages.append(("short link 404", await visitor.get("/NoSuchCode1")))
    pages.append(("short link 410", await visitor.get(f"/{site.gone_code}")))
    pages.append(("short link 405", await visitor.http.post(f"/{a.link_code}")))
    pages.append(("bad short path 404", await visitor.get("/%3Cscript%3E")))
    pages.append(("API docs", await visitor.get("/api/docs")))
    pages.append(("/report", await visitor.get("/report")))
    return [(name, r) for name, r in pages if "text/html" in r.headers.get("content-type", "")]


async def test_every_html_page_has_the_security_headers(site: Site) -> None:
    for transport, (_, _, _, https) in TRANSPORTS.items():
        pages = await _pages(site, transport)
        statuses = set()
        for name, response in pages:
            check_page(response, https, (transport, name, response.status_code))
            statuses.add(response.status_code)
        # The run saw real pages, error pages and the redirect host's pages.
        assert {200, 400, 403, 404, 405, 410} <= statuses, statuses
        assert len(pages) >= 20


async def test_redirects_and_static_files_have_hsts_only_over_https(site: Site) -> None:
    for transport, (_, _, _, https) in TRANSPORTS.items():
        visitor = client(site.world.dash, transport)
        redirect = await visitor.get(f"/{site.world.a.link_code}")
        assert redirect.status_code == 302
        assert ("strict-transport-security" in redirect.headers) is https, transport
        static = await visitor.get("/app/static/dashboard.css")
        assert ("strict-transport-security" in static.headers) is https, transport


def _cookie(response: httpx.Response, name: str) -> dict[str, str]:
    for raw in response.headers.get_list("set-cookie"):
        first, *attrs = [part.strip() for part in raw.split(";")]
        if first.split("=", 1)[0] == name:
            out = {"value": first.split("=", 1)[1]}
            for attr in attrs:
                key, _, value = attr.partition("=")
                out[key.lower()] = value
            return out
    raise AssertionError(f"no {name} cookie set: {response.headers.get_list('set-cookie')}")


async def test_session_and_language_cookies_have_safe_flags(site: Site) -> None:
    for transport, (_, _, _, https) in TRANSPORTS.items():
        await _check_cookies(site, transport, https)


async def _check_cookies(site: Site, transport: str, https: bool) -> None:
    browser = client(site.world.dash, transport)
    first = await browser.get("/app/signin")  # an anonymous session carrying the CSRF token
    signed = await browser.post(
        "/app/signin", {"email": site.world.a.owner_email, "password": "correct horse battery"}
    )
    assert signed.status_code == 303
    await browser.get("/app/", follow_redirects=True)  # the token rotated on signing in
    lang = await browser.post("/app/lang", {"lang": "zh_CN", "next": "/app/"})
    for response, name in ((first, "hoplink_session"), (signed, "hoplink_session")):
        cookie = _cookie(response, name)
        assert "httponly" in cookie, (transport, name)
        assert cookie.get("samesite", "").lower() in ("lax", "strict"), (transport, name)
        assert ("secure" in cookie) is https, (transport, name)
        assert cookie.get("path") == "/app", (transport, name)  # short links never get it
        assert int(cookie.get("max-age", "0")) <= 12 * 3600
    cookie = _cookie(lang, "hoplink_lang")
    assert cookie.get("samesite", "").lower() in ("lax", "strict")
    assert ("secure" in cookie) is https
    # Signing in replaced the anonymous session (no fixation).
    assert _cookie(first, "hoplink_session")["value"] != _cookie(signed, "hoplink_session")["value"]


async def test_every_api_response_is_nosniff(site: Site) -> None:
    """JSON, CSV and problem details under /api and /rest, successes and errors alike."""
    a = site.world.a
    http = client(site.world.dash, "http").http
    key = a.keys["all"].headers
    shlink = {"X-Api-Key": a.keys["all"].raw}
    v1 = "/api/v1"
    calls = [
        ("links", http.build_request("GET", f"{v1}/links", headers=key), 200),
        ("one link", http.build_request("GET", f"{v1}/links/{a.link_id}", headers=key), 200),
        (
            "stats CSV",
            http.build_request("GET", f"{v1}/stats/workspace?format=csv", headers=key),
            200,
        ),
        ("openapi", http.build_request("GET", f"{v1}/openapi.json"), 200),
        ("docs script", http.build_request("GET", "/api/docs/init.js"), 200),
        ("no key", http.build_request("GET", f"{v1}/links"), 401),
        (
            "bad key",
            http.build_request("GET", f"{v1}/links", headers={"Authorization": "Bearer hl_x_y"}),
            401,
        ),
        ("unknown link", http.build_request("GET", f"{v1}/links/lnk_{'0' * 16}", headers=key), 404),
        ("unknown API path", http.build_request("GET", f"{v1}/no/such/thing", headers=key), 404),
        ("bad body", http.build_request("POST", f"{v1}/links", headers=key, json={"url": 5}), 422),
        ("not JSON", http.build_request("POST", f"{v1}/links", headers=key, content=b"{"), 422),
        (
            "body over the edge's limit",
            http.build_request(
                "POST", f"{v1}/links", headers=key, content=b"x" * (9 * 1024 * 1024)
            ),
            413,
        ),
        ("wrong method", http.build_request("PUT", f"{v1}/links", headers=key, json={}), 405),
        ("shlink list", http.build_request("GET", "/rest/v3/short-urls", headers=shlink), 200),
        ("shlink tags", http.build_request("GET", "/rest/v3/tags", headers=shlink), 200),
        ("shlink no key", http.build_request("GET", "/rest/v3/short-urls"), 401),
        (
            "shlink unknown code",
            http.build_request("GET", "/rest/v3/short-urls/NoSuch1", headers=shlink),
            404,
        ),
    ]
    seen = set()
    for name, request, status in calls:
        r = await http.send(request)
        assert r.status_code == status, (name, r.status_code, r.text[:200])
        assert r.headers.get("x-content-type-options") == "nosniff", (name, r.status_code)
        seen.add(r.status_code)
    assert {200, 401, 404, 405, 413, 422} <= seen
