"""/api/v1/conversions — events in (API key with ``conversions:write``, or an ingest key),
orders out, attribution settings, commission rules, ingest keys, ad spend import."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials
from starlette.responses import Response

from hoplink.accounts.models import Scope
from hoplink.api.conversion_schemas import (
    ConversionIn,
    ConversionsIn,
    ConversionsOut,
    EventResultOut,
    IngestKeyIn,
    IngestKeyOut,
    OrderDetail,
    OrderOut,
    OrderPage,
    RuleIn,
    RuleOut,
    SettingsIO,
    SpendImported,
    TouchOut,
)
from hoplink.api.deps import Principal, RuntimeDep, _bearer, _principal, require
from hoplink.api.schemas import problem_responses
from hoplink.clicks.salts import visitor_hash
from hoplink.conversions import ingest_keys
from hoplink.conversions import settings as conv_settings
from hoplink.conversions.batch import record_batch
from hoplink.conversions.models import ConversionEvent, EventResult, Source
from hoplink.conversions.money import CURRENCIES
from hoplink.conversions.notify import emit_conversions
from hoplink.conversions.parse import VisitorHint, parse_event
from hoplink.conversions.service import record_event
from hoplink.conversions.spend import FORMATS, import_spend
from hoplink.errors import (
    BadRequest,
    FieldError,
    HoplinkError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    WorkspaceSuspended,
)
from hoplink.ids import utcnow
from hoplink.ratelimit import enforce, parse_limit
from hoplink.runtime import Runtime
from hoplink.storable import problem
from hoplink.storage.conversions import OrderFilter
from hoplink.workspaces.models import Workspace, WorkspaceStatus

router = APIRouter(tags=["conversions"], responses=problem_responses(404, 413))
ConversionsWrite = Annotated[Principal, Depends(require(Scope.CONVERSIONS_WRITE))]
StatsRead = Annotated[Principal, Depends(require(Scope.STATS_READ))]


@dataclass(frozen=True, slots=True)
class Writer:
    """Who records conversions: an API key's principal or a workspace's ingest key."""

    workspace: Workspace
    source: Source
    actor: str


async def _writer(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Writer:
    token = credentials.credentials.strip() if credentials else ""
    if not token.startswith(ingest_keys.PREFIX):
        principal = await _principal(runtime, credentials)
        checked = await require(Scope.CONVERSIONS_WRITE)(principal)
        return Writer(checked.workspace, Source.API, checked.actor)
    async with runtime.db.transaction(write=False) as tx:
        key = await ingest_keys.authenticate(tx, token)
        workspace = await tx.workspaces.get(key.workspace_id)
    if workspace is None:
        raise NotFound("no such workspace")
    if workspace.status is WorkspaceStatus.SUSPENDED:
        raise WorkspaceSuspended("this workspace is suspended; contact the platform operator")
    await enforce(
        runtime.rate_limiter,
        parse_limit("api_key", runtime.settings.rate_limit_api_key),
        key.id,
        message="this ingest key has made too many requests",
    )
    return Writer(workspace, Source.INGEST_KEY, f"ikey:{key.id}")


WriterDep = Annotated[Writer, Depends(_writer)]


async def _body(request: Request, limit: int) -> Any:
    """The JSON body, refused with 413 past ``limit`` bytes before it is all read."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body may be at most {limit} bytes; split the events")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body may be at most {limit} bytes; split the events")
        chunks.append(chunk)
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError:
        raise BadRequest("the request body is not valid JSON", code="bad_json") from None


async def _hashes(runtime: Runtime, workspace_id: str, hint: VisitorHint) -> tuple[str, ...]:
    """The buyer's visitor hash under today's and yesterday's salts (the ones still kept)."""
    now = time.time()
    out = []
    for ts in (now, now - 86_400):
        key = await runtime.salts.key_at(ts)
        out.append(visitor_hash(key, workspace_id, hint.ip, hint.user_agent))
    return tuple(out)


def _result(index: int, r: EventResult) -> dict[str, Any]:
    order = OrderOut.of(r.order).model_dump(mode="json") if r.order else None
    return {
        "index": index,
        "event_id": r.event_id,
        "status": r.outcome.value,
        "order": order,
        "errors": [],
    }


