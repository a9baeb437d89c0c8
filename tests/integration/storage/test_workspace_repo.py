"""The workspace repository on real SQLite and PostgreSQL (each test rolled back): what is
written reads back whole, slugs are unique, a change of status reaches the redirect change
log, and members are listed per workspace."""

from __future__ import annotations

from datetime import timedelta

import pytest
from schema_rows import T0
from sqlalchemy import select

from hoplink.accounts.models import Membership
from hoplink.accounts.users import create_user
from hoplink.storage import tables as t
from hoplink.storage.tx import Tx, UniqueViolation
from hoplink.workspaces.edit import WorkspaceUpdate
from hoplink.workspaces.models import Role, Workspace, WorkspaceStatus


def ws(wid: str, slug: str, *, minutes: int = 0) -> Workspace:
    return Workspace(
        id=wid,
        slug=slug,
        name=f"Shop {slug} 店",
        seller_id=None,
        timezone="UTC",
        status=WorkspaceStatus.UNVERIFIED,
        created_at=T0 + timedelta(minutes=minutes),
    )


async def _changes(tx: Tx) -> list[tuple[str, str | None]]:
    c = t.redirect_changes.c
    return [(r.kind, r.ref) for r in await tx.conn.execute(select(c.kind, c.ref).order_by(c.id))]


async def test_every_field_written_reads_back(tx: Tx) -> None:
    full = Workspace(
        id="ws_full",
        slug="full-shop",
        name="Full Shop 全店",
        seller_id="seller-42",
        timezone="Asia/Kolkata",
        status=WorkspaceStatus.SUSPENDED,
        created_at=T0,
        param_template={"utm_source": "{channel}", "sid": "42"},
        custom_channels=["line", "zalo"],
        status_reason="chargebacks",
        status_before_suspension=WorkspaceStatus.VERIFIED,
        click_id_enabled=False,
        click_id_param="ref_click",
        fallback_url="https://shop.example.com/",
        links_per_day=50,
        links_per_month=900,
        short_domain_limit=3,
        short_domains_approved=True,
    )
    await tx.workspaces.insert(full)
    assert await tx.workspaces.get("ws_full") == full
    plain = ws("ws_plain", "plain-shop")
    await tx.workspaces.insert(plain)
    assert await tx.workspaces.get("ws_plain") == plain  # the defaults read back too


async def test_find_by_id_or_slug_and_slugs_are_unique(tx: Tx) -> None:
    await tx.workspaces.insert(ws("ws_a", "acme"))
    assert (await tx.workspaces.find("ws_a")).slug == "acme"  # type: ignore[union-attr]
    assert (await tx.workspaces.find("acme")).id == "ws_a"  # type: ignore[union-attr]
    assert await tx.workspaces.find("ACME") is None  # slugs match exactly
    assert await tx.workspaces.get("acme") is None  # get takes ids only
    assert await tx.workspaces.slug_exists("acme") is True
    assert await tx.workspaces.slug_exists("acme-2") is False
    with pytest.raises(UniqueViolation):
        async with tx.savepoint():
            await tx.workspaces.insert(ws("ws_b", "acme"))
    assert await tx.workspaces.get("ws_b") is None


async def test_all_lists_oldest_first(tx: Tx) -> None:
    await tx.workspaces.insert(ws("ws_new", "newer", minutes=10))
    await tx.workspaces.insert(ws("ws_old", "older", minutes=-10))
    await tx.workspaces.insert(ws("ws_mid", "middle"))
    found = [w.id for w in await tx.workspaces.all() if w.id in {"ws_new", "ws_old", "ws_mid"}]
    assert found == ["ws_old", "ws_mid", "ws_new"]


async def test_an_update_changes_one_workspace_and_a_status_change_is_logged(tx: Tx) -> None:
    await tx.workspaces.insert(ws("ws_a", "acme"))
    await tx.workspaces.insert(ws("ws_b", "bravo"))
    start = await _changes(tx)
    await tx.workspaces.update(
        "ws_a", WorkspaceUpdate(name="Renamed", fallback_url="https://a.example/")
    )
    assert await _changes(tx) == start  # nothing the redirect serves changed
    await tx.workspaces.update(
        "ws_a",
        WorkspaceUpdate(
            status=WorkspaceStatus.SUSPENDED,
            status_reason="spam",
            status_before_suspension=WorkspaceStatus.UNVERIFIED,
        ),
    )
    assert await _changes(tx) == [*start, ("workspace", "ws_a")]
    a = await tx.workspaces.get("ws_a")
    assert a is not None
    assert (a.name, a.fallback_url, a.status, a.status_reason, a.status_before_suspension) == (
        "Renamed",
        "https://a.example/",
        WorkspaceStatus.SUSPENDED,
        "spam",
        WorkspaceStatus.UNVERIFIED,
    )
    assert await tx.workspaces.get("ws_b") == ws("ws_b", "bravo")


async def test_an_update_of_every_field_reads_back_as_applied_and_an_empty_one_writes_nothing(
    tx: Tx,
) -> None:
    before = ws("ws_a", "acme")
    await tx.workspaces.insert(before)
    change = WorkspaceUpdate(
        name="Acme 店",
        seller_id="S-1",
        timezone="Asia/Shanghai",
        param_template={"aff": "{seller_id}"},
        custom_channels=("line", "zalo"),
        click_id_enabled=False,
        click_id_param="ref_click",
        fallback_url="https://acme.example/",
        status=WorkspaceStatus.SUSPENDED,
        status_reason="spam",
        status_before_suspension=WorkspaceStatus.VERIFIED,
        links_per_day=5,
        links_per_month=50,
        short_domain_limit=2,
        short_domains_approved=True,
    )
    await tx.workspaces.update("ws_a", change)
    after = await tx.workspaces.get("ws_a")
    assert after == change.applied_to(before)
    assert after is not None and after.custom_channels == ["line", "zalo"]
    start = await _changes(tx)
    await tx.workspaces.update("ws_a", WorkspaceUpdate())
    assert await tx.workspaces.get("ws_a") == after
    assert await _changes(tx) == start
    cleared = WorkspaceUpdate(
        seller_id=None,
        click_id_param=None,
        fallback_url=None,
        status_reason=None,
        status_before_suspension=None,
        links_per_day=None,
        short_domain_limit=None,
    )
    await tx.workspaces.update("ws_a", cleared)
    assert await tx.workspaces.get("ws_a") == cleared.applied_to(after)


async def test_members_are_listed_by_email_for_their_workspace_only(tx: Tx) -> None:
    await tx.workspaces.insert(ws("ws_a", "acme"))
    await tx.workspaces.insert(ws("ws_b", "bravo"))
    zoe = await create_user(tx, email="zoe@example.com", password="correct horse battery")
    amy = await create_user(tx, email="amy@example.com", password="correct horse battery")
    bob = await create_user(tx, email="bob@example.com", password="correct horse battery")
    for user, wid, role in (
        (zoe, "ws_a", Role.OWNER),
        (amy, "ws_a", Role.VIEWER),
        (bob, "ws_b", Role.ADMIN),
        (zoe, "ws_b", Role.MEMBER),
    ):
        await tx.users.add_membership(Membership(user.id, wid, role), T0)
    assert await tx.workspaces.members("ws_a") == [
        (amy.id, "amy@example.com", Role.VIEWER),
        (zoe.id, "zoe@example.com", Role.OWNER),
    ]
    assert await tx.workspaces.members("ws_b") == [
        (bob.id, "bob@example.com", Role.ADMIN),
        (zoe.id, "zoe@example.com", Role.MEMBER),
    ]
    assert await tx.workspaces.members("ws_none") == []
