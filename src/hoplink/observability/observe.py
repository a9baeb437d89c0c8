"""What the dispatcher does around each request: time it, count it, give it an id.

Redirects get only the timing (``perf_counter`` before and after, the status taken from
the response start): no request id, no header, no log line, so the headline path pays
about a microsecond. Every other request gets a request id (the client's X-Request-ID
when it is a safe token, else a new one) bound to the log context and echoed in the
X-Request-ID response header, and optionally one log line.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hoplink.observability import logs
from hoplink.observability.metrics import RequestRecorder

log = structlog.stdlib.get_logger("hoplink.request")

# Paths whose rest is a bearer secret — a password reset or invitation link (the
# dashboard's /app/reset/, /app/invite/), a public stats page (/stats/): the database
# keeps only their SHA-256, so a log line must not keep them either.
_SECRET_PATHS = ("/app/reset/", "/app/invite/", "/stats/")
MASK = "[secret]"


def loggable_path(path: str) -> str:
    """``path`` with a secret it carries replaced by ``[secret]``."""
    for prefix in _SECRET_PATHS:
        if path.startswith(prefix) and len(path) > len(prefix):
            return prefix + MASK
    return path


_REQUEST_ID = b"x-request-id"


class Observer:
    def __init__(self, recorder: RequestRecorder | None, *, log_requests: bool) -> None:
        self.recorder = recorder
        self.log_requests = log_requests

    async def redirect(self, target: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        status = 500  # what the server answers if the app fails before responding

        def send_(message: Message) -> Awaitable[None]:  # no coroutine of its own: cheaper
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            return send(message)

        try:
            await target(scope, receive, send_)
        finally:
            if self.recorder is not None:
                self.recorder.record("redirect", scope["path"], status, time.perf_counter() - start)

    async def other(
        self, target: ASGIApp, route: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        start = time.perf_counter()
        status = 500
        incoming = next((v for k, v in scope["headers"] if k == _REQUEST_ID), None)
        rid = logs.request_id(incoming)
        # Not reset afterwards: the server's own error log for this request (written after
        # the app returns, in the same task) should carry the id too.
        logs.REQUEST_ID.set(rid)
        echoed = (_REQUEST_ID, rid.encode("ascii"))

        def send_(message: Message) -> Awaitable[None]:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), echoed]}
            return send(message)

        try:
            await target(scope, receive, send_)
        finally:
            seconds = time.perf_counter() - start
            if self.recorder is not None:
                self.recorder.record(route, scope["path"], status, seconds)
            if self.log_requests and route != "health":
                log.info(
                    "request",
                    method=scope["method"],
                    path=loggable_path(scope["path"]),
                    status=status,
                    ms=round(seconds * 1000, 1),
                )
