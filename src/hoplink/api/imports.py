"""/api/v1/imports — import links from another shortener (dry run first)."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from hoplink.api.deps import LinksWrite, RuntimeDep
from hoplink.api.schemas import problem_responses
from hoplink.errors import FieldError, InvalidInput
from hoplink.imports import formats
from hoplink.imports.kutt import read_kutt
from hoplink.imports.models import ImportReport, Source
from hoplink.imports.runner import run_import
from hoplink.imports.service import mapping_csv
from hoplink.net.fetch import SafeFetcher

router = APIRouter(prefix="/imports", tags=["imports"], responses=problem_responses(403, 422))


class ImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: Source = Field(description="csv, bitly, shlink, yourls (SQL dump) or kutt (API)")
    content: str | None = Field(
        None, max_length=64 * 1024 * 1024, description="The exported file (not for kutt)"
    )
    domain: str | None = Field(
        None, max_length=253, description="The old short domain, when the file does not say it"
    )
    dry_run: bool = Field(True, description="Report what would happen; write nothing")
    kutt_url: str | None = Field(None, max_length=2000, description="Kutt's base URL")
    kutt_api_key: str | None = Field(None, max_length=200)


class RowOut(BaseModel):
    row: int
    action: str
    old_short_url: str | None
    old_code: str | None
    new_short_url: str | None
    new_code: str | None
    imported_clicks: int
    reason: str | None


class ImportOut(BaseModel):
    source: str
    dry_run: bool
    counts: dict[str, int]
    rows: list[RowOut]


def _json(report: ImportReport) -> Response:
    body = {
        "source": report.source.value,
        "dry_run": report.dry_run,
        "counts": report.counts(),
        "rows": [
            {
                "row": r.row,
                "action": r.action.value,
                "old_short_url": r.old_short_url,
                "old_code": r.old_code,
                "new_short_url": r.new_short_url,
                "new_code": r.new_code,
                "imported_clicks": r.imported_clicks,
                "reason": r.reason,
            }
            for r in report.rows
        ],
    }
    return Response(orjson.dumps(body), media_type="application/json")


@router.post(
    "",
    response_model=ImportOut,
    summary="Import links (Bitly, Shlink, YOURLS, Kutt, CSV); dry run by default",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_links(
    body: ImportRequest,
    who: LinksWrite,
    runtime: RuntimeDep,
    format: Annotated[Literal["json", "csv"], Query(description="csv: the mapping")] = "json",
) -> Response:
    if body.source is Source.KUTT:
        if not body.kutt_url or not body.kutt_api_key:
            raise InvalidInput(FieldError("kutt_url", "required", "give kutt_url and kutt_api_key"))
        fetcher = SafeFetcher.from_settings(runtime.settings)
        links = await read_kutt(fetcher, base_url=body.kutt_url, api_key=body.kutt_api_key)
    else:
        if body.content is None:
            raise InvalidInput(FieldError("content", "required", "give the exported file"))
        links = formats.read(body.source, body.content, domain=body.domain)
    report = await run_import(
        runtime,
        workspace=who.workspace,
        source=body.source,
        links=links,
        actor=who.actor,
        dry_run=body.dry_run,
    )
    if format == "csv":
        return Response(
            mapping_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="import-mapping.csv"'},
        )
    return _json(report)
