"""Errors as RFC 7807 problem details — the one place errors become HTTP."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from hoplink.errors import (
    FieldError,
    HoplinkError,
    InvalidInput,
    RateLimited,
    ServiceUnavailable,
)
from hoplink.storage import outage

log = logging.getLogger("hoplink.api")
PROBLEM_JSON = "application/problem+json"


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: Sequence[FieldError] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://hoplink.dev/problems/{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
    }
    if errors:
        body["field"] = errors[0].field
        body["errors"] = [{"field": e.field, "code": e.code, "message": e.message} for e in errors]
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def from_error(exc: HoplinkError) -> JSONResponse:
    errors = exc.errors if isinstance(exc, InvalidInput) else []
    headers = None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
        if exc.quota is not None and exc.window is not None:
            # draft-ietf-httpapi-ratelimit-headers: the policy, and none left for now.
            headers["RateLimit-Policy"] = f'"{exc.code}";q={exc.quota};w={math.ceil(exc.window)}'
            headers["RateLimit"] = f'"{exc.code}";r=0;t={exc.retry_after}'
    elif isinstance(exc, ServiceUnavailable):
        headers = {"Retry-After": str(exc.retry_after)}
    elif exc.status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="hoplink"'}
    return problem(exc.status, exc.code, exc.title, exc.message, errors, headers)


def _loc_to_field(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts)


# Pydantic's wording for the common cases, rephrased to say what to send instead.
_MESSAGES = {
    "extra_forbidden": "is not a known field",
    "missing": "is required",
    "model_type": "must be a JSON object",
    "model_attributes_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "list_type": "must be a list",
    "datetime_type": "must be an ISO 8601 date-time with a time zone, e.g. 2026-11-01T00:00:00Z",
    "datetime_parsing": (
        "must be an ISO 8601 date-time with a time zone, e.g. 2026-11-01T00:00:00Z"
        " (in a query string, write '+' as %2B)"
    ),
    "datetime_from_date_parsing": (
        "must be an ISO 8601 date-time with a time zone, e.g. 2026-11-01T00:00:00Z"
        " (in a query string, write '+' as %2B)"
    ),
}


def field_errors(errors: Sequence[Any], prefix: str = "") -> list[FieldError]:
    """Pydantic's errors as FieldErrors with dotted paths and readable messages."""
    out: list[FieldError] = []
    for err in errors:
        field = _loc_to_field(err.get("loc", ()))
        if prefix:
            field = f"{prefix}.{field}" if field else prefix
        kind = str(err.get("type", "invalid"))
        message = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
        message = _MESSAGES.get(kind, message)
        bound = (err.get("ctx") or {}).get("ge" if kind == "greater_than_equal" else "le")
        if kind in ("greater_than_equal", "less_than_equal") and bound is not None:
            message = f"must be {bound} or {'more' if kind == 'greater_than_equal' else 'less'}"
        if kind == "json_invalid":
            field, message = "", "the request body is not valid JSON"
        elif tuple(err.get("loc", ())) == ("body",):  # the body as a whole
            if kind == "missing":
                message = "the request body is required: a JSON object"
            else:
                message = "the request body must be a JSON object sent as application/json"
        out.append(FieldError(field, kind, message))
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(HoplinkError)
    async def _hoplink_error(_request: Request, exc: HoplinkError) -> JSONResponse:
        return from_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(exc.errors())
        if any(e.code == "json_invalid" for e in errors):
            return problem(400, "bad_json", "Bad request", "the request body is not valid JSON")
        return from_error(InvalidInput(errors))

    @app.exception_handler(ValidationError)
    async def _pydantic_error(_request: Request, exc: ValidationError) -> JSONResponse:
        return from_error(InvalidInput(field_errors(exc.errors())))

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        known = {
            404: ("not_found", "Not found", "there is no such endpoint; see /api/docs"),
            405: (
                "method_not_allowed",
                "Method not allowed",
                "this endpoint does not take that method",
            ),
        }
        code, title, detail = known.get(
            exc.status_code, ("http_error", str(exc.detail), str(exc.detail))
        )
        headers = dict(exc.headers) if exc.headers else None
        return problem(exc.status_code, code, title, detail, headers=headers)

    async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
        unavailable = outage.unavailable(exc)
        if unavailable is None:
            raise exc  # a bug, not an outage: the 500 below
        return from_error(unavailable)

    for kind in outage.ADAPTER_TYPES:
        app.add_exception_handler(kind, _database_error)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem(500, "internal", "Internal error", "an unexpected error occurred")
