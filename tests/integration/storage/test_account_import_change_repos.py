"""Repository-level tests on real SQLite and PostgreSQL (each test rolled back): users and
memberships, API keys, the import provenance of links and the redirect change log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from factories import domain, workspace
from hoplink.accounts.models import ApiKey, Membership, Scope, User
from hoplink.ids import utcnow
from hoplink.links import service
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.storage import changes
from hoplink.storage.tx import Tx, UniqueViolation
from hoplink.workspaces.models import Role

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def user(uid: str, email: str, *, admin: bool = False) -> User:
    return User(id=uid, email=email, is_platform_admin=admin, created_at=T0)


# -- users and memberships ------------------------------------------------------------


async def test_user_repo_round_trips_users_and_their_password_hash(tx: Tx) -> None:
    repo = tx.users
    assert await repo.any() is False  # a fresh installation
    bob, ann = user("usr_b", "bob@example.com"), user("usr_a", "ann@example.com", admin=True)
    await repo.insert(bob, "hash-b")
    await repo.insert(ann, "hash-a")
    assert await repo.any() is True
    assert await repo.get("usr_a") == ann
    assert await repo.by_email("bob@example.com") == (bob, "hash-b")
    assert await repo.by_email("BOB@example.com") is None  # callers normalise first
    assert await repo.all() == [ann, bob]  # by e-mail
    assert await repo.all(limit=1) == [ann]
    await repo.set_password_hash("usr_b", "hash-b2")
    assert await repo.by_email("bob@example.com") == (bob, "hash-b2")
    with pytest.raises(UniqueViolation):
        async with tx.savepoint():
            await repo.insert(user("usr_c", "bob@example.com"), "hash-c")


async def test_user_repo_keeps_memberships_and_roles_per_workspace(tx: Tx) -> None:
    ws1, ws2 = await workspace(tx), await workspace(tx, name="Second Shop")
    repo = tx.users
    await repo.insert(user("usr_a", "ann@example.com"), "h")
    await repo.insert(user("usr_b", "bob@example.com"), "h")
    await repo.add_membership(Membership("usr_a", ws2.id, Role.OWNER), T0)
    await repo.add_membership(Membership("usr_a", ws1.id, Role.VIEWER), T0 + timedelta(1))
    await repo.add_membership(Membership("usr_b", ws2.id, Role.MEMBER), T0)

    assert await repo.membership("usr_a", ws1.id) == Membership("usr_a", ws1.id, Role.VIEWER)
    assert await repo.membership("usr_b", ws1.id) is None
    assert await repo.workspace_roles("usr_a") == [(ws2.id, Role.OWNER), (ws1.id, Role.VIEWER)]
    assert await repo.count_owners(ws2.id) == 1
    assert await repo.count_owners(ws1.id) == 0

    await repo.set_role(ws2.id, "usr_b", Role.OWNER)
    assert await repo.count_owners(ws2.id) == 2
    assert await repo.membership("usr_a", ws1.id) == Membership("usr_a", ws1.id, Role.VIEWER)

    await repo.remove_membership(ws2.id, "usr_a")
    assert await repo.workspace_roles("usr_a") == [(ws1.id, Role.VIEWER)]
    assert await repo.membership("usr_b", ws2.id) == Membership("usr_b", ws2.id, Role.OWNER)


# -- API keys -------------------------------------------------------------------------


def api_key(kid: str, ws_id: str, prefix: str, minutes: int, *scopes: Scope) -> ApiKey:
    return ApiKey(
        id=kid,
        workspace_id=ws_id,
        name=f"key {kid}",
        prefix=prefix,
        scopes=frozenset(scopes),
        created_at=T0 + timedelta(minutes=minutes),
        created_by="usr_a",
        last_used_at=None,
        revoked_at=None,
    )


async def test_api_key_repo_round_trips_scopes_and_finds_its_tenant_by_prefix(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, name="Other Shop")
    repo = tx.api_keys
    reader = api_key("key_r", ws.id, "hl_r", 5, Scope.LINKS_READ, Scope.STATS_READ)
    admin = api_key("key_a", ws.id, "hl_a", 0, *Scope)
    theirs = api_key("key_t", other.id, "hl_t", 1, Scope.LINKS_WRITE)
    for key in (reader, admin, theirs):
        await repo.insert(key, "hash-" + key.id)
    assert await repo.by_prefix("hl_t") == (theirs, "hash-key_t")  # unscoped by design
    assert await repo.by_prefix("hl_none") is None
    assert await repo.for_workspace(ws.id) == [admin, reader]  # oldest first
    assert (await repo.for_workspace(other.id)) == [theirs]
    assert await repo.get(ws.id, "key_r") == reader
    assert await repo.get(ws.id, "key_t") is None
    with pytest.raises(UniqueViolation):
        async with tx.savepoint():
            await repo.insert(api_key("key_x", other.id, "hl_r", 9), "hash")


async def test_api_key_repo_revokes_once_within_the_workspace_and_records_use(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, name="Other Shop")
    repo = tx.api_keys
    await repo.insert(api_key("key_1", ws.id, "hl_1", 0, Scope.LINKS_READ), "h")
    at = T0 + timedelta(hours=2)
    assert await repo.revoke(other.id, "key_1", at) is False
    untouched = await repo.get(ws.id, "key_1")
    assert untouched is not None and untouched.active is True
    assert await repo.revoke(ws.id, "key_1", at) is True
    assert await repo.revoke(ws.id, "key_1", at + timedelta(hours=1)) is False
    await repo.touch("key_1", at + timedelta(minutes=1))
    key = await repo.get(ws.id, "key_1")
    assert key is not None
    assert (key.revoked_at, key.last_used_at, key.active) == (
        at,
        at + timedelta(minutes=1),
        False,
    )


# -- import provenance ----------------------------------------------------------------


async def _link(tx: Tx, ws_id: str, url: str) -> tuple[str, str]:
    ws = await tx.workspaces.get(ws_id)
    assert ws is not None
    link = await service.create_link(
        tx,
        workspace=ws,
        domain=await domain(tx),
        spec=LinkSpec(url=url),
        actor="test",
        rules=LinkRules(),
    )
    return link.id, link.code


def provenance(link_id: str, key: str, clicks: int, source: str = "bitly") -> dict[str, object]:
    return {
        "id": "imp_" + key,
        "link_id": link_id,
        "source": source,
        "source_key": key,
        "old_short_url": f"https://bit.ly/{key}",
        "imported_clicks": clicks,
        "imported_at": T0,
    }


async def test_import_repo_finds_live_links_an_earlier_run_made(tx: Tx) -> None:
    ws, other = await workspace(tx), await workspace(tx, name="Other Shop")
    kept_id, kept_code = await _link(tx, ws.id, "https://shop.example.com/a")
    gone_id, _ = await _link(tx, ws.id, "https://shop.example.com/b")
    theirs_id, _ = await _link(tx, other.id, "https://shop.example.com/c")
    await tx.imports(ws.id).record(
        [
            provenance(kept_id, "k1", 120),
            provenance(gone_id, "k2", 7),
        ]
    )
    await tx.imports(other.id).record([provenance(theirs_id, "k3", 5)])
    await tx.imports(ws.id).record([])  # nothing to do
    ws_obj = await tx.workspaces.get(ws.id)
    assert ws_obj is not None
    await service.delete_link(tx, workspace=ws_obj, link_id=gone_id)

    repo = tx.imports(ws.id)
    # Deleted links and other workspaces' imports are not "already imported".
    assert await repo.imported("bitly", ["k1", "k2", "k3", "k9"]) == {"k1": (kept_code, "hop.test")}
    assert await repo.imported("yourls", ["k1"]) == {}  # another source's keys are apart
    # The "imported" click series stays with a deleted link; another workspace's is unseen.
    assert await repo.imported_clicks([kept_id, gone_id, theirs_id]) == {
        kept_id: 120,
        gone_id: 7,
    }
    assert await repo.imported_clicks([]) == {}


async def test_import_sources_are_unique_per_workspace(tx: Tx) -> None:
    ws = await workspace(tx)
    link_id, _ = await _link(tx, ws.id, "https://shop.example.com/a")
    await tx.imports(ws.id).record([provenance(link_id, "k1", 1)])
    with pytest.raises(UniqueViolation):
        async with tx.savepoint():
            await tx.imports(ws.id).record([{**provenance(link_id, "k1", 2), "id": "imp_x"}])


# -- redirect change log ---------------------------------------------------------------


async def test_change_log_lists_changes_since_a_time_with_each_links_host_and_code(
    tx: Tx,
) -> None:
    ws = await workspace(tx)
    start = utcnow() - timedelta(seconds=1)
    link_id, code = await _link(tx, ws.id, "https://shop.example.com/a")
    await changes.record(tx.conn, changes.LINK, link_id)
    await changes.record(tx.conn, changes.WORKSPACE, ws.id)
    await changes.record(tx.conn, changes.LINK, "lnk_gone")
    await changes.record(tx.conn, changes.EVERYTHING)
    found = await tx.redirect_changes.since(start)
    mine = [c for c in found if c.ref in (link_id, ws.id, "lnk_gone") or c.kind == "all"]
    tail = [(c.kind, c.ref, c.host, c.code) for c in mine[-4:]]
    assert tail == [
        ("link", link_id, "hop.test", code),
        ("workspace", ws.id, None, None),
        ("link", "lnk_gone", None, None),
        ("all", None, None, None),
    ]
    ids = [c.id for c in found]
    assert ids == sorted(ids)
    assert all(c.at >= start for c in found)
    assert await tx.redirect_changes.since(utcnow() + timedelta(minutes=1)) == []
    assert len(await tx.redirect_changes.since(start, limit=2)) == 2


async def test_change_log_prunes_entries_older_than_a_time(tx: Tx) -> None:
    await changes.record(tx.conn, changes.EVERYTHING)
    later = utcnow() + timedelta(seconds=1)
    assert await tx.redirect_changes.prune(later) >= 1
    assert await tx.redirect_changes.since(datetime(2000, 1, 1, tzinfo=UTC)) == []
