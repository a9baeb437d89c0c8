"""Short-link domains: the platform default, and custom domains per workspace (issue 16).

A custom domain is claimed by one workspace (the host name is unique: never two), proven
by DNS (hoplink.domains.verification), then served. Its workspace sets its root and 404
redirects, robots.txt, the default of new links' forward_query and whether new links go
there by default; it may remove it, which stops serving it but keeps the row and its links,
so their codes stay reserved (re-adding it brings them back). The operator approves
workspaces (HOPLINK_CUSTOM_DOMAINS=approval), sets limits, suspends domains, vouches for
one, and is the only one who can move a domain to another workspace.

Every change records ``ShortDomainChanged``: the redirect nodes reload their map of hosts.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from hoplink import audit
from hoplink.domains.models import Eligibility, ShortDomainMethod, ShortDomainStatus
from hoplink.domains.verification import Outcome
from hoplink.errors import FieldError, InvalidInput, NotFound
from hoplink.events import ShortDomainChanged
from hoplink.ids import new_id, utcnow
from hoplink.links.models import ShortDomain
from hoplink.links.urls import canonicalize_destination
from hoplink.safety.destination_domains import normalize_hostname
from hoplink.safety.grace import Grace
from hoplink.safety.policy import DestinationPolicy
from hoplink.storage.tx import Tx
from hoplink.unset import UNSET, Unset
from hoplink.workspaces.edit import WorkspaceUpdate
from hoplink.workspaces.models import Workspace

if TYPE_CHECKING:
    from hoplink.config import Settings

# An unproven claim older than this no longer blocks another workspace's claim: a seller
# cannot squat a brand's domain by claiming it and never proving it.
CLAIM_EXPIRES = timedelta(days=7)
ROBOTS_MAX = 4000


def _taken(host: str) -> InvalidInput:
    return InvalidInput.one(
        "hostname",
        "domain_taken",
        f"{host} belongs to another workspace; only the platform operator can transfer it",
    )


def eligible(workspace: Workspace, settings: Settings) -> FieldError | None:
    """None if the workspace may add custom short domains under the operator's rule."""
    rule = Eligibility(settings.custom_domains)
    if rule is Eligibility.OFF:
        return FieldError("hostname", "not_available", "custom short domains are turned off")
    if rule is Eligibility.APPROVAL and not workspace.short_domains_approved:
        return FieldError(
            "hostname",
            "approval_required",
            "custom short domains need the platform's approval for this workspace",
        )
    return None


def limit_of(workspace: Workspace, settings: Settings) -> int:
    if workspace.short_domain_limit is not None:
        return workspace.short_domain_limit
    return settings.custom_domain_limit


async def add_domain(
    tx: Tx,
    *,
    workspace: Workspace,
    hostname: str,
    settings: Settings,
    policy: DestinationPolicy,
) -> ShortDomain:
    """Claim ``hostname`` for ``workspace``: pending until proven."""
    refused = eligible(workspace, settings)
    if refused is not None:
        raise InvalidInput(refused)
    own = await tx.short_domains.hostnames()
    host = normalize_hostname(hostname, policy=policy, own_hosts=[])
    existing = await tx.short_domains.by_hostname(host)
    now = utcnow()
    if existing is not None:
        if existing.workspace_id is None:
            raise InvalidInput.one("hostname", "platform_domain", f"{host} is the platform's")
        if existing.workspace_id == workspace.id:
            if existing.status != ShortDomainStatus.REMOVED:
                raise InvalidInput.one("hostname", "duplicate", f"{host} is already yours")
        elif existing.status == ShortDomainStatus.VERIFIED or not _expired_claim(existing, now):
            raise _taken(host)
        elif existing.status != ShortDomainStatus.PENDING:
            raise _taken(host)  # suspended or removed: its links' codes stay with their owner
    elif host in own:
        raise _taken(host)
    if await tx.short_domains.count_claimed(workspace.id) >= limit_of(workspace, settings):
        raise InvalidInput.one(
            "hostname",
            "too_many",
            f"this workspace may have at most {limit_of(workspace, settings)} custom domains",
        )
    token = secrets.token_urlsafe(24)
    if existing is not None:  # re-added by its owner, or an expired claim of another
        await tx.short_domains.update(
            existing.id,
            workspace_id=workspace.id,
            status=ShortDomainStatus.PENDING.value,
            token=token,
            method=None,
            last_error=None,
            checked_at=None,
            verified_at=None,
            workspace_default=False,
        )
        domain = await _get(tx, existing.id)
    else:
        domain = ShortDomain(
            id=new_id("dom"),
            hostname=host,
            workspace_id=workspace.id,
            is_default=False,
            status=ShortDomainStatus.PENDING.value,
            token=token,
            created_at=now,
        )
        await tx.short_domains.insert(domain, now)
    tx.record(ShortDomainChanged(host))
    return domain


