"""Domain verification end to end: well-known token over HTTP, DNS TXT, admin approval.

A local DNS server (dnspython) answers for the test domains and points them at a random
loopback address where a tiny HTTP server listens on port 80 (the fetcher only speaks to
80 and 443); the test allowance lets the fetcher reach exactly that address. The API and
the CLI are the real ones; allowlist mode shows what verification unlocks.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from api_client import Api, running_api
from hoplink.safety.destination_domains import TXT_PREFIX, WELL_KNOWN
from hoplink.storage.database import Database
from security.dns_server import DnsServer, dns_server
from security.web_site import Site, site

sys.path.insert(0, str(Path(__file__).parents[1] / "integration" / "cli"))
from cli_harness import Cli, cli_env, empty_postgres


@dataclass
class World:
    api: Api
    headers: dict[str, str]
    dns: DnsServer
    site: Site


@pytest_asyncio.fixture
async def world(db_url: str, tmp_path: Path) -> AsyncIterator[World]:
    async with dns_server() as dns, site() as web:
        for name in ("shop.acme.test.", "www.acme.test."):
            dns.records[(name, "A")] = [web.address]
        dns.records[("private.acme.test.", "A")] = ["10.1.2.3"]
        async with running_api(
            db_url,
            tmp_path / "data",
            destination_policy="allowlist",
            destination_allowlist="amazon.com",
            outbound_dns_servers=dns.address,
            outbound_allow_private=f"{web.address}/32",
            outbound_total_timeout=5,
            # The test site is on 127.0.0.1: its names would fail the create-time resolution
            # check, which has its own tests (test_destination_resolution.py).
            destination_resolve="off",
            rate_limit_create_ip="off",
        ) as api:
            _, headers = await api.tenant()
            yield World(api, headers, dns, web)


async def _link(w: World, url: str) -> tuple[int, str | None]:
    r = await w.api.http.post("/api/v1/links", json={"url": url}, headers=w.headers)
    return r.status_code, None if r.status_code == 201 else r.json()["errors"][0]["code"]


async def test_well_known_token_verifies_and_unlocks_the_domain(world: World) -> None:
    w = world
    added = await w.api.http.post(
        "/api/v1/workspace/domains", json={"hostname": "Shop.Acme.Test"}, headers=w.headers
    )
    assert added.status_code == 201, added.text
    domain = added.json()
    token = domain["token"]
    assert domain["hostname"] == "shop.acme.test" and domain["status"] == "pending"
    assert domain["well_known_url"] == f"https://shop.acme.test{WELL_KNOWN}{token}"
    assert await _link(w, "https://shop.acme.test/item/1") == (422, "not_allowed")

    verify = f"/api/v1/workspace/domains/{domain['id']}/verify"
    failed = (await w.api.http.post(verify, headers=w.headers)).json()
    assert failed["status"] == "failed" and "without the token" in failed["last_error"]
    w.site.bodies[f"{WELL_KNOWN}{token}"] = b"someone-elses-token"
    assert (await w.api.http.post(verify, headers=w.headers)).json()["status"] == "failed"

    w.site.bodies[f"{WELL_KNOWN}{token}"] = token.encode()
    verified = (await w.api.http.post(verify, headers=w.headers)).json()
    assert (verified["status"], verified["method"]) == ("verified", "well_known")
    assert (f"{WELL_KNOWN}{token}", "shop.acme.test") in w.site.requests  # Host kept
    assert await _link(w, "https://shop.acme.test/item/1") == (201, None)
    assert await _link(w, "https://cdn.shop.acme.test/item/2") == (201, None)  # subdomain
    assert await _link(w, "https://acme.test/") == (422, "not_allowed")  # not the parent

    # Another workspace's verification unlocks nothing for this one.
    _, other = await w.api.tenant("Other Store")
    r = await w.api.http.post(
        "/api/v1/links", json={"url": "https://shop.acme.test/"}, headers=other
    )
    assert r.status_code == 422

    listed = (await w.api.http.get("/api/v1/workspace/domains", headers=w.headers)).json()
    assert [d["hostname"] for d in listed] == ["shop.acme.test"]
    gone = await w.api.http.delete(f"/api/v1/workspace/domains/{domain['id']}", headers=w.headers)
    assert gone.status_code == 204
    assert await _link(w, "https://shop.acme.test/item/3") == (422, "not_allowed")


async def test_dns_txt_record_verifies(world: World) -> None:
    w = world
    added = await w.api.http.post(
        "/api/v1/workspace/domains", json={"hostname": "txt.acme.test"}, headers=w.headers
    )
    domain = added.json()
    verify = f"/api/v1/workspace/domains/{domain['id']}/verify"
    failed = (await w.api.http.post(verify, headers=w.headers)).json()
    assert failed["status"] == "failed" and "no TXT record" in failed["last_error"]
    w.dns.records[("txt.acme.test.", "TXT")] = ['"v=spf1 -all"', f'"{domain["txt_record"]}"']
    verified = (await w.api.http.post(verify, headers=w.headers)).json()
    assert (verified["status"], verified["method"]) == ("verified", "dns_txt")
    assert ("txt.acme.test.", "TXT") in w.dns.queries
    assert await _link(w, "https://txt.acme.test/p") == (201, None)


async def test_a_domain_resolving_to_a_private_address_is_never_fetched(world: World) -> None:
    w = world
    added = await w.api.http.post(
        "/api/v1/workspace/domains", json={"hostname": "private.acme.test"}, headers=w.headers
    )
    domain = added.json()
    result = await w.api.http.post(
        f"/api/v1/workspace/domains/{domain['id']}/verify", headers=w.headers
    )
    body = result.json()
    assert body["status"] == "failed" and "10.1.2.3, a private address" in body["last_error"]


@pytest.mark.parametrize(
    ("hostname", "code"),
    [
        ("bit.ly", "url_shortener"),
        ("hop.test", "own_domain"),
        ("127.0.0.1", "ip_address"),
        ("printer.local", "internal_host"),
        ("intranet", "internal_host"),
        ("shop.acme.test/path", "invalid"),
        # Issue 15, finding 6: a URL is refused, not cut down to its host.
        ("https://shop.acme.test/", "invalid"),
        ("http://shop.acme.test", "invalid"),
        ("127.0.0.1.nip.io", "wildcard_dns"),
        ("shop.acme.test:8443", "invalid"),
        ("user@shop.acme.test", "credentials_not_allowed"),
    ],
)
async def test_domains_no_link_could_use_are_refused(
    world: World, hostname: str, code: str
) -> None:
    r = await world.api.http.post(
        "/api/v1/workspace/domains", json={"hostname": hostname}, headers=world.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0] == {
        "field": "hostname",
        "code": code,
        "message": r.json()["errors"][0]["message"],
    }


async def test_domain_endpoints_need_the_link_scopes(world: World) -> None:
    from hoplink.accounts.models import Scope

    ws = await world.api.workspace("Stats Only")
    key = await world.api.key(ws, frozenset({Scope.STATS_READ}))
    headers = {"Authorization": f"Bearer {key}"}
    assert (
        await world.api.http.get("/api/v1/workspace/domains", headers=headers)
    ).status_code == 403
    r = await world.api.http.post(
        "/api/v1/workspace/domains", json={"hostname": "a.acme.test"}, headers=headers
    )
    assert r.status_code == 403


# --- CLI ------------------------------------------------------------------------------


@pytest.fixture
def threaded_dns() -> Iterator[DnsServer]:
    """The DNS server on a loop of its own: the CLI runs its own asyncio.run."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()
    holder: dict[str, Any] = {}

    async def serve() -> None:
        async with dns_server() as server:
            holder["server"] = server
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(5)
    yield holder["server"]
    loop.call_soon_threadsafe(stop.set)
    thread.join(5)
    loop.close()


