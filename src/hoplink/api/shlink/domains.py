"""/rest/v3/domains, /rest/v3/health, /rest/v3/mercure-info."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import JSONResponse

from hoplink.api.shlink.common import not_mapped
from hoplink.api.shlink.deps import LinksRead, RuntimeDep, WorkspaceAdmin
from hoplink.api.shlink.problems import ShlinkProblem, invalid_data
from hoplink.api.shlink.schemas import (
    Domain,
    DomainList,
    DomainRedirects,
    DomainRedirectsEdit,
    DomainsOut,
    Health,
    problem_responses,
)
from hoplink.domains import service as domain_service
from hoplink.errors import FieldError, InvalidInput
from hoplink.links.models import ShortDomain

router = APIRouter(tags=["domains"])

# The Shlink version hoplink answers as: Shlink's clients enable features by it, and
# every feature of it they use is mapped here (see docs/shlink-compat.md).
SHLINK_VERSION = "5.0.0"


def _redirects(d: ShortDomain) -> DomainRedirects:
    """Shlink's three redirects from a domain's two: an unknown code and an invalid one
    are the same thing in hoplink (its 404 redirect)."""
    return DomainRedirects(
        baseUrlRedirect=d.root_url,
        regular404Redirect=d.not_found_url,
        invalidShortUrlRedirect=d.not_found_url,
    )


@router.get("/domains", response_model=DomainsOut, summary="Short-link domains the key may use")
async def list_domains(who: LinksRead, runtime: RuntimeDep) -> DomainsOut:
    async with runtime.db.transaction(write=False) as tx:
        domains = await tx.short_domains.usable_by(who.workspace.id)
    data = [
        Domain(domain=d.hostname, isDefault=d.is_default, redirects=_redirects(d)) for d in domains
    ]
    return DomainsOut(domains=DomainList(data=data, defaultRedirects=DomainRedirects()))


@router.patch(
    "/domains/redirects",
    response_model=DomainRedirectsEdit,
    summary="Set a custom domain's root and 404 redirects (workspace:admin)",
    responses=problem_responses(400, 403, 404),
)
async def edit_domain_redirects(
    body: DomainRedirectsEdit, who: WorkspaceAdmin, runtime: RuntimeDep
) -> DomainRedirectsEdit:
    sent = body.model_fields_set
    if {
        "regular404Redirect",
        "invalidShortUrlRedirect",
    } <= sent and body.regular404Redirect != body.invalidShortUrlRedirect:
        raise not_mapped(
            "invalidShortUrlRedirect",
            "hoplink has one 404 redirect per domain: send the same URL as regular404Redirect",
        )
    changes: dict[str, str | None] = {}
    if "baseUrlRedirect" in sent:
        changes["root_url"] = body.baseUrlRedirect
    for name in ("regular404Redirect", "invalidShortUrlRedirect"):
        if name in sent:
            changes["not_found_url"] = getattr(body, name)
    async with runtime.db.transaction() as tx:
        found = await tx.short_domains.by_hostname(body.domain.strip().lower())
        if found is None or found.workspace_id != who.workspace.id:
            if found is not None and found.workspace_id is None:
                raise not_mapped("domain", "the platform's domains are the operator's to set")
            raise ShlinkProblem(
                404,
                "domain-not-found",
                "Domain not found",
                f'Domain with authority "{body.domain}" could not be found',
                authority=body.domain,
            )
        try:
            updated = await domain_service.update_settings(
                tx,
                workspace=who.workspace,
                ref=found.id,
                policy=runtime.link_rules.policy,
                **changes,  # type: ignore[arg-type]
            )
        except InvalidInput as exc:
            named = [
                FieldError(_SHLINK_NAMES.get(e.field or "", e.field or ""), e.code, e.message)
                for e in exc.errors
            ]
            raise invalid_data(named) from None
    return DomainRedirectsEdit(domain=updated.hostname, **_redirects(updated).model_dump())


_SHLINK_NAMES = {"root_url": "baseUrlRedirect", "not_found_url": "regular404Redirect"}


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
