"""The edge of /api and the dashboard: every request's text checked once, bodies capped.

Before any route runs, the path parameters, the query string and the body (JSON, or form
fields) must be storable text (``hoplink.storable``): no NUL, no lone surrogate, no
value longer than any field takes. A violation is answered 422 naming the field, so no
view, service or driver ever sees such a value — on SQLite and PostgreSQL alike.

The body is read here, counting bytes as they arrive: a declared ``Content-Length``
above the limit is refused before a byte is read, a body that grows past it is refused
the moment it does (413). The redirect hot path never passes through here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers, UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hoplink import storable
from hoplink.errors import FieldError, HoplinkError, InvalidInput, PayloadTooLarge

Refuse = Callable[[Scope, HoplinkError], Response]
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _TooLarge(Exception):
    pass


class InputGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        paths: Callable[[], Iterable[str]],
        max_body: int,
        refuse: Refuse,
    ) -> None:
        self.app = app
        self.paths = paths  # the route templates ("/api/v1/links/{link_id}"), to name params
        self._compiled: list[re.Pattern[str]] | None = None
        # (route pattern, method) -> the query parameters that take one value
        self._scalars: list[tuple[re.Pattern[str], dict[str, frozenset[str]]]] | None = None
        self.max_body = max_body
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        error = self._check_path(scope) or _check_query(scope) or self._check_repeats(scope)
        if error is not None:
            await self.refuse(scope, InvalidInput(error))(scope, receive, send)
            return
        if scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            declared = int(headers.get("content-length", "0"))
        except ValueError:
            declared = 0
        try:
            if declared > self.max_body:
                raise _TooLarge
            body = await _read(receive, self.max_body)
        except _TooLarge:
            too_large = PayloadTooLarge(f"the request body must be at most {self.max_body} bytes")
            await self.refuse(scope, too_large)(scope, _replay(b""), send)
            return
        error = await _check_body(scope, headers, body)
        if error is not None:
            await self.refuse(scope, InvalidInput(error))(scope, _replay(body), send)
            return
        await self.app(scope, _replay(body, receive), send)

    def _check_repeats(self, scope: Scope) -> FieldError | None:
        """A parameter that takes one value given twice is refused, not half-ignored."""
        query = scope.get("query_string", b"").decode("latin-1")
        if "&" not in query:
            return None
        keys = [key for key, _ in parse_qsl(query, keep_blank_values=True)]
        repeated = {key for key in keys if keys.count(key) > 1}
        if not repeated:
            return None
        if self._scalars is None:
            self._scalars = _scalar_params(self.paths())
        for pattern, per_method in self._scalars:
            if pattern.match(scope["path"]):
                scalars = per_method.get(scope["method"], frozenset())
                for key in sorted(repeated & scalars):
                    return FieldError(key, "repeated", "give this parameter only once")
                return None
        return None

    def _check_path(self, scope: Scope) -> FieldError | None:
        path: str = scope["path"]
        found = storable.check("path", path, limit=8 * storable.MAX_PARAM)
        if found is None:
            return None
        # Name the path parameter that carries it, as the route declares it.
        if self._compiled is None:
            self._compiled = [compile_path(p)[0] for p in self.paths()]
        for pattern in self._compiled:
            match = pattern.match(path)
            if match is not None:
                for name, value in match.groupdict().items():
                    named = storable.check(name, value, limit=storable.MAX_PARAM)
                    if named is not None:
                        return named
        return found


def _scalar_params(paths: Any) -> list[tuple[re.Pattern[str], dict[str, frozenset[str]]]]:
    """For each route of the OpenAPI ``paths``: per method, the query parameters whose
    schema is not an array (a second value of one would silently replace the first)."""
    found: list[tuple[re.Pattern[str], dict[str, frozenset[str]]]] = []
    if not isinstance(paths, dict):
        return found  # bare route templates (the dashboard): no parameter schemas
    for template, operations in paths.items():
        per_method: dict[str, frozenset[str]] = {}
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            names: set[str] = set()
            for param in operation.get("parameters", ()):
                if param.get("in") != "query":
                    continue
                schema = param.get("schema", {})
                kinds = [schema, *schema.get("anyOf", ())]
                if not any(k.get("type") == "array" for k in kinds):
                    names.add(param["name"])
            per_method[method.upper()] = frozenset(names)
        found.append((compile_path(template)[0], per_method))
    return found


def _check_query(scope: Scope) -> FieldError | None:
    # As Starlette parses it (percent-escapes decoded as UTF-8, bad bytes replaced).
    query = scope.get("query_string", b"").decode("latin-1")
    for key, value in parse_qsl(query, keep_blank_values=True):
        found = storable.check(key, key, limit=storable.MAX_PARAM) or storable.check(
            key, value, limit=storable.MAX_PARAM
        )
        if found is not None:
            return found
    return None


async def _check_body(scope: Scope, headers: Headers, body: bytes) -> FieldError | None:
    if not body:
        return None
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            document = json.loads(body)
        except ValueError:
            return None  # not JSON: the API answers 400 bad_json itself
        return storable.check_tree(document)
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await Request(scope, _replay(body)).form(
                max_files=2, max_fields=500, max_part_size=len(body) + 1
            )
        except Exception:  # a malformed form: the view's own parsing answers it
            return None
        try:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    continue  # file contents are the upload's parser's business (bulkcsv)
                found = storable.check(key, key) or storable.check(key, value)
                if found is not None:
                    return found
        finally:
            await form.close()
    return None


async def _read(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, then: Receive | None = None) -> Receive:
    """The body once, then the connection's own messages (a disconnect, when it comes)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive
