"""/api/v1/workspace/short-domains — the workspace's own short domains (issue 16).

Listing needs ``links:read``; adding, checking, changing and removing need
``workspace:admin`` (a domain's settings change what every visitor of it sees). Transfer,
suspension and approval are the operator's: CLI and admin pages, never this API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from hoplink.accounts.models import Scope
from hoplink.api.deps import LinksRead, Principal, RuntimeDep, require
from hoplink.api.schemas import _In, problem_responses
from hoplink.domains import service
from hoplink.domains.models import proof_records
from hoplink.domains.verification import ShortDomainVerifier
from hoplink.links.models import ShortDomain

router = APIRouter(
    tags=["short domains"], responses=problem_responses(400, 401, 403, 404, 422, 429)
)
DomainAdmin = Annotated[Principal, Depends(require(Scope.WORKSPACE_ADMIN))]


class ShortDomainIn(_In):
    hostname: str = Field(max_length=300, description="e.g. go.brand.com (no scheme)")


class ShortDomainSettingsIn(_In):
    root_url: str | None = Field(
        None, max_length=4096, description='Where "/" redirects; null or "": hoplink\'s page'
    )
    not_found_url: str | None = Field(
        None, max_length=4096, description="Where unknown codes redirect; null: hoplink's page"
    )
    robots: str | None = Field(
        None, max_length=4000, description="robots.txt; null: disallow everything"
    )
    forward_query: bool | None = Field(None, description="Default of new links' forward_query")
    workspace_default: bool | None = Field(None, description="New links go here by default")


class DnsRecordOut(BaseModel):
    type: str = Field(description="TXT or CNAME")
    name: str
    value: str


class ShortDomainOut(BaseModel):
    id: str
    hostname: str
    status: str = Field(description="pending, verified, suspended or removed")
    method: str | None = Field(description="dns_txt, cname or admin, once verified")
    records: list[DnsRecordOut] = Field(description="Publish either record, then check")
    last_error: str | None
    root_url: str | None
    not_found_url: str | None
    robots: str | None
    forward_query: bool
    workspace_default: bool
    checked_at: datetime | None = Field(description="When the proof was last checked")
    check_passed: bool | None = Field(
        description="Whether that check found the proof (None: never checked)"
    )
    failed_checks: int = Field(
        description="Checks in a row that found no proof while verified (0: none); the "
        "verification lapses after HOPLINK_DOMAIN_RECHECK_FAILURES of them over "
        "HOPLINK_DOMAIN_RECHECK_GRACE_HOURS"
    )
    failing_since: datetime | None = Field(description="The first of those failed checks")
    next_check_at: datetime | None = Field(description="The next periodic re-check (verified)")
    verified_at: datetime | None

    @classmethod
    def of(cls, d: ShortDomain, cname_target: str) -> ShortDomainOut:
        return cls(
            id=d.id,
            hostname=d.hostname,
            status=d.status,
            method=d.method,
            records=[
                DnsRecordOut(type=r.type, name=r.name, value=r.value)
                for r in proof_records(d, cname_target)
            ],
            last_error=d.last_error,
            root_url=d.root_url,
            not_found_url=d.not_found_url,
            robots=d.robots,
            forward_query=d.forward_query,
            workspace_default=d.workspace_default,
            checked_at=d.checked_at,
            check_passed=None if d.checked_at is None else d.last_error is None,
            failed_checks=d.failed_checks,
            failing_since=d.failing_since,
            next_check_at=d.next_check_at,
            verified_at=d.verified_at,
        )


@router.get(
    "/workspace/short-domains",
    response_model=list[ShortDomainOut],
    summary="List your custom short domains",
)
async def list_short_domains(who: LinksRead, runtime: RuntimeDep) -> list[ShortDomainOut]:
    async with runtime.db.transaction(write=False) as tx:
        found = await tx.short_domains.of_workspace(who.workspace.id)
    target = runtime.settings.custom_domain_cname_target
    return [ShortDomainOut.of(d, target) for d in found]


@router.post(
    "/workspace/short-domains",
    status_code=201,
    response_model=ShortDomainOut,
    summary="Claim a custom short domain; returns the DNS records that prove it",
)
async def add_short_domain(
    body: ShortDomainIn, who: DomainAdmin, runtime: RuntimeDep
) -> ShortDomainOut:
    async with runtime.db.transaction() as tx:
        domain = await service.add_domain(
            tx,
            workspace=who.workspace,
            hostname=body.hostname,
            settings=runtime.settings,
            policy=runtime.link_rules.policy,
        )
    return ShortDomainOut.of(domain, runtime.settings.custom_domain_cname_target)


@router.post(
    "/workspace/short-domains/{domain_id}/verify",
    response_model=ShortDomainOut,
    summary="Look up the DNS records now",
)
async def verify_short_domain(
    domain_id: str, who: DomainAdmin, runtime: RuntimeDep
) -> ShortDomainOut:
    async with runtime.db.transaction(write=False) as tx:
        domain = await service.find_domain(tx, workspace=who.workspace, ref=domain_id)
    outcome = await ShortDomainVerifier.from_settings(runtime.settings).check(domain)
    async with runtime.db.transaction() as tx:  # no transaction held during the lookups
        domain = await service.record_check(tx, domain=domain, outcome=outcome, actor=who.actor)
    return ShortDomainOut.of(domain, runtime.settings.custom_domain_cname_target)


@router.patch(
    "/workspace/short-domains/{domain_id}",
    response_model=ShortDomainOut,
    summary="Change root/404 redirects, robots.txt and link defaults",
)
async def update_short_domain(
    domain_id: str, body: ShortDomainSettingsIn, who: DomainAdmin, runtime: RuntimeDep
) -> ShortDomainOut:
    sent: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    async with runtime.db.transaction() as tx:
        domain = await service.update_settings(
            tx,
            workspace=who.workspace,
            ref=domain_id,
            policy=runtime.link_rules.policy,
            **sent,
        )
    return ShortDomainOut.of(domain, runtime.settings.custom_domain_cname_target)


@router.delete(
    "/workspace/short-domains/{domain_id}",
    status_code=204,
    summary="Stop serving a domain (its links' codes stay reserved)",
)
async def remove_short_domain(domain_id: str, who: DomainAdmin, runtime: RuntimeDep) -> Response:
    async with runtime.db.transaction() as tx:
        await service.remove_domain(tx, workspace=who.workspace, ref=domain_id, actor=who.actor)
    return Response(status_code=204)
