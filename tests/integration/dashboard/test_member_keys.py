"""API keys do not outlive the member who made them: removing a member revokes, in the same
transaction, the keys they created in that workspace (audited with the reason); the
removal form says how many. Keys of other members, of the CLI and of other workspaces
stay. Real app, SQLite and PostgreSQL."""

from __future__ import annotations

import re

from dashboard_harness import Dash

from hoplink import audit
from hoplink.accounts.apikeys import create_api_key
from hoplink.accounts.models import Scope
from hoplink.workspaces.models import Role, Workspace

READ = frozenset({Scope.LINKS_READ})


async def _key(dash: Dash, ws: Workspace, created_by: str | None, name: str) -> str:
    async with dash.db.transaction() as tx:
        _, raw = await create_api_key(
            tx, workspace=ws, name=name, scopes=READ, created_by=created_by
        )
    return raw


async def _status(dash: Dash, raw: str) -> int:
    r = await dash.browser().http.get("/api/v1/links", headers={"Authorization": f"Bearer {raw}"})
    return r.status_code


async def test_removing_a_member_revokes_the_keys_they_created(dash: Dash) -> None:
    ws = await dash.workspace()
    other_ws = await dash.workspace("Other Store")
    owner = await dash.user("owner@example.com", ws, Role.OWNER)
    mia = await dash.user("mia@example.com", ws, Role.ADMIN)
    await dash.user("mia-elsewhere@example.com", other_ws, Role.OWNER)
    async with dash.db.transaction() as tx:
        from hoplink.accounts.users import add_member

        await add_member(tx, user=mia, workspace=other_ws, role=Role.ADMIN)
    mias = [await _key(dash, ws, f"user:{mia.id}", f"mia {i}") for i in range(2)]
    mias_elsewhere = await _key(dash, other_ws, f"user:{mia.id}", "mia other")
    owners = await _key(dash, ws, f"user:{owner.id}", "owner")
    clis = await _key(dash, ws, "cli", "from the CLI")
    keyless = await _key(dash, ws, None, "nobody's")
    for raw in (*mias, mias_elsewhere, owners, clis, keyless):
        assert await _status(dash, raw) == 200

    b = dash.browser()
    await b.sign_in("owner@example.com")
    page = await b.get(f"/app/w/{ws.slug}/settings")
    row = re.search(r"<tr>\s*<td>mia@example.com.*?</tr>", page.text, re.S)
    assert row and "API keys revoked on removal: 2" in row.group(0)
    own_row = re.search(r"<tr>\s*<td>owner@example.com.*?</tr>", page.text, re.S)
    assert own_row and "revoked on removal" not in own_row.group(0)

    removed = await b.post(f"/app/w/{ws.slug}/settings/members/{mia.id}/remove")
    assert removed.status_code == 303
    for raw in mias:
        assert await _status(dash, raw) == 401
    for raw in (mias_elsewhere, owners, clis, keyless):
        assert await _status(dash, raw) == 200
    async with dash.db.transaction(write=False) as tx:
        revoked = await tx.audit.search(workspace_id=ws.id, action=audit.APIKEY_REVOKED)
    assert len(revoked) == 2
    assert all(e.detail.get("reason") == "member_removed" for e in revoked)
    assert all(e.actor == f"user:{owner.id}" for e in revoked)
    async with dash.db.transaction(write=False) as tx:
        elsewhere = await tx.audit.search(workspace_id=other_ws.id, action=audit.APIKEY_REVOKED)
    assert elsewhere == []


async def test_a_refused_removal_revokes_nothing(dash: Dash) -> None:
    ws = await dash.workspace()
    owner = await dash.user("solo@example.com", ws, Role.OWNER)
    raw = await _key(dash, ws, f"user:{owner.id}", "solo")
    async with dash.db.transaction() as tx:
        from hoplink.accounts.users import remove_member
        from hoplink.errors import Conflict

        try:
            await remove_member(tx, workspace_id=ws.id, user_id=owner.id)
        except Conflict:
            pass
        else:
            raise AssertionError("the last owner was removed")
    assert await _status(dash, raw) == 200
