"""Security headers on every dashboard response, and whether a request came over HTTPS."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hoplink.redirect.proxies import HSTS, HttpsDetector

__all__ = ["CSP", "HSTS", "HttpsDetector", "SecurityHeadersMiddleware"]

# No 'unsafe-inline' anywhere: every script and style is a file under /app/static, and the
# templates carry no style="" or on*="" attributes. SVG charts use presentation attributes.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, is_https: HttpsDetector) -> None:
        self.app = app
        self.is_https = is_https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/app/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = CSP
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                headers["X-Frame-Options"] = "DENY"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                if "cache-control" not in headers:
                    # Pages show one tenant's data: never keep them in a shared cache.
                    headers["Cache-Control"] = "no-cache" if static else "no-store"
                if self.is_https(scope):
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)
