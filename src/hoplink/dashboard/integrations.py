"""Settings → Integrations: a workspace's GA4 / Meta / TikTok destinations, their live
status and dead letters, replay, and a test event showing the exact payload and answer
(issue 11).

The same service functions as ``/api/v1/integrations``; owners and admins only (an
integration sends the workspace's clicks and orders to an ad account). The credential is
write-only: the page shows it masked, and a form that fails keeps every field but it.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hoplink.dashboard.context import Viewer, load_viewer, services
from hoplink.dashboard.forms import errors_by_field
from hoplink.dashboard.pages import flash, gettext, render
from hoplink.errors import FieldError, InvalidInput, WorkspaceSuspended
from hoplink.forwarding import service
from hoplink.forwarding.delivery import endpoints_from_settings, send_test
from hoplink.forwarding.models import EVENTS, Kind
from hoplink.ids import utcnow
from hoplink.net.fetch import SafeFetcher
from hoplink.webhooks.secrets import SecretBox

_FIELDS = ("kind", "name", "account_id", "sample", "test_code")


async def _manager(request: Request) -> Viewer:
    async with services(request).runtime.db.transaction(write=False) as tx:
        v = await load_viewer(tx, request, request.path_params["ws"])
    v.require_manage()
    return v


def _changeable(v: Viewer) -> None:
    if v.suspended:
        raise WorkspaceSuspended("this workspace is suspended; its integrations cannot change")


async def _page(request: Request, v: Viewer, *, status_code: int = 200, **extra: Any) -> Response:
    now = utcnow()
    async with services(request).runtime.db.transaction(write=False) as tx:
        repo = tx.forwarding(v.workspace.id)
        destinations = await repo.destinations()
        rows = []
        for d in destinations:
            rows.append(
                {
                    "d": d,
                    "status": await repo.live_status(d.id, now=now),
                    "dead": await repo.entries(destination_id=d.id, status="dead", limit=20),
                }
            )
    extra.setdefault("values", {"kind": "meta", "events": ["purchase", "refund"], "sample": "1"})
    extra.setdefault("errors", {})
    extra.setdefault("test", None)
    return render(
        request,
        "settings/integrations.html",
        status_code=status_code,
        viewer=v,
        can_change=not v.suspended,
        rows=rows,
        kinds=[k.value for k in Kind],
        event_names=EVENTS,
        **extra,
    )


async def integrations_page(request: Request) -> Response:
    return await _page(request, await _manager(request))


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def add(request: Request) -> Response:
    v = await _manager(request)
    _changeable(v)
    form = await request.form()
    values: dict[str, Any] = {name: _text(form, name) for name in _FIELDS}
    values["events"] = [e for e in form.getlist("events") if isinstance(e, str)]
    runtime = services(request).runtime
    try:
        try:
            rate = float(values["sample"] or "1")
        except ValueError:
            raise InvalidInput(
                FieldError("click_sample_rate", "invalid", "give a number from 0 to 1")
            ) from None
        async with runtime.db.transaction() as tx:
            await service.create_destination(
                tx,
                workspace_id=v.workspace.id,
                kind=service.parse_kind(values["kind"]),
                name=values["name"] or values["kind"],
                account_id=values["account_id"],
                credential=_text(form, "credential"),
                events=service.parse_events(values["events"]),
                box=SecretBox(runtime.settings.resolve_secret_key()),
                click_sample_rate=rate,
                test_code=values["test_code"] or None,
                actor=v.actor,
            )
    except InvalidInput as exc:
        errors = errors_by_field(exc)
        if "click_sample_rate" in errors:
            errors["sample"] = errors.pop("click_sample_rate")
        return await _page(request, v, values=values, errors=errors, status_code=422)
    flash(request, gettext(request, "The integration was added."))
    return RedirectResponse(f"{v.base}/settings/integrations", status_code=303)


async def test(request: Request) -> Response:
    v = await _manager(request)
    _changeable(v)
    runtime = services(request).runtime
    async with runtime.db.transaction(write=False) as tx:
        dest = await service.get_destination(
            tx, workspace_id=v.workspace.id, destination_id=request.path_params["fwd"]
        )
    result = await send_test(
        dest,
        fetcher=SafeFetcher.from_settings(runtime.settings),
        box=SecretBox(runtime.settings.resolve_secret_key()),
        endpoints=endpoints_from_settings(runtime.settings),
    )
    result["request_text"] = orjson.dumps(result["request"], option=orjson.OPT_INDENT_2).decode()
    result["destination"] = dest
    return await _page(request, v, test=result)


async def replay(request: Request) -> Response:
    v = await _manager(request)
    _changeable(v)
    async with services(request).runtime.db.transaction() as tx:
        n = await service.replay(
            tx, workspace_id=v.workspace.id, destination_id=request.path_params["fwd"]
        )
    flash(request, gettext(request, "%(n)s events will be sent again.", n=n))
    return RedirectResponse(f"{v.base}/settings/integrations", status_code=303)


async def delete_form(request: Request) -> Response:
    v = await _manager(request)
    _changeable(v)
    async with services(request).runtime.db.transaction(write=False) as tx:
        dest = await service.get_destination(
            tx, workspace_id=v.workspace.id, destination_id=request.path_params["fwd"]
        )
    return render(request, "settings/integration_delete.html", viewer=v, dest=dest)


async def delete(request: Request) -> Response:
    v = await _manager(request)
    _changeable(v)
    async with services(request).runtime.db.transaction() as tx:
        await service.delete_destination(
            tx,
            workspace_id=v.workspace.id,
            destination_id=request.path_params["fwd"],
            actor=v.actor,
        )
    flash(request, gettext(request, "The integration was deleted."))
    return RedirectResponse(f"{v.base}/settings/integrations", status_code=303)
