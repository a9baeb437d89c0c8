"""Deleting a link at the repository, on real SQLite and PostgreSQL (each test rolled back):
a tombstone that no read returns, whose code stays taken, whose tags are detached and whose
change reaches the redirect change log; never a link of another workspace."""

from __future__ import annotations

from datetime import timedelta

from schema_rows import T0, link_row
from sqlalchemy import func, select

from factories import domain, workspace
from hoplink.storage import tables as t
from hoplink.storage.tx import Tx


async def _link_changes(tx: Tx) -> list[str]:
    c = t.redirect_changes.c
    rows = await tx.conn.execute(select(c.ref).where(c.kind == "link").order_by(c.id))
    return [str(r) for r in rows.scalars()]


async def _tag_pairs(tx: Tx, link_id: str) -> int:
    q = select(func.count()).select_from(t.link_tags).where(t.link_tags.c.link_id == link_id)
    return int(await tx.conn.scalar(q) or 0)


async def test_a_deleted_link_is_a_tombstone_whose_code_stays_taken(tx: Tx) -> None:
    dom = await domain(tx)
    ws = await workspace(tx)
    repo = tx.links(ws.id)
    gone = await link_row(tx, ws.id, dom.id, "goneCode", created_at=T0)
    kept = await link_row(tx, ws.id, dom.id, "keptCode", created_at=T0)
    tags = await repo.ensure_tags(["sale", "q4"], T0)
    await repo.set_tags({gone: list(tags.values()), kept: [tags["sale"]]}, new=True)
    start = await _link_changes(tx)
    at = T0 + timedelta(hours=1)

    assert await repo.mark_deleted(gone, at) is True

    assert await repo.get(gone) is None
    assert await repo.by_code(dom.id, "goneCode") is None
    assert [link.id for link in await repo.get_many([gone, kept])] == [kept]
    assert await repo.codes_taken(dom.id, ["goneCode", "freeCode"]) == {"goneCode"}
    assert await _tag_pairs(tx, gone) == 0 and await _tag_pairs(tx, kept) == 1
    assert await repo.count_created_since(T0) == 2  # quotas count deleted links too
    row = (await tx.conn.execute(select(t.links).where(t.links.c.id == gone))).one()
    assert (row.deleted_at, row.archived, row.updated_at) == (at, True, at)
    assert await _link_changes(tx) == [*start, gone]
    # Deleting it again changes nothing and logs nothing.
    assert await repo.mark_deleted(gone, at + timedelta(hours=1)) is False
    assert await _link_changes(tx) == [*start, gone]


async def test_a_workspace_cannot_delete_or_see_another_workspaces_link(tx: Tx) -> None:
    dom = await domain(tx)
    ws, other = await workspace(tx), await workspace(tx, "Other Shop")
    theirs = await link_row(tx, other.id, dom.id, "theirCode")
    await tx.links(other.id).set_tags(
        {theirs: list((await tx.links(other.id).ensure_tags(["vip"], T0)).values())}, new=True
    )
    start = await _link_changes(tx)
    mine = tx.links(ws.id)
    assert await mine.mark_deleted(theirs, T0) is False
    assert await mine.get(theirs) is None
    assert await mine.update(theirs, {"destination_url": "https://evil.example/"}) is False
    assert await _link_changes(tx) == start
    assert await _tag_pairs(tx, theirs) == 1
    found = await tx.links(other.id).get(theirs)
    assert found is not None and found.tags == ["vip"]
    # Codes are one namespace per domain: taken for every workspace.
    assert await mine.codes_taken(dom.id, ["theirCode"]) == {"theirCode"}
