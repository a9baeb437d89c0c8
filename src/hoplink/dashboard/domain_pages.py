"""What the two domain settings pages share: destination domains
(``destination_domains.py``) and custom short domains (``short_domains.py``) are listed,
checked and changed alike."""

from __future__ import annotations

from starlette.requests import Request

from hoplink.dashboard.context import Viewer, load_viewer, services
from hoplink.dashboard.pages import flash, gettext
from hoplink.errors import WorkspaceSuspended


async def viewer(request: Request) -> Viewer:
    async with services(request).runtime.db.transaction(write=False) as tx:
        return await load_viewer(tx, request, request.path_params["ws"])


async def manager(request: Request) -> Viewer:
    """The viewer, who must be allowed to change the workspace's domains."""
    v = await viewer(request)
    v.require_manage()
    if v.suspended:
        raise WorkspaceSuspended("this workspace is suspended; its domains cannot be changed")
    return v


def flash_check(request: Request, hostname: str, method: str | None, not_found: str) -> None:
    """After a DNS (or file) check: verified by ``method`` (its untranslated name), or
    ``not_found`` (translated, saying what the check found) as an error."""
    if method is None:
        flash(request, not_found, "error")
        return
    flash(
        request,
        gettext(
            request,
            "%(domain)s is verified (%(method)s).",
            domain=hostname,
            method=gettext(request, method),
        ),
    )
