"""/api/v1/workspace/domains — destination domains a workspace verifies (issue 6).

In allowlist mode a link may point at a verified domain (or its subdomains) besides the
platform allowlist. Reading needs ``links:read``; adding, checking and removing need
``links:write`` (verification proves control of the domain, so the scope adds no reach).
Admin approval is not an API operation: platform admins use the CLI or the admin pages.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from hoplink.api.deps import LinksRead, LinksWrite, RuntimeDep
from hoplink.api.schemas import _In, problem_responses
from hoplink.safety import destination_domains
from hoplink.safety.models import DestinationDomain

router = APIRouter(tags=["domains"], responses=problem_responses(400, 401, 403, 404, 422, 429))


class DomainIn(_In):
    hostname: str = Field(
        max_length=300, description="A domain you control, e.g. shop.example.com (no scheme)"
    )


class DomainOut(BaseModel):
    id: str
    hostname: str = Field(description="Lower-case ASCII (IDN in punycode)")
    status: str = Field(description="pending, verified or failed")
    method: str | None = Field(description="well_known, dns_txt or admin, once verified")
    token: str
    well_known_url: str = Field(description="Serve the token (as the body) at this URL, or …")
    txt_record: str = Field(description="… publish this TXT record on the domain")
    last_error: str | None = Field(description="What the last failed check found")
    created_at: datetime
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
    def of(cls, d: DestinationDomain) -> DomainOut:
        return cls(
            id=d.id,
            hostname=d.hostname,
            status=d.status.value,
            method=d.method.value if d.method else None,
            token=d.token,
            well_known_url=f"https://{d.hostname}{destination_domains.WELL_KNOWN}{d.token}",
            txt_record=f"{destination_domains.TXT_PREFIX}{d.token}",
            last_error=d.last_error,
            created_at=d.created_at,
            checked_at=d.checked_at,
            check_passed=None if d.checked_at is None else d.last_error is None,
            failed_checks=d.failed_checks,
            failing_since=d.failing_since,
            next_check_at=d.next_check_at,
            verified_at=d.verified_at,
        )


@router.get("/workspace/domains", response_model=list[DomainOut], summary="List claimed domains")
async def list_domains(who: LinksRead, runtime: RuntimeDep) -> list[DomainOut]:
    async with runtime.db.transaction(write=False) as tx:
        found = await tx.destination_domains(who.workspace.id).all()
    return [DomainOut.of(d) for d in found]


@router.post(
    "/workspace/domains",
    status_code=201,
    response_model=DomainOut,
    summary="Claim a domain; returns the token to publish",
)
async def add_domain(body: DomainIn, who: LinksWrite, runtime: RuntimeDep) -> DomainOut:
    async with runtime.db.transaction() as tx:
        domain = await destination_domains.add_domain(
            tx,
            workspace=who.workspace,
            hostname=body.hostname,
            policy=runtime.link_rules.policy,
        )
    return DomainOut.of(domain)


@router.post(
    "/workspace/domains/{domain_id}/verify",
    response_model=DomainOut,
    summary="Check the well-known URL and the TXT record now",
)
async def verify_domain(domain_id: str, who: LinksWrite, runtime: RuntimeDep) -> DomainOut:
    async with runtime.db.transaction(write=False) as tx:
        domain = await destination_domains.find_domain(tx, workspace=who.workspace, ref=domain_id)
    outcome = await destination_domains.Verifier.from_settings(runtime.settings).check(
        domain
    )  # no transaction held meanwhile
    async with runtime.db.transaction() as tx:
        domain = await destination_domains.record_outcome(
            tx, workspace=who.workspace, domain=domain, outcome=outcome, actor=who.actor
        )
    return DomainOut.of(domain)


@router.delete("/workspace/domains/{domain_id}", status_code=204, summary="Remove a domain")
async def delete_domain(domain_id: str, who: LinksWrite, runtime: RuntimeDep) -> Response:
    async with runtime.db.transaction() as tx:
        await destination_domains.delete_domain(tx, workspace=who.workspace, ref=domain_id)
    return Response(status_code=204)
