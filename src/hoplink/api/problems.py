"""Errors as RFC 7807 problem details — the one place errors become HTTP."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from hoplink.errors import FieldError, HoplinkError, InvalidInput, RateLimited

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
    elif exc.status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="hoplink"'}
    return problem(exc.status, exc.code, exc.title, exc.message, errors, headers)


def _loc_to_field(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts)


def field_errors(errors: Sequence[Any], prefix: str = "") -> list[FieldError]:
    """Pydantic's errors as FieldErrors with dotted paths and readable messages."""
    out: list[FieldError] = []
    for err in errors:
        field = _loc_to_field(err.get("loc", ()))
        if prefix:
            field = f"{prefix}.{field}" if field else prefix
        kind = str(err.get("type", "invalid"))
        message = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
        if kind == "extra_forbidden":
            message = "is not a known field"
        elif kind == "missing":
            message = "is required"
        elif kind == "json_invalid":
            field, message = "", "the request body is not valid JSON"
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
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated"}
        code = codes.get(exc.status_code, "http_error")
        return problem(exc.status_code, code, str(exc.detail), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem(500, "internal", "Internal error", "an unexpected error occurred")
