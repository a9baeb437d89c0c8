"""The Shlink-compatible API application, served under /rest.

Shlink's web client runs on another origin and sends the key in a header, never a
cookie, so any origin may call it: CORS answers every preflight without a key (a browser
sends none with it) and allows ``X-Api-Key``; no credentials are ever allowed.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from hoplink.api.shlink import domains, problems, short_urls, tags, visits
from hoplink.api.shlink.schemas import problem_responses

PREFIX = "/rest/v3"


def create_shlink_api() -> FastAPI:
    api = FastAPI(
        title="hoplink — Shlink REST API v3 compatibility",
        version=domains.SHLINK_VERSION,
        description=(
            "Enough of Shlink's REST API v3 that Shlink's own clients manage hoplink links"
            " unchanged. Authenticate with `X-Api-Key: <hoplink API key>`; the key's workspace"
            " is the one managed. See docs/shlink-compat.md for the mapping."
        ),
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        # Every keyed call may be refused for its key (401), scope (403), data (400) or
        # rate (429); routes add what else they answer.
        responses=problem_responses(400, 401, 403, 405, 429),
    )
    # Visits before short URLs: "/short-urls/{code}/visits" is more specific.
    for module in (visits, short_urls, tags, domains):
        api.include_router(module.router, prefix=PREFIX)

    @api.get("/rest/health", include_in_schema=False)
    async def unversioned_health() -> object:
        return domains.health_response()

    problems.install(api)
    api.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["X-Api-Key", "Content-Type", "Accept"],
        allow_credentials=False,
        max_age=3600,
    )
    return api
