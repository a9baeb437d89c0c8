"""Repository-level tests on real SQLite and PostgreSQL (each test rolled back): the audit
log, the conversions ingest keys and the imported ad spend."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from factories import workspace
from hoplink.audit.models import AuditEntry
from hoplink.conversions.spend import SpendRow
from hoplink.storage.audit import AuditRepo
from hoplink.storage.ingest_keys import IngestKeyRepo
from hoplink.storage.spend import SpendRepo
from hoplink.storage.tx import Tx, UniqueViolation

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


# -- audit log ------------------------------------------------------------------------


def entry(eid: str, minutes: int, action: str, ws: str | None, **detail: str) -> AuditEntry:
    return AuditEntry(
        id=eid,
        at=T0 + timedelta(minutes=minutes),
        action=action,
        actor="usr_1",
        workspace_id=ws,
        target="lnk_1",
        detail=detail,
    )


async def test_audit_repo_searches_newest_first_by_workspace_action_and_time(tx: Tx) -> None:
    repo = AuditRepo(tx.conn)
    entries = [
        entry("aud_1", 0, "link.ban", "ws_a", reason="phishing 钓鱼"),
        entry("aud_2", 5, "key.create", "ws_a"),
        entry("aud_3", 10, "link.ban", "ws_b"),
        entry("aud_4", 15, "admin.login", None),
        entry("aud_5", 15, "link.ban", "ws_a"),  # same instant as aud_4: id breaks the tie
    ]
    for e in entries:
        await repo.insert(e)

    def ids(found: list[AuditEntry]) -> list[str]:
        return [e.id for e in found]

    assert ids(await repo.search()) == ["aud_5", "aud_4", "aud_3", "aud_2", "aud_1"]
    assert ids(await repo.search(workspace_id="ws_a")) == ["aud_5", "aud_2", "aud_1"]
    assert ids(await repo.search(action="link.ban")) == ["aud_5", "aud_3", "aud_1"]
    assert ids(await repo.search(workspace_id="ws_a", action="link.ban")) == ["aud_5", "aud_1"]
    before = T0 + timedelta(minutes=10)
    assert ids(await repo.search(before=before)) == ["aud_2", "aud_1"]
    assert ids(await repo.search(limit=2)) == ["aud_5", "aud_4"]
    assert ids(await repo.search(workspace_id="ws_c")) == []
    # Details (a JSON column) and times come back as written.
    oldest = (await repo.search(workspace_id="ws_a"))[-1]
    assert oldest == entries[0]
    assert oldest.detail == {"reason": "phishing 钓鱼"}
    assert oldest.at == T0 and oldest.at.tzinfo is not None


async def test_audit_repo_deletes_one_workspaces_entries_only(tx: Tx) -> None:
    repo = AuditRepo(tx.conn)
    for e in (entry("aud_1", 0, "x", "ws_a"), entry("aud_2", 1, "x", "ws_a")):
        await repo.insert(e)
    await repo.insert(entry("aud_3", 2, "x", "ws_b"))
    await repo.insert(entry("aud_4", 3, "x", None))
    assert await repo.delete_for_workspace("ws_a") == 2
    assert await repo.delete_for_workspace("ws_a") == 0
    assert [e.id for e in await repo.search()] == ["aud_4", "aud_3"]


# -- ingest keys ----------------------------------------------------------------------


async def _key(repo: IngestKeyRepo, ws_id: str, kid: str, prefix: str, minutes: int) -> None:
    await repo.insert(
        id=kid,
        workspace_id=ws_id,
        name=f"key {kid}",
        prefix=prefix,
        key_hash="0" * 64,
        created_by="usr_1",
        created_at=T0 + timedelta(minutes=minutes),
    )


async def test_ingest_key_repo_finds_lists_and_revokes_once(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, name="Other Shop")
    repo = IngestKeyRepo(tx.conn)
    await _key(repo, ws.id, "ik_old", "hpi_old", 0)
    await _key(repo, ws.id, "ik_new", "hpi_new", 5)
    await _key(repo, other.id, "ik_theirs", "hpi_theirs", 1)

    found = await repo.by_prefix("hpi_new")
    assert (found.id, found.workspace_id, found.key_hash) == ("ik_new", ws.id, "0" * 64)
    assert await repo.by_prefix("hpi_none") is None
    listed = await repo.of_workspace(ws.id)
    assert [(k.id, k.name, k.prefix, k.revoked_at) for k in listed] == [
        ("ik_new", "key ik_new", "hpi_new", None),
        ("ik_old", "key ik_old", "hpi_old", None),
    ]
    assert not hasattr(listed[0], "key_hash")  # the list never carries the hash

    revoked_at = T0 + timedelta(hours=1)
    assert await repo.revoke(ws.id, "ik_old", revoked_at) is True
    assert await repo.revoke(ws.id, "ik_old", revoked_at + timedelta(hours=1)) is False
    assert (await repo.by_prefix("hpi_old")).revoked_at == revoked_at
    # Another workspace's key can be neither revoked nor seen from this one.
    assert await repo.revoke(ws.id, "ik_theirs", revoked_at) is False
    assert (await repo.by_prefix("hpi_theirs")).revoked_at is None
    assert await repo.exists(ws.id, "ik_old") is True
    assert await repo.exists(ws.id, "ik_theirs") is False
    assert await repo.exists(other.id, "ik_theirs") is True


async def test_ingest_key_prefixes_are_unique_across_workspaces(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, name="Other Shop")
    repo = IngestKeyRepo(tx.conn)
    await _key(repo, ws.id, "ik_1", "hpi_same", 0)
    with pytest.raises(UniqueViolation):
        async with tx.savepoint():
            await _key(repo, other.id, "ik_2", "hpi_same", 1)
    assert [k.id for k in await repo.of_workspace(other.id)] == []


# -- ad spend -------------------------------------------------------------------------


def spend(day: int, campaign: str, ad_group: str, cents: int, clicks: int = 10) -> SpendRow:
    return SpendRow(
        day=date(2026, 11, day),
        campaign=campaign,
        ad_group=ad_group,
        currency="USD",
        spend=cents,
        impressions=clicks * 100,
        clicks=clicks,
    )


async def test_spend_repo_replaces_a_reimported_day_and_campaign(tx: Tx) -> None:
    ws = await workspace(tx)
    repo = SpendRepo(tx.conn, ws.id)
    await repo.put("meta", [spend(1, "Sale", "A", 1000), spend(1, "Sale", "B", 500)], T0)
    await repo.put("meta", [spend(1, "Sale", "A", 1250, clicks=12)], T0 + timedelta(days=1))
    await repo.put("tiktok", [spend(1, "Sale", "A", 700)], T0)  # another platform: its own row
    rows = await repo.between(date(2026, 11, 1), date(2026, 11, 1))
    got = sorted((r.platform, r.ad_group, r.spend, r.clicks, r.impressions) for r in rows)
    assert got == [
        ("meta", "A", 1250, 12, 1200),
        ("meta", "B", 500, 10, 1000),
        ("tiktok", "A", 700, 10, 1000),
    ]


async def test_spend_repo_reads_an_inclusive_day_range_newest_first(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, name="Other Shop")
    repo = SpendRepo(tx.conn, ws.id)
    await repo.put(
        "meta",
        [
            spend(1, "Sale", "A", 100),
            spend(2, "Brand", "Z", 200),
            spend(2, "Sale", "A", 300),
            spend(3, "Sale", "A", 400),
            spend(4, "Sale", "A", 500),
        ],
        T0,
    )
    await SpendRepo(tx.conn, other.id).put("meta", [spend(2, "Theirs", "A", 999)], T0)
    rows = await repo.between(date(2026, 11, 2), date(2026, 11, 3))
    assert [(r.day, r.campaign, r.spend) for r in rows] == [
        (date(2026, 11, 3), "Sale", 400),
        (date(2026, 11, 2), "Brand", 200),
        (date(2026, 11, 2), "Sale", 300),
    ]
    assert len(await repo.between(date(2026, 11, 1), date(2026, 11, 4), limit=2)) == 2
    assert await repo.between(date(2026, 12, 1), date(2026, 12, 31)) == []


async def test_spend_of_the_same_day_and_campaign_in_another_workspace_is_its_own(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, name="Other Shop")
    await SpendRepo(tx.conn, ws.id).put("meta", [spend(1, "Sale", "A", 1000)], T0)
    await SpendRepo(tx.conn, other.id).put("meta", [spend(1, "Sale", "A", 5, clicks=1)], T0)
    day = date(2026, 11, 1)
    mine = await SpendRepo(tx.conn, ws.id).between(day, day)
    theirs = await SpendRepo(tx.conn, other.id).between(day, day)
    assert [(r.spend, r.clicks) for r in mine] == [(1000, 10)]
    assert [(r.spend, r.clicks) for r in theirs] == [(5, 1)]
