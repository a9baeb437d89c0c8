"""Assembles the ASGI application: the redirect hot path, /api, and the rest.

Requests are dispatched on the path prefix before any framework code runs, so
a redirect never passes through FastAPI's middleware or dependency machinery.

Long-running parts that live beside the web app (the in-process click worker) are
``ServiceFactory``s handed to ``create_app(services=...)``; see ``hoplink.runtime``.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Sequence
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from hoplink.api import problems
from hoplink.api.app import create_api
from hoplink.api.nosniff import NoSniff
from hoplink.api.shlink import problems as shlink_problems
from hoplink.api.shlink.app import create_shlink_api
from hoplink.config import Settings, load_settings
from hoplink.dashboard.app import Dashboard
from hoplink.inputguard import InputGuard
from hoplink.observability import logs, metrics
from hoplink.observability.health import HealthEndpoints
from hoplink.observability.observe import Observer
from hoplink.redirect.handler import RedirectApp
from hoplink.redirect.tls import TlsAsk
from hoplink.runtime import Runtime, ServiceFactory

log = logging.getLogger("hoplink")


class HoplinkApp:
    def __init__(self, settings: Settings, services: Sequence[ServiceFactory] = ()) -> None:
        self.settings = settings
        self.services = tuple(services)
        self.api = create_api()
        # nosniff around the edge: its refusals carry the header too.
        self.api_edge = NoSniff(
            InputGuard(
                self.api,
                paths=lambda: self.api.openapi()["paths"],
                max_body=settings.api_max_body_bytes,
                refuse=lambda _scope, exc: problems.from_error(exc),
            )
        )
        self.shlink = create_shlink_api()
        # The same edge checks for the Shlink-compatible API, refused in Shlink's format.
        self.shlink_edge = NoSniff(
            InputGuard(
                self.shlink,
                paths=lambda: self.shlink.openapi()["paths"],
                max_body=settings.api_max_body_bytes,
                refuse=lambda _scope, exc: shlink_problems.render(
                    shlink_problems.from_hoplink(exc)
                ),
            )
        )
        self.redirect = RedirectApp()
        self.dashboard = Dashboard()
        self.health = HealthEndpoints()
        # /healthz, /readyz, /metrics: reserved codes, so no short link is hidden; /tls/ask
        # (the TLS proxy's on-demand question, docs/domains.md) cannot be a code at all.
        self.tls_ask = TlsAsk(self.redirect)
        self.ops: dict[str, tuple[ASGIApp, str]] = {
            "/healthz": (self.health, "health"),
            "/readyz": (self.health, "health"),
            "/tls/ask": (self.tls_ask, "health"),
        }
        if settings.metrics_enabled:
            endpoint = metrics.MetricsEndpoint(
                settings.metrics_token, public=settings.metrics_public
            )
            self.ops["/metrics"] = (endpoint, "health")
        self.observer = Observer(
            metrics.RequestRecorder() if settings.metrics_enabled else None,
            log_requests=settings.log_requests,
        )
        self.runtime: Runtime | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            return
        path: str = scope["path"]
        target: ASGIApp
        if path.startswith("/api/") or path == "/api":
            target, route = self.api_edge, "api"
        elif path.startswith("/rest/"):  # the code "rest" itself still redirects
            target, route = self.shlink_edge, "api"
        elif (
            path == "/"
            or path == "/app"
            or path.startswith("/app/")
            or path == "/report"
            or path.startswith("/stats/")  # public stats pages; "stats" is a reserved code
        ):
            target, route = self.dashboard, "dashboard"  # "app", "report" are reserved codes
        elif path in self.ops:
            target, route = self.ops[path]
        else:
            target, route = self.redirect, "redirect"
        if (
            route in ("dashboard", "health") or (route == "api" and target is self.api_edge)
        ) and await self.redirect.custom_host(scope):  # a seller's domain: links only
            target, route = self.redirect, "redirect"
        if route != "redirect":
            await self.observer.other(target, route, scope, receive, send)
        elif self.observer.recorder is not None:
            await self.observer.redirect(target, scope, receive, send)
        else:
            await target(scope, receive, send)  # metrics off: nothing around the hot path

    async def start(self) -> None:
        _keep_client_addresses_out_of_logs()
        self.runtime = await Runtime.start(self.settings, serve=True, services=self.services)
        self.api.state.runtime = self.runtime
        self.shlink.state.runtime = self.runtime
        self.redirect.bind(self.runtime)
        self.dashboard.bind(self.runtime)
        # Before the server accepts connections (and /readyz answers): a deploy's first
        # requests find the most clicked links in memory.
        await self.redirect.warm_up()
        self.health.bind(self.runtime)
        metrics.watch_app(self.redirect, self.runtime)

    async def stop(self) -> None:
        self.health.bind(None)  # not ready from here on
        metrics.unwatch_app(self.redirect)
        self.redirect.close()
        await self.dashboard.close()  # cancels running bulk uploads before the runtime closes
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
        # What start-up built lives as long as the process: keep it out of the cyclic GC's
        # full collections, which otherwise pause every request for ~70 ms now and then.
        gc.collect()
        gc.freeze()
        await send({"type": "lifespan.startup.complete"})
        message = dict(await receive())
        assert message["type"] == "lifespan.shutdown"
        await self.stop()
        await send({"type": "lifespan.shutdown.complete"})


class _BelowDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.DEBUG


def _keep_client_addresses_out_of_logs() -> None:
    """Whatever server runs us: its access log and its TRACE-level connection messages
    name client addresses, which hoplink never writes anywhere."""
    logging.getLogger("uvicorn.access").disabled = True
    server_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _BelowDebug) for f in server_log.filters):
        server_log.addFilter(_BelowDebug())


def default_services(settings: Settings, *, child_process: bool = False) -> list[ServiceFactory]:
    """What runs beside the web app in a serving process, per the settings: the embedded
    click worker, unless ``hoplink worker`` consumes the journal in a process of its own,
    and never in production mode (``hoplink worker`` processes consume the Redis stream).
    ``child_process``: the worker runs as a child process (``hoplink serve``'s default,
    see ``hoplink.ingest.process``) instead of as a task of this event loop."""
    if not settings.embedded_worker or settings.redis_url:
        return []
    if child_process:
        from hoplink.ingest.process import worker_process

        return [worker_process]
    from hoplink.domains.rechecker import embedded_rechecker
    from hoplink.forwarding.delivery import embedded_forwarding
    from hoplink.ingest.worker import embedded_worker
    from hoplink.linkhealth.checker import embedded_checker
    from hoplink.webhooks.delivery import embedded_delivery

    # Forwarding last: it chains its click hook after the webhooks' one.
    services: list[ServiceFactory] = [embedded_worker, embedded_delivery]
    if settings.health_enabled:
        services.append(embedded_checker)
    if settings.domain_recheck_enabled:
        services.append(embedded_rechecker)
    return [*services, embedded_forwarding]


def create_app(settings: Settings, services: Sequence[ServiceFactory] | None = None) -> HoplinkApp:
    """The app; ``services`` None means ``default_services(settings)``."""
    return HoplinkApp(settings, default_services(settings) if services is None else services)


def create_app_from_env() -> HoplinkApp:
    """For ``uvicorn --factory hoplink.app:create_app_from_env`` (settings from HOPLINK_*)."""
    settings = load_settings()
    logs.configure(settings)
    return create_app(settings)
