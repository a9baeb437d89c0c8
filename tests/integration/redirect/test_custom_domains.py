"""Custom short domains (issue 16), end to end on the real app, SQLite and PostgreSQL:
DNS proof through a real (local) DNS server, routing by Host, root / 404 / robots.txt per
domain, suspension, removal keeping codes reserved, transfer, the TLS ask endpoint, and a
workspace never claiming or using another's domain."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from edge_client import Edge, running_edge
from sqlalchemy import event

from clickids import without_click_id
from dbs import truncate_all
from hoplink.domains import service
from hoplink.domains.models import TXT_PREFIX, cname_label
from hoplink.domains.verification import ShortDomainVerifier
from hoplink.errors import InvalidInput, NotFound
from hoplink.events import ShortDomainChanged
from hoplink.ids import new_id, utcnow
from hoplink.links.models import ShortDomain
from hoplink.links.service import LinkSpec, create_link
from hoplink.links.spec import LinkRules
from hoplink.safety.policy import DestinationPolicy
from hoplink.storage import tables
from hoplink.workspaces.models import Workspace
from security.dns_server import DnsServer, dns_server

PRODUCT = "https://shop.example.com/item/1"
HOME = "https://brand.example.com/"
MISSING = "https://brand.example.com/missing"
POLICY = DestinationPolicy()
CNAME_TARGET = "domains.hop.test"


@pytest_asyncio.fixture
async def dns() -> AsyncIterator[DnsServer]:
    async with dns_server() as server:
        yield server


@pytest_asyncio.fixture
async def edge(db_url: str, tmp_path: Path, dns: DnsServer) -> AsyncIterator[Edge]:
    async with running_edge(
        db_url,
        tmp_path / "data",
        custom_domains="approval",
        custom_domain_limit=2,
        custom_domain_cname_target=CNAME_TARGET,
        outbound_dns_servers=dns.address,
        rate_limit_redirect_404="",
    ) as running:
        try:
            yield running
        finally:  # the PostgreSQL database lives for the session: host names must not stay
            if not running.db.is_sqlite:
                await truncate_all(running.db.engine)


async def _approved(edge: Edge, name: str) -> Workspace:
    ws = await edge.workspace(name)
    async with edge.db.transaction() as tx:
        return await service.set_workspace_rules(tx, workspace=ws, approved=True)


async def _add(edge: Edge, ws: Workspace, host: str) -> ShortDomain:
    async with edge.db.transaction() as tx:
        return await service.add_domain(
            tx, workspace=ws, hostname=host, settings=edge.runtime.settings, policy=POLICY
        )


async def _check(edge: Edge, domain: ShortDomain) -> ShortDomain:
    outcome = await ShortDomainVerifier.from_settings(edge.runtime.settings).check(domain)
    async with edge.db.transaction() as tx:
        return await service.record_check(tx, domain=domain, outcome=outcome, actor="t")


async def _verified(edge: Edge, dns: DnsServer, ws: Workspace, host: str) -> ShortDomain:
    domain = await _add(edge, ws, host)
    assert domain.token is not None
    dns.records[(f"_hoplink.{host}.", "TXT")] = [f'"{TXT_PREFIX}{domain.token}"']
    return await _check(edge, domain)


async def _get(edge: Edge, host: str, path: str, **kw: Any) -> Any:
    return await edge.http.get(f"http://{host}{path}", **kw)


async def test_txt_and_cname_prove_ownership_and_a_wrong_record_does_not(
    edge: Edge, dns: DnsServer
) -> None:
    ws = await _approved(edge, "Brand")
    domain = await _add(edge, ws, "Go.Brand.Example")
    assert domain.hostname == "go.brand.example" and domain.status == "pending"
    assert domain.token is not None
    dns.records[("_hoplink.go.brand.example.", "TXT")] = [f'"{TXT_PREFIX}not-the-token"']
    failed = await _check(edge, domain)
    assert failed.status == "pending"
    assert failed.last_error and f"no record {TXT_PREFIX}{domain.token}" in failed.last_error
    assert (await _get(edge, "go.brand.example", "/any-code")).status_code == 404  # not served

    dns.records[("_hoplink.go.brand.example.", "TXT")] = [f'"{TXT_PREFIX}{domain.token}"']
    proven = await _check(edge, domain)
    assert proven.status == "verified" and proven.method == "dns_txt"
    assert ("_hoplink.go.brand.example.", "TXT") in dns.queries

    other = await _add(edge, ws, "s.brand.example")
    assert other.token is not None
    dns.records[("s.brand.example.", "CNAME")] = [f"{CNAME_TARGET}."]  # no per-claim label
    assert (await _check(edge, other)).status == "pending"
    label = cname_label(other.token)
    dns.records[("s.brand.example.", "CNAME")] = [f"{label}.{CNAME_TARGET}."]
    proven = await _check(edge, other)
    assert proven.status == "verified" and proven.method == "cname"


async def test_host_routing_root_404_and_robots_per_domain(edge: Edge, dns: DnsServer) -> None:
    ws = await _approved(edge, "Brand")
    await _verified(edge, dns, ws, "go.brand.example")
    await _verified(edge, dns, ws, "s.brand.example")
    async with edge.db.transaction() as tx:
        await service.update_settings(
            tx,
            workspace=ws,
            ref="go.brand.example",
            policy=POLICY,
            root_url=HOME,
            not_found_url=MISSING,
            robots="User-agent: *\nAllow: /\n",
            workspace_default=True,
        )
    link = await edge.link(ws, PRODUCT, host="go.brand.example", code="summer")
    same_code = await edge.link(ws, PRODUCT + "?b=1", host="s.brand.example", code="summer")
    assert link.id != same_code.id  # codes are unique per domain

    r = await _get(edge, "go.brand.example", "/summer")
    # The fully qualified form of the host (a trailing dot) is the same domain.
    assert (await _get(edge, "go.brand.example.", "/summer")).status_code == 302
    assert r.status_code == 302 and without_click_id(r.headers["location"]) == PRODUCT
    r = await _get(edge, "s.brand.example", "/summer")
    assert without_click_id(r.headers["location"]) == PRODUCT + "?b=1"
    assert (await _get(edge, "hop.test", "/summer")).status_code == 404  # not the platform's

    r = await _get(edge, "go.brand.example", "/")
    assert r.status_code == 302 and r.headers["location"] == HOME
    r = await _get(edge, "go.brand.example", "/nope-nope")
    assert r.status_code == 302 and r.headers["location"] == MISSING
    r = await _get(edge, "go.brand.example", "/robots.txt")
    assert r.status_code == 200 and r.text == "User-agent: *\nAllow: /\n"
    # The other domain: hoplink's pages and the default robots.txt (disallow everything).
    assert (await _get(edge, "s.brand.example", "/")).status_code == 404
    assert (await _get(edge, "s.brand.example", "/nope-nope")).status_code == 404
    r = await _get(edge, "s.brand.example", "/robots.txt")
    assert r.text == "User-agent: *\nDisallow: /\n"
    assert r.headers["content-type"].startswith("text/plain")
    # No dashboard and no /api on a seller's domain.
    assert (await _get(edge, "go.brand.example", "/app")).status_code == 302
    assert (await _get(edge, "go.brand.example", "/api/v1/links")).headers["location"] == MISSING

    # New links of the workspace go on its default domain, with its defaults.
    async with edge.db.transaction() as tx:
        chosen = await service.domain_for(tx, ws, None)
    assert chosen.hostname == "go.brand.example"


async def test_suspension_removal_and_transfer(edge: Edge, dns: DnsServer) -> None:
    ws = await _approved(edge, "Brand")
    buyer = await _approved(edge, "Brand Official")
    await _verified(edge, dns, ws, "go.brand.example")
    link = await edge.link(ws, PRODUCT, host="go.brand.example", code="summer")
    ask = edge.http.get
    assert (await ask("/tls/ask", params={"domain": "go.brand.example"})).status_code == 200

    async with edge.db.transaction() as tx:
        await service.suspend_domain(tx, ref="go.brand.example", actor="admin", reason="abuse")
    assert (await _get(edge, "go.brand.example", "/summer")).status_code == 410
    assert (await _get(edge, "go.brand.example", "/")).status_code == 410
    assert (await ask("/tls/ask", params={"domain": "go.brand.example"})).status_code == 404
    with pytest.raises(InvalidInput):  # only the operator lifts it
        async with edge.db.transaction() as tx:
            await service.remove_domain(tx, workspace=ws, ref="go.brand.example", actor="t")
    async with edge.db.transaction() as tx:
        await service.reinstate_domain(tx, ref="go.brand.example", actor="admin")
    assert (await _get(edge, "go.brand.example", "/summer")).status_code == 302

    async with edge.db.transaction() as tx:
        await service.remove_domain(tx, workspace=ws, ref="go.brand.example", actor="t")
    assert (await _get(edge, "go.brand.example", "/summer")).status_code == 404
    assert (await ask("/tls/ask", params={"domain": "go.brand.example"})).status_code == 404
    with pytest.raises(InvalidInput) as taken:  # removed: still not another's to claim
        await _add(edge, buyer, "go.brand.example")
    assert taken.value.errors[0].code == "domain_taken"
    again = await _verified(edge, dns, ws, "go.brand.example")  # re-added by its owner
    assert again.id == link_domain_id(link, again)
    assert (await _get(edge, "go.brand.example", "/summer")).status_code == 302

    async with edge.db.transaction() as tx:
        await service.transfer_domain(tx, ref="go.brand.example", to=buyer, actor="admin")
    assert (await _get(edge, "go.brand.example", "/summer")).status_code == 404  # pending
    moved = await _verified_existing(edge, dns, buyer, "go.brand.example")
    assert moved.workspace_id == buyer.id and moved.status == "verified"
    # The previous owner's link is not served by the new owner's domain; its code stays taken.
    assert (await _get(edge, "go.brand.example", "/summer")).status_code == 404
    with pytest.raises(InvalidInput):
        await edge.link(buyer, PRODUCT, host="go.brand.example", code="summer")
    fresh = await edge.link(buyer, PRODUCT, host="go.brand.example", code="winter")
    assert (await _get(edge, "go.brand.example", f"/{fresh.code}")).status_code == 302


def link_domain_id(link: Any, domain: ShortDomain) -> str:
    assert link.domain == domain.hostname
    return domain.id


async def _verified_existing(edge: Edge, dns: DnsServer, ws: Workspace, host: str) -> ShortDomain:
    async with edge.db.transaction() as tx:
        domain = await service.find_domain(tx, workspace=ws, ref=host)
    dns.records[(f"_hoplink.{host}.", "TXT")] = [f'"{TXT_PREFIX}{domain.token}"']
    return await _check(edge, domain)


async def test_a_workspace_never_claims_or_uses_another_workspaces_domain(
    edge: Edge, dns: DnsServer
) -> None:
    owner = await _approved(edge, "Brand")
    rival = await _approved(edge, "Rival")
    pending = await _add(edge, owner, "go.brand.example")
    with pytest.raises(InvalidInput) as taken:
        await _add(edge, rival, "GO.brand.example.")
    assert taken.value.errors[0].code == "domain_taken"
    await _verified_existing(edge, dns, owner, "go.brand.example")
    with pytest.raises(InvalidInput):
        await _add(edge, rival, "go.brand.example")
    with pytest.raises(InvalidInput):  # the platform's own domain is nobody's to claim
        await _add(edge, rival, "hop.test")
    async with edge.db.transaction() as tx:
        for attempt in (
            service.find_domain(tx, workspace=rival, ref=pending.id),
            service.find_domain(tx, workspace=rival, ref="go.brand.example"),
            service.update_settings(
                tx, workspace=rival, ref=pending.id, policy=POLICY, root_url=HOME
            ),
            service.remove_domain(tx, workspace=rival, ref=pending.id, actor="t"),
        ):
            with pytest.raises(NotFound):
                await attempt
        with pytest.raises(InvalidInput) as refused:
            await service.domain_for(tx, rival, "go.brand.example")
        assert refused.value.errors[0].code == "unknown_domain"
    # A link created by the rival elsewhere never answers on the owner's domain.
    rivals = await edge.link(rival, PRODUCT, code="rivals")
    assert (await _get(edge, "go.brand.example", f"/{rivals.code}")).status_code == 404
    assert (await _get(edge, "hop.test", f"/{rivals.code}")).status_code == 302


async def test_operator_rules_eligibility_and_limit(edge: Edge, dns: DnsServer) -> None:
    ws = await edge.workspace("Small Seller")
    with pytest.raises(InvalidInput) as refused:
        await _add(edge, ws, "go.small.example")
    assert refused.value.errors[0].code == "approval_required"
    async with edge.db.transaction() as tx:
        ws = await service.set_workspace_rules(tx, workspace=ws, approved=True)
    await _add(edge, ws, "a.small.example")
    await _add(edge, ws, "b.small.example")
    with pytest.raises(InvalidInput) as refused:
        await _add(edge, ws, "c.small.example")
    assert refused.value.errors[0].code == "too_many"
    async with edge.db.transaction() as tx:
        ws = await service.set_workspace_rules(tx, workspace=ws, limit=3)
    await _add(edge, ws, "c.small.example")


async def test_off_refuses_every_workspace(db_url: str, tmp_path: Path) -> None:
    async with running_edge(db_url, tmp_path / "data", custom_domains="off") as edge:
        ws = await _approved(edge, "Brand")
        with pytest.raises(InvalidInput) as refused:
            await _add(edge, ws, "go.brand.example")
        assert refused.value.errors[0].code == "not_available"
        if not edge.db.is_sqlite:
            await truncate_all(edge.db.engine)


async def test_a_custom_domain_not_served_never_shows_the_platforms_pages(
    edge: Edge, dns: DnsServer
) -> None:
    ws = await _approved(edge, "Brand")
    await _add(edge, ws, "pending.brand.example")
    await _verified(edge, dns, ws, "gone.brand.example")
    async with edge.db.transaction() as tx:
        await service.remove_domain(tx, workspace=ws, ref="gone.brand.example", actor="t")
    # The platform's own domain has the sign-in page ...
    signin = await _get(edge, "hop.test", "/app/signin")
    assert signin.status_code == 200 and 'name="password"' in signin.text
    # ... a pending or removed custom domain has no page at all (docs/domains.md).
    for host in ("pending.brand.example", "gone.brand.example", "pending.brand.example:443"):
        for path in ("/app/signin", "/app", "/", "/api/v1/links", "/summer"):
            r = await _get(edge, host, path)
            assert r.status_code == 404, (host, path)
            assert 'name="password"' not in r.text


async def test_a_host_with_a_port_is_the_same_domain(edge: Edge, dns: DnsServer) -> None:
    ws = await _approved(edge, "Brand")
    await _verified(edge, dns, ws, "go.brand.example")
    link = await edge.link(ws, PRODUCT, host="go.brand.example", code="summer")
    for host in ("go.brand.example:443", "go.brand.example:80", "go.brand.example.:443"):
        r = await _get(edge, host, f"/{link.code}")
        assert r.status_code == 302, host
        assert without_click_id(r.headers["location"]) == PRODUCT
    assert (await _get(edge, "go.brand.example:443", "/app")).status_code == 404  # no dashboard
    assert (await _get(edge, "unknown.example:443", f"/{link.code}")).status_code == 404
    # A certificate names a host, never a port: /tls/ask stays strict.
    ask = await edge.http.get("/tls/ask", params={"domain": "go.brand.example:443"})
    assert ask.status_code == 404


async def test_tls_ask_answers_only_for_served_domains(edge: Edge, dns: DnsServer) -> None:
    ws = await _approved(edge, "Brand")
    await _verified(edge, dns, ws, "go.brand.example")
    await _add(edge, ws, "pending.brand.example")
    answers = {
        "go.brand.example": 200,
        "GO.brand.example.": 200,
        "hop.test": 200,
        "pending.brand.example": 404,
        "unknown.example": 404,
        "": 404,
        "go.brand.example:443": 404,
        "go.brand.example\n": 404,
        " go.brand.example": 404,
        "go.brand.example..": 404,
    }
    for name, status in answers.items():
        r = await edge.http.get("/tls/ask", params={"domain": name})
        assert r.status_code == status, name
    assert (await edge.http.get("/tls/ask")).status_code == 404
    twice = "/tls/ask?domain=unknown.example&domain=go.brand.example"
    assert (await edge.http.get(twice)).status_code == 404
    assert (await edge.http.post("/tls/ask", params={"domain": "hop.test"})).status_code == 405


async def test_host_routing_across_a_thousand_domains_without_a_query(
    edge: Edge, dns: DnsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1,000 verified domains, a link on each: once the map and the links are loaded,
    every root, robots.txt and link request is answered with no SQL statement at all."""
    ws = await _approved(edge, "Big Brand")
    async with edge.db.transaction() as tx:
        ws = await service.set_workspace_rules(tx, workspace=ws, limit=1000)
    hosts = [f"s{i}.brand.example" for i in range(1000)]
    now = utcnow()
    async with edge.db.transaction() as tx:  # arranged in bulk; the services are tested above
        await tx.conn.execute(
            tables.domains.insert(),
            [
                {
                    "id": new_id("dom"),
                    "hostname": host,
                    "workspace_id": ws.id,
                    "is_default": False,
                    "status": "verified",
                    "root_url": f"https://shop.example.com/{host}",
                    "created_at": now,
                }
                for host in hosts
            ],
        )
        tx.record(ShortDomainChanged(None))
        links = []
        for i, host in enumerate(hosts):
            domain = await tx.short_domains.by_hostname(host)
            assert domain is not None
            links.append(
                await create_link(
                    tx,
                    workspace=ws,
                    domain=domain,
                    spec=LinkSpec(url=f"{PRODUCT}?d={i}"),
                    actor="t",
                    rules=LinkRules(),
                )
            )
    # Time stands still for the cache: on a loaded machine the two passes can outlast the
    # TTL, and the refresh-ahead reloads (background work, not the requests') would count.
    cache = edge.runtime.redirect_cache
    frozen = time.monotonic()
    monkeypatch.setattr(cache, "_clock", lambda: frozen)
    cache.clear()
    for link in links:  # warm: the map once, each link once
        assert (await _get(edge, link.domain, f"/{link.code}")).status_code == 302
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = edge.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for i, link in enumerate(links):
            r = await _get(edge, link.domain, f"/{link.code}")
            assert without_click_id(r.headers["location"]) == f"{PRODUCT}?d={i}"
            r = await _get(edge, link.domain, "/")
            assert r.headers["location"] == f"https://shop.example.com/{link.domain}"
            assert (await _get(edge, link.domain, "/robots.txt")).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statements == []
