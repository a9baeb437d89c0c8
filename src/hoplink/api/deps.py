"""Typed dependencies of the REST API: runtime, the calling key, scope checks."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hoplink.accounts import apikeys
from hoplink.accounts.models import ApiKey, Scope
from hoplink.errors import AuthenticationFailed, PermissionDenied, WorkspaceSuspended
from hoplink.ratelimit import enforce, parse_limit
from hoplink.redirect.edge import ClickCapture
from hoplink.runtime import Runtime
from hoplink.workspaces.models import Workspace, WorkspaceStatus


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an API key and the workspace it belongs to."""

    key: ApiKey
    workspace: Workspace

    @property
    def actor(self) -> str:
        return f"key:{self.key.id}"


# Declares the scheme in the OpenAPI document (the "Authorize" button of /api/docs);
# the checks and the 401 are ours.
_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer hl_…`")


async def _principal(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials.strip():
        raise AuthenticationFailed("send your API key as 'Authorization: Bearer <key>'")
    return await principal_for_key(runtime, credentials.credentials.strip())


async def principal_for_key(runtime: Runtime, raw_key: str) -> Principal:
    """The key's principal after every check a keyed call passes (also the Shlink API's)."""
    async with runtime.db.transaction(write=False) as tx:
        key = await apikeys.authenticate(tx, raw_key)
        workspace = await tx.workspaces.get(key.workspace_id)
    if workspace is None:
        raise AuthenticationFailed("invalid or revoked API key")
    if apikeys.needs_touch(key):
        async with runtime.db.transaction() as tx:
            await apikeys.touch(tx, key)
    if workspace.status is WorkspaceStatus.SUSPENDED:
        raise WorkspaceSuspended("this workspace is suspended; contact the platform operator")
    await enforce(
        runtime.rate_limiter,
        parse_limit("api_key", runtime.settings.rate_limit_api_key),
        key.id,
        message="this API key has made too many requests",
    )
    return Principal(key=key, workspace=workspace)


def client_ip(request: Request, runtime: RuntimeDep) -> str | None:
    """The caller's address, as the redirect edge works it out (trusted proxies honoured);
    for rate limits only, never stored."""
    capture = ClickCapture(
        salts=runtime.salts,
        geo=runtime.geo,
        trusted=runtime.trusted_proxies,
        client_ip_header=runtime.settings.client_ip_header,
    )
    peer = request.client.host if request.client else None
    return capture.client_ip(peer, request.scope["headers"])[0]


ClientIP = Annotated[str | None, Depends(client_ip)]


def require(scope: Scope) -> Callable[..., Coroutine[Any, Any, Principal]]:
    async def _check(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        if scope not in principal.key.scopes:
            raise PermissionDenied(f"this API key lacks the '{scope.value}' scope")
        return principal

    return _check


LinksRead = Annotated[Principal, Depends(require(Scope.LINKS_READ))]
LinksWrite = Annotated[Principal, Depends(require(Scope.LINKS_WRITE))]
AnyKey = Annotated[Principal, Depends(_principal)]
