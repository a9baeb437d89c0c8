"""Errors of the Shlink-compatible API as Shlink's own problem details.

Shlink's clients parse every error body as JSON and branch on ``type`` (e.g.
``https://shlink.io/api/error/short-url-not-found``), so the errors Shlink has keep its
type, title, status and extra members (``shortCode``, ``invalidElements`` ...). Errors
Shlink has no type for keep hoplink's type URI, in the same shape.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

from hoplink.api.problems import PROBLEM_JSON, field_errors
from hoplink.errors import (
    AuthenticationFailed,
    CodeTaken,
    FieldError,
    HoplinkError,
    InvalidInput,
    RateLimited,
    ServiceUnavailable,
)
from hoplink.storage import outage

log = logging.getLogger("hoplink.api.shlink")
SHLINK_ERRORS = "https://shlink.io/api/error/"

# hoplink's field names as Shlink calls them.
FIELD_NAMES = {
    "url": "longUrl",
    "code": "customSlug",
    "forward_query": "forwardQuery",
    "created_from": "startDate",
    "created_to": "endDate",
    "starts_at": "validSince",
    "ends_at": "validUntil",
    "max_clicks": "maxVisits",
    "rules": "redirectRules",
}


class ShlinkProblem(Exception):
    """An error in Shlink's own terms: ``kind`` is the last part of Shlink's type URI."""

    def __init__(self, status: int, kind: str, title: str, detail: str, **extra: Any) -> None:
        self.status, self.kind, self.title, self.detail = status, kind, title, detail
        self.extra = extra
        self.headers: dict[str, str] | None = None
        super().__init__(detail)


def shlink_field(name: str) -> str:
    head = name.split(".", 1)[0]
    return FIELD_NAMES.get(head, head)


# hoplink's snake_case names inside a message ("must be after starts_at"), renamed too.
_NAMES_IN_TEXT = re.compile(r"\b(" + "|".join(n for n in FIELD_NAMES if "_" in n) + r")\b")


def _shlink_words(message: str) -> str:
    return _NAMES_IN_TEXT.sub(lambda m: FIELD_NAMES[m.group(1)], message)


def invalid_data(errors: list[FieldError], detail: str | None = None) -> ShlinkProblem:
    named = [FieldError(shlink_field(e.field), e.code, _shlink_words(e.message)) for e in errors]
    elements = list(dict.fromkeys(e.field for e in named if e.field))
    if detail is None:
        first = named[0]
        detail = f"{first.field}: {first.message}" if first.field else first.message
    return ShlinkProblem(
        400,
        "invalid-data",
        "Invalid data",
        detail,
        invalidElements=elements,
        errors=[{"field": e.field, "code": e.code, "message": e.message} for e in named],
    )


def short_url_not_found(code: str, domain: str | None) -> ShlinkProblem:
    where = f' for domain "{domain}"' if domain else ""
    extra: dict[str, Any] = {"shortCode": code}
    if domain:
        extra["domain"] = domain
    return ShlinkProblem(
        404,
        "short-url-not-found",
        "Short URL not found",
        f'No URL found with short code "{code}"{where}',
        **extra,
    )


def from_hoplink(exc: HoplinkError) -> ShlinkProblem:
    if isinstance(exc, CodeTaken):
        slug = exc.taken
        return ShlinkProblem(
            400,
            "non-unique-slug",
            "Invalid custom slug",
            f'Provided slug "{slug}" is already in use.',
            customSlug=slug,
        )
    if isinstance(exc, InvalidInput):
        return invalid_data(exc.errors)
    if isinstance(exc, AuthenticationFailed):
        return ShlinkProblem(
            401,
            "invalid-api-key",
            "Invalid API key",
            "Provided API key does not exist or is invalid.",
        )
    problem = ShlinkProblem(exc.status, exc.code, exc.title, exc.message)
    if isinstance(exc, ServiceUnavailable):
        problem.headers = {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, RateLimited):
        problem.headers = {"Retry-After": str(exc.retry_after)}
        if exc.quota is not None and exc.window is not None:
            problem.headers["RateLimit-Policy"] = (
                f'"{exc.code}";q={exc.quota};w={math.ceil(exc.window)}'
            )
    return problem


# Kinds that are Shlink's own; any other kind is one of hoplink's error codes.
_SHLINK_KINDS = frozenset(
    {
        "invalid-data",
        "invalid-short-url-deletion",
        "domain-not-found",
        "forbidden-tag-operation",
        "non-unique-slug",
        "short-url-not-found",
        "tag-conflict",
        "tag-not-found",
        "mercure-not-configured",
        "missing-authentication",
        "invalid-api-key",
        "not-found",
        "invalid-url",
    }
)


def render(problem: ShlinkProblem) -> JSONResponse:
    base = SHLINK_ERRORS if problem.kind in _SHLINK_KINDS else "https://hoplink.dev/problems/"
    body: dict[str, Any] = {
        "type": base + problem.kind,
        "title": problem.title,
        "detail": problem.detail,
        "status": problem.status,
        **problem.extra,
    }
    return JSONResponse(
        body, status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(ShlinkProblem)
    async def _shlink(_request: Request, exc: ShlinkProblem) -> JSONResponse:
        return render(exc)

    @app.exception_handler(HoplinkError)
    async def _hoplink(_request: Request, exc: HoplinkError) -> JSONResponse:
        return render(from_hoplink(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(exc.errors())
        if any(e.code == "json_invalid" for e in errors):
            return render(invalid_data(errors, "the request body is not valid JSON"))
        return render(invalid_data(errors))

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 404:
            problem = ShlinkProblem(
                404, "not-found", "Not found", "Requested route does not exist."
            )
        elif exc.status_code == 405:
            problem = ShlinkProblem(
                405,
                "method_not_allowed",
                "Method not allowed",
                "this route does not take that method",
            )
        else:
            problem = ShlinkProblem(exc.status_code, "http_error", str(exc.detail), str(exc.detail))
        problem.headers = dict(exc.headers) if exc.headers else None
        return render(problem)

    async def _database_error(_request: Request, exc: Exception) -> JSONResponse:
        unavailable = outage.unavailable(exc)
        if unavailable is None:
            raise exc  # a bug, not an outage: the 500 below
        return render(from_hoplink(unavailable))

    for kind in outage.ADAPTER_TYPES:
        app.add_exception_handler(kind, _database_error)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return render(
            ShlinkProblem(500, "internal", "Internal error", "an unexpected error occurred")
        )
