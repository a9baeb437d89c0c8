"""The short-link domain repository on real SQLite and PostgreSQL (each test rolled back):
platform domains and workspaces' custom ones, a hostname taken once across all tenants, a
workspace offered only the platform's domains and its own verified ones, and every change
written to the redirect change log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from schema_rows import T0
from sqlalchemy import select

from factories import workspace
from hoplink.links.models import ShortDomain
from hoplink.storage import tables as t
from hoplink.storage.tx import Tx, UniqueViolation


def dom(did: str, host: str, ws_id: str | None = None, status: str = "verified") -> ShortDomain:
    return ShortDomain(
        id=did,
        hostname=host,
        workspace_id=ws_id,
        is_default=False,
        status=status,
        token=None if ws_id is None else "tok-" + did,
        created_at=T0,
    )


async def _changes(tx: Tx) -> list[tuple[str, str | None]]:
    c = t.redirect_changes.c
    return [(r.kind, r.ref) for r in await tx.conn.execute(select(c.kind, c.ref).order_by(c.id))]


async def test_a_domain_reads_back_by_id_and_hostname_and_each_write_is_logged(tx: Tx) -> None:
    ws = await workspace(tx)
    start = await _changes(tx)
    mine = dom("dom_mine", "go.shop.example", ws.id, status="pending")
    await tx.short_domains.insert(mine, T0)
    assert await tx.short_domains.get("dom_mine") == mine
    assert await tx.short_domains.by_hostname("go.shop.example") == mine
    assert await tx.short_domains.by_hostname("GO.shop.example") is None  # stored lower-case
    assert await tx.short_domains.get("dom_none") is None
    checked = T0 + timedelta(minutes=3)
    await tx.short_domains.update(
        "dom_mine",
        status="verified",
        method="dns_txt",
        checked_at=checked,
        verified_at=checked,
        root_url="https://shop.example/",
        robots="User-agent: *\nAllow: /",
        forward_query=True,
    )
    got = await tx.short_domains.get("dom_mine")
    assert got is not None
    assert (got.status, got.method, got.verified_at, got.root_url, got.forward_query) == (
        "verified",
        "dns_txt",
        checked,
        "https://shop.example/",
        True,
    )
    assert got.verified_at is not None and got.verified_at.tzinfo is not None
    # Every node reloads its domains after each write: one "everything" entry per write.
    assert await _changes(tx) == [*start, ("all", None), ("all", None)]


async def test_only_editable_columns_may_be_updated(tx: Tx) -> None:
    await tx.short_domains.insert(dom("dom_p", "hop.example"), T0)
    start = await _changes(tx)
    for field in ("hostname", "id", "is_default", "created_at"):
        with pytest.raises(ValueError, match=field):
            await tx.short_domains.update("dom_p", **{field: "x"})
    assert await tx.short_domains.get("dom_p") == dom("dom_p", "hop.example")
    assert await _changes(tx) == start


async def test_a_hostname_is_taken_once_across_every_workspace(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, "Other Shop")
    await tx.short_domains.insert(dom("dom_1", "go.shop.example", ws.id, status="removed"), T0)
    for did, owner in (("dom_2", other.id), ("dom_3", None)):
        with pytest.raises(UniqueViolation):
            async with tx.savepoint():
                await tx.short_domains.insert(dom(did, "go.shop.example", owner), T0)
        assert await tx.short_domains.get(did) is None
    assert await tx.short_domains.hostnames() == ["go.shop.example"]


async def test_a_workspace_is_offered_platform_domains_and_its_own_verified_ones(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, "Other Shop")
    for d in (
        dom("dom_plat_b", "b.hop.example"),
        dom("dom_plat_a", "a.hop.example"),
        dom("dom_ok", "go.mine.example", ws.id),
        dom("dom_ok2", "aa.mine.example", ws.id),
        dom("dom_pending", "new.mine.example", ws.id, status="pending"),
        dom("dom_susp", "bad.mine.example", ws.id, status="suspended"),
        dom("dom_gone", "old.mine.example", ws.id, status="removed"),
        dom("dom_theirs", "go.theirs.example", other.id),
    ):
        await tx.short_domains.insert(d, T0)
    await tx.short_domains.clear_default()
    await tx.short_domains.set_default("dom_plat_b")

    def hosts(found: list[ShortDomain]) -> list[str]:
        return [d.hostname for d in found]

    # The platform default first, then by name.
    assert hosts(await tx.short_domains.usable_by(ws.id)) == [
        "b.hop.example",
        "a.hop.example",
        "aa.mine.example",
        "go.mine.example",
    ]
    await tx.short_domains.clear_workspace_default(ws.id)
    await tx.short_domains.update("dom_ok", workspace_default=True)
    # Its own default comes before the platform's.
    assert hosts(await tx.short_domains.usable_by(ws.id))[:2] == [
        "go.mine.example",
        "b.hop.example",
    ]
    assert hosts(await tx.short_domains.usable_by(other.id)) == [
        "b.hop.example",
        "a.hop.example",
        "go.theirs.example",
    ]
    assert hosts(await tx.short_domains.of_workspace(ws.id)) == [
        "aa.mine.example",
        "bad.mine.example",
        "go.mine.example",
        "new.mine.example",
        "old.mine.example",
    ]
    assert hosts(await tx.short_domains.custom()) == [
        "aa.mine.example",
        "bad.mine.example",
        "go.mine.example",
        "go.theirs.example",
        "new.mine.example",
        "old.mine.example",
    ]
    assert await tx.short_domains.count_claimed(ws.id) == 4  # the removed one is not counted
    assert await tx.short_domains.count_claimed(other.id) == 1


async def test_defaults_platform_wide_and_per_workspace(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, "Other Shop")
    for d in (
        dom("dom_a", "a.hop.example"),
        dom("dom_b", "b.hop.example"),
        dom("dom_mine", "go.mine.example", ws.id),
        dom("dom_mine2", "go2.mine.example", ws.id),
        dom("dom_theirs", "go.theirs.example", other.id),
    ):
        await tx.short_domains.insert(d, T0)
    await tx.short_domains.clear_default()
    assert await tx.short_domains.default() is None
    await tx.short_domains.set_default("dom_a")
    assert (await tx.short_domains.default()).id == "dom_a"  # type: ignore[union-attr]
    await tx.short_domains.clear_default()
    await tx.short_domains.set_default("dom_b")
    assert (await tx.short_domains.default()).id == "dom_b"  # type: ignore[union-attr]
    assert not (await tx.short_domains.get("dom_a")).is_default  # type: ignore[union-attr]

    assert await tx.short_domains.workspace_default(ws.id) is None
    await tx.short_domains.update("dom_mine", workspace_default=True)
    await tx.short_domains.update("dom_theirs", workspace_default=True)
    assert (await tx.short_domains.workspace_default(ws.id)).id == "dom_mine"  # type: ignore[union-attr]
    await tx.short_domains.clear_workspace_default(ws.id)
    await tx.short_domains.update("dom_mine2", workspace_default=True)
    assert (await tx.short_domains.workspace_default(ws.id)).id == "dom_mine2"  # type: ignore[union-attr]
    # Clearing one workspace's default leaves another's alone.
    assert (await tx.short_domains.workspace_default(other.id)).id == "dom_theirs"  # type: ignore[union-attr]
    # A default that is no longer verified is no default.
    await tx.short_domains.update("dom_mine2", status="suspended")
    assert await tx.short_domains.workspace_default(ws.id) is None
