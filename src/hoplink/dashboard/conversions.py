"""Conversions in the dashboard: the orders list and an order's detail with its click path,
and Settings → Conversions (window, model, currency, commission, rules, ingest keys, ad
spend import; exchange-rate upload for platform operators).

Everything goes through the same service functions as ``/api/v1/conversions``; an order,
rule or key of another workspace answers exactly like one that does not exist (the
repositories look only in this workspace).
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from hoplink.conversions import ingest_keys
from hoplink.conversions import settings as conv_settings
from hoplink.conversions.exports import FIELDS, PRESETS
from hoplink.conversions.models import Model, Source
from hoplink.conversions.money import current_currencies
from hoplink.conversions.order_import import preview_or_import, save_mapping, saved_mapping
from hoplink.conversions.rates import import_rates, latest_rates
from hoplink.conversions.spend import FORMATS, import_spend
from hoplink.dashboard.admin import _admin as admin_user
from hoplink.dashboard.context import Viewer, load_viewer, services
from hoplink.dashboard.i18n import N_
from hoplink.dashboard.pages import flash, gettext, render
from hoplink.errors import FieldError, InvalidInput, NotFound
from hoplink.ids import utcnow
from hoplink.storage.conversions import OrderFilter

PAGE = 50
_MAX_UPLOAD = 4 * 1024 * 1024
MODEL_NAMES = {
    Model.LAST_CLICK.value: N_("Last click"),
    Model.FIRST_CLICK.value: N_("First click"),
    Model.LINEAR.value: N_("Linear"),
}
STATUS_NAMES = {
    "open": N_("Paid"),
    "partially_refunded": N_("Partly refunded"),
    "refunded": N_("Refunded"),
    "cancelled": N_("Cancelled"),
}
REASON_NAMES = {
    "no_click": N_("No click id or visitor sent"),
    "unknown_click": N_("Unknown click"),
    "outside_window": N_("Click outside the attribution window"),
}
FILTERS = ("all", "attributed", "unattributed", "refunded")
# The fields of an order export, as the mapping form names them.
EXPORT_FIELDS = {
    "order_id": N_("Order number"),
    "placed_at": N_("Order time"),
    "status": N_("Order status"),
    "amount": N_("Order total"),
    "line_amount": N_("Line total"),
    "unit_price": N_("Unit price"),
    "quantity": N_("Quantity"),
    "sku": N_("SKU"),
    "currency": N_("Currency"),
    "refund_amount": N_("Refunded amount"),
    "click_id": N_("hoplink click id (hl_click)"),
    "link_id": N_("hoplink link id"),
}
RESULT_NAMES = {
    "created": N_("New order"),
    "updated": N_("Amount changed"),
    "duplicate": N_("Already imported"),
    "cancelled": N_("Cancelled"),
    "refunded": N_("Refunded"),
    "skipped": N_("Skipped (not paid)"),
    "error": N_("Not imported"),
}


async def _viewer(request: Request) -> Viewer:
    async with services(request).runtime.db.transaction(write=False) as tx:
        return await load_viewer(tx, request, request.path_params["ws"])


async def _manager(request: Request) -> Viewer:
    v = await _viewer(request)
    v.require_manage()
    if v.suspended:
        v.require_edit()  # the suspension message
    return v


def _names() -> dict[str, Any]:
    return {"status_names": STATUS_NAMES, "reason_names": REASON_NAMES}


async def orders_page(request: Request) -> Response:
    v = await _viewer(request)
    shown = str(request.query_params.get("filter", "all"))
    shown = shown if shown in FILTERS else "all"
    search = str(request.query_params.get("q", ""))[:128].strip() or None
    try:
        page = max(1, min(1000, int(str(request.query_params.get("page", "1")))))
    except ValueError:
        page = 1
    f = OrderFilter(
        attributed={"attributed": True, "unattributed": False}.get(shown),
        refunded=True if shown == "refunded" else None,
        search=search,
    )
    async with services(request).runtime.db.transaction(write=False) as tx:
        repo = tx.conversions(v.workspace.id)
        # Offset pages: a seller looks at the newest few pages; the API pages by cursor.
        found = await repo.list_orders(f, limit=page * PAGE + 1)
        ids = sorted({o.link_id for o in found if o.link_id})
        links = {x.id: x for x in await tx.links(v.workspace.id).get_many(ids)}
    orders = found[(page - 1) * PAGE : page * PAGE]
    return render(
        request,
        "conversions/orders.html",
        viewer=v,
        orders=orders,
        links=links,
        shown=shown,
        filters=FILTERS,
        q=search or "",
        page=page,
        has_next=len(found) > page * PAGE,
        **_names(),
    )


async def order_page(request: Request) -> Response:
    v = await _viewer(request)
    async with services(request).runtime.db.transaction(write=False) as tx:
        repo = tx.conversions(v.workspace.id)
        order = await repo.get(request.path_params["order"])
        if order is None:
            raise NotFound("no such order in this workspace")
        touches = await repo.touches(order.id)
        revisions = await repo.revisions(order.id)
        events = await repo.events_of_order(order.order_id)
        ids = sorted({x.link_id for x in touches})
        links = {x.id: x for x in await tx.links(v.workspace.id).get_many(ids)}
    return render(
        request,
        "conversions/order.html",
        viewer=v,
        order=order,
        touches=touches,
        revisions=revisions,
        events=events,
        links=links,
        **_names(),
    )


async def _settings_page(
    request: Request, v: Viewer, *, status_code: int = 200, **extra: Any
) -> Response:
    runtime = services(request).runtime
    async with runtime.db.transaction(write=False) as tx:
        repo = tx.conversions(v.workspace.id)
        current = await repo.settings()
        rules = await repo.rules()
        keys = await ingest_keys.list_ingest_keys(tx, workspace_id=v.workspace.id)
        campaigns = await tx.campaigns(v.workspace.id).all()
        tags = await tx.links(v.workspace.id).tag_names()
        rates = await latest_rates(tx, limit=20)
        mapping = await saved_mapping(tx, workspace_id=v.workspace.id)
    extra.setdefault("mapping", mapping)
    # Current codes, and those already chosen (a withdrawn one stays until changed).
    offered = current_currencies(utcnow().date()) | {current.currency}
    if mapping.currency:
        offered |= {mapping.currency}
    extra.setdefault(
        "values",
        {
            "window_days": str(current.window_days),
            "model": current.model.value,
            "currency": current.currency,
            "commission_percent": f"{current.commission_bp / 100:g}",
        },
    )
    extra.setdefault("errors", {})
    return render(
        request,
        "conversions/settings.html",
        status_code=status_code,
        viewer=v,
        rules=rules,
        keys=keys,
        campaigns={c.id: c.name for c in campaigns},
        tags=tags,
        rates=rates,
        currencies=sorted(offered),
        models=MODEL_NAMES,
        formats=FORMATS,
        commission_range=(
            runtime.settings.commission_min_percent,
            runtime.settings.commission_max_percent,
        ),
        is_operator=v.user.is_platform_admin,
        presets={name: p.label for name, p in PRESETS.items()},
        preset_columns={name: p.columns for name, p in PRESETS.items()},
        export_fields=EXPORT_FIELDS,
        **extra,
    )


def _by_field(exc: InvalidInput) -> dict[str, list[FieldError]]:
    out: dict[str, list[FieldError]] = {}
    for e in exc.errors:
        out.setdefault(e.field.split(".")[0] or "_form", []).append(e)
    return out


async def settings_page(request: Request) -> Response:
    return await _settings_page(request, await _manager(request))


async def save_settings(request: Request) -> Response:
    v = await _manager(request)
    form = await request.form()
    values = {
        k: str(form.get(k, "")).strip()
        for k in ("window_days", "model", "currency", "commission_percent")
    }
    runtime = services(request).runtime
    try:
        try:
            window = int(values["window_days"])
        except ValueError:
            raise InvalidInput(
                FieldError("window_days", "int_parsing", "must be a whole number of days")
            ) from None
        async with runtime.db.transaction() as tx:
            await conv_settings.update_settings(
                tx,
                workspace_id=v.workspace.id,
                window_days=window,
                model=values["model"],
                currency=values["currency"],
                commission_percent=values["commission_percent"],
                commission_range=(
                    runtime.settings.commission_min_percent,
                    runtime.settings.commission_max_percent,
                ),
            )
    except InvalidInput as exc:
        return await _settings_page(
            request, v, values=values, errors=_by_field(exc), status_code=422
        )
    flash(request, gettext(request, "Attribution settings saved."))
    return RedirectResponse(f"{v.base}/conversions#attribution", status_code=303)


async def add_rule(request: Request) -> Response:
    v = await _manager(request)
    form = await request.form()
    kind, ref = str(form.get("kind", "")), str(form.get("ref", ""))
    runtime = services(request).runtime
    try:
        async with runtime.db.transaction() as tx:
            await conv_settings.put_rule(
                tx,
                workspace_id=v.workspace.id,
                kind=kind,
                ref=ref,
                percent=str(form.get("percent", "")),
                commission_range=(
                    runtime.settings.commission_min_percent,
                    runtime.settings.commission_max_percent,
                ),
            )
    except InvalidInput as exc:
        return await _settings_page(request, v, rule_errors=exc.errors, status_code=422)
    flash(request, gettext(request, "Commission rule saved."))
    return RedirectResponse(f"{v.base}/conversions#commission", status_code=303)


async def delete_rule(request: Request) -> Response:
    v = await _manager(request)
    async with services(request).runtime.db.transaction() as tx:
        await conv_settings.delete_rule(
            tx, workspace_id=v.workspace.id, rule_id=request.path_params["rule"]
        )
    flash(request, gettext(request, "Commission rule removed."))
    return RedirectResponse(f"{v.base}/conversions#commission", status_code=303)


async def create_key(request: Request) -> Response:
    v = await _manager(request)
    form = await request.form()
    name = str(form.get("name", ""))
    try:
        async with services(request).runtime.db.transaction() as tx:
            key, raw = await ingest_keys.create_ingest_key(
                tx, workspace_id=v.workspace.id, name=name, created_by=v.actor
            )
    except InvalidInput as exc:
        return await _settings_page(request, v, key_errors=exc.errors, status_code=422)
    return await _settings_page(request, v, new_key=raw, new_key_name=key.name)


async def revoke_key(request: Request) -> Response:
    v = await _manager(request)
    async with services(request).runtime.db.transaction() as tx:
        await ingest_keys.revoke_ingest_key(
            tx, workspace_id=v.workspace.id, key_id=request.path_params["ikey"], actor=v.actor
        )
    flash(request, gettext(request, "Ingest key revoked. Events sent with it now fail."))
    return RedirectResponse(f"{v.base}/conversions#ingest", status_code=303)


async def _upload(request: Request) -> tuple[dict[str, str], str]:
    """The form's fields and its CSV: the uploaded file, else the pasted ``text``."""
    form = await request.form(max_files=1, max_fields=10, max_part_size=_MAX_UPLOAD)
    try:
        fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
        upload = form.get("file")
        if isinstance(upload, UploadFile) and upload.filename:
            data = await upload.read(_MAX_UPLOAD + 1)
            if len(data) > _MAX_UPLOAD:
                raise InvalidInput(FieldError("file", "too_large", "the file may be at most 4 MB"))
            try:
                return fields, data.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise InvalidInput(
                    FieldError("file", "encoding", "save the CSV as UTF-8")
                ) from None
        text = fields.get("text", "").strip()
        if not text:
            raise InvalidInput(FieldError("file", "required", "choose a CSV file or paste it"))
        return fields, text
    finally:
        await form.close()


