"""What a running hoplink process holds: settings, database, default domain, and the
redirect edge's state (cache, click journal, visitor salts, geo lookup).

Extra long-running parts (the in-process click worker) plug in as *services*: factories
given to ``Runtime.start`` that receive the started runtime; they are started last and
stopped first, so a worker drains the journal before it is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from hoplink.clicks.salts import VisitorSalts
from hoplink.config import Settings
from hoplink.domains import ensure_default_domain
from hoplink.geo import GeoLookup, open_geo_lookup
from hoplink.ingest.journal import ClickJournal
from hoplink.linkhealth.service import HealthOnCommit
from hoplink.links.models import ShortDomain
from hoplink.links.spec import LinkRules
from hoplink.ratelimit import RateLimiter
from hoplink.redirect.cache import RedirectCache
from hoplink.redirect.invalidation import InvalidateOnCommit, LinkInvalidation
from hoplink.redirect.proxies import TrustedProxies
from hoplink.redirect.shared_cache import SharedLinkCache
from hoplink.storage import migrate
from hoplink.storage.database import Database
from hoplink.webhooks.outbox import OutboxOnCommit

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from hoplink.ingest.redis_stream import RedisClickSink

log = logging.getLogger("hoplink")


class SchemaOutOfDate(Exception):
    pass


class Service(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None:
        """Finish what is in hand (drain) and return; called once, at shutdown."""
        ...


ServiceFactory = Callable[["Runtime"], Service]


@dataclass(slots=True)
class Runtime:
    settings: Settings
    db: Database
    default_domain: ShortDomain
    # Redirect edge; emptied of changed links after commit (hoplink.events, InvalidateOnCommit).
    redirect_cache: RedirectCache
    salts: VisitorSalts
    geo: GeoLookup
    trusted_proxies: TrustedProxies
    # Shared through Redis in production mode, per process otherwise (hoplink.ratelimit).
    rate_limiter: RateLimiter
    # The operator's rules for new and edited links (code length, eligibility, destination
    # policy), built once from the settings and handed whole to the link services.
    link_rules: LinkRules
    # The embedded click queue: ClickSink for the edge, ClickSource for the worker. Opened
    # only by a serving process (``serve=True``); CLI commands have None.
    journal: ClickJournal | None = None
    # Production mode (settings.redis_url): the shared Redis client; None in embedded mode.
    # It connects lazily, so a Redis outage at start-up does not stop the process.
    redis: Redis | None = None
    # Production mode, serving: the edge's ClickSink (Redis Stream, local spool on outage).
    click_sink: RedisClickSink | None = None
    # Production mode: the Redis tier of link lookups, and the publisher/subscriber that
    # drops edited links on every node (hoplink.redirect.invalidation; also a service).
    shared_links: SharedLinkCache | None = None
    invalidation: LinkInvalidation | None = None
    services: list[Service] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        serve: bool = False,
        services: Sequence[ServiceFactory] = (),
    ) -> Runtime:
        """Open the database, bring or check its schema, make sure the default domain exists;
        to ``serve``, also load the visitor salts, open the click journal (one serving process
        per data directory) and start the services."""
        if serve and settings.redis_url:
            from hoplink.ingest.redis_stream import check_production_mode

            check_production_mode(settings)  # ConfigError: production mode on SQLite
        db = Database.from_url(
            settings.database_url_async,
            connect_timeout=settings.database_connect_timeout,
            pool_timeout=settings.database_pool_timeout,
            busy_timeout=settings.sqlite_busy_timeout,
        )
        journal: ClickJournal | None = None
        try:
            if not await migrate.is_current(db.engine):
                if db.is_sqlite and settings.auto_migrate:
                    log.info("applying database migrations")
                    await migrate.upgrade(db.engine)
                else:
                    current = await migrate.current_revision(db.engine)
                    raise SchemaOutOfDate(
                        f"the database schema is at {current or 'nothing'}, this hoplink needs"
                        f" {migrate.head_revision()}: run `hoplink db upgrade` first"
                    )
            async with db.transaction() as tx:
                domain = await ensure_default_domain(tx, settings.domain, move=serve)
            salts = VisitorSalts(db, secret_key=settings.resolve_secret_key())
            if serve:
                await salts.prepare()
            if serve and not settings.redis_url:  # production mode: RedisClickSink below
                journal = ClickJournal(
                    settings.data_dir / "journal",
                    segment_bytes=settings.journal_segment_bytes,
                    fsync_interval=settings.journal_fsync_interval,
                )
                journal.start()
            redis = _open_redis(settings)
            runtime = cls(
                settings=settings,
                db=db,
                default_domain=domain,
                redirect_cache=RedirectCache(
                    ttl=settings.redirect_cache_ttl,
                    negative_ttl=settings.redirect_negative_ttl,
                    max_entries=settings.redirect_cache_size,
                ),
                journal=journal,
                salts=salts,
                geo=open_geo_lookup(settings.geoip_database),
                trusted_proxies=TrustedProxies(settings.trusted_proxies),
                rate_limiter=RateLimiter(
                    secret=settings.resolve_secret_key(),
                    redis=redis,
                    prefix=settings.redis_key_prefix,
                ),
                link_rules=LinkRules.from_settings(settings),
                redis=redis,
            )
            if serve:
                runtime._tasks.append(asyncio.create_task(salts.run()))
            if serve and redis is None:  # production mode publishes through Redis instead
                from hoplink.redirect.changefeed import ChangeFeed

                feed = ChangeFeed(db, runtime.redirect_cache)
                runtime._tasks.append(asyncio.create_task(feed.run(), name="redirect-changes"))
            if serve and redis is not None:
                from hoplink.ingest.redis_stream import RedisClickSink

                runtime.click_sink = RedisClickSink.from_settings(redis, settings)
                runtime.click_sink.start()
        except BaseException:
            if journal is not None:
                await journal.close()
            await db.dispose()
            raise
        try:
            if runtime.redis is not None:  # first started, last stopped
                runtime.invalidation = _link_invalidation(runtime, subscribe=serve)
                await runtime.invalidation.start()
                runtime.services.append(runtime.invalidation)
            # Registered once: link changes become webhook outbox rows in their transaction.
            db.listeners.before_commit(OutboxOnCommit())
            # Registered once: new and re-pointed links are due for a destination check.
            db.listeners.before_commit(HealthOnCommit())
            # Registered once: every committed change drops its links here (and on every node).
            db.listeners.after_commit(
                InvalidateOnCommit(runtime.redirect_cache, runtime.invalidation)
            )
            for factory in services:
                service = factory(runtime)
                await service.start()
                runtime.services.append(service)
        except BaseException:
            await runtime.close()
            raise
        return runtime

    def short_url(self, domain: str, code: str) -> str:
        return self.settings.short_url(domain, code)

    async def close(self) -> None:
        while self.services:
            service = self.services.pop()
            try:
                await service.stop()
            except Exception:
                log.exception("a service failed to stop cleanly")
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.journal is not None:
            await self.journal.close()
        if self.click_sink is not None:
            await self.click_sink.close()  # after the requests: their clicks are sent
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()


def _open_redis(settings: Settings) -> Redis | None:
    if not settings.redis_url:
        return None
    from redis.asyncio import Redis

    return Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=1.0,
        socket_timeout=2.0,
        health_check_interval=10,
    )


def _link_invalidation(runtime: Runtime, *, subscribe: bool) -> LinkInvalidation:
    """The Redis link tier (runtime.shared_links) and its invalidation service."""
    s, redis = runtime.settings, runtime.redis
    assert redis is not None
    runtime.shared_links = SharedLinkCache(
        redis,
        prefix=s.redis_key_prefix,
        ttl=s.shared_cache_ttl,
        negative_ttl=s.shared_cache_negative_ttl,
        timeout=s.shared_cache_timeout,
    )
    return LinkInvalidation(
        redis,
        runtime.shared_links,
        runtime.redirect_cache,
        channel=f"{s.redis_key_prefix}links:invalidate",
        subscribe=subscribe,
    )
