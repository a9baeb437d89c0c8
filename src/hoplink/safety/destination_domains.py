"""Domain verification: a workspace proves it controls a destination domain.

Three ways, tried in this order by ``Verifier.check``:

1. ``https://<domain>/.well-known/hoplink-verification/<token>`` (then ``http://``) answers
   200 with a body containing the token, fetched through the safe fetcher;
2. a DNS TXT record ``hoplink-verification=<token>`` on the domain;
3. a platform admin approves it (``approve_domain``), e.g. for a marketplace's own shops.

The network checks run outside any database transaction; the caller records the outcome.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import dns.exception

from hoplink import audit
from hoplink.errors import FieldError, InvalidInput, NotFound
from hoplink.ids import new_id, utcnow
from hoplink.net.addresses import host_address
from hoplink.net.dns import txt_lookup
from hoplink.net.fetch import FetchError, SafeFetcher
from hoplink.safety.grace import Grace
from hoplink.safety.models import (
    DestinationDomain,
    DestinationDomainMethod,
    DestinationDomainStatus,
)
from hoplink.safety.policy import DestinationPolicy, PolicyMode, split_host_port
from hoplink.storage.tx import Tx

if TYPE_CHECKING:
    from hoplink.config import Settings
from hoplink.workspaces.models import Workspace

TXT_PREFIX = "hoplink-verification="
WELL_KNOWN = "/.well-known/hoplink-verification/"
MAX_DOMAINS = 50

TxtLookup = Callable[[str], Awaitable[list[str]]]


@dataclass(frozen=True, slots=True)
class Outcome:
    method: DestinationDomainMethod | None  # None: not verified
    error: str | None  # what each way found, for the seller


@dataclass(slots=True)
class Verifier:
    fetcher: SafeFetcher
    txt: TxtLookup

    @classmethod
    def from_settings(cls, settings: Settings) -> Verifier:
        return cls(SafeFetcher.from_settings(settings), txt_lookup(settings.outbound_dns_servers))

    async def check(self, domain: DestinationDomain) -> Outcome:
        problems: list[str] = []
        for scheme in ("https", "http"):
            url = f"{scheme}://{domain.hostname}{WELL_KNOWN}{domain.token}"
            try:
                result = await self.fetcher.get(url)
            except FetchError as exc:
                problems.append(f"{scheme}: {exc.message}")
                continue
            if result.status == 200 and domain.token.encode("ascii") in result.body:
                return Outcome(DestinationDomainMethod.WELL_KNOWN, None)
            problems.append(f"{scheme}: answered {result.status} without the token")
        try:
            records = await self.txt(domain.hostname)
        except dns.exception.DNSException as exc:
            problems.append(f"DNS: {exc.__class__.__name__}")
        else:
            if f"{TXT_PREFIX}{domain.token}" in (r.strip() for r in records):
                return Outcome(DestinationDomainMethod.DNS_TXT, None)
            problems.append(f"DNS: no TXT record {TXT_PREFIX}{domain.token}")
        return Outcome(None, "; ".join(problems)[:300])


def normalize_hostname(raw: str, *, policy: DestinationPolicy, own_hosts: list[str]) -> str:
    """The domain as stored (lower-case ASCII); refused when no link could ever use it."""
    from hoplink.links.urls import canonicalize_destination

    text = raw.strip()
    if any(c in text for c in "/\\?#"):
        # A URL, not a domain: refused rather than cut down to its host, so what is claimed
        # is exactly what was typed (docs/security.md).
        raise InvalidInput.one(
            "hostname",
            "invalid",
            "give a domain name only, without scheme or path, e.g. shop.example.com",
        )
    try:
        url = canonicalize_destination(f"https://{text}/", field="hostname")
    except InvalidInput as exc:
        # The URL rules' words are about links ("e.g. https://example.com/"): a hostname
        # field is told about domain names.
        raise InvalidInput([_about_hostname(e) for e in exc.errors]) from None
    host, port = split_host_port(url)
    if port is not None or url != f"https://{host}/":
        raise InvalidInput.one(
            "hostname", "invalid", "give a domain name only, e.g. shop.example.com"
        )
    if host_address(host) is not None:
        raise InvalidInput.one("hostname", "ip_address", "give a domain name, not an IP address")
    # Blocks win over verification: a shortener, hoplink's own or an internal name can never
    # be verified into an allowed destination.
    open_policy = DestinationPolicy(
        mode=PolicyMode.OPEN,
        blocklist=policy.blocklist,
        shorteners=policy.shorteners,
        wildcard_dns=policy.wildcard_dns,
    )
    refused = open_policy.check(url, own_hosts=own_hosts, field="hostname")
    if refused is not None:
        raise InvalidInput(refused)
    return host


def _about_hostname(error: FieldError) -> FieldError:
    if error.code == "missing_host":  # "", ":80"
        return FieldError(
            error.field, "missing_hostname", "enter a domain name, e.g. shop.example.com"
        )
    if "https://" in error.message:  # "::1": "IPv6 addresses must be in brackets, e.g. https://…"
        return FieldError(error.field, error.code, "give a domain name, e.g. shop.example.com")
    return error


async def add_domain(
    tx: Tx, *, workspace: Workspace, hostname: str, policy: DestinationPolicy
) -> DestinationDomain:
    host = normalize_hostname(hostname, policy=policy, own_hosts=await tx.short_domains.hostnames())
    repo = tx.destination_domains(workspace.id)
    if await repo.by_hostname(host) is not None:
        raise InvalidInput.one("hostname", "duplicate", f"{host} is already on your list")
    if len(await repo.all()) >= MAX_DOMAINS:
        raise InvalidInput.one(
            "hostname", "too_many", f"a workspace can have at most {MAX_DOMAINS} domains"
        )
    domain = DestinationDomain(
        id=new_id("wdm"),
        workspace_id=workspace.id,
        hostname=host,
        token=secrets.token_urlsafe(24),
        status=DestinationDomainStatus.PENDING,
        method=None,
        last_error=None,
        created_at=utcnow(),
        checked_at=None,
        verified_at=None,
    )
    await repo.insert(domain)
    return domain


async def find_domain(tx: Tx, *, workspace: Workspace, ref: str) -> DestinationDomain:
    """A workspace's domain by id (``wdm_…``) or host name."""
    repo = tx.destination_domains(workspace.id)
    domain = await repo.get(ref) or await repo.by_hostname(ref.strip().lower().rstrip("."))
    if domain is None:
        raise NotFound("no such domain in this workspace")
    return domain


