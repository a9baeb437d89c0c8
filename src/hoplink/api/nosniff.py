"""``X-Content-Type-Options: nosniff`` on every response of the APIs (/api, /rest).

JSON, CSV and problem details are data, never a page: a browser that sniffed a response
whose body it controls in part (a link title, a tag) as HTML or script would run it. The
header is set around the whole API application, so refusals of the input guard,
problem responses and unhandled errors carry it as well as successes.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class NoSniff:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Content-Type-Options"] = "nosniff"
            await send(message)

        await self.app(scope, receive, send_with_header)
