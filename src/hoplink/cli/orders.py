"""``hoplink orders``: a marketplace's order-export CSV into a workspace's conversions
(preview first), and the workspace's saved column mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hoplink.cli import _common
from hoplink.cli._common import WORKSPACE_HELP, out
from hoplink.config import Settings
from hoplink.conversions.exports import FIELDS, PRESETS, ColumnMapping, check_mapping
from hoplink.conversions.models import Source
from hoplink.conversions.order_import import (
    ImportReport,
    preview_or_import,
    save_mapping,
    saved_mapping,
)
from hoplink.errors import FieldError, InvalidInput
from hoplink.workspaces.service import find_workspace

app = typer.Typer(
    help="Orders from a marketplace's order export (Shopee, Lazada, Amazon, TikTok Shop, CSV)."
    "\n\nExample:\n\n$ hoplink orders import shopee-orders.csv -w my-store --preset shopee",
    no_args_is_help=True,
)
WorkspaceOpt = Annotated[str, typer.Option("--workspace", "-w", help=WORKSPACE_HELP)]


async def _import(
    settings: Settings, ref: str, text: str, mapping: ColumnMapping | None, apply: bool
) -> ImportReport:
    async with _common.runtime(settings) as rt:
        async with rt.db.transaction(write=False) as tx:
            ws = await find_workspace(tx, ref)
        return await preview_or_import(
            rt.db,
            workspace_id=ws.id,
            timezone=ws.timezone,
            text=text,
            mapping=mapping,
            source=Source.ORDER_EXPORT,
            dry_run=not apply,
        )


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="The export, as CSV (or Amazon's tab-delimited)")],
    workspace: WorkspaceOpt,
    preset: Annotated[
        str | None,
        typer.Option(help=f"{', '.join(PRESETS)}; default: the workspace's saved mapping"),
    ] = None,
    currency: Annotated[
        str | None, typer.Option(help="With --preset: the amounts' currency (ISO 4217)")
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Record the orders (without it: a preview only)")
    ] = False,
) -> None:
    """Preview (default) or import an order export; one line per row that is not new.

    Example:
    $ hoplink orders import shopee-orders.csv -w my-store --preset shopee --currency PHP --apply
    """
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        _common.fail(f"cannot read {file} as UTF-8 text: {exc}")
    mapping = None
    if preset is not None:
        mapping = _common.run(_check(preset, currency))
    report = _common.run(_import(_common.settings(), workspace, text, mapping, apply))
    counts = ", ".join(f"{n} {status}" for status, n in sorted(report.counts.items()))
    verb = "imported" if apply else "preview (nothing stored; --apply to import)"
    out.print(f"{report.rows} rows, {report.orders} orders, {verb}; rows: {counts}", markup=False)
    table = _common.table("row", "order", "status", "problem", whole=("row", "order"))
    for r in report.results:
        if r.status not in ("created", "updated", "refunded", "cancelled"):
            problem = "; ".join(f"{e.field}: {e.message}" for e in r.errors)
            table.add_row(str(r.row), r.order_id or "", r.status, problem)
    if table.row_count:
        out.print(table)


async def _check(preset: str, currency: str | None) -> ColumnMapping:
    return check_mapping(preset, {}, currency)


async def _mapping(
    settings: Settings, ref: str, preset: str | None, columns: list[str], currency: str | None
) -> ColumnMapping:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        ws = await find_workspace(tx, ref)
        current = await saved_mapping(tx, workspace_id=ws.id)
        if preset is None and not columns and currency is None:
            return current
        given: dict[str, str] = dict(current.columns)
        for pair in columns:
            name, sep, header = pair.partition("=")
            if not sep:
                raise InvalidInput(FieldError("columns", "invalid", "use FIELD=Header"))
            given[name.strip()] = header
        return await save_mapping(
            tx,
            workspace_id=ws.id,
            preset=preset or current.preset,
            columns=given,
            currency=currency if currency is not None else current.currency,
        )


@app.command("mapping")
def mapping(
    workspace: WorkspaceOpt,
    preset: Annotated[str | None, typer.Option(help=", ".join(PRESETS))] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(help=f"FIELD=Header of your file ({', '.join(FIELDS)}); empty: preset's"),
    ] = None,
    currency: Annotated[str | None, typer.Option(help="The amounts' currency")] = None,
) -> None:
    """Show the saved column mapping, or change it (what the dashboard and API use).

    Example:
    $ hoplink orders mapping -w my-store --preset generic --column "order_id=Order No."
    """
    m = _common.run(_mapping(_common.settings(), workspace, preset, column or [], currency))
    shown = m.currency or "the workspace's report currency"
    out.print(f"preset {m.preset}, currency {shown}", markup=False)
    table = _common.table("field", "column")
    for name in FIELDS:
        table.add_row(
            name, m.columns.get(name, f"({'/'.join(PRESETS[m.preset].columns.get(name, ()))})")
        )
    out.print(table)