async def record_outcome(
    tx: Tx,
    *,
    workspace: Workspace,
    domain: DestinationDomain,
    outcome: Outcome,
    actor: str | None,
    grace: Grace | None = None,
    now: datetime | None = None,
) -> DestinationDomain:
    """Store a check's result (on request, or the periodic re-check). A failed check of a
    verified domain starts or extends a streak of failures; the verification lapses (to
    ``failed``: in allowlist mode new links to it are refused again, existing ones stay)
    only once ``grace`` says so."""
    repo = tx.destination_domains(workspace.id)
    now = now or utcnow()
    if outcome.method is None and domain.status is DestinationDomainStatus.VERIFIED:
        await _failed_recheck(tx, workspace, domain, outcome.error, grace or Grace(), now, actor)
    elif outcome.method is not None and domain.status is DestinationDomainStatus.VERIFIED:
        await repo.note_check(domain.id, error=None, at=now, failed_checks=0, failing_since=None)
    else:
        status = (
            DestinationDomainStatus.VERIFIED if outcome.method else DestinationDomainStatus.FAILED
        )
        await repo.record_check(
            domain.id, status=status, method=outcome.method, error=outcome.error, at=now
        )
        if outcome.method is not None:
            await audit.record(
                tx,
                action=audit.DOMAIN_VERIFIED,
                actor=actor,
                workspace_id=workspace.id,
                target=domain.hostname,
                detail={"method": outcome.method.value},
            )
    updated = await repo.get(domain.id)
    if updated is None:
        raise NotFound("no such domain in this workspace")
    return updated


async def _failed_recheck(
    tx: Tx,
    workspace: Workspace,
    domain: DestinationDomain,
    error: str | None,
    grace: Grace,
    now: datetime,
    actor: str | None,
) -> None:
    repo = tx.destination_domains(workspace.id)
    failed, since = domain.failed_checks + 1, domain.failing_since or now
    if not grace.lapsed(failed_checks=failed, failing_since=since, now=now):
        await repo.note_check(
            domain.id, error=error, at=now, failed_checks=failed, failing_since=since
        )
        if failed == 1:
            await audit.record(
                tx,
                action=audit.DOMAIN_CHECK_FAILED,
                actor=actor,
                workspace_id=workspace.id,
                target=domain.hostname,
                detail={"error": error or ""},
            )
        return
    await repo.record_check(
        domain.id,
        status=DestinationDomainStatus.FAILED,
        method=None,
        error=error,
        at=now,
        failed_checks=failed,
        failing_since=since,
    )
    await audit.record(
        tx,
        action=audit.DOMAIN_LAPSED,
        actor=actor,
        workspace_id=workspace.id,
        target=domain.hostname,
        detail={
            "failed_checks": str(failed),
            "failing_since": since.isoformat(),
            "error": error or "",
        },
    )


async def approve_domain(
    tx: Tx, *, workspace: Workspace, ref: str, actor: str | None
) -> DestinationDomain:
    """A platform admin vouches for the domain (callers check that the actor is one)."""
    domain = await find_domain(tx, workspace=workspace, ref=ref)
    if domain.status is DestinationDomainStatus.VERIFIED:
        return domain
    return await record_outcome(
        tx,
        workspace=workspace,
        domain=domain,
        outcome=Outcome(DestinationDomainMethod.ADMIN, None),
        actor=actor,
    )


async def delete_domain(tx: Tx, *, workspace: Workspace, ref: str) -> DestinationDomain:
    """Forget a domain: new links to it follow the policy again (existing links stay)."""
    domain = await find_domain(tx, workspace=workspace, ref=ref)
    await tx.destination_domains(workspace.id).delete(domain.id)
    return domain
