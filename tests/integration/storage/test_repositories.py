"""Repository-level tests on real SQLite and PostgreSQL (each test rolled back): the
campaign, tag, destination-domain and session repositories read back what they wrote,
keep to their workspace, and keep their unique constraints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from factories import domain, workspace
from hoplink.accounts.models import Session
from hoplink.accounts.users import create_user
from hoplink.links import service
from hoplink.links.models import Campaign
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.safety.models import (
    DestinationDomain,
    DestinationDomainMethod,
    DestinationDomainStatus,
)
from hoplink.storage.tx import Tx, UniqueViolation

T0 = datetime(2026, 11, 1, 8, 30, 15, tzinfo=UTC)


def campaign(ws_id: str, cid: str, name: str, external_id: str | None = None) -> Campaign:
    return Campaign(id=cid, workspace_id=ws_id, name=name, external_id=external_id, created_at=T0)


# -- campaigns ------------------------------------------------------------------------


async def test_campaign_repo_round_trips_and_orders_by_name(tx: Tx) -> None:
    ws = await workspace(tx)
    repo = tx.campaigns(ws.id)
    summer = campaign(ws.id, "cmp_summer", "Summer", external_id="fb-123")
    autumn = campaign(ws.id, "cmp_autumn", "Autumn")
    await repo.insert(summer)
    await repo.insert(autumn)
    assert await repo.get("cmp_summer") == summer
    assert await repo.by_name("Autumn") == autumn
    assert await repo.all() == [autumn, summer]
    assert await repo.many({"cmp_summer", "cmp_missing"}) == {"cmp_summer": summer}
    assert await repo.many(set()) == {}
    assert await repo.get("cmp_missing") is None
    assert await repo.by_name("summer") is None  # names match exactly


async def test_campaign_repo_updates_and_deletes_only_existing_rows(tx: Tx) -> None:
    ws = await workspace(tx)
    repo = tx.campaigns(ws.id)
    await repo.insert(campaign(ws.id, "cmp_1", "Launch"))
    assert await repo.update("cmp_1", name="Relaunch", external_id="tt-9") is True
    assert await repo.get("cmp_1") == campaign(ws.id, "cmp_1", "Relaunch", external_id="tt-9")
    assert await repo.update("cmp_missing", name="x") is False
    assert await repo.delete("cmp_1") is True
    assert await repo.delete("cmp_1") is False
    assert await repo.all() == []


async def test_campaign_names_are_unique_per_workspace_only(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, name="Other Shop")
    await tx.campaigns(ws.id).insert(campaign(ws.id, "cmp_a", "Sale"))
    with pytest.raises(UniqueViolation):
        async with tx.savepoint():
            await tx.campaigns(ws.id).insert(campaign(ws.id, "cmp_b", "Sale"))
    await tx.campaigns(other.id).insert(campaign(other.id, "cmp_c", "Sale"))
    assert [c.id for c in await tx.campaigns(ws.id).all()] == ["cmp_a"]


async def test_campaign_repo_never_reaches_another_workspace(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, name="Other Shop")
    await tx.campaigns(other.id).insert(campaign(other.id, "cmp_theirs", "Theirs"))
    mine = tx.campaigns(ws.id)
    assert await mine.get("cmp_theirs") is None
    assert await mine.by_name("Theirs") is None
    assert await mine.many({"cmp_theirs"}) == {}
    assert await mine.all() == []
    assert await mine.update("cmp_theirs", name="Stolen") is False
    assert await mine.delete("cmp_theirs") is False
    theirs = await tx.campaigns(other.id).get("cmp_theirs")
    assert theirs is not None and theirs.name == "Theirs"


# -- tags -----------------------------------------------------------------------------


async def _tagged_link(tx: Tx, ws_id: str, tags: list[str]) -> str:
    ws = await tx.workspaces.get(ws_id)
    assert ws is not None
    link = await service.create_link(
        tx,
        workspace=ws,
        domain=await domain(tx),
        spec=LinkSpec(url="https://shop.example.com/p/1", tags=tags),
        actor="test",
        rules=LinkRules(),
    )
    return link.id


async def test_tag_repo_renames_and_deletes_tags_and_links_keep_the_others(tx: Tx) -> None:
    ws = await workspace(tx)
    link_id = await _tagged_link(tx, ws.id, ["summer", "shoes", "sale"])
    repo = tx.tags(ws.id)
    ids = await repo.ids(["summer", "shoes", "sale", "winter"])
    assert set(ids) == {"summer", "shoes", "sale"}
    assert await repo.ids([]) == {}
    await repo.rename(ids["summer"], "summer-2026")
    await repo.delete([ids["sale"]])
    link = await tx.links(ws.id).get(link_id)
    assert link is not None and link.tags == ["shoes", "summer-2026"]
    assert set(await repo.ids(["summer", "summer-2026", "sale"])) == {"summer-2026"}
    await repo.delete([])  # nothing to do
    assert set(await repo.ids(["shoes", "summer-2026"])) == {"shoes", "summer-2026"}


async def test_tag_repo_never_reaches_another_workspace(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, name="Other Shop")
    their_link = await _tagged_link(tx, other.id, ["vip"])
    their_ids = await tx.tags(other.id).ids(["vip"])
    mine = tx.tags(ws.id)
    assert await mine.ids(["vip"]) == {}
    await mine.rename(their_ids["vip"], "hijacked")
    await mine.delete([their_ids["vip"]])
    link = await tx.links(other.id).get(their_link)
    assert link is not None and link.tags == ["vip"]
    assert await tx.tags(other.id).ids(["vip"]) == their_ids


# -- destination domains --------------------------------------------------------------


def claimed(ws_id: str, did: str, hostname: str) -> DestinationDomain:
    return DestinationDomain(
        id=did,
        workspace_id=ws_id,
        hostname=hostname,
        token="tok-" + did,
        status=DestinationDomainStatus.PENDING,
        method=None,
        last_error=None,
        created_at=T0,
        checked_at=None,
        verified_at=None,
    )


async def test_workspace_domain_repo_records_failed_then_verified_checks(tx: Tx) -> None:
    ws = await workspace(tx)
    repo = tx.destination_domains(ws.id)
    shop, blog = claimed(ws.id, "wd_shop", "shop.example.com"), claimed(ws.id, "wd_b", "b.example")
    await repo.insert(shop)
    await repo.insert(blog)
    assert await repo.all() == [blog, shop]  # by hostname
    assert await repo.by_hostname("shop.example.com") == shop
    assert await repo.verified_hostnames() == []

    failed_at, verified_at = T0 + timedelta(minutes=5), T0 + timedelta(minutes=10)
    await repo.record_check(
        "wd_shop",
        status=DestinationDomainStatus.FAILED,
        method=DestinationDomainMethod.DNS_TXT,
        error="no TXT record",
        at=failed_at,
    )
    failed = await repo.get("wd_shop")
    assert failed is not None
    assert (failed.status, failed.method, failed.last_error) == (
        DestinationDomainStatus.FAILED,
        None,  # a method is kept only with a verification
        "no TXT record",
    )
    assert (failed.checked_at, failed.verified_at) == (failed_at, None)

    await repo.record_check(
        "wd_shop",
        status=DestinationDomainStatus.VERIFIED,
        method=DestinationDomainMethod.WELL_KNOWN,
        error=None,
        at=verified_at,
    )
    verified = await repo.get("wd_shop")
    assert verified is not None
    assert (verified.status, verified.method, verified.last_error) == (
        DestinationDomainStatus.VERIFIED,
        DestinationDomainMethod.WELL_KNOWN,
        None,
    )
    assert (verified.checked_at, verified.verified_at) == (verified_at, verified_at)
    assert verified.checked_at is not None and verified.checked_at.tzinfo is not None
    assert await repo.verified_hostnames() == ["shop.example.com"]


async def test_workspace_domains_are_unique_per_workspace_and_kept_apart(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, name="Other Shop")
    await tx.destination_domains(ws.id).insert(claimed(ws.id, "wd_1", "shop.example.com"))
    with pytest.raises(UniqueViolation):
        async with tx.savepoint():
            await tx.destination_domains(ws.id).insert(claimed(ws.id, "wd_2", "shop.example.com"))
    await tx.destination_domains(other.id).insert(claimed(other.id, "wd_3", "shop.example.com"))
    theirs = tx.destination_domains(other.id)
    await theirs.record_check(
        "wd_1",
        status=DestinationDomainStatus.VERIFIED,
        method=DestinationDomainMethod.ADMIN,
        error=None,
        at=T0,
    )
    assert await theirs.get("wd_1") is None
    assert await theirs.delete("wd_1") is False
    mine = await tx.destination_domains(ws.id).get("wd_1")
    assert mine is not None and mine.status is DestinationDomainStatus.PENDING
    assert await tx.destination_domains(ws.id).verified_hostnames() == []
    assert await tx.destination_domains(ws.id).delete("wd_1") is True
    assert [d.id for d in await theirs.all()] == ["wd_3"]


# -- sessions -------------------------------------------------------------------------


def session(sid: str, user_id: str, *, seen: int, expires: int) -> Session:
    return Session(
        id=sid,
        user_id=user_id,
        created_at=T0,
        last_seen_at=T0 + timedelta(minutes=seen),
        expires_at=T0 + timedelta(hours=expires),
        user_agent="Mozilla/5.0 (X11; Linux x86_64)",
    )


async def test_session_repo_lists_counts_touches_and_expires(tx: Tx) -> None:
    ann = await create_user(tx, email="ann@example.com", password="a long pass phrase 42")
    bob = await create_user(tx, email="bob@example.com", password="a long pass phrase 43")
    repo = tx.sessions
    older, newer = (
        session("s" * 64, ann.id, seen=1, expires=2),
        session("t" * 64, ann.id, seen=5, expires=48),
    )
    bobs = session("u" * 64, bob.id, seen=0, expires=1)
    for s in (older, newer, bobs):
        await repo.insert(s)
    assert await repo.get(older.id) == older
    assert await repo.get("x" * 64) is None
    assert await repo.of_user(ann.id) == [newer, older]  # last seen first
    assert await repo.live_counts(T0) == {ann.id: 2, bob.id: 1}
    assert await repo.live_counts(T0 + timedelta(hours=1)) == {ann.id: 2}  # expired at 1 h
    assert await repo.live_counts(T0 + timedelta(hours=3)) == {ann.id: 1}

    await repo.touch(older.id, T0 + timedelta(minutes=30))
    assert [s.id for s in await repo.of_user(ann.id)] == [older.id, newer.id]

    assert await repo.delete_expired(T0 + timedelta(hours=2)) == 2  # bob's and ann's older
    assert await repo.get(bobs.id) is None
    assert [s.id for s in await repo.of_user(ann.id)] == [newer.id]


async def test_session_repo_signs_out_everywhere_but_the_current_session(tx: Tx) -> None:
    ann = await create_user(tx, email="ann@example.com", password="a long pass phrase 42")
    bob = await create_user(tx, email="bob@example.com", password="a long pass phrase 43")
    repo = tx.sessions
    for sid in ("a", "b", "c"):
        await repo.insert(session(sid * 64, ann.id, seen=0, expires=24))
    await repo.insert(session("d" * 64, bob.id, seen=0, expires=24))
    assert await repo.delete_of_user(ann.id, keep="a" * 64) == 2
    assert [s.id for s in await repo.of_user(ann.id)] == ["a" * 64]
    assert await repo.delete("a" * 64) is True
    assert await repo.delete("a" * 64) is False
    assert await repo.delete_of_user(ann.id) == 0
    assert [s.id for s in await repo.of_user(bob.id)] == ["d" * 64]
