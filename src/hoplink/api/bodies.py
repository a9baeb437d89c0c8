"""Request bodies read by hand (CSV files, JSON of several shapes), within a size limit that
is enforced while reading, not after."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from hoplink.errors import BadRequest, FieldError, InvalidInput, PayloadTooLarge


async def read_bytes(request: Request, limit: int, *, what: str = "the body") -> bytes:
    """The body, refused with 413 past ``limit`` bytes before it is all read."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"{what} may be at most {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"{what} may be at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def as_json(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise BadRequest("the request body is not valid JSON", code="bad_json") from None


def as_csv_text(data: bytes, *, field: str = "file") -> str:
    """A CSV upload as text: UTF-8 (a byte-order mark is dropped), no NUL."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(FieldError(field, "encoding", "save the CSV as UTF-8")) from None
    if "\x00" in text:
        raise InvalidInput(FieldError(field, "invalid", "the file holds a NUL character"))
    return text


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()
