"""API keys on the wire: bearer auth, scopes, revocation, suspension."""

from __future__ import annotations

from api_client import Api, assert_problem
from hoplink.accounts.apikeys import revoke_api_key
from hoplink.accounts.models import Scope
from hoplink.workspaces.models import WorkspaceStatus
from hoplink.workspaces.service import set_status


async def test_missing_and_malformed_keys_get_401_problem(api: Api) -> None:
    r = await api.http.get("/api/v1/links")
    body = assert_problem(r, 401, "unauthenticated")
    assert "Bearer" in body["detail"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    for header in ("Bearer nope", "Basic abc", "Bearer hl_AAAAAAAAAA_" + "A" * 32):
        r = await api.http.get("/api/v1/links", headers={"Authorization": header})
        assert_problem(r, 401, "unauthenticated")


async def test_revoked_key_is_refused_at_once(api: Api) -> None:
    ws, auth = await api.tenant()
    assert (await api.http.get("/api/v1/workspace", headers=auth)).status_code == 200
    async with api.db.transaction() as tx:
        [key] = await tx.api_keys.for_workspace(ws.id)
        await revoke_api_key(tx, workspace_id=ws.id, key_id=key.id)
    r = await api.http.get("/api/v1/workspace", headers=auth)
    assert_problem(r, 401, "unauthenticated")


async def test_key_records_last_use(api: Api) -> None:
    ws, auth = await api.tenant()
    await api.http.get("/api/v1/workspace", headers=auth)
    async with api.db.transaction() as tx:
        [key] = await tx.api_keys.for_workspace(ws.id)
    assert key.last_used_at is not None


async def test_scope_is_enforced(api: Api) -> None:
    _, auth = await api.tenant(scopes=frozenset({Scope.LINKS_READ}))
    assert (await api.http.get("/api/v1/links", headers=auth)).status_code == 200
    r = await api.http.post(
        "/api/v1/links", json={"url": "https://shop.example.com/"}, headers=auth
    )
    body = assert_problem(r, 403, "forbidden")
    assert "links:write" in body["detail"]


async def test_suspended_workspace_gets_clear_error(api: Api) -> None:
    ws, auth = await api.tenant()
    async with api.db.transaction() as tx:
        await set_status(tx, ref=ws.id, status=WorkspaceStatus.SUSPENDED)
    r = await api.http.get("/api/v1/links", headers=auth)
    assert_problem(r, 403, "workspace_suspended")


async def test_workspace_endpoint_describes_the_key(api: Api) -> None:
    ws, auth = await api.tenant()
    body = (await api.http.get("/api/v1/workspace", headers=auth)).json()
    assert body["id"] == ws.id
    assert body["api_key"]["scopes"] == [
        "conversions:write",
        "links:read",
        "links:write",
        "rates:write",
        "stats:read",
        "workspace:admin",
    ]
    assert "facebook" in body["channels"]
    assert "key_hash" not in str(body)
