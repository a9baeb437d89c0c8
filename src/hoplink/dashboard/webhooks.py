"""Settings → Webhooks: a workspace's endpoints, their failed messages, replay (issue 10).

The same service functions as ``/api/v1/webhooks``; owners and admins only (an endpoint
sends the workspace's data out). The signing secret is shown once, on the page that
answers the form that created the endpoint — never put in the session or a redirect.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hoplink.dashboard.context import Viewer, load_viewer, services
from hoplink.dashboard.forms import errors_by_field
from hoplink.dashboard.pages import flash, gettext, render
from hoplink.errors import InvalidInput, WorkspaceSuspended
from hoplink.net.fetch import SafeFetcher
from hoplink.safety.policy import DestinationPolicy
from hoplink.webhooks import service
from hoplink.webhooks.models import EVENT_TYPES
from hoplink.webhooks.secrets import SecretBox


async def _manager(request: Request) -> Viewer:
    async with services(request).runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
    v.require_manage()
    return v


def _changeable(v: Viewer) -> None:
    if v.suspended:
        raise WorkspaceSuspended("this workspace is suspended; its webhooks cannot be changed")


async def _page(request: Request, v: Viewer, *, status_code: int = 200, **extra: Any) -> Response:
    async with services(request).runtime.db.transaction(write=False) as tx:
        repo = tx.webhooks(v.workspace.id)
        endpoints = await repo.endpoints()
        failed = await repo.messages(status="failed", limit=500)
    failed_by: dict[str, int] = {}
    for m in failed:
        failed_by[m.endpoint_id] = failed_by.get(m.endpoint_id, 0) + 1
    extra.setdefault("values", {"url": "", "events": []})
    extra.setdefault("errors", {})
    extra.setdefault("new_endpoint", None)
    extra.setdefault("new_secret", None)
    return render(
        request,
        "settings/webhooks.html",
        status_code=status_code,
        viewer=v,
        can_change=not v.suspended,
        endpoints=endpoints,
        failed_by=failed_by,
        event_types=EVENT_TYPES,
        **extra,
    )


async def webhooks_page(request: Request) -> Response:
    return await _page(request, await _manager(request))


async def add(request: Request) -> Response:
    v = await _manager(request)
    _changeable(v)
    form = await request.form()
    typed = form.get("url")
    url = typed if isinstance(typed, str) else ""
    chosen = [e for e in form.getlist("events") if isinstance(e, str)]
    runtime = services(request).runtime
    try:
        events = service.parse_events(chosen)
        async with runtime.db.transaction(write=False) as tx:
            own = await tx.short_domains.hostnames()
        blocks = runtime.link_rules.policy.blocklist
        checked = await service.check_endpoint_url(
            url,
            policy=DestinationPolicy(blocklist=blocks, shorteners=frozenset()),
            fetcher=SafeFetcher.from_settings(runtime.settings),
            own_hosts=own,
        )
        async with runtime.db.transaction() as tx:
            endpoint, secret = await service.create_endpoint(
                tx,
                workspace_id=v.workspace.id,
                url=checked,
                events=events,
                box=SecretBox(runtime.settings.resolve_secret_key()),
                actor=v.actor,
            )
    except InvalidInput as exc:
        return await _page(
            request,
            v,
            values={"url": url, "events": chosen},
            errors=errors_by_field(exc),
            status_code=422,
        )
    return await _page(request, v, new_endpoint=endpoint, new_secret=secret)


async def delete(request: Request) -> Response:
    v = await _manager(request)
    _changeable(v)
    async with services(request).runtime.db.transaction() as tx:
        await service.delete_endpoint(
            tx,
            workspace_id=v.workspace.id,
            endpoint_id=request.path_params["hook"],
            actor=v.actor,
        )
    flash(request, gettext(request, "The webhook endpoint was deleted."))
    return RedirectResponse(f"{v.base}/settings/webhooks", status_code=303)


async def replay(request: Request) -> Response:
    v = await _manager(request)
    _changeable(v)
    async with services(request).runtime.db.transaction() as tx:
        n = await service.replay_failed(tx, workspace_id=v.workspace.id)
    flash(request, gettext(request, "%(n)s failed messages will be sent again.", n=n))
    return RedirectResponse(f"{v.base}/settings/webhooks", status_code=303)
