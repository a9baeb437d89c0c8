"""Settings → Short domains: a workspace's custom short domains (issue 16).

The same service functions as ``/api/v1/workspace/short-domains``: the same rules and
messages. Everyone in the workspace sees the list and the DNS records (they are meant to be
published); owners and admins add, check, configure and remove. Another workspace's domain
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
from hoplink.dashboard.forms import errors_by_field
from hoplink.dashboard.i18n import N_
from hoplink.dashboard.pages import flash, gettext, render
from hoplink.domains import service
from hoplink.domains.models import proof_records
from hoplink.domains.verification import ShortDomainVerifier
from hoplink.errors import InvalidInput
from hoplink.links.models import ShortDomain
from hoplink.storage.tx import Tx

STATUS_NAMES = {
    "pending": N_("Pending"),
    "verified": N_("Verified"),
    "suspended": N_("Suspended by the platform"),
    "removed": N_("Removed"),
}
METHOD_NAMES = {
    "dns_txt": N_("DNS TXT record"),
    "cname": N_("CNAME record"),
    "admin": N_("approved by the platform operator"),
}
_SETTINGS = ("root_url", "not_found_url", "robots")


async def _find(request: Request, v: Viewer) -> ShortDomain:
    async with services(request).runtime.db.transaction(write=False) as tx:
        return await service.find_domain(
            tx, workspace=v.workspace, ref=request.path_params["sdomain"]
        )


def _common(request: Request, v: Viewer) -> dict[str, Any]:
    settings = services(request).runtime.settings
    refused = service.eligible(v.workspace, settings)
    return {
        "viewer": v,
        "can_change": v.can_manage and not v.suspended,
        "status_names": STATUS_NAMES,
        "method_names": METHOD_NAMES,
        "limit": service.limit_of(v.workspace, settings),
        "eligible": refused is None,
        "mode": settings.custom_domains,
    }


async def _list_page(request: Request, v: Viewer, **extra: Any) -> Response:
    async with services(request).runtime.db.transaction(write=False) as tx:
        found = await tx.short_domains.of_workspace(v.workspace.id)
    return domain_pages.list_page(
        request,
        v,
        template="settings/short_domains.html",
        domains=found,
        common=_common(request, v),
        **extra,
    )


async def list_page(request: Request) -> Response:
    return await _list_page(request, await _viewer(request))


async def add(request: Request) -> Response:
    v = await _manager(request)
    runtime = services(request).runtime

    async def create(tx: Tx, hostname: str) -> ShortDomain:
        return await service.add_domain(
            tx,
            workspace=v.workspace,
            hostname=hostname,
            settings=runtime.settings,
            policy=runtime.link_rules.policy,
        )

    return await domain_pages.add(
        request,
        v,
        create=create,
        again=_list_page,
        added=N_("%(domain)s was added. Publish one of the DNS records below, then check."),
        path="settings/short-domains",
    )


async def _domain_page(
    request: Request,
    v: Viewer,
    domain: ShortDomain,
    *,
    status_code: int = 200,
    values: dict[str, Any] | None = None,
    errors: dict[str, Any] | None = None,
) -> Response:
    runtime = services(request).runtime
    records = proof_records(domain, runtime.settings.custom_domain_cname_target)
    shown = values or {
        "root_url": domain.root_url or "",
        "not_found_url": domain.not_found_url or "",
        "robots": domain.robots or "",
        "forward_query": domain.forward_query,
        "workspace_default": domain.workspace_default,
    }
    return render(
        request,
        "settings/short_domain.html",
        status_code=status_code,
        domain=domain,
        records=records,
        values=shown,
        errors=errors or {},
        **_common(request, v),
    )


async def domain_page(request: Request) -> Response:
    v = await _viewer(request)
    return await _domain_page(request, v, await _find(request, v))


async def verify(request: Request) -> Response:
    v = await _manager(request)
    domain = await _find(request, v)
    runtime = services(request).runtime
    # The DNS lookups hold no transaction, as in the API and the CLI.
    outcome = await ShortDomainVerifier.from_settings(runtime.settings).check(domain)
    async with runtime.db.transaction() as tx:
        domain = await service.record_check(tx, domain=domain, outcome=outcome, actor=v.actor)
    verified = domain.status == "verified" and outcome.method is not None
    flash_check(
        request,
        domain.hostname,
        METHOD_NAMES[outcome.method.value] if verified and outcome.method else None,
        gettext(
            request,
            "%(domain)s: no record with the token was found yet. What the check found: %(found)s",
            domain=domain.hostname,
            found=outcome.error or "",
        ),
    )
    return RedirectResponse(f"{v.base}/settings/short-domains/{domain.id}", status_code=303)


async def save(request: Request) -> Response:
    v = await _manager(request)
    domain = await _find(request, v)
    form = await request.form()
    typed = {name: form.get(name) for name in _SETTINGS}
    values: dict[str, Any] = {k: t if isinstance(t, str) else "" for k, t in typed.items()}
    values["forward_query"] = form.get("forward_query") == "1"
    values["workspace_default"] = form.get("workspace_default") == "1"
    runtime = services(request).runtime
    try:
        async with runtime.db.transaction() as tx:
            domain = await service.update_settings(
                tx,
                workspace=v.workspace,
                ref=domain.id,
                policy=runtime.link_rules.policy,
                root_url=values["root_url"],
                not_found_url=values["not_found_url"],
                robots=values["robots"],
                forward_query=values["forward_query"],
                workspace_default=values["workspace_default"],
            )
    except InvalidInput as exc:
        return await _domain_page(
            request, v, domain, status_code=422, values=values, errors=errors_by_field(exc)
        )
    flash(
        request, gettext(request, "The settings of %(domain)s were saved.", domain=domain.hostname)
    )
    return RedirectResponse(f"{v.base}/settings/short-domains/{domain.id}", status_code=303)


async def remove_form(request: Request) -> Response:
    v = await _manager(request)
    domain = await _find(request, v)
    if domain.status not in ("pending", "verified"):  # removed, or the operator's to change
        return RedirectResponse(f"{v.base}/settings/short-domains/{domain.id}", status_code=303)
    return render(
        request, "settings/short_domain_remove.html", domain=domain, **_common(request, v)
    )


async def remove(request: Request) -> Response:
    v = await _manager(request)
    domain = await _find(request, v)
    async with services(request).runtime.db.transaction() as tx:
        domain = await service.remove_domain(
            tx, workspace=v.workspace, ref=domain.id, actor=v.actor
        )
    flash(
        request,
        gettext(
            request,
            "%(domain)s is no longer served. Its links and their codes are kept: add it again"
            " to bring them back.",
            domain=domain.hostname,
        ),
    )
    return RedirectResponse(f"{v.base}/settings/short-domains", status_code=303)