async def import_spend_file(request: Request) -> Response:
    v = await _manager(request)
    try:
        fields, text = await _upload(request)
        async with services(request).runtime.db.transaction() as tx:
            default = (await tx.conversions(v.workspace.id).settings()).currency
            rows = await import_spend(
                tx,
                workspace_id=v.workspace.id,
                text=text,
                fmt=fields.get("format", ""),
                default_currency=default,
            )
    except InvalidInput as exc:
        return await _settings_page(request, v, spend_errors=exc.errors, status_code=422)
    flash(request, gettext(request, "%(n)s spend rows imported.", n=len(rows)))
    return RedirectResponse(f"{v.base}/conversions#spend", status_code=303)


async def _rates_page(request: Request, *, status_code: int = 200, **extra: Any) -> Response:
    user = await admin_user(request)
    async with services(request).runtime.db.transaction(write=False) as tx:
        rates = await latest_rates(tx, limit=200)
    return render(
        request, "admin/rates.html", status_code=status_code, admin=user, rates=rates, **extra
    )


async def rates_page(request: Request) -> Response:
    """Admin → Exchange rates: the platform's daily rates (for the operator only)."""
    return await _rates_page(request)


async def import_rates_file(request: Request) -> Response:
    await admin_user(request)
    try:
        _, text = await _upload(request)
        async with services(request).runtime.db.transaction() as tx:
            n = await import_rates(tx, text=text)
    except InvalidInput as exc:
        return await _rates_page(request, rate_errors=exc.errors, status_code=422)
    flash(request, gettext(request, "%(n)s exchange rates stored.", n=n))
    return RedirectResponse("/app/admin/rates", status_code=303)