def _expired_claim(domain: ShortDomain, now: datetime) -> bool:
    """An unproven claim not touched (added or checked) for CLAIM_EXPIRES."""
    touched = domain.checked_at or domain.created_at
    return domain.status == ShortDomainStatus.PENDING and (
        touched is None or now - touched > CLAIM_EXPIRES
    )


async def _get(tx: Tx, domain_id: str) -> ShortDomain:
    domain = await tx.short_domains.get(domain_id)
    if domain is None:
        raise NotFound("no such domain")
    return domain


async def find_domain(tx: Tx, *, workspace: Workspace, ref: str) -> ShortDomain:
    """One of the workspace's custom domains, by id (``dom_…``) or host name; another
    workspace's is not found (never "forbidden": its existence is not the caller's to know)."""
    domain = await tx.short_domains.get(ref) or await tx.short_domains.by_hostname(
        ref.strip().lower().rstrip(".")
    )
    if domain is None or domain.workspace_id != workspace.id:
        raise NotFound("no such domain in this workspace")
    return domain


async def any_domain(tx: Tx, ref: str) -> ShortDomain:
    """A custom domain of any workspace (platform admins: CLI, admin pages)."""
    domain = await tx.short_domains.get(ref) or await tx.short_domains.by_hostname(
        ref.strip().lower().rstrip(".")
    )
    if domain is None or domain.workspace_id is None:
        raise NotFound("no such custom domain")
    return domain


async def record_check(
    tx: Tx,
    *,
    domain: ShortDomain,
    outcome: Outcome,
    actor: str | None,
    grace: Grace | None = None,
    now: datetime | None = None,
) -> ShortDomain:
    """Store a check's result (on request, or the periodic re-check). A failed check of a
    verified domain starts or extends a streak of failures, and takes the domain offline
    (back to pending, not served) only once ``grace`` says so: a DNS hiccup must not break
    live links. Suspended or removed domains are not changed by a check."""
    current = await _get(tx, domain.id)
    if current.workspace_id != domain.workspace_id or current.status in (
        ShortDomainStatus.SUSPENDED,
        ShortDomainStatus.REMOVED,
    ):
        return current
    now = now or utcnow()
    if outcome.method is not None:
        await _verify(tx, current, outcome.method, actor, now)
    elif current.status == ShortDomainStatus.VERIFIED:
        await _failed_recheck(tx, current, outcome.error, grace or Grace(), now, actor)
    else:
        await tx.short_domains.note_check(domain.id, last_error=outcome.error, checked_at=now)
    return await _get(tx, domain.id)


async def _failed_recheck(
    tx: Tx, domain: ShortDomain, error: str | None, grace: Grace, now: datetime, actor: str | None
) -> None:
    failed, since = domain.failed_checks + 1, domain.failing_since or now
    detail = {"failed_checks": str(failed), "failing_since": since.isoformat(), "error": error}
    if not grace.lapsed(failed_checks=failed, failing_since=since, now=now):
        await tx.short_domains.note_check(
            domain.id, last_error=error, checked_at=now, failed_checks=failed, failing_since=since
        )
        if failed == 1:
            await audit.record(
                tx,
                action=audit.SHORT_DOMAIN_CHECK_FAILED,
                actor=actor,
                workspace_id=domain.workspace_id,
                target=domain.hostname,
                detail={"error": error or ""},
            )
        return
    # Lapsed: pending again, so neither the redirect edge nor the TLS ask endpoint serves
    # it (ShortDomainChanged reloads every node's map); a passing check proves it again.
    await tx.short_domains.update(
        domain.id,
        status=ShortDomainStatus.PENDING.value,
        last_error=error,
        checked_at=now,
        failed_checks=failed,
        failing_since=since,
    )
    await audit.record(
        tx,
        action=audit.SHORT_DOMAIN_LAPSED,
        actor=actor,
        workspace_id=domain.workspace_id,
        target=domain.hostname,
        detail={k: v or "" for k, v in detail.items()},
    )
    tx.record(ShortDomainChanged(domain.hostname))


async def _verify(
    tx: Tx, domain: ShortDomain, method: ShortDomainMethod, actor: str | None, now: datetime
) -> None:
    if domain.status == ShortDomainStatus.VERIFIED:  # a passing re-check: the streak ends
        await tx.short_domains.note_check(
            domain.id, last_error=None, checked_at=now, failed_checks=0, failing_since=None
        )
        return
    await tx.short_domains.update(
        domain.id,
        status=ShortDomainStatus.VERIFIED.value,
        method=method.value,
        last_error=None,
        checked_at=now,
        verified_at=now,
        failed_checks=0,
        failing_since=None,
    )
    await audit.record(
        tx,
        action=audit.SHORT_DOMAIN_VERIFIED,
        actor=actor,
        workspace_id=domain.workspace_id,
        target=domain.hostname,
        detail={"method": method.value},
    )
    tx.record(ShortDomainChanged(domain.hostname))


