"""What the two domain settings pages share: destination domains
(``destination_domains.py``) and custom short domains (``short_domains.py``) are listed,
added, checked and changed alike."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hoplink.dashboard.context import Viewer, load_viewer, services
from hoplink.dashboard.forms import errors_by_field
from hoplink.dashboard.pages import flash, gettext, render
from hoplink.errors import InvalidInput, WorkspaceSuspended
from hoplink.storage.tx import Tx


class Added(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def hostname(self) -> str: ...


# The list page again, with the form's values and errors: (request, viewer, **context).
ListPage = Callable[..., Awaitable[Response]]


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


def list_page(
    request: Request,
    v: Viewer,
    *,
    template: str,
    domains: Sequence[Any],
    common: dict[str, Any],
    status_code: int = 200,
    **extra: Any,
) -> Response:
    """The list of a workspace's domains with the form to add one (empty unless ``extra``
    gives the typed ``values`` and their ``errors``)."""
    extra.setdefault("values", {"hostname": ""})
    extra.setdefault("errors", {})
    return render(request, template, status_code=status_code, domains=domains, **common, **extra)


async def add(
    request: Request,
    v: Viewer,
    *,
    create: Callable[[Tx, str], Awaitable[Added]],
    again: ListPage,
    added: str,
    path: str,
) -> Response:
    """The add form posted: ``create`` the typed hostname and go to its page (under
    ``path``) with the ``added`` message (a msgid with ``%(domain)s``), or show the list
    ``again`` with the reasons (422) and nothing written."""
    form = await request.form()
    typed = form.get("hostname")
    hostname = typed if isinstance(typed, str) else ""
    try:
        async with services(request).runtime.db.transaction() as tx:
            domain = await create(tx, hostname)
    except InvalidInput as exc:
        return await again(
            request, v, values={"hostname": hostname}, errors=errors_by_field(exc), status_code=422
        )
    flash(request, gettext(request, added, domain=domain.hostname))
    return RedirectResponse(f"{v.base}/{path}/{domain.id}", status_code=303)
