"""Importing a marketplace order export: the saved mapping, then every order through the
conversions service, with a result for every row of the file.

The caller owns the transaction; a dry run (the preview) is the same import in a
transaction the caller rolls back (``preview_or_import``), so what it shows is exactly what
the import would do. Each order is recorded in its own savepoint: one refused order never
undoes the others.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hoplink.conversions.batch import record_batch
from hoplink.conversions.exports import (
    ColumnMapping,
    ExportOrder,
    check_mapping,
    parse_export,
)
from hoplink.conversions.models import ConversionEvent, EventResult, Outcome, Settings, Source
from hoplink.conversions.notify import emit_conversions
from hoplink.conversions.parse import parse_event
from hoplink.conversions.service import record_event
from hoplink.errors import FieldError, HoplinkError, InvalidInput
from hoplink.ids import utcnow
from hoplink.storage.database import Database
from hoplink.storage.tx import Tx


@dataclass
class RowResult:
    row: int
    order_id: str | None
    # created | updated | duplicate | cancelled | refunded | skipped | error
    status: str
    errors: list[FieldError] = field(default_factory=list)


@dataclass
class ImportReport:
    dry_run: bool
    rows: int
    orders: int
    columns: dict[str, str]
    results: list[RowResult]

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results:
            out[r.status] = out.get(r.status, 0) + 1
        return out


async def saved_mapping(tx: Tx, *, workspace_id: str) -> ColumnMapping:
    return await tx.order_exports(workspace_id).mapping() or ColumnMapping()


async def save_mapping(
    tx: Tx, *, workspace_id: str, preset: Any, columns: Any, currency: Any
) -> ColumnMapping:
    mapping = check_mapping(preset, columns, currency)
    await tx.order_exports(workspace_id).save_mapping(mapping, utcnow())
    return mapping


# An event's field → the hoplink field whose column it came from (for per-row errors).
_SOURCE_FIELD = {
    "order_id": "order_id",
    "amount": "amount",
    "currency": "currency",
    "occurred_at": "placed_at",
    "click_id": "click_id",
    "link_id": "link_id",
}


def _columns_of(errors: list[FieldError], columns: dict[str, str]) -> list[FieldError]:
    out = []
    for e in errors:
        top = e.field.split(".", 1)[0]
        source = "sku" if top == "items" else _SOURCE_FIELD.get(top, top)
        out.append(FieldError(columns.get(source, source), e.code, e.message))
    return out


async def import_export(
    tx: Tx,
    *,
    workspace_id: str,
    timezone: str,
    text: str,
    mapping: ColumnMapping,
    settings: Settings,
    source: Source,
    now: datetime,
    dry_run: bool = False,
) -> ImportReport:
    """Record the orders of an export; InvalidInput when the file as a whole cannot be read
    (no header, a required column missing), otherwise a result per row."""
    parsed = parse_export(
        text, mapping, timezone=timezone, default_currency=mapping.currency or settings.currency
    )
    results: list[RowResult] = [
        RowResult(p.row, p.order_id, "error", p.errors) for p in parsed.problems
    ]
    results += [
        RowResult(row, order_id, "skipped", [FieldError("status", why, "not paid yet")])
        for row, order_id, why in parsed.skipped
    ]
    valid: list[tuple[ExportOrder, ConversionEvent]] = []
    for order in parsed.orders:
        try:
            event, _ = parse_event(order.event, now=now)
        except InvalidInput as exc:
            errors = _columns_of(exc.errors, parsed.columns)
            results += [RowResult(row, order.order_id, "error", errors) for row in order.rows]
            continue
        valid.append((order, event))

    async def one_by_one(_: int, event: ConversionEvent) -> EventResult | HoplinkError:
        try:
            async with tx.savepoint():
                return await record_event(
                    tx,
                    workspace_id=workspace_id,
                    event=event,
                    settings=settings,
                    source=source,
                    now=now,
                )
        except HoplinkError as exc:
            return exc

    recorded = await record_batch(
        tx,
        workspace_id=workspace_id,
        events=[e for _, e in valid],
        settings=settings,
        source=source,
        now=now,
        one_by_one=one_by_one,
    )
    done: list[EventResult] = []
    for n, (order, event) in enumerate(valid):
        got = recorded[n]
        if isinstance(got, EventResult):
            done.append(got)
            got = await _reverse(order, event, got, one_by_one, done)
        status = got.outcome.value if isinstance(got, EventResult) else "error"
        errors = []
        if isinstance(got, InvalidInput):
            errors = _columns_of(got.errors, parsed.columns)
        elif isinstance(got, HoplinkError):
            errors = [FieldError("row", got.code, got.message)]
        results += [RowResult(row, order.order_id, status, errors) for row in order.rows]
    if not dry_run:
        await emit_conversions(tx, workspace_id=workspace_id, results=done)
    results.sort(key=lambda r: r.row)
    return ImportReport(dry_run, parsed.rows, len(parsed.orders), parsed.columns, results)


async def _reverse(
    order: ExportOrder,
    purchase: ConversionEvent,
    result: EventResult,
    one_by_one: Callable[[int, ConversionEvent], Awaitable[EventResult | HoplinkError]],
    done: list[EventResult],
) -> EventResult | HoplinkError:
    """The cancel or the refund the export shows, after its purchase; the purchase's own
    result when there is none (or it was recorded by an earlier import)."""
    stored = result.order
    if stored is None:
        return result
    base = {"order_id": order.order_id, "occurred_at": purchase.occurred_at.isoformat()}
    if order.cancelled:
        raw: dict[str, Any] = {"type": "cancel", **base}
    elif order.refund > stored.refunded:
        raw = {
            "type": "refund",
            "amount": order.refund - stored.refunded,
            "event_id": order.refund_event_id,
            **base,
        }
    else:
        return result
    event, _ = parse_event(raw, now=purchase.occurred_at)
    got = await one_by_one(0, dataclasses.replace(event, occurred_at=purchase.occurred_at))
    if isinstance(got, EventResult):
        done.append(got)
        if got.outcome is Outcome.DUPLICATE:
            return result
    return got


class _Preview(Exception):
    def __init__(self, report: ImportReport) -> None:
        self.report = report


async def preview_or_import(
    db: Database,
    *,
    workspace_id: str,
    timezone: str,
    text: str,
    mapping: ColumnMapping | None,
    source: Source,
    dry_run: bool,
) -> ImportReport:
    """Import in one transaction, or (``dry_run``) run the very same import and roll it
    back. ``mapping`` None: the workspace's saved one."""
    now = utcnow()
    try:
        async with db.transaction() as tx:
            settings = await tx.conversions(workspace_id).settings()
            if mapping is None:
                mapping = await saved_mapping(tx, workspace_id=workspace_id)
            report = await import_export(
                tx,
                workspace_id=workspace_id,
                timezone=timezone,
                text=text,
                mapping=mapping,
                settings=settings,
                source=source,
                now=now,
                dry_run=dry_run,
            )
            if dry_run:
                raise _Preview(report)
    except _Preview as preview:
        return preview.report
    return report