async def approve_domain(tx: Tx, *, ref: str, actor: str | None) -> ShortDomain:
    """A platform admin vouches for a pending domain (callers check the actor is one)."""
    domain = await any_domain(tx, ref)
    if domain.status != ShortDomainStatus.PENDING:
        raise InvalidInput.one("domain", "not_pending", f"{domain.hostname} is {domain.status}")
    await _verify(tx, domain, ShortDomainMethod.ADMIN, actor, utcnow())
    return await _get(tx, domain.id)


async def remove_domain(
    tx: Tx, *, workspace: Workspace, ref: str, actor: str | None
) -> ShortDomain:
    """Stop serving a domain; its links (and so their codes) stay, for a re-add."""
    domain = await find_domain(tx, workspace=workspace, ref=ref)
    if domain.status == ShortDomainStatus.SUSPENDED:
        raise InvalidInput.one(
            "domain", "suspended", "a suspended domain can only be changed by the operator"
        )
    await tx.short_domains.update(
        domain.id, status=ShortDomainStatus.REMOVED.value, workspace_default=False
    )
    await audit.record(
        tx,
        action=audit.SHORT_DOMAIN_REMOVED,
        actor=actor,
        workspace_id=workspace.id,
        target=domain.hostname,
        detail={},
    )
    tx.record(ShortDomainChanged(domain.hostname))
    return await _get(tx, domain.id)


def _redirect_url(raw: str | None, field: str, check: Any) -> str | None:
    if raw is None or not raw.strip():
        return None
    url = canonicalize_destination(raw, field=field)
    refused = check(url, field)
    if refused is not None:
        raise InvalidInput(refused)
    return url


_UNSET: Any = object()


async def update_settings(
    tx: Tx,
    *,
    workspace: Workspace,
    ref: str,
    policy: DestinationPolicy,
    root_url: str | None = _UNSET,
    not_found_url: str | None = _UNSET,
    robots: str | None = _UNSET,
    forward_query: bool | None = None,
    workspace_default: bool | None = None,
) -> ShortDomain:
    """Change a domain's visitor answers and link defaults (only what is passed). The
    redirects are destinations like any link's: canonical, checked by the policy."""
    from hoplink.links.validation import destination_check

    domain = await find_domain(tx, workspace=workspace, ref=ref)
    if domain.status in (ShortDomainStatus.SUSPENDED, ShortDomainStatus.REMOVED):
        raise InvalidInput.one("domain", domain.status, f"{domain.hostname} is {domain.status}")
    checker = await destination_check(tx, workspace=workspace, policy=policy)
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for field, raw in (("root_url", root_url), ("not_found_url", not_found_url)):
        if raw is _UNSET:
            continue
        try:
            values[field] = _redirect_url(raw, field, checker.check)
        except InvalidInput as exc:
            errors.extend(exc.errors)
    if robots is not _UNSET:
        text = (robots or "").replace("\r\n", "\n").strip()
        if len(text) > ROBOTS_MAX:
            errors.append(FieldError("robots", "too_long", f"at most {ROBOTS_MAX} characters"))
        elif any(not (c.isprintable() or c in "\n\t") for c in text):
            errors.append(FieldError("robots", "invalid", "plain text lines only"))
        else:
            values["robots"] = text + "\n" if text else None
    if errors:
        raise InvalidInput(errors)
    if forward_query is not None:
        values["forward_query"] = forward_query
    if workspace_default is not None:
        if workspace_default and domain.status != ShortDomainStatus.VERIFIED:
            raise InvalidInput.one(
                "workspace_default", "not_verified", "verify the domain before making it default"
            )
        if workspace_default:
            await tx.short_domains.clear_workspace_default(workspace.id)
        values["workspace_default"] = workspace_default
    if values:
        await tx.short_domains.update(domain.id, **values)
        tx.record(ShortDomainChanged(domain.hostname))
    return await _get(tx, domain.id)


async def suspend_domain(tx: Tx, *, ref: str, actor: str | None, reason: str) -> ShortDomain:
    """The operator takes a domain offline: every path on it answers the "gone" page."""
    domain = await any_domain(tx, ref)
    if domain.status == ShortDomainStatus.SUSPENDED:
        return domain
    # The state it returns to is ``verified`` if it ever was (verified_at), else pending.
    await tx.short_domains.update(domain.id, status=ShortDomainStatus.SUSPENDED.value)
    await audit.record(
        tx,
        action=audit.SHORT_DOMAIN_SUSPENDED,
        actor=actor,
        workspace_id=domain.workspace_id,
        target=domain.hostname,
        detail={"reason": reason[:200]},
    )
    tx.record(ShortDomainChanged(domain.hostname))
    return await _get(tx, domain.id)


