"""The erase of a workspace at the repository (real SQLite and PostgreSQL, rolled back):
every table that holds a ``workspace_id`` gets a row of the erased workspace and of a
neighbour, and afterwards the database is exactly as it was before the erased one had any
rows — except its retired codes and one redirect-change entry."""

from __future__ import annotations

from typing import Any

from schema_rows import T0, Made, fill_workspace, insert_row
from sqlalchemy import func, select

from factories import domain, workspace
from hoplink.storage import tables as t
from hoplink.storage.tx import Tx

Snapshot = dict[str, list[str]]


async def _snapshot(tx: Tx) -> Snapshot:
    """Every row of every table, as text, sorted: two snapshots compare whole databases."""
    out: Snapshot = {}
    for table in t.metadata.sorted_tables:
        rows = await tx.conn.execute(select(table))
        out[table.name] = sorted(repr(tuple(row)) for row in rows)
    return out


async def _changes(tx: Tx) -> list[tuple[str, str]]:
    rows = await tx.conn.execute(select(t.redirect_changes.c.kind, t.redirect_changes.c.ref))
    return sorted((kind, ref or "") for kind, ref in rows)


async def _user(tx: Tx, tag: str) -> str:
    made = await insert_row(tx, t.users, tag, {}, email=f"{tag}@example.com")
    return str(made["id"])


async def _extras(tx: Tx, made: Made, platform_id: str, tag: str) -> dict[str, Any]:
    """The rows that reach a workspace without a ``workspace_id`` column: tag pairs,
    visitor sets of the workspace and of its link, change-log entries, webhook attempts;
    and a second link, on the platform's domain."""
    ws_id, link_id = made["workspaces"]["id"], made["links"]["id"]
    on_platform = await insert_row(
        tx, t.links, tag, made, workspace_id=ws_id, domain_id=platform_id, code=f"{tag}-code"
    )
    await insert_row(tx, t.link_tags, tag, made)
    for scope in (ws_id, link_id, on_platform["id"]):
        for grain in ("h", "d"):
            await insert_row(tx, t.visitor_seen, tag, made, grain=grain, scope_id=scope)
    await insert_row(tx, t.redirect_changes, tag, made, at=T0, kind="workspace", ref=ws_id)
    await insert_row(tx, t.redirect_changes, tag, made, at=T0, kind="link", ref=link_id)
    await insert_row(tx, t.webhook_attempts, tag, made)
    return on_platform


async def test_erase_leaves_no_row_of_the_workspace_and_touches_no_other(tx: Tx) -> None:
    platform = await domain(tx)
    gone, kept = await workspace(tx, "Gone Shop"), await workspace(tx, "Kept Shop")
    shared = await _user(tx, "shared")  # a member of both: stays
    kept_made = await fill_workspace(tx, kept.id, shared, "k")
    await _extras(tx, kept_made, platform.id, "k")
    before = await _snapshot(tx)

    only_gone = await _user(tx, "alone")  # a member of the erased one alone: goes with it
    gone_made = await fill_workspace(tx, gone.id, only_gone, "g")
    await insert_row(
        tx, t.memberships, "g", gone_made, workspace_id=gone.id, user_id=shared, role="member"
    )
    on_platform = await _extras(tx, gone_made, platform.id, "g")
    owned = [tb for tb in t.metadata.sorted_tables if "workspace_id" in tb.c]
    for table in owned:  # the test reaches every table: a missed one would show
        n = await tx.conn.scalar(
            select(func.count()).select_from(table).where(table.c.workspace_id == gone.id)
        )
        assert n, f"no row of the erased workspace in {table.name}"
    changes_before = await _changes(tx)

    counts = await tx.privacy.erase(gone.id, T0)

    after = await _snapshot(tx)
    # Its change-log entries are gone, and one "everything changed" entry naming nobody
    # tells the redirect nodes.
    kept_changes = [c for c in changes_before if c[1] not in (gone.id, gone_made["links"]["id"])]
    assert len(kept_changes) == len(changes_before) - 2
    assert await _changes(tx) == sorted([*kept_changes, ("all", "")])
    # Its code on the platform domain is retired (never handed out again); the code on its
    # own custom domain is kept reserved by the host name's hash, naming no domain.
    retired = (await tx.conn.execute(select(t.retired_codes))).all()
    assert [(r.domain_id, r.code) for r in retired] == [(platform.id, on_platform["code"])]
    own = gone_made["domains"]
    own_codes = [r.code for r in (await tx.conn.execute(select(t.retired_host_codes))).all()]
    assert own_codes == [gone_made["links"]["code"]] and own["id"] != platform.id
    before["workspaces"] = [r for r in before["workspaces"] if gone.id not in r]
    for name in ("redirect_changes", "retired_codes", "retired_host_codes"):
        del before[name], after[name]
    assert [name for name in before if after[name] != before[name]] == []
    assert counts["workspaces"] == 1 and counts["users"] == 1 and counts["links"] == 2
    assert counts["visitor_seen"] == 6 and counts["link_tags"] == 1
    assert counts["memberships"] == 2


async def test_erasing_a_workspace_twice_or_an_unknown_one_deletes_nothing(tx: Tx) -> None:
    platform = await domain(tx)
    kept = await workspace(tx, "Kept Shop")
    made = await fill_workspace(tx, kept.id, await _user(tx, "k"), "k")
    await _extras(tx, made, platform.id, "k")
    before = await _snapshot(tx)
    assert await tx.privacy.erase("ws_unknown", T0) == {}
    after = await _snapshot(tx)
    assert len(after["redirect_changes"]) == len(before["redirect_changes"]) + 1
    del before["redirect_changes"], after["redirect_changes"]
    assert [name for name in before if after[name] != before[name]] == []
