"""/rest/v3/domains, /rest/v3/health, /rest/v3/mercure-info."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import JSONResponse

from hoplink.api.shlink.common import not_mapped
from hoplink.api.shlink.deps import LinksRead, LinksWrite, RuntimeDep
from hoplink.api.shlink.problems import ShlinkProblem
from hoplink.api.shlink.schemas import (
    Domain,
    DomainList,
    DomainRedirects,
    DomainRedirectsEdit,
    DomainsOut,
    Health,
    problem_responses,
)

router = APIRouter(tags=["domains"])

# The Shlink version hoplink answers as: Shlink's clients enable features by it, and
# every feature of it they use is mapped here (see docs/shlink-compat.md).
SHLINK_VERSION = "5.0.0"


@router.get("/domains", response_model=DomainsOut, summary="Short-link domains the key may use")
async def list_domains(who: LinksRead, runtime: RuntimeDep) -> DomainsOut:
    async with runtime.db.transaction(write=False) as tx:
        domains = await tx.domains.usable_by(who.workspace.id)
    data = [
        Domain(domain=d.hostname, isDefault=d.is_default, redirects=DomainRedirects())
        for d in domains
    ]
    return DomainsOut(domains=DomainList(data=data, defaultRedirects=DomainRedirects()))


@router.patch(
    "/domains/redirects",
    response_model=DomainRedirectsEdit,
    summary="Domain redirects (not supported: hoplink has none per domain yet)",
)
async def edit_domain_redirects(
    body: DomainRedirectsEdit, who: LinksWrite, runtime: RuntimeDep
) -> DomainRedirectsEdit:
    raise not_mapped("domain", "hoplink has no per-domain redirects yet")


def health_response() -> JSONResponse:
    body = Health(
        status="pass",
        version=SHLINK_VERSION,
        links={"about": "https://shlink.io", "project": "https://github.com/shlinkio/shlink"},
    )
    return JSONResponse(body.model_dump(), media_type="application/health+json")


@router.get(
    "/health",
    response_model=Health,
    summary="Health, and the Shlink version answered as (no key needed)",
    responses={200: {"content": {"application/health+json": {}}}},
    response_class=JSONResponse,
)
async def health() -> JSONResponse:
    return health_response()


@router.get(
    "/mercure-info",
    summary="Real-time updates (not configured: no Mercure hub)",
    status_code=501,
    responses=problem_responses(501),
)
async def mercure_info(who: LinksRead) -> None:
    raise ShlinkProblem(
        501,
        "mercure-not-configured",
        "Mercure integration not configured",
        "This Shlink instance is not integrated with a mercure hub.",
    )