async def reinstate_domain(tx: Tx, *, ref: str, actor: str | None) -> ShortDomain:
    domain = await any_domain(tx, ref)
    if domain.status != ShortDomainStatus.SUSPENDED:
        raise InvalidInput.one("domain", "not_suspended", f"{domain.hostname} is {domain.status}")
    status = ShortDomainStatus.VERIFIED if domain.verified_at else ShortDomainStatus.PENDING
    await tx.short_domains.update(domain.id, status=status.value)
    await audit.record(
        tx,
        action=audit.SHORT_DOMAIN_REINSTATED,
        actor=actor,
        workspace_id=domain.workspace_id,
        target=domain.hostname,
        detail={},
    )
    tx.record(ShortDomainChanged(domain.hostname))
    return await _get(tx, domain.id)


async def transfer_domain(tx: Tx, *, ref: str, to: Workspace, actor: str | None) -> ShortDomain:
    """The operator moves a domain to another workspace. The previous owner's links stay on
    it (their codes reserved, answered as unknown there); the new owner proves it again."""
    domain = await any_domain(tx, ref)
    if domain.workspace_id == to.id:
        raise InvalidInput.one("workspace", "same_workspace", "the domain is already theirs")
    await tx.short_domains.update(
        domain.id,
        workspace_id=to.id,
        status=ShortDomainStatus.PENDING.value,
        token=secrets.token_urlsafe(24),
        method=None,
        last_error=None,
        checked_at=None,
        verified_at=None,
        workspace_default=False,
        root_url=None,
        not_found_url=None,
    )
    await audit.record(
        tx,
        action=audit.SHORT_DOMAIN_TRANSFERRED,
        actor=actor,
        workspace_id=to.id,
        target=domain.hostname,
        detail={"from": domain.workspace_id or ""},
    )
    tx.record(ShortDomainChanged(domain.hostname))
    return await _get(tx, domain.id)


async def set_workspace_rules(
    tx: Tx,
    *,
    workspace: Workspace,
    approved: bool | None = None,
    limit: int | Unset | None = UNSET,
) -> Workspace:
    """Operator controls of a workspace: approval for custom domains, its own limit (None:
    the operator's default; left out: kept)."""
    if not isinstance(limit, Unset) and limit is not None and not 0 <= limit <= 10_000:
        raise InvalidInput.one("limit", "out_of_range", "between 0 and 10000")
    change = WorkspaceUpdate(
        short_domains_approved=UNSET if approved is None else approved, short_domain_limit=limit
    )
    if not change.empty:
        await tx.workspaces.update(workspace.id, change)
    updated = await tx.workspaces.get(workspace.id)
    if updated is None:
        raise NotFound("no such workspace")
    return updated


async def ensure_default_domain(tx: Tx, hostname: str, *, move: bool = True) -> ShortDomain:
    """Make ``hostname`` the platform default (created on first start, moved if reconfigured).

    Only a serving process moves it (``move``): its settings are the ones visitors reach.
    An administering command or a worker run from a shell without the server's
    ``HOPLINK_DEFAULT_DOMAIN`` takes the default as it is; it creates one only where there
    is none yet (a new installation)."""
    if not move and (current := await tx.short_domains.default()) is not None:
        return current
    hostname = hostname.lower()
    existing = await tx.short_domains.by_hostname(hostname)
    if existing is not None and existing.is_default:
        return existing
    await tx.short_domains.clear_default()
    tx.record(ShortDomainChanged(hostname))
    if existing is None:
        domain = ShortDomain(
            id=new_id("dom"), hostname=hostname, workspace_id=None, is_default=True
        )
        await tx.short_domains.insert(domain, utcnow())
        return domain
    await tx.short_domains.set_default(existing.id)
    return replace(existing, is_default=True)


async def domain_for(tx: Tx, workspace: Workspace, hostname: str | None) -> ShortDomain:
    """The domain a new link of ``workspace`` goes on: the one named (a platform domain or
    one of its own verified ones), else its default custom domain, else the platform's."""
    if hostname is None:
        domain = (
            await tx.short_domains.workspace_default(workspace.id)
            or await tx.short_domains.default()
        )
        if domain is None:
            raise RuntimeError("no default domain; the app creates it at start-up")
        return domain
    domain = await tx.short_domains.by_hostname(hostname.strip().lower())
    if domain is None or domain.workspace_id not in (None, workspace.id) or not domain.usable:
        raise InvalidInput(
            FieldError("domain", "unknown_domain", f"{hostname!r} is not a domain you can use")
        )
    return domain
