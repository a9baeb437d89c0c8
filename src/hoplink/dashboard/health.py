"""Destination health in the dashboard: a link's badge and history, "check now", and the
workspace's notification list (the alert on every page links here)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hoplink.dashboard.context import load_viewer, services
from hoplink.dashboard.pages import flash, gettext, render
from hoplink.linkhealth import service
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Workspace


async def link_health_section(tx: Tx, workspace: Workspace, link_id: str) -> dict[str, Any]:
    """What the link page's health section shows (read-only: a link not yet known to the
    checker shows as not checked)."""
    repo = tx.health(workspace.id)
    return {
        "health": await repo.get(link_id),
        "health_history": await repo.events(link_id=link_id, limit=20),
    }


async def check_link(request: Request) -> Response:
    async with services(request).runtime.db.transaction() as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        link_id = request.path_params["id"]
        await service.check_now(tx, workspace=v.workspace, link_id=link_id)
    flash(request, gettext(request, "The destination will be checked within a few seconds."))
    return RedirectResponse(f"{v.base}/links/{link_id}", status_code=303)


async def health_page(request: Request) -> Response:
    async with services(request).runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        counts = await service.summary(tx, workspace=v.workspace)
        events = await service.notifications(tx, workspace=v.workspace, limit=100)
        links = {
            link.id: link
            for link in [await tx.links(v.workspace.id).get(i) for i in {e.link_id for e in events}]
            if link is not None
        }
    return render(request, "health.html", viewer=v, counts=counts, events=events, links=links)


async def check_all(request: Request) -> Response:
    async with services(request).runtime.db.transaction() as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        due = await service.check_now(tx, workspace=v.workspace)
    flash(
        request,
        gettext(request, "%(n)s links will be checked within a few minutes.", n=due),
    )
    return RedirectResponse(f"{v.base}/health", status_code=303)


async def acknowledge(request: Request) -> Response:
    async with services(request).runtime.db.transaction() as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        await service.acknowledge(tx, workspace=v.workspace)
    flash(request, gettext(request, "Notifications dismissed."))
    return RedirectResponse(f"{v.base}/health", status_code=303)