@pytest_asyncio.fixture
async def cli(db_url: str, db: Database, tmp_path: Path) -> Cli:
    await empty_postgres(db.engine)
    return Cli(cli_env(db_url, tmp_path / "data"))


def test_cli_domain_add_verify_approve_list_and_link_create(
    cli: Cli, threaded_dns: DnsServer
) -> None:
    cli.env |= {
        "HOPLINK_DESTINATION_POLICY": "allowlist",
        "HOPLINK_DESTINATION_ALLOWLIST": "amazon.com",
        "HOPLINK_OUTBOUND_DNS_SERVERS": threaded_dns.address,
        "HOPLINK_OUTBOUND_TOTAL_TIMEOUT": "5",
        "HOPLINK_DESTINATION_RESOLVE": "off",  # the names resolve to the local test site
    }
    cli.ok("workspace", "create", "Acme", "--slug", "acme", "--verified")
    refused = cli.fails("link", "create", "https://shop.acme.test/x", "-w", "acme")
    assert "not allowed: shop.acme.test is not on the platform allowlist" in refused.output
    shortener = cli.fails("link", "create", "https://bit.ly/x", "-w", "acme")
    assert "blocked: known URL shortener (bit.ly)" in shortener.output

    added = cli.ok("workspace", "domain", "add", "acme", "shop.acme.test").output
    token = added.split(f"{TXT_PREFIX}", 1)[1].split()[0]
    not_yet = cli.fails("workspace", "domain", "verify", "acme", "shop.acme.test")
    assert "no TXT record" in not_yet.output

    threaded_dns.records[("shop.acme.test.", "TXT")] = [f'"{TXT_PREFIX}{token}"']
    assert "verified" in cli.ok("workspace", "domain", "verify", "acme", "shop.acme.test").output
    cli.ok("link", "create", "https://shop.acme.test/x", "-w", "acme")

    cli.ok("workspace", "domain", "add", "acme", "brand.example")
    cli.fails("link", "create", "https://brand.example/x", "-w", "acme")
    approved = cli.ok("workspace", "domain", "approve", "acme", "brand.example").output
    assert "verified" in approved
    cli.ok("link", "create", "https://brand.example/x", "-w", "acme")
    listing = cli.ok("workspace", "domain", "list", "acme").output
    assert "brand.example" in listing and "admin" in listing and "dns_txt" in listing
