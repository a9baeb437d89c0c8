"""Short-link domains: the platform's default domain, later white-label ones per workspace."""

from __future__ import annotations

from hoplink.errors import FieldError, InvalidInput
from hoplink.events import ShortDomainChanged
from hoplink.ids import new_id, utcnow
from hoplink.links.models import Domain
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Workspace


async def ensure_default_domain(tx: Tx, hostname: str) -> Domain:
    """Make ``hostname`` the platform default (created on first start, moved if reconfigured)."""
    hostname = hostname.lower()
    existing = await tx.domains.by_hostname(hostname)
    if existing is not None and existing.is_default:
        return existing
    await tx.domains.clear_default()
    tx.record(ShortDomainChanged(hostname))
    if existing is None:
        domain = Domain(id=new_id("dom"), hostname=hostname, workspace_id=None, is_default=True)
        await tx.domains.insert(domain, utcnow())
        return domain
    await tx.domains.set_default(existing.id)
    return Domain(existing.id, existing.hostname, existing.workspace_id, True)


async def domain_for(tx: Tx, workspace: Workspace, hostname: str | None) -> Domain:
    """The domain a new link of ``workspace`` goes on: the default, or one it may use."""
    if hostname is None:
        domain = await tx.domains.default()
        if domain is None:
            raise RuntimeError("no default domain; the app creates it at start-up")
        return domain
    domain = await tx.domains.by_hostname(hostname.strip().lower())
    if domain is None or domain.workspace_id not in (None, workspace.id):
        raise InvalidInput(
            FieldError("domain", "unknown_domain", f"{hostname!r} is not a domain you can use")
        )
    return domain
