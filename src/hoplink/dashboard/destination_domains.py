"""Settings → Domains: the destination domains a workspace proves it controls (issue 6).

The same service functions as ``/api/v1/workspace/domains`` and ``hoplink workspace
domain``: the same validation and messages when a domain is claimed, the same safe-fetcher
check. Everyone in the workspace sees the list and the instructions (the token is meant to
be published); owners and admins add, check and remove. A domain of another workspace
answers exactly like one that does not exist (``find_domain`` looks only in this one).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hoplink.dashboard import domain_pages
from hoplink.dashboard.context import Viewer, services
from hoplink.dashboard.domain_pages import flash_check
from hoplink.dashboard.domain_pages import manager as _manager
from hoplink.dashboard.domain_pages import viewer as _viewer
from hoplink.dashboard.i18n import N_
from hoplink.dashboard.pages import flash, gettext, render
from hoplink.safety import destination_domains
from hoplink.safety.models import (
    DestinationDomain,
    DestinationDomainMethod,
    DestinationDomainStatus,
)
from hoplink.safety.policy import PolicyMode
from hoplink.storage.tx import Tx

METHOD_NAMES = {
    DestinationDomainMethod.WELL_KNOWN: N_("verification file"),
    DestinationDomainMethod.DNS_TXT: N_("DNS TXT record"),
    DestinationDomainMethod.ADMIN: N_("approved by the platform operator"),
}


def _instructions(domain: DestinationDomain) -> dict[str, str]:
    return {
        "well_known_url": f"https://{domain.hostname}{destination_domains.WELL_KNOWN}{domain.token}",
        "well_known_path": f"{destination_domains.WELL_KNOWN}{domain.token}",
        "file_content": domain.token,
        "txt_name": domain.hostname,
        "txt_record": f"{destination_domains.TXT_PREFIX}{domain.token}",
    }


async def _find(request: Request, v: Viewer) -> DestinationDomain:
    async with services(request).runtime.db.transaction(write=False) as tx:
        return await destination_domains.find_domain(
            tx, workspace=v.workspace, ref=request.path_params["domain"]
        )


def _common(request: Request, v: Viewer) -> dict[str, Any]:
    settings = services(request).runtime.settings
    return {
        "viewer": v,
        "can_change": v.can_manage and not v.suspended,
        "allowlist_mode": settings.destination_policy == PolicyMode.ALLOWLIST.value,
        "method_names": {m.value: name for m, name in METHOD_NAMES.items()},
        "max_domains": destination_domains.MAX_DOMAINS,
    }


async def _list_page(request: Request, v: Viewer, **extra: Any) -> Response:
    async with services(request).runtime.db.transaction(write=False) as tx:
        found = await tx.destination_domains(v.workspace.id).all()
    return domain_pages.list_page(
        request,
        v,
        template="settings/destination_domains.html",
        domains=found,
        common=_common(request, v),
        **extra,
    )


async def list_page(request: Request) -> Response:
    return await _list_page(request, await _viewer(request))


async def add(request: Request) -> Response:
    v = await _manager(request)
    policy = services(request).runtime.link_rules.policy

    async def create(tx: Tx, hostname: str) -> DestinationDomain:
        return await destination_domains.add_domain(
            tx, workspace=v.workspace, hostname=hostname, policy=policy
        )

    return await domain_pages.add(
        request,
        v,
        create=create,
        again=_list_page,
        added=N_("%(domain)s was added. Prove that it is yours with one of the two ways below."),
        path="settings/domains",
    )


async def domain_page(request: Request) -> Response:
    v = await _viewer(request)
    domain = await _find(request, v)
    return render(
        request,
        "settings/destination_domain.html",
        domain=domain,
        steps=_instructions(domain),
        **_common(request, v),
    )


async def verify(request: Request) -> Response:
    v = await _manager(request)
    domain = await _find(request, v)
    runtime = services(request).runtime
    if domain.status is not DestinationDomainStatus.VERIFIED:
        # The network check holds no transaction, as in the API and the CLI.
        outcome = await destination_domains.Verifier.from_settings(runtime.settings).check(domain)
        async with runtime.db.transaction() as tx:
            domain = await destination_domains.record_outcome(
                tx, workspace=v.workspace, domain=domain, outcome=outcome, actor=v.actor
            )
    flash_check(
        request,
        domain.hostname,
        METHOD_NAMES[domain.method] if domain.method is not None else None,
        gettext(
            request,
            "%(domain)s is not verified yet: neither the file nor the DNS record has"
            " the token. What the check found: %(found)s",
            domain=domain.hostname,
            found=domain.last_error or "",
        ),
    )
    return RedirectResponse(f"{v.base}/settings/domains/{domain.id}", status_code=303)


async def delete_form(request: Request) -> Response:
    v = await _manager(request)
    domain = await _find(request, v)
    return render(
        request, "settings/destination_domain_delete.html", domain=domain, **_common(request, v)
    )


async def delete(request: Request) -> Response:
    v = await _manager(request)
    async with services(request).runtime.db.transaction() as tx:
        domain = await destination_domains.delete_domain(
            tx, workspace=v.workspace, ref=request.path_params["domain"]
        )
    flash(request, gettext(request, "%(domain)s was removed.", domain=domain.hostname))
    return RedirectResponse(f"{v.base}/settings/domains", status_code=303)
