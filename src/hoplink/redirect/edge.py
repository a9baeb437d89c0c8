"""The request becomes a ``Click`` here, and nothing deeper ever sees the request.

The client IP is worked out, used for the country and the visitor hash, and dropped: it
is never returned, stored, queued or logged. Free-text headers are cut to fixed lengths
so one click record stays small whatever a client sends.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable

from starlette.types import Scope

from hoplink.clicks.adids import AdIdCounters, parse_ad_click_ids
from hoplink.clicks.models import Click
from hoplink.clicks.salts import VisitorSalts, keyed, keyed_hash
from hoplink.geo import GeoLookup, iso_country
from hoplink.redirect.proxies import IPAddress, TrustedProxies, forwarded_client, parse_ip
from hoplink.storage.redirects import Target

MAX_USER_AGENT = 512
MAX_REFERRER = 1024
MAX_ACCEPT_LANGUAGE = 128
# CDN headers naming the visitor's country; believed only from a trusted proxy.
COUNTRY_HEADERS = frozenset({b"cf-ipcountry", b"cloudfront-viewer-country", b"x-country-code"})
_UNKNOWN_COUNTRIES = frozenset({"XX", "ZZ"})  # what CDNs send when they do not know


class ClickIds:
    """Random 128-bit click ids (hex), from the OS CSPRNG read 16 KiB at a time: a
    ``getrandom`` call per request costs more than the rest of the id put together."""

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._pool, self._at = b"", 0  # a forked child must never repeat its parent's ids

    def __call__(self) -> str:
        if self._at >= len(self._pool):
            self._pool, self._at = os.urandom(16 * 1024), 0
        at = self._at
        self._at = at + 16
        return self._pool[at : at + 16].hex()


new_click_id = ClickIds()


class ClickCapture:
    def __init__(
        self,
        *,
        salts: VisitorSalts,
        geo: GeoLookup,
        trusted: TrustedProxies,
        client_ip_header: str = "x-forwarded-for",
    ) -> None:
        self.salts = salts
        self.geo = geo
        self.trusted = trusted
        self.cf_header = client_ip_header == "cf-connecting-ip"
        self.ad_ids = AdIdCounters()  # ad click ids dropped at the edge, by reason

    def client_ip(
        self, peer: str | None, headers: Iterable[tuple[bytes, bytes]]
    ) -> tuple[str | None, bool]:
        """(canonical client address, whether the peer is a trusted proxy)."""
        if peer is None:
            return None, False
        if not (self.trusted and self.trusted.peer_is_trusted(peer)):
            # Socket addresses are canonical already, except IPv4-mapped IPv6 ones.
            if ":" in peer:
                ip = parse_ip(peer)
                return (str(ip) if ip else None), False
            return peer, False
        peer_ip = parse_ip(peer)
        client: IPAddress | None
        if self.cf_header:
            value = next((v for n, v in headers if n == b"cf-connecting-ip"), None)
            client = (value and parse_ip(value.decode("latin-1"))) or peer_ip
        else:
            hops = [v.decode("latin-1") for n, v in headers if n == b"x-forwarded-for"]
            client = forwarded_client(peer_ip, hops, self.trusted)
        return (str(client) if client else None), True

    def click_now(self, scope: Scope, *, host: str, target: Target, ts: float) -> Click | None:
        """The click, without awaiting anything; None when the day's visitor key is not in
        memory yet (once a day at most): then ``click``."""
        state = self.salts.cached_state(ts)
        return None if state is None else self._click(scope, host, target, ts, state)

    async def click(self, scope: Scope, *, host: str, target: Target, ts: float) -> Click:
        state = self.salts.cached_state(ts) or keyed(await self.salts.key_at(ts))
        return self._click(scope, host, target, ts, state)

    def _click(
        self, scope: Scope, host: str, target: Target, ts: float, state: hashlib.blake2b
    ) -> Click:
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        client = scope.get("client")
        peer: str | None = client[0] if client else None
        ip, trusted = self.client_ip(peer, headers)
        user_agent = referrer = accept_language = b""
        country: str | None = None
        for name, value in headers:
            if name == b"user-agent":
                user_agent = value
            elif name == b"referer":
                referrer = value
            elif name == b"accept-language":
                accept_language = value
            elif trusted and name in COUNTRY_HEADERS and country is None:
                country = iso_country(value.decode("latin-1").strip())
                if country in _UNKNOWN_COUNTRIES:
                    country = None
        if country is None and ip is not None:
            country = self.geo.country(ip)
        ua = user_agent[:MAX_USER_AGENT].decode("utf-8", "replace")
        return Click(
            click_id=new_click_id(),
            ts=ts,
            link_id=target.link_id,
            workspace_id=target.workspace_id,
            domain=host,
            method=str(scope["method"]),
            user_agent=ua,
            referrer=referrer[:MAX_REFERRER].decode("utf-8", "replace"),
            accept_language=accept_language[:MAX_ACCEPT_LANGUAGE].decode("latin-1"),
            country=country,
            visitor_hash=keyed_hash(state, target.workspace_id, ip or "", ua),
            ad_click_ids=parse_ad_click_ids(scope["query_string"], self.ad_ids),
        )