async def save_export_mapping(request: Request) -> Response:
    """Settings → Conversions → the columns of the shop's order export, saved once."""
    v = await _manager(request)
    form = await request.form(max_fields=40)
    try:
        columns = {name: str(form.get(f"col_{name}", "")) for name in FIELDS}
        async with services(request).runtime.db.transaction() as tx:
            await save_mapping(
                tx,
                workspace_id=v.workspace.id,
                preset=str(form.get("preset", "")),
                columns=columns,
                currency=str(form.get("currency", "")),
            )
    except InvalidInput as exc:
        return await _settings_page(request, v, mapping_errors=exc.errors, status_code=422)
    flash(request, gettext(request, "Column mapping saved."))
    return RedirectResponse(f"{v.base}/conversions#orders-import", status_code=303)


async def import_orders_file(request: Request) -> Response:
    """An order export through the saved mapping: a preview (nothing stored) or the import,
    with a result for every row."""
    v = await _manager(request)
    try:
        fields, text = await _upload(request)
        report = await preview_or_import(
            services(request).runtime.db,
            workspace_id=v.workspace.id,
            timezone=v.workspace.timezone,
            text=text,
            mapping=None,
            source=Source.ORDER_EXPORT,
            dry_run=fields.get("mode") != "import",
        )
    except InvalidInput as exc:
        return await _settings_page(request, v, import_errors=exc.errors, status_code=422)
    return render(
        request,
        "conversions/import_result.html",
        viewer=v,
        report=report,
        text=text if report.dry_run else "",
        result_names=RESULT_NAMES,
        export_fields=EXPORT_FIELDS,
    )
