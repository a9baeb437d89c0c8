"""The Shlink API's caller: ``X-Api-Key`` mapped onto hoplink's API keys and scopes."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from hoplink.accounts.models import Scope
from hoplink.api.deps import Principal, principal_for_key
from hoplink.api.shlink.problems import ShlinkProblem
from hoplink.errors import PermissionDenied
from hoplink.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

_header = APIKeyHeader(
    name="X-Api-Key",
    auto_error=False,
    description="A hoplink API key; its workspace is the one managed, its scopes apply.",
)


async def _principal(
    runtime: RuntimeDep, raw: Annotated[str | None, Depends(_header)]
) -> Principal:
    if raw is None or not raw.strip():
        raise ShlinkProblem(
            401,
            "missing-authentication",
            "Invalid authorization",
            'Expected one of the following authentication headers, ["X-Api-Key"],'
            " but none were provided",
            expectedTypes=["X-Api-Key"],
        )
    return await principal_for_key(runtime, raw.strip())


def require(scope: Scope) -> Callable[..., Coroutine[Any, Any, Principal]]:
    async def _check(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        if scope not in principal.key.scopes:
            raise PermissionDenied(f"this API key lacks the '{scope.value}' scope")
        return principal

    return _check


LinksRead = Annotated[Principal, Depends(require(Scope.LINKS_READ))]
LinksWrite = Annotated[Principal, Depends(require(Scope.LINKS_WRITE))]
# A domain's redirects change what every visitor of it sees: as in /api/v1, workspace:admin.
WorkspaceAdmin = Annotated[Principal, Depends(require(Scope.WORKSPACE_ADMIN))]
StatsRead = Annotated[Principal, Depends(require(Scope.STATS_READ))]
