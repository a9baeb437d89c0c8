"""The REST API application (FastAPI), served under /api."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import swagger_ui_bundle
from fastapi import FastAPI, Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from hoplink import __version__
from hoplink.api import (
    campaigns,
    conversion_stats,
    conversions,
    destination_domains,
    experiments,
    fx,
    health,
    imports,
    integrations,
    links,
    order_exports,
    problems,
    public_stats,
    rules,
    short_domains,
    stats,
    webhooks,
    workspace,
    workspace_admin,
)
from hoplink.api.schemas import problem_responses
from hoplink.redirect.proxies import HSTS, HttpsDetector

PREFIX = "/api/v1"

_DOCS_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hoplink API</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script></body></html>"""

# A file, not an inline script, so the page works under a CSP without 'unsafe-inline'.
_DOCS_INIT = (
    "window.ui = SwaggerUIBundle({url: '" + PREFIX + "/openapi.json', dom_id: '#swagger-ui',"
    " deepLinking: true});"
)
_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'"


def create_api() -> FastAPI:
    api = FastAPI(
        title="hoplink API",
        version=__version__,
        description=(
            "Short links with UTM and click attribution. Authenticate with"
            " `Authorization: Bearer <API key>`. Errors are RFC 7807 problem details"
            " with a stable `code` and the offending `field`."
        ),
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        # Every keyed call may be refused for its rate (HOPLINK_RATE_LIMIT_API_KEY), its
        # key (401), the key's scope or workspace (403), or a malformed request (400, 422).
        responses=problem_responses(400, 401, 403, 422, 429),
    )
    for module in (
        links,
        public_stats,
        rules,
        experiments,
        campaigns,
        workspace,
        workspace_admin,
        destination_domains,
        short_domains,
        conversion_stats,
        stats,
        order_exports,
        conversions,
        fx,
        imports,
        webhooks,
        integrations,
        health,
    ):
        api.include_router(module.router, prefix=PREFIX)
    problems.install(api)
    _openapi = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            api.openapi_schema = conversions.add_schemas(_openapi())
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]

    assets = Path(swagger_ui_bundle.swagger_ui_path)
    api.mount("/api/docs/assets", StaticFiles(directory=assets), name="docs-assets")

    @api.get("/api/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        headers = {
            "Content-Security-Policy": _CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        }
        if HttpsDetector(request.app.state.runtime.trusted_proxies)(request.scope):
            headers["Strict-Transport-Security"] = HSTS
        return HTMLResponse(_DOCS_HTML, headers=headers)

    @api.get("/api/docs/init.js", include_in_schema=False)
    async def docs_init() -> Response:
        return Response(_DOCS_INIT, media_type="text/javascript")

    return api
