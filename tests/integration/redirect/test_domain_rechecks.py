"""Periodic re-checks of verified domains (issue 16), on the real app, SQLite and
PostgreSQL, with DNS answered by a real local DNS server: a passing re-check keeps a
domain, failures only take it offline under the grace policy, and then the redirect edge
and the TLS ask endpoint stop serving it at once; verified destination domains lapse the
same way; two re-checkers never check one domain twice. And an erased workspace's custom
domain keeps its codes reserved for the next workspace that claims it."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from edge_client import Edge, running_edge
from sqlalchemy import select

from dbs import truncate_all
from hoplink import audit, privacy
from hoplink.domains import service
from hoplink.domains.models import TXT_PREFIX
from hoplink.domains.rechecker import DomainRechecker, rechecker_from_settings
from hoplink.errors import CodeTaken
from hoplink.ids import utcnow
from hoplink.links.models import ShortDomain
from hoplink.links.service import delete_link
from hoplink.safety import destination_domains as destinations
from hoplink.safety.grace import Grace
from hoplink.safety.policy import DestinationPolicy
from hoplink.storage import tables
from hoplink.workspaces.models import Workspace
from security.dns_server import DnsServer, dns_server

PRODUCT = "https://shop.example.com/item/1"
POLICY = DestinationPolicy()
HOST = "go.brand.example"
HOUR = timedelta(hours=1)


@pytest_asyncio.fixture
async def dns() -> AsyncIterator[DnsServer]:
    async with dns_server() as server:
        yield server


@pytest_asyncio.fixture
async def edge(db_url: str, tmp_path: Path, dns: DnsServer) -> AsyncIterator[Edge]:
    async with running_edge(
        db_url,
        tmp_path / "data",
        custom_domains="automatic",
        outbound_dns_servers=dns.address,
        rate_limit_redirect_404="",
        domain_recheck_hours=12,
    ) as running:
        try:
            yield running
        finally:  # the PostgreSQL database lives for the session: host names must not stay
            if not running.db.is_sqlite:
                await truncate_all(running.db.engine)


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def _rechecker(edge: Edge, clock: Clock, grace: Grace) -> DomainRechecker:
    found = rechecker_from_settings(edge.runtime.settings, db=edge.db)
    found.clock, found.grace = clock, grace
    return found


async def _verified(edge: Edge, dns: DnsServer, ws: Workspace, host: str) -> ShortDomain:
    async with edge.db.transaction() as tx:
        domain = await service.add_domain(
            tx, workspace=ws, hostname=host, settings=edge.runtime.settings, policy=POLICY
        )
    dns.records[(f"_hoplink.{host}.", "TXT")] = [f'"{TXT_PREFIX}{domain.token}"']
    return await _check_now(edge, domain)


async def _check_now(edge: Edge, domain: ShortDomain) -> ShortDomain:
    """The owner's "Check now" (on request, no grace argument: the default policy)."""
    verifier = rechecker_from_settings(edge.runtime.settings, db=edge.db).short
    outcome = await verifier.check(domain)
    async with edge.db.transaction() as tx:
        return await service.record_check(tx, domain=domain, outcome=outcome, actor="t")


async def _domain(edge: Edge, host: str) -> ShortDomain:
    async with edge.db.transaction() as tx:
        found = await tx.short_domains.by_hostname(host)
    assert found is not None
    return found


async def _actions(edge: Edge, ws: Workspace) -> list[str]:
    async with edge.db.transaction() as tx:
        entries = await tx.audit.search(workspace_id=ws.id)
    return [e.action for e in reversed(entries)]


async def _served(edge: Edge, code: str) -> tuple[int, int]:
    link = await edge.http.get(f"http://{HOST}/{code}")
    ask = await edge.http.get("/tls/ask", params={"domain": HOST})
    return link.status_code, ask.status_code


