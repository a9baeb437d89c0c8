"""Campaigns: the list (each with its analytics) and creating one."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hoplink.dashboard.context import load_viewer, services
from hoplink.dashboard.pages import flash, gettext, render
from hoplink.errors import Conflict, FieldError, InvalidInput
from hoplink.links.campaigns import create_campaign


async def campaigns_page(request: Request) -> Response:
    async with services(request).runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        campaigns = await tx.campaigns(v.workspace.id).all()
    return render(request, "campaigns.html", viewer=v, campaigns=campaigns, errors=[], values={})


async def add_campaign(request: Request) -> Response:
    form = await request.form()
    name, external_id = str(form.get("name", "")), str(form.get("external_id", ""))
    async with services(request).runtime.db.transaction() as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        try:
            await create_campaign(
                tx, workspace_id=v.workspace.id, name=name, external_id=external_id or None
            )
        except (InvalidInput, Conflict) as exc:
            errors = (
                exc.errors
                if isinstance(exc, InvalidInput)
                else [FieldError("name", exc.code, exc.message)]
            )
            campaigns = await tx.campaigns(v.workspace.id).all()
        else:
            flash(request, gettext(request, "Campaign created."))
            return RedirectResponse(f"{v.base}/campaigns", status_code=303)
    return render(
        request,
        "campaigns.html",
        viewer=v,
        campaigns=campaigns,
        errors=errors,
        values={"name": name, "external_id": external_id},
        status_code=422,
    )
