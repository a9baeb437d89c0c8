"""/api/v1/fx/rates — the platform's daily exchange rates, uploaded by the operator.

The same rules as ``hoplink fx import`` and Admin → Exchange rates (``conversions.rates``):
one rate per (UTC day, base, quote), 1 base = rate quote; a rate given again for a day
replaces it; one bad row refuses the whole upload, every bad row named. The key needs the
operator scope ``rates:write`` (granted by ``hoplink apikey create`` or a platform admin):
the rates convert every workspace's reports.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from hoplink.accounts.models import Scope
from hoplink.api.bodies import as_csv_text, as_json, media_type, read_bytes
from hoplink.api.deps import Principal, RuntimeDep, require
from hoplink.api.schemas import problem_responses
from hoplink.conversions.rates import latest_rates, parse_rates_csv, parse_rates_json, store_rates
from hoplink.errors import FieldError, InvalidInput

router = APIRouter(tags=["exchange rates"], responses=problem_responses(413))
RatesWrite = Annotated[Principal, Depends(require(Scope.RATES_WRITE))]


class RateOut(BaseModel):
    date: date
    base: str
    quote: str
    rate: str = Field(description="1 base = rate quote, as a decimal string (exact)")


class RatesStored(BaseModel):
    stored: int
    days: int
    first_day: date
    last_day: date


_EXAMPLE_JSON = {"rates": [{"date": "2026-11-30", "base": "USD", "quote": "CNY", "rate": "7.12"}]}


@router.post(
    "/fx/rates",
    response_model=RatesStored,
    summary="Upload daily exchange rates (CSV or JSON)",
    description=(
        "`text/csv`: `date,base,quote,rate` lines (a header line is optional), as for"
        ' `hoplink fx import`. `application/json`: `{"rates": [{"date", "base",'
        ' "quote", "rate"}]}`. 1 base = rate quote on that UTC day; a day\'s rate given'
        " again replaces it. Every bad row is named (`rows.<line>.<part>` or"
        " `rates.<index>.<member>`) and nothing is stored. Needs `rates:write`."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}, "example": _EXAMPLE_JSON},
            },
        }
    },
)
async def upload_rates(request: Request, who: RatesWrite, runtime: RuntimeDep) -> RatesStored:
    kind = media_type(request)
    if kind not in ("text/csv", "application/json", "text/plain"):
        raise InvalidInput(
            FieldError("content-type", "unsupported", "send text/csv or application/json")
        )
    data = await read_bytes(request, runtime.settings.conversions_max_body_bytes)
    if kind == "application/json":
        rows = parse_rates_json(as_json(data))
    else:
        rows = parse_rates_csv(as_csv_text(data, field="rows"))
    async with runtime.db.transaction() as tx:
        stored = await store_rates(tx, rows=rows)
    days = sorted({r[0] for r in rows})
    return RatesStored(stored=stored, days=len(days), first_day=days[0], last_day=days[-1])


@router.get("/fx/rates", response_model=list[RateOut], summary="The newest exchange rates")
async def list_rates(
    who: RatesWrite,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 200,
) -> list[RateOut]:
    async with runtime.db.transaction(write=False) as tx:
        rates = await latest_rates(tx, limit=limit)
    return [RateOut(date=d, base=b, quote=q, rate=str(r)) for d, b, q, r in rates]