async def test_a_short_domain_lapses_only_under_the_grace_policy_and_stops_being_served(
    edge: Edge, dns: DnsServer
) -> None:
    ws = await edge.workspace("Brand")
    await _verified(edge, dns, ws, HOST)
    await edge.link(ws, PRODUCT, host=HOST, code="summer")
    clock = Clock()
    rechecker = _rechecker(edge, clock, Grace(failures=2, period=24 * HOUR))

    assert await rechecker.run_once() == 0  # scheduled within the interval, not checked yet
    first = (await _domain(edge, HOST)).next_check_at
    assert first is not None and clock.now <= first <= clock.now + 12 * HOUR
    dns.queries.clear()
    clock.now += 13 * HOUR
    assert await rechecker.run_once() == 1  # the record is there: still verified
    assert (f"_hoplink.{HOST}.", "TXT") in dns.queries
    passed = await _domain(edge, HOST)
    assert passed.status == "verified" and passed.last_error is None
    assert passed.checked_at == clock.now and passed.failed_checks == 0
    assert passed.next_check_at is not None
    assert clock.now + 10 * HOUR < passed.next_check_at < clock.now + 14 * HOUR  # jittered
    assert await rechecker.run_once() == 0  # not due again before its time

    del dns.records[(f"_hoplink.{HOST}.", "TXT")]  # the record is gone
    clock.now += 14 * HOUR
    assert await rechecker.run_once() == 1
    failing = await _domain(edge, HOST)
    assert failing.status == "verified" and failing.failed_checks == 1
    assert failing.failing_since == clock.now and failing.last_error
    assert await _served(edge, "summer") == (302, 200)  # one failure changes nothing

    clock.now += 14 * HOUR
    assert await rechecker.run_once() == 1  # two failures, but only 14 hours apart
    assert (await _domain(edge, HOST)).failed_checks == 2
    assert await _served(edge, "summer") == (302, 200)

    clock.now += 14 * HOUR
    assert await rechecker.run_once() == 1  # three, over 28 hours: lapsed
    lapsed = await _domain(edge, HOST)
    assert lapsed.status == "pending" and lapsed.failed_checks == 3
    assert await _served(edge, "summer") == (404, 404)  # redirect and TLS follow at once
    actions = await _actions(edge, ws)
    assert actions.count(audit.SHORT_DOMAIN_CHECK_FAILED) == 1  # once per streak
    assert actions[-1] == audit.SHORT_DOMAIN_LAPSED
    clock.now += 14 * HOUR
    assert await rechecker.run_once() == 0  # a pending domain is not re-checked

    # The owner publishes the record again and checks: verified and served, streak over.
    dns.records[(f"_hoplink.{HOST}.", "TXT")] = [f'"{TXT_PREFIX}{lapsed.token}"']
    back = await _check_now(edge, lapsed)
    assert back.status == "verified" and back.failed_checks == 0 and back.failing_since is None
    assert await _served(edge, "summer") == (302, 200)


async def test_a_passing_check_ends_a_streak_and_admin_vouched_domains_are_not_rechecked(
    edge: Edge, dns: DnsServer
) -> None:
    ws = await edge.workspace("Brand")
    domain = await _verified(edge, dns, ws, HOST)
    async with edge.db.transaction() as tx:
        await service.add_domain(
            tx, workspace=ws, hostname="s.brand.example", settings=edge.runtime.settings,
            policy=POLICY,
        )  # fmt: skip
        await service.approve_domain(tx, ref="s.brand.example", actor="admin")
    clock = Clock()
    rechecker = _rechecker(edge, clock, Grace(failures=2, period=HOUR))
    await rechecker.run_once()
    record = dns.records.pop((f"_hoplink.{HOST}.", "TXT"))
    clock.now += 14 * HOUR
    assert await rechecker.run_once() == 1  # only the DNS-proven one
    assert (await _domain(edge, HOST)).failed_checks == 1
    dns.records[(f"_hoplink.{HOST}.", "TXT")] = record
    clock.now += 14 * HOUR
    assert await rechecker.run_once() == 1
    ok = await _domain(edge, HOST)
    assert ok.status == "verified" and ok.failed_checks == 0 and ok.failing_since is None
    assert (await _domain(edge, "s.brand.example")).next_check_at is None
    assert ("_hoplink.s.brand.example.", "TXT") not in dns.queries
    assert domain.id == ok.id


async def test_two_recheckers_never_check_one_domain_twice(edge: Edge, dns: DnsServer) -> None:
    ws = await edge.workspace("Brand")
    async with edge.db.transaction() as tx:
        ws = await service.set_workspace_rules(tx, workspace=ws, limit=20)
    hosts = [f"d{i}.brand.example" for i in range(6)]
    for host in hosts:
        await _verified(edge, dns, ws, host)
    clock = Clock()
    one, two = (_rechecker(edge, clock, Grace()) for _ in range(2))
    await one.run_once()
    dns.queries.clear()
    clock.now += 13 * HOUR
    await asyncio.gather(one.run_once(), two.run_once())
    assert one.checked + two.checked == len(hosts)
    asked = [name for name, kind in dns.queries if kind == "TXT"]
    assert sorted(asked) == sorted(f"_hoplink.{h}." for h in hosts)


