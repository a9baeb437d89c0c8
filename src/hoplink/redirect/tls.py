"""The on-demand TLS "ask" endpoint: may the TLS proxy get a certificate for this host?

Caddy's ``on_demand_tls { ask http://127.0.0.1:8080/tls/ask }`` calls
``GET /tls/ask?domain=<host>`` before it requests a certificate for a host it has never
seen; a 200 allows it, anything else refuses. hoplink answers 200 only for a domain it
serves and that is not suspended — the platform's and verified custom ones — from the same
in-memory map of hosts the redirect uses, so a flood of TLS handshakes for random names
costs no query and can never make the proxy ask a CA for certificates (rate limits!).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from starlette.types import Receive, Scope, Send

from hoplink.redirect.handler import RedirectApp

# A host name as a certificate names it: no port, no space or control character; one
# trailing dot (the fully qualified form) is the same name.
_NAME = re.compile(r"[a-z0-9.-]{1,253}")

_HEADERS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"content-length", b"0"),
]


class TlsAsk:
    def __init__(self, redirect: RedirectApp) -> None:
        self.redirect = redirect
        self.allowed = 0  # counted for tests and metrics
        self.refused = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 404
        if scope["method"] in ("GET", "HEAD"):
            query = parse_qs(scope["query_string"].decode("latin-1"), max_num_fields=4)
            names = query.get("domain", [])
            if len(names) == 1 and await self._serves(names[0].lower().removesuffix(".")):
                status = 200
        else:
            status = 405
        if status == 200:
            self.allowed += 1
        else:
            self.refused += 1
        await send({"type": "http.response.start", "status": status, "headers": _HEADERS})
        await send({"type": "http.response.body", "body": b""})

    async def _serves(self, host: str) -> bool:
        if not _NAME.fullmatch(host):
            return False  # a certificate names a host: never a port, a space or a newline
        site = await self.redirect.resolver.site(host)
        return site is not None and not site.suspended
