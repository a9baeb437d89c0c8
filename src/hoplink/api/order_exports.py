"""/api/v1/conversions/import — a marketplace's order-export CSV, through the workspace's
saved column mapping (``conversions.exports``), with a preview (``dry_run``) and a result
per row. Idempotent by order id: the same file twice records nothing new."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from hoplink.accounts.models import Scope
from hoplink.api.bodies import as_csv_text, read_bytes
from hoplink.api.conversions import WriterDep
from hoplink.api.deps import Principal, RuntimeDep, require
from hoplink.api.schemas import _In, problem_responses
from hoplink.conversions.exports import FIELDS, PRESETS, check_mapping
from hoplink.conversions.models import Source
from hoplink.conversions.order_import import (
    ImportReport,
    preview_or_import,
    save_mapping,
    saved_mapping,
)

router = APIRouter(tags=["conversions"], responses=problem_responses(413))
ConversionsWrite = Annotated[Principal, Depends(require(Scope.CONVERSIONS_WRITE))]
StatsRead = Annotated[Principal, Depends(require(Scope.STATS_READ))]


class PresetOut(BaseModel):
    name: str
    label: str
    columns: dict[str, list[str]] = Field(description="hoplink field → the headers looked for")


class MappingIO(_In):
    preset: str = Field(description=f"One of {', '.join(PRESETS)}")
    columns: dict[str, str] = Field(
        default_factory=dict,
        description=f"Your export's header per field ({', '.join(FIELDS)}); the preset's"
        " names for the others",
    )
    currency: str | None = Field(
        default=None, description="ISO 4217 code of amounts when the file names none"
    )


class RowErrorOut(BaseModel):
    column: str
    code: str
    message: str


class RowOut(BaseModel):
    row: int = Field(description="Line number in the file (the header is line 1 or later)")
    order_id: str | None
    status: str = Field(
        description="created, updated, duplicate, cancelled, refunded, skipped or error"
    )
    errors: list[RowErrorOut]


class ImportOut(BaseModel):
    dry_run: bool
    rows: int
    orders: int
    counts: dict[str, int]
    columns: dict[str, str] = Field(description="hoplink field → the file's header used")
    results: list[RowOut]


def report_out(report: ImportReport) -> ImportOut:
    return ImportOut(
        dry_run=report.dry_run,
        rows=report.rows,
        orders=report.orders,
        counts=report.counts,
        columns=report.columns,
        results=[
            RowOut(
                row=r.row,
                order_id=r.order_id,
                status=r.status,
                errors=[
                    RowErrorOut(column=e.field, code=e.code, message=e.message) for e in r.errors
                ],
            )
            for r in report.results
        ],
    )


@router.get(
    "/conversions/import/presets",
    response_model=list[PresetOut],
    summary="The marketplace export presets and the column names each looks for",
)
async def list_presets(who: StatsRead) -> list[PresetOut]:
    return [
        PresetOut(name=name, label=p.label, columns={k: list(v) for k, v in p.columns.items()})
        for name, p in PRESETS.items()
    ]


@router.get(
    "/conversions/import/mapping", response_model=MappingIO, summary="The saved column mapping"
)
async def get_mapping(who: StatsRead, runtime: RuntimeDep) -> MappingIO:
    async with runtime.db.transaction(write=False) as tx:
        m = await saved_mapping(tx, workspace_id=who.workspace.id)
    return MappingIO(preset=m.preset, columns=dict(m.columns), currency=m.currency)


@router.put(
    "/conversions/import/mapping", response_model=MappingIO, summary="Save the column mapping"
)
async def put_mapping(body: MappingIO, who: ConversionsWrite, runtime: RuntimeDep) -> MappingIO:
    async with runtime.db.transaction() as tx:
        m = await save_mapping(
            tx,
            workspace_id=who.workspace.id,
            preset=body.preset,
            columns=body.columns,
            currency=body.currency,
        )
    return MappingIO(preset=m.preset, columns=dict(m.columns), currency=m.currency)


@router.post(
    "/conversions/import",
    response_model=ImportOut,
    summary="Import a marketplace order export (CSV); dry_run previews it",
    description=(
        "The body is the export file (text/csv; Amazon's tab-delimited report too). Columns"
        " come from the saved mapping (`PUT /conversions/import/mapping`) unless `preset`"
        " is given. Each row gets a result; the same file again is all `duplicate`."
        " Authenticate with `conversions:write` or an ingest key. See docs/attribution.md."
    ),
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
)
async def import_orders(
    request: Request,
    who: WriterDep,
    runtime: RuntimeDep,
    dry_run: bool = False,
    preset: Annotated[
        str | None, Query(max_length=16, description="Use this preset, not the saved mapping")
    ] = None,
    currency: Annotated[
        str | None, Query(max_length=3, description="With preset: amounts' currency")
    ] = None,
) -> ImportOut:
    mapping = check_mapping(preset, {}, currency) if preset is not None else None
    data = await read_bytes(request, runtime.settings.conversions_max_body_bytes)
    text = as_csv_text(data)
    report = await preview_or_import(
        runtime.db,
        workspace_id=who.workspace.id,
        timezone=who.workspace.timezone,
        text=text,
        mapping=mapping,
        source=Source.ORDER_EXPORT,
        dry_run=dry_run,
    )
    return report_out(report)