async def test_a_verified_destination_domain_lapses_under_the_grace_policy(
    edge: Edge, dns: DnsServer
) -> None:
    ws = await edge.workspace("Brand")
    async with edge.db.transaction() as tx:
        domain = await destinations.add_domain(
            tx, workspace=ws, hostname="shop.brand.example", policy=POLICY
        )
    dns.records[("shop.brand.example.", "TXT")] = [f'"{destinations.TXT_PREFIX}{domain.token}"']
    rechecker = _rechecker(edge, Clock(), Grace(failures=2, period=12 * HOUR))
    outcome = await rechecker.destination.check(domain)
    async with edge.db.transaction() as tx:
        domain = await destinations.record_outcome(
            tx, workspace=ws, domain=domain, outcome=outcome, actor="t"
        )
    assert domain.status == "verified"
    clock = rechecker.clock
    assert isinstance(clock, Clock)
    await rechecker.run_once()
    clock.now += 13 * HOUR
    assert await rechecker.run_once() == 1
    async with edge.db.transaction() as tx:
        kept = await tx.destination_domains(ws.id).get(domain.id)
    assert kept is not None and kept.status == "verified" and kept.checked_at == clock.now
    assert kept.failed_checks == 0

    del dns.records[("shop.brand.example.", "TXT")]
    for failures, status in ((1, "verified"), (2, "failed")):
        clock.now += 14 * HOUR
        assert await rechecker.run_once() == 1
        async with edge.db.transaction() as tx:
            found = await tx.destination_domains(ws.id).get(domain.id)
            allowed = await tx.destination_domains(ws.id).verified_hostnames()
        assert found is not None and (found.failed_checks, found.status) == (failures, status)
    assert allowed == []  # no longer vouches for new links in allowlist mode
    actions = await _actions(edge, ws)
    assert audit.DOMAIN_CHECK_FAILED in actions and actions[-1] == audit.DOMAIN_LAPSED


async def test_an_erased_workspaces_custom_domain_keeps_its_codes_reserved(
    edge: Edge, dns: DnsServer
) -> None:
    seller = await edge.workspace("Brand")
    await _verified(edge, dns, seller, HOST)
    await edge.link(seller, PRODUCT, host=HOST, code="summer")
    gone = await edge.link(seller, PRODUCT, host=HOST, code="spring")
    async with edge.db.transaction() as tx:
        await delete_link(tx, workspace=seller, link_id=gone.id)
    on_platform = await edge.link(seller, PRODUCT, code="plat4rm")
    async with edge.db.transaction() as tx:
        await privacy.erase_workspace(tx, ref=seller.id, actor="admin")
    assert (await edge.http.get(f"http://{HOST}/summer")).status_code == 404

    # Nothing kept names the domain, the workspace or a destination: a hash and the codes.
    async with edge.db.transaction() as tx:
        rows = (await tx.conn.execute(select(tables.retired_host_codes))).all()
        assert await tx.short_domains.by_hostname(HOST) is None
    digest = hashlib.sha256(HOST.encode()).hexdigest()
    assert sorted((r.host_hash, r.code) for r in rows) == [
        (digest, "spring"),
        (digest, "summer"),
    ]
    assert all(HOST not in str(r) and seller.id not in str(r) for r in rows)

    newcomer = await edge.workspace("New Owner")
    await _verified(edge, dns, newcomer, HOST)
    for code in ("summer", "spring"):
        with pytest.raises(CodeTaken):
            await edge.link(newcomer, PRODUCT, host=HOST, code=code)
    with pytest.raises(CodeTaken):  # the platform domain's code stays retired too
        await edge.link(newcomer, PRODUCT, code=on_platform.code)
    fresh = await edge.link(newcomer, PRODUCT, host=HOST, code="autumn")
    assert (await edge.http.get(f"http://{HOST}/{fresh.code}")).status_code == 302


async def test_erasing_the_owner_of_a_transferred_domain_hands_it_back_with_codes_kept(
    edge: Edge, dns: DnsServer
) -> None:
    first = await edge.workspace("First")
    await _verified(edge, dns, first, HOST)
    await edge.link(first, PRODUCT, host=HOST, code="summer")
    second = await edge.workspace("Second")
    async with edge.db.transaction() as tx:
        await service.transfer_domain(tx, ref=HOST, to=second, actor="admin")
    moved = await _domain(edge, HOST)
    dns.records[(f"_hoplink.{HOST}.", "TXT")] = [f'"{TXT_PREFIX}{moved.token}"']
    await _check_now(edge, moved)
    await edge.link(second, PRODUCT, host=HOST, code="winter")
    async with edge.db.transaction() as tx:
        await service.update_settings(
            tx, workspace=second, ref=HOST, policy=POLICY, root_url="https://second.example/"
        )
        await privacy.erase_workspace(tx, ref=second.id, actor="admin")
    back = await _domain(edge, HOST)  # the previous owner's links still live on it
    assert (back.workspace_id, back.status, back.token, back.root_url) == (
        first.id,
        "removed",
        None,
        None,
    )
    assert (await edge.http.get(f"http://{HOST}/summer")).status_code == 404  # not served
    again = await _verified(edge, dns, first, HOST)  # re-added and proven by its owner
    assert again.id == back.id and again.status == "verified"
    assert (await edge.http.get(f"http://{HOST}/summer")).status_code == 302
    with pytest.raises(CodeTaken):  # the erased workspace's code there stays retired
        await edge.link(first, PRODUCT, host=HOST, code="winter")
