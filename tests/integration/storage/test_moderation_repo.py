"""The platform-wide moderation repository on real SQLite and PostgreSQL (each test rolled
back): live links of any workspace, bans (one active ban per link, lifted once, each change
in the redirect change log) and visitor reports with their link and ban state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from factories import domain, workspace
from hoplink.links import service
from hoplink.links.models import Link, LinkBan
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.moderation.models import LinkRef, Report, ReportStatus
from hoplink.storage.tx import Tx, UniqueViolation
from hoplink.workspaces.models import Workspace

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
URL = "https://shop.example.com/item/1"


async def _link(tx: Tx, ws: Workspace, url: str = URL) -> Link:
    return await service.create_link(
        tx,
        workspace=ws,
        domain=await domain(tx),
        spec=LinkSpec(url=url),
        actor="test",
        rules=LinkRules(),
    )


def ref(ws: Workspace, link: Link) -> LinkRef:
    return LinkRef(link.id, ws.id, ws.slug, "hop.test", link.code, link.destination_url)


def ban(bid: str, link: Link, minutes: int = 0, report_id: str | None = None) -> LinkBan:
    return LinkBan(
        id=bid,
        workspace_id=link.workspace_id,
        link_id=link.id,
        reason="phishing",
        report_id=report_id,
        banned_by="usr_admin",
        banned_at=T0 + timedelta(minutes=minutes),
    )


def report(rid: str, link: Link, minutes: int, status: ReportStatus = ReportStatus.OPEN) -> Report:
    return Report(
        id=rid,
        workspace_id=link.workspace_id,
        link_id=link.id,
        short_url=f"https://hop.test/{link.code}",
        category="scam",
        message="asks for card details 要银行卡",
        contact_email=None,
        reporter_hash="f" * 64,
        status=status,
        created_at=T0 + timedelta(minutes=minutes),
    )


async def test_links_are_found_in_any_workspace_while_live(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, name="Other Shop")
    mine, theirs = await _link(tx, ws), await _link(tx, other, URL + "?b")
    repo = tx.moderation
    assert await repo.link(theirs.id) == ref(other, theirs)
    assert await repo.link_by_short("hop.test", mine.code) == ref(ws, mine)
    assert await repo.link_by_short("hop.test", mine.code.swapcase()) is None  # case matters
    assert await repo.link_by_short("other.test", mine.code) is None
    await service.delete_link(tx, workspace=ws, link_id=mine.id)
    assert await repo.link(mine.id) is None
    assert await repo.link_by_short("hop.test", mine.code) is None


async def test_one_active_ban_per_link_lifted_once_and_logged_for_the_redirects(tx: Tx) -> None:
    ws = await workspace(tx)
    link = await _link(tx, ws)
    repo = tx.moderation
    since = datetime.now(UTC) - timedelta(seconds=1)
    first = ban("ban_1", link)
    await repo.insert_ban(first)
    assert await repo.active_ban(link.id) == first
    with pytest.raises(UniqueViolation):
        async with tx.savepoint():
            await repo.insert_ban(ban("ban_2", link, minutes=1))

    lifted_at = T0 + timedelta(hours=1)
    assert await repo.lift_ban("ban_1", by="usr_admin", at=lifted_at, reason="appeal") is True
    assert await repo.lift_ban("ban_1", by="usr_x", at=lifted_at, reason="again") is False
    assert await repo.active_ban(link.id) is None
    lifted = await repo.ban("ban_1")
    assert lifted is not None
    assert (lifted.lifted_by, lifted.lifted_at, lifted.lift_reason) == (
        "usr_admin",
        lifted_at,
        "appeal",
    )
    # After a lift the link may be banned again.
    await repo.insert_ban(ban("ban_3", link, minutes=90))
    assert (await repo.active_ban(link.id)) == ban("ban_3", link, minutes=90)
    logged = [c for c in await tx.redirect_changes.since(since) if c.ref == link.id]
    assert len(logged) >= 3  # banned, lifted, banned again (creation may log too)
    assert {(c.kind, c.host, c.code) for c in logged} == {("link", "hop.test", link.code)}


async def test_bans_list_newest_first_with_their_link(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, name="Other Shop")
    a, b = await _link(tx, ws), await _link(tx, other, URL + "?b")
    repo = tx.moderation
    await repo.insert_ban(ban("ban_a", a, minutes=0))
    await repo.insert_ban(ban("ban_b", b, minutes=5))
    await repo.lift_ban("ban_a", by=None, at=T0 + timedelta(hours=1), reason="mistake")
    active = await repo.bans()
    assert [(v.ban.id, v.link) for v in active] == [("ban_b", ref(other, b))]
    every = await repo.bans(active=False)
    assert [v.ban.id for v in every] == ["ban_b", "ban_a"]
    assert [v.ban.id for v in await repo.bans(active=False, limit=1)] == ["ban_b"]


async def test_reports_list_by_status_newest_first_with_ban_state(tx: Tx) -> None:
    ws = await workspace(tx)
    a, b = await _link(tx, ws), await _link(tx, ws, URL + "?b")
    repo = tx.moderation
    r1, r2, r3 = report("rep_1", a, 0), report("rep_2", b, 5), report("rep_3", a, 10)
    for r in (r1, r2, r3):
        await repo.insert_report(r)
    assert await repo.report("rep_2") == r2
    assert await repo.report("rep_none") is None
    await repo.insert_ban(ban("ban_a", a, report_id="rep_1"))

    views = await repo.reports(status=None)
    assert [(v.report.id, v.banned) for v in views] == [
        ("rep_3", True),
        ("rep_2", False),
        ("rep_1", True),
    ]
    assert views[1].link == ref(ws, b)

    handled_at = T0 + timedelta(hours=2)
    assert await repo.set_report_status(
        "rep_1", status=ReportStatus.RESOLVED, by="usr_admin", at=handled_at, resolution="banned"
    )
    assert not await repo.set_report_status(
        "rep_none", status=ReportStatus.DISMISSED, by=None, at=handled_at, resolution=None
    )
    resolved = await repo.report("rep_1")
    assert resolved is not None
    assert (resolved.status, resolved.handled_by, resolved.handled_at, resolved.resolution) == (
        ReportStatus.RESOLVED,
        "usr_admin",
        handled_at,
        "banned",
    )
    open_ = await repo.reports(status=ReportStatus.OPEN)
    assert [v.report.id for v in open_] == ["rep_3", "rep_2"]
    assert [v.report.id for v in await repo.reports(status=ReportStatus.DISMISSED)] == []
    assert [v.report.id for v in await repo.reports(status=None, limit=1)] == ["rep_3"]
