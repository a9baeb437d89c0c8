"""What the redirect edge takes from a started process: these parts, not the whole runtime.

``hoplink.runtime.Runtime`` is one (structurally); a test or another assembly can hand any
object with these attributes. The redirect package never imports ``hoplink.runtime``
(an import-linter contract keeps it so).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from hoplink.clicks.salts import VisitorSalts
    from hoplink.config import Settings
    from hoplink.geo import GeoLookup
    from hoplink.ingest.journal import ClickJournal
    from hoplink.ingest.redis_stream import RedisClickSink
    from hoplink.ratelimit import RateLimiter
    from hoplink.redirect.cache import RedirectCache
    from hoplink.redirect.proxies import TrustedProxies
    from hoplink.redirect.shared_cache import SharedLinkCache
    from hoplink.storage.database import Database


class EdgeParts(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def db(self) -> Database: ...
    @property
    def redirect_cache(self) -> RedirectCache: ...
    @property
    def shared_links(self) -> SharedLinkCache | None: ...
    @property
    def salts(self) -> VisitorSalts: ...
    @property
    def geo(self) -> GeoLookup: ...
    @property
    def trusted_proxies(self) -> TrustedProxies: ...
    @property
    def rate_limiter(self) -> RateLimiter: ...
    @property
    def journal(self) -> ClickJournal | None: ...
    @property
    def click_sink(self) -> RedisClickSink | None: ...