def _failed(index: int, exc: HoplinkError, event_id: str | None) -> dict[str, Any]:
    errors = (
        exc.errors if isinstance(exc, InvalidInput) else [FieldError("", exc.code, exc.message)]
    )
    return {
        "index": index,
        "event_id": event_id,
        "status": "error",
        "order": None,
        "errors": [{"field": e.field, "code": e.code, "message": e.message} for e in errors],
    }


@router.post(
    "/conversions",
    summary='Record conversion events: one, or up to 1,000 as {"events": [...]}',
    description=(
        "Authenticate with an API key that has `conversions:write` or with an ingest key"
        " (`hlik_…`). One event (a JSON object with `type`) answers 201 (created) or 200"
        ' with its result, or a problem naming the field. `{"events": [...]}` answers 200'
        " with a result per item (`status` `error` with `errors` for refused items; the"
        " others are stored). See docs/attribution.md."
    ),
    response_model=ConversionsOut | EventResultOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/ConversionIn"},
                            {"$ref": "#/components/schemas/ConversionsIn"},
                        ]
                    }
                }
            },
        }
    },
)
async def post_conversions(request: Request, who: WriterDep, runtime: RuntimeDep) -> Response:
    settings = runtime.settings
    body = await _body(request, settings.conversions_max_body_bytes)
    single = isinstance(body, dict) and "events" not in body
    if single:
        raw_events: list[Any] = [body]
    elif isinstance(body, dict) and isinstance(body.get("events"), list):
        raw_events = body["events"]
        unknown = sorted(set(body) - {"events"})
        if unknown:
            raise InvalidInput(FieldError(unknown[0], "extra_forbidden", "is not a known field"))
    else:
        raise InvalidInput(
            FieldError("", "dict_type", 'send one event object or {"events": [...]}')
        )
    if not raw_events:
        raise InvalidInput(FieldError("events", "empty", "give at least one event"))
    if len(raw_events) > settings.conversions_max_events:
        raise InvalidInput(
            FieldError("events", "too_many", f"at most {settings.conversions_max_events} per call")
        )
    now = utcnow()
    ws = who.workspace
    parsed: list[ConversionEvent | HoplinkError] = []
    for raw in raw_events:
        try:
            event, hint = parse_event(raw, now=now)
        except InvalidInput as exc:
            if single:
                raise
            parsed.append(exc)
            continue
        if hint is not None:
            event = replace(event, visitor_hashes=await _hashes(runtime, ws.id, hint))
        parsed.append(event)
    results: list[dict[str, Any]] = []
    async with runtime.db.transaction() as tx:
        conv = await tx.conversions(ws.id).settings()
        if single:
            item = parsed[0]
            assert isinstance(item, ConversionEvent)
            r = await record_event(
                tx, workspace_id=ws.id, event=item, settings=conv, source=who.source, now=now
            )
            results.append(_result(0, r))
            await emit_conversions(tx, workspace_id=ws.id, results=[r])
        else:
            valid = [(i, e) for i, e in enumerate(parsed) if isinstance(e, ConversionEvent)]

            async def one_by_one(_: int, event: ConversionEvent) -> EventResult | HoplinkError:
                nested = await tx.conn.begin_nested()
                try:
                    done = await record_event(
                        tx,
                        workspace_id=ws.id,
                        event=event,
                        settings=conv,
                        source=who.source,
                        now=now,
                    )
                except HoplinkError as exc:
                    await nested.rollback()
                    return exc
                await nested.commit()
                return done

            recorded = await record_batch(
                tx,
                workspace_id=ws.id,
                events=[e for _, e in valid],
                settings=conv,
                source=who.source,
                now=now,
                one_by_one=one_by_one,
            )
            outcome = {i: recorded[n] for n, (i, _) in enumerate(valid)}
            await emit_conversions(
                tx,
                workspace_id=ws.id,
                results=[r for _, r in sorted(recorded.items()) if isinstance(r, EventResult)],
            )
            for i, item in enumerate(parsed):
                got = outcome.get(i, item)
                if isinstance(got, EventResult):
                    results.append(_result(i, got))
                    continue
                assert isinstance(got, HoplinkError)
                raw = raw_events[i]
                raw_id = raw.get("event_id") if isinstance(raw, dict) else None
                if isinstance(item, ConversionEvent):
                    raw_id = item.event_id
                results.append(_failed(i, got, raw_id if isinstance(raw_id, str) else None))
    if single:
        status = 201 if results[0]["status"] == "created" else 200
        return Response(orjson.dumps(results[0]), status_code=status, media_type="application/json")
    accepted = sum(1 for r in results if r["status"] != "error")
    return Response(
        orjson.dumps(
            {"accepted": accepted, "rejected": len(results) - accepted, "results": results}
        ),
        media_type="application/json",
    )


