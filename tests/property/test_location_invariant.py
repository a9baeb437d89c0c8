"""Nothing in a request changes where a short link goes.

The app is driven at the ASGI level, so requests can carry what an HTTP client would refuse
to send (CR/LF, raw bytes, duplicate Host headers). For any query string, path suffix and
headers: a 302 carries exactly one Location, of printable ASCII, ending (before any
fragment) in exactly one click id under the workspace's parameter name, a fresh one every
time; without it, the scheme, host and path are those of the stored final URL, and for a
link without forward_query the whole URL is (plus, for a link that passes ad click ids on,
only validated ids of the platforms' table); and a link is only ever served on its own
domain, for its exact code.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import factories
from clickids import split_click_id
from hoplink.app import HoplinkApp
from hoplink.clicks.adids import BY_PARAM
from hoplink.config import load_settings
from hoplink.ids import new_id, utcnow
from hoplink.links import experiments, service
from hoplink.links import rules as link_rules
from hoplink.links.models import Link, ShortDomain
from hoplink.links.routing import app_presets
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules

HOST = factories.DEFAULT_HOST
OTHER_HOST = "go.brand.example"


RULES: list[dict[str, Any]] = [
    {"conditions": [{"type": "query", "name": "src", "equals": "tiktok"}],
     "action": {"type": "url", "url": "https://shop.example.com/tt?y=2"}},
    {"match": "any",
     "conditions": [{"type": "in_app"}, {"type": "language", "values": ["de", "zh"]}],
     "action": {"type": "app", "preset": "amazon", "url": "https://www.amazon.com/dp/B1?a=b"}},
    {"conditions": [{"type": "os", "values": ["android", "ios"]},
                    {"type": "country", "values": ["DE", "JP"]}],
     "action": {"type": "url", "url": "https://shop.example.com/m"}},
    {"conditions": [{"type": "query", "name": "promo"}],
     "action": {"type": "app", "preset": "taobao"}},
]  # fmt: skip


@dataclass
class World:
    app: HoplinkApp
    links: list[Link]  # on HOST
    foreign: Link  # on OTHER_HOST
    params: dict[str, str]  # link id → the click-id parameter of its workspace
    seen: set[str]  # every click id handed out so far
    # Links with routing rules (on HOST) and every Location their rules may answer.
    routed: list[tuple[Link, list[str]]]
    # A link with an A/B test, its variant ids, their Locations, and another test's ids.
    tested: tuple[Link, list[str], list[str], list[str]]
    # The web URLs of the routed links' app hand-offs (iOS universal links, desktop).
    app_web: set[str]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    base = tmp_path_factory.mktemp("location-invariant")
    shutil.copy(sqlite_template, base / "hoplink.db")
    config = load_settings(
        database_url=f"sqlite:///{base / 'hoplink.db'}",
        data_dir=base / "data",
        default_domain=HOST,
        trusted_proxies=("203.0.113.0/24",),
        # Hypothesis sends thousands of unknown codes from one address: the enumeration
        # limit (tests/integration/redirect/test_enumeration_limit.py) would answer 429.
        rate_limit_redirect_404="off",
        ab_cookie_days=30,  # the optional A/B cookie is read and written
    )
    app = HoplinkApp(config, services=())
    await app.start()
    assert app.runtime is not None
    db = app.runtime.db
    async with db.transaction() as tx:
        ws = await factories.workspace(tx, seller_id="S9", param_template={"aff": "{seller_id}"})
        default = await tx.short_domains.by_hostname(HOST)
        assert default is not None
        other = ShortDomain(new_id("dom"), OTHER_HOST, None, False)
        await tx.short_domains.insert(other, utcnow())

        async def make(domain: ShortDomain, url: str, **kw: Any) -> Link:
            spec = LinkSpec(url=url, utm={"utm_source": "facebook"}, **kw)
            return await service.create_link(
                tx, workspace=ws, domain=domain, spec=spec, actor=None, rules=LinkRules()
            )

        links = [
            await make(default, "https://shop.example.com/item/1?sku=2#top"),
            await make(default, "https://shop.example.com/p/%E5%8F%8C", forward_query=True),
            await make(default, "http://[2606:4700:4700::1111]:8080/a/b?x=1#f", forward_query=True),
            await make(default, "https://shop.example.com/c", code="Summer-Sale_1"),
            await make(default, "https://shop.example.com/d?gclid=BOUND#x", pass_ad_click_ids=True),
        ]
        params = {link.id: "hl_click" for link in links}
        renamed = await factories.workspace(tx, "Renamed", click_id_param="cid")
        spec = LinkSpec(url="https://shop.example.com/e?k=v", forward_query=True)
        links.append(
            await service.create_link(
                tx, workspace=renamed, domain=default, spec=spec, actor=None, rules=LinkRules()
            )
        )
        params[links[-1].id] = "cid"
        foreign = await make(other, "https://brand.example/x")
        routed: list[tuple[Link, list[str]]] = []
        app_web: set[str] = set()
        for forward in (False, True):
            link = await make(default, "https://shop.example.com/r?x=1", forward_query=forward)
            link, rules = await link_rules.set_rules(
                tx, workspace=ws, link_id=link.id, rules=RULES, actor=None, policy=None,
                presets=app_presets(),
            )  # fmt: skip
            candidates = [link.final_url]
            for rule in rules:
                candidates += (rule.action.locations or {"url": rule.action.url}).values()
                if rule.action.type == "app":
                    app_web.update(
                        u for u in (rule.action.locations or {}).values()
                        if u.startswith(("http://", "https://"))
                    )  # fmt: skip
            routed.append((link, candidates))
        tests = []
        for _ in range(2):
            link = await make(default, "https://shop.example.com/ab?x=1", forward_query=False)
            link, test = await experiments.start_test(
                tx, workspace=ws, link_id=link.id, policy=None, actor=None,
                variants=[{"weight": 1}, {"url": "https://shop.example.com/ab-b", "weight": 2},
                          {"url": "https://shop.example.com/ab-c?k=v", "weight": 1}],
            )  # fmt: skip
            tests.append(
                (link, [v.id for v in test.variants],
                 [v.url or link.final_url for v in test.variants])
            )  # fmt: skip
        (tested, ids, urls), (_, others, _) = tests
    try:
        tested_link = (tested, ids, urls, others)
        yield World(app, links, foreign, params, set(), routed, tested_link, app_web)
    finally:
        await app.stop()


async def call(
    app: HoplinkApp, method: str, path: str, query: bytes, headers: list[tuple[bytes, bytes]]
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogatepass"),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("203.0.113.7", 40000),
        "server": ("127.0.0.1", 8080),
    }
    await app(scope, receive, send)
    start, body = sent[0], sent[1]
    return start["status"], start["headers"], body["body"]


_TOKENS = [
    *"aZ09/?#&=%.:@\\;,+ \t\r\n\x00\u202e\u00e9",
    "//",
    "..",
    "%0d%0a",
    "%2F",
    "utm_source=",
    "hl_click=",
    "HL_CLICK=",
    "cid=",
    "fbclid=",
    "gclid=",
    "ScCid=",
    "0123456789abcdef0123456789abcdef",
    "aff=",
    "https://evil.example",
    "%00",
    "\u2028",
    "src=tiktok",
    "promo",
    "FBAN/FBIOS",
    "Android",
    "iPhone",
    "de-DE",
    "zh",
    "DE",
]
nasty_text = st.one_of(
    st.lists(st.sampled_from(_TOKENS), max_size=15).map("".join), st.text(max_size=20)
)
nasty_bytes = st.one_of(
    st.binary(max_size=60), nasty_text.map(lambda s: s.encode("utf-8", "surrogatepass"))
)
host_variants = st.sampled_from(
    [HOST, HOST.upper(), "Hop.Test", f"{HOST}.", f"{HOST}:443", f"{HOST}:8080", OTHER_HOST,
     f"{HOST}.:443", f"{HOST}:", f"{HOST}:443:443", "evil.example:443",
     "evil.example", f"{HOST}@evil.example", f"evil.example#{HOST}", f"{HOST}\r\nx: y", ""]
)  # fmt: skip
header_names = st.sampled_from(
    [b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto", b"x-forwarded-prefix",
     b"forwarded", b"x-original-url", b"x-rewrite-url", b"cf-connecting-ip", b"cf-ipcountry",
     b"referer", b"user-agent", b"location", b"host", b"accept-language"]
)  # fmt: skip
header_lists = st.lists(st.tuples(header_names, nasty_bytes), max_size=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(min_value=0, max_value=5),
    suffix=st.one_of(st.just(""), nasty_text),
    query=nasty_bytes,
    host=host_variants,
    extra=header_lists,
    method=st.sampled_from(["GET", "HEAD"]),
)
@pytest.mark.asyncio(loop_scope="session")
async def test_location_is_always_the_stored_url(
    world: World,
    index: int,
    suffix: str,
    query: bytes,
    host: str,
    extra: list[tuple[bytes, bytes]],
    method: str,
) -> None:
    link = world.links[index]
    headers = [(b"host", host.encode("latin-1")), *extra]
    status, response_headers, body = await call(
        world.app, method, f"/{link.code}{suffix}", query, headers
    )
    locations = [v for n, v in response_headers if n.lower() == b"location"]
    if status != 302:
        assert status == 404 and locations == []
        return
    assert body == b""
    assert len(locations) == 1
    location = locations[0]
    assert all(0x21 <= b <= 0x7E for b in location), location
    rest, click_id = split_click_id(location.decode(), world.params[link.id])
    assert click_id not in world.seen  # ours, fresh: never one the request carried
    world.seen.add(click_id)
    got, stored = urlsplit(rest), urlsplit(link.final_url)
    assert (got.scheme, got.netloc, got.path) == (stored.scheme, stored.netloc, stored.path)
    assert got.fragment == stored.fragment
    assert got.query.startswith(stored.query)
    if link.pass_ad_click_ids:
        for piece in filter(None, got.query[len(stored.query) :].split("&")):
            name, _, value = piece.partition("=")
            spec = BY_PARAM[name]  # only the table's names, canonically spelled
            assert spec.charset.fullmatch(value) and len(value) <= spec.max_length, piece
            assert name.lower() not in stored.query.lower()  # never over a bound one
    elif not link.forward_query:
        assert rest == link.final_url
    # Served only for the exact code on its own domain (Host matched case-insensitively;
    # the fully qualified form, one trailing dot, and a port after it name the same host).
    assert suffix == "" and re.sub(r":[0-9]{1,5}$", "", host.lower()).removesuffix(".") == HOST


@settings(max_examples=100, deadline=None)
@given(query=nasty_bytes, extra=header_lists)
@pytest.mark.asyncio(loop_scope="session")
async def test_another_domains_link_is_never_served_here(
    world: World, query: bytes, extra: list[tuple[bytes, bytes]]
) -> None:
    headers = [(b"host", HOST.encode()), *[(n, v) for n, v in extra if n != b"host"]]
    status, _, _ = await call(world.app, "GET", f"/{world.foreign.code}", query, headers)
    assert status == 404


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(min_value=0, max_value=1),
    query=nasty_bytes,
    extra=header_lists,
    method=st.sampled_from(["GET", "HEAD"]),
)
@pytest.mark.asyncio(loop_scope="session")
async def test_a_routed_link_answers_only_its_stored_locations(
    world: World, index: int, query: bytes, extra: list[tuple[bytes, bytes]], method: str
) -> None:
    """Whatever the user agent, language, country header and query: the Location is the
    link's final URL or one its rules stored, and only http(s) ones get the visitor's query
    and the click id (never an app hand-off — not even its web URL, which is what iOS and
    desktop visitors get from one, answered exactly as stored)."""
    link, candidates = world.routed[index]
    headers = [(b"host", HOST.encode()), *[(n, v) for n, v in extra if n != b"host"]]
    status, response_headers, _ = await call(world.app, method, f"/{link.code}", query, headers)
    assert status == 302
    [location] = [v.decode() for n, v in response_headers if n.lower() == b"location"]
    assert all(0x21 <= ord(c) <= 0x7E for c in location), location
    if location.startswith(("http://", "https://")) and "hl_click=" not in location:
        assert location in world.app_web, location  # an app hand-off's web URL, as stored
    elif location.startswith(("http://", "https://")):
        location, click_id = split_click_id(location, "hl_click")
        assert click_id not in world.seen
        world.seen.add(click_id)
    else:
        assert "hl_click" not in location, location
    if location in candidates:
        return
    assert link.forward_query, (location, candidates)
    got = urlsplit(location)
    matching = [
        c
        for c in candidates
        if c.startswith(("http://", "https://"))
        and (urlsplit(c).scheme, urlsplit(c).netloc, urlsplit(c).path)
        == (got.scheme, got.netloc, got.path)
        and got.query.startswith(urlsplit(c).query)
        and got.fragment == urlsplit(c).fragment
    ]
    assert matching, (location, candidates)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    query=nasty_bytes,
    extra=header_lists,
    method=st.sampled_from(["GET", "HEAD"]),
)
@pytest.mark.asyncio(loop_scope="session")
async def test_the_ab_cookie_only_picks_among_the_stored_variants(
    world: World,
    data: st.DataObject,
    query: bytes,
    extra: list[tuple[bytes, bytes]],
    method: str,
) -> None:
    """Whatever the cookie header carries (this test's variant ids, another test's, forged
    ones, separators, line breaks): the Location is one of the test's stored variant URLs
    plus the click id, and a Set-Cookie, when sent, names one of this test's variants for
    this link's path only."""
    link, ids, urls, others = world.tested
    cookie_value = st.one_of(
        st.sampled_from([*ids, *others, "var_" + "A" * 16, "", "x;hl_ab=var_" + "b" * 16]),
        nasty_text,
    )
    cookies = data.draw(
        st.lists(
            st.builds(
                lambda name, value: f"{name}={value}".encode("utf-8", "surrogatepass"),
                st.sampled_from(["hl_ab", "HL_AB", "hl_ab ", "other"]),
                cookie_value,
            ),
            max_size=3,
        )
    )
    headers = [
        (b"host", HOST.encode()),
        *[(n, v) for n, v in extra if n != b"host"],
        *[(b"cookie", c) for c in cookies],
    ]
    status, response_headers, _ = await call(world.app, method, f"/{link.code}", query, headers)
    assert status == 302
    [location] = [v.decode() for n, v in response_headers if n.lower() == b"location"]
    assert all(0x21 <= ord(c) <= 0x7E for c in location), location
    rest, click_id = split_click_id(location, "hl_click")
    assert click_id not in world.seen
    world.seen.add(click_id)
    assert rest in urls, (rest, urls)
    set_cookies = [v.decode() for n, v in response_headers if n.lower() == b"set-cookie"]
    assert len(set_cookies) <= 1
    for value in set_cookies:
        variant = ids[urls.index(rest)]
        assert value == (
            f"hl_ab={variant}; Max-Age=2592000; Path=/{link.code}; HttpOnly; SameSite=Lax; Secure"
        )
