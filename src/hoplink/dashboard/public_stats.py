"""A link's public stats page (``/stats/<token>``, no sign-in) and the owner's switch for it
on the link page (issue 16; hoplink.links.public_stats says what it shows and why)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hoplink.dashboard.analytics import SPECIAL_VALUES
from hoplink.dashboard.context import load_viewer, services
from hoplink.dashboard.pages import flash, gettext, render
from hoplink.links import public_stats


def public_url(request: Request, token: str) -> str:
    settings = services(request).runtime.settings
    return f"{settings.short_url_scheme}://{settings.domain}{public_stats.PATH}{token}"


async def page(request: Request) -> Response:
    async with services(request).runtime.db.transaction(write=False) as tx:
        shown = await public_stats.read(tx, request.path_params["token"])
    response = render(
        request,
        "public_stats.html",
        stats=shown,
        result=shown.result,
        special=SPECIAL_VALUES,
        short_url=f"{shown.short_url_host}/{shown.code}",
    )
    # Nobody's page to index or to keep: the owner can take it down at any time.
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


async def enable(request: Request) -> Response:
    runtime = services(request).runtime
    async with runtime.db.transaction() as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        token = await public_stats.enable(
            tx, workspace=v.workspace, link_id=request.path_params["id"], actor=v.actor
        )
    flash(
        request,
        gettext(
            request,
            "The public stats page is on. Share this address (it is shown only now): %(url)s",
            url=public_url(request, token),
        ),
    )
    return RedirectResponse(f"{v.base}/links/{request.path_params['id']}", status_code=303)


async def revoke(request: Request) -> Response:
    runtime = services(request).runtime
    async with runtime.db.transaction() as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
        v.require_edit()
        await public_stats.revoke(
            tx, workspace=v.workspace, link_id=request.path_params["id"], actor=v.actor
        )
    flash(request, gettext(request, "The public stats page is off; its address no longer works."))
    return RedirectResponse(f"{v.base}/links/{request.path_params['id']}", status_code=303)