def add_schemas(openapi: dict[str, Any]) -> dict[str, Any]:
    """Put the event models the body above refers to into the OpenAPI components (the body
    is read by hand, so FastAPI does not see them)."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    for model in (ConversionIn, ConversionsIn):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return openapi


def _cursor(o: OrderOut) -> str:
    raw = f"{o.placed_at.isoformat()}|{o.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _parse_cursor(value: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        at, pk = raw.split("|", 1)
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None or problem(pk) is not None:
            raise ValueError
        return parsed.astimezone(UTC), pk
    except (ValueError, UnicodeDecodeError, OverflowError):
        raise InvalidInput(FieldError("cursor", "invalid", "use next_cursor as given")) from None


@router.get("/conversions/orders", response_model=OrderPage, summary="Orders, newest first")
async def list_orders(
    who: StatsRead,
    runtime: RuntimeDep,
    attributed: Annotated[bool | None, Query(description="Only (un)attributed orders")] = None,
    refunded: Annotated[bool | None, Query(description="Only orders with(out) refunds")] = None,
    link_id: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=128, description="Order id prefix")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> OrderPage:
    before = _parse_cursor(cursor) if cursor else None
    f = OrderFilter(attributed=attributed, refunded=refunded, link_id=link_id, search=q)
    async with runtime.db.transaction(write=False) as tx:
        found = await tx.conversions(who.workspace.id).list_orders(
            f, limit=limit + 1, before=before
        )
    items = [OrderOut.of(o) for o in found[:limit]]
    return OrderPage(items=items, next_cursor=_cursor(items[-1]) if len(found) > limit else None)


@router.get(
    "/conversions/orders/{order_pk}",
    response_model=OrderDetail,
    summary="One order with its click path, earlier amounts and events",
)
async def get_order(order_pk: str, who: StatsRead, runtime: RuntimeDep) -> OrderDetail:
    async with runtime.db.transaction(write=False) as tx:
        repo = tx.conversions(who.workspace.id)
        order = await repo.get(order_pk)
        if order is None:
            raise NotFound("no such order in this workspace")
        touches = await repo.touches(order.id)
        revisions = await repo.revisions(order.id)
        events = await repo.events_of_order(order.order_id)
    base = OrderOut.of(order).model_dump()
    return OrderDetail(
        **base,
        touches=[
            TouchOut(
                click_id=x.click_id,
                link_id=x.link_id,
                ts=x.ts,
                is_first=x.is_first,
                is_last=x.is_last,
            )
            for x in touches
        ],
        revisions=revisions,
        events=events,
    )


def _settings_out(s: Any) -> SettingsIO:
    return SettingsIO(
        window_days=s.window_days,
        model=s.model.value,
        currency=s.currency,
        commission_percent=s.commission_bp / 100,
    )


@router.get("/conversions/settings", response_model=SettingsIO, summary="Attribution settings")
async def get_settings(who: StatsRead, runtime: RuntimeDep) -> SettingsIO:
    async with runtime.db.transaction(write=False) as tx:
        return _settings_out(await tx.conversions(who.workspace.id).settings())


@router.put(
    "/conversions/settings",
    response_model=SettingsIO,
    summary="Change the window, model, report currency or commission (fields left out stay)",
)
async def put_settings(body: SettingsIO, who: ConversionsWrite, runtime: RuntimeDep) -> SettingsIO:
    s = runtime.settings
    async with runtime.db.transaction() as tx:
        saved = await conv_settings.update_settings(
            tx,
            workspace_id=who.workspace.id,
            window_days=body.window_days,
            model=body.model,
            currency=body.currency,
            commission_percent=body.commission_percent,
            commission_range=(s.commission_min_percent, s.commission_max_percent),
        )
    return _settings_out(saved)


@router.get(
    "/conversions/commission-rules", response_model=list[RuleOut], summary="Commission overrides"
)
async def list_rules(who: StatsRead, runtime: RuntimeDep) -> list[RuleOut]:
    async with runtime.db.transaction(write=False) as tx:
        rules = await tx.conversions(who.workspace.id).rules()
    return [RuleOut(id=r.id, kind=r.kind, ref=r.ref, percent=r.rate_bp / 100) for r in rules]


@router.put(
    "/conversions/commission-rules",
    response_model=RuleOut,
    summary="Set the commission of a tag's or a campaign's links",
)
async def put_rule(body: RuleIn, who: ConversionsWrite, runtime: RuntimeDep) -> RuleOut:
    s = runtime.settings
    async with runtime.db.transaction() as tx:
        rule = await conv_settings.put_rule(
            tx,
            workspace_id=who.workspace.id,
            kind=body.kind,
            ref=body.ref,
            percent=body.percent,
            commission_range=(s.commission_min_percent, s.commission_max_percent),
        )
        stored = {(r.kind, r.ref): r for r in await tx.conversions(who.workspace.id).rules()}
    rule = stored[(rule.kind, rule.ref)]
    return RuleOut(id=rule.id, kind=rule.kind, ref=rule.ref, percent=rule.rate_bp / 100)


@router.delete(
    "/conversions/commission-rules/{rule_id}", status_code=204, summary="Remove an override"
)
async def delete_rule(rule_id: str, who: ConversionsWrite, runtime: RuntimeDep) -> Response:
    async with runtime.db.transaction() as tx:
        await conv_settings.delete_rule(tx, workspace_id=who.workspace.id, rule_id=rule_id)
    return Response(status_code=204)


def _key_out(k: ingest_keys.IngestKey, raw: str | None = None) -> IngestKeyOut:
    return IngestKeyOut(
        id=k.id,
        name=k.name,
        prefix=k.prefix,
        created_at=k.created_at,
        revoked_at=k.revoked_at,
        key=raw,
    )


@router.get("/conversions/ingest-keys", response_model=list[IngestKeyOut], summary="Ingest keys")
async def list_keys(who: ConversionsWrite, runtime: RuntimeDep) -> list[IngestKeyOut]:
    async with runtime.db.transaction(write=False) as tx:
        keys = await ingest_keys.list_ingest_keys(tx, workspace_id=who.workspace.id)
    return [_key_out(k) for k in keys]


@router.post(
    "/conversions/ingest-keys",
    status_code=201,
    response_model=IngestKeyOut,
    summary="Create an ingest key for a store's server (the key is shown this once)",
)
async def create_key(body: IngestKeyIn, who: ConversionsWrite, runtime: RuntimeDep) -> IngestKeyOut:
    async with runtime.db.transaction() as tx:
        key, raw = await ingest_keys.create_ingest_key(
            tx, workspace_id=who.workspace.id, name=body.name, created_by=who.actor
        )
    return _key_out(key, raw)


@router.delete("/conversions/ingest-keys/{key_id}", status_code=204, summary="Revoke an ingest key")
async def revoke_key(key_id: str, who: ConversionsWrite, runtime: RuntimeDep) -> Response:
    async with runtime.db.transaction() as tx:
        await ingest_keys.revoke_ingest_key(
            tx, workspace_id=who.workspace.id, key_id=key_id, actor=who.actor
        )
    return Response(status_code=204)


@router.post(
    "/spend/import",
    response_model=SpendImported,
    summary="Import ad spend: a CSV export of Meta, TikTok or Google Ads, or a generic CSV",
    description="The body is the CSV file (text/csv). Columns accepted: docs/attribution.md.",
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
)
async def import_spend_csv(
    request: Request,
    who: ConversionsWrite,
    runtime: RuntimeDep,
    format: Annotated[str, Query(max_length=16, description=", ".join(FORMATS))] = "generic",
    currency: Annotated[
        str | None, Query(max_length=3, description="When the file names none")
    ] = None,
) -> SpendImported:
    if currency and currency.upper() not in CURRENCIES:
        raise InvalidInput(
            FieldError("currency", "invalid_currency", "is not an ISO 4217 currency code")
        )
    limit = runtime.settings.conversions_max_body_bytes
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the file may be at most {limit} bytes")
        chunks.append(chunk)
    try:
        text = b"".join(chunks).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(FieldError("file", "encoding", "save the CSV as UTF-8")) from None
    async with runtime.db.transaction() as tx:
        default = (
            currency.upper()
            if currency
            else (await tx.conversions(who.workspace.id).settings()).currency
        )
        rows = await import_spend(
            tx, workspace_id=who.workspace.id, text=text, fmt=format, default_currency=default
        )
    return SpendImported(
        imported=len(rows),
        days=len({r.day for r in rows}),
        campaigns=len({r.campaign for r in rows}),
    )
