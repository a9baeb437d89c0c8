"""Assembles the ASGI application: the redirect hot path, /api, and the rest.

Requests are dispatched on the path prefix before any framework code runs, so
a redirect never passes through FastAPI's middleware or dependency machinery.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from hoplink.api.app import create_api
from hoplink.config import Settings
from hoplink.redirect.handler import RedirectApp
from hoplink.runtime import Runtime

log = logging.getLogger("hoplink")


class HoplinkApp:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.api = create_api()
        self.redirect = RedirectApp()
        self.runtime: Runtime | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            return
        path: str = scope["path"]
        target: ASGIApp = self.api if path.startswith("/api/") or path == "/api" else self.redirect
        await target(scope, receive, send)

    async def start(self) -> None:
        self.runtime = await Runtime.start(self.settings)
        self.api.state.runtime = self.runtime
        self.redirect.bind(self.runtime)

    async def stop(self) -> None:
        if self.runtime is not None:
            await self.runtime.close()
            self.runtime = None

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message: dict[str, Any] = dict(await receive())
        assert message["type"] == "lifespan.startup"
        try:
            await self.start()
        except Exception as exc:
            log.error("start-up failed: %s", exc)
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.startup.complete"})
        message = dict(await receive())
        assert message["type"] == "lifespan.shutdown"
        await self.stop()
        await send({"type": "lifespan.shutdown.complete"})


def create_app(settings: Settings) -> HoplinkApp:
    return HoplinkApp(settings)
