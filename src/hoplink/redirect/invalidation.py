"""Redirect-cache invalidation after commit, and across nodes in production mode.

An edit, archive, delete, ban, workspace suspension/reinstatement or domain change records
an event on its transaction (hoplink.events); once it commits, ``InvalidateOnCommit`` (an
after-commit listener runtime.py registers) drops the local copy at once and, in production
mode, hands the change to this node's ``LinkInvalidation``, whose publisher task deletes
the Redis tier's entries and then PUBLISHes on ``<redis_key_prefix>links:invalidate``;
every serving node's subscriber drops its own copies as the message arrives (milliseconds;
the guarantee is 1 s).

Nothing is lost silently:
- until its delete has reached Redis, a pending change keeps the affected entries out of
  the Redis tier on this node (read and write), so this node never reloads the old target;
- a failed publish is retried with back-off, counted and logged; more than
  ``MAX_PENDING`` pending link changes collapse into one "drop everything";
- ``stop`` (shutdown, end of a CLI command) flushes what is pending, and logs what could
  not be sent.
A subscriber can miss messages while its connection is down, so after every (re)subscribe
it clears the whole local cache: the next requests reload from Redis or the database.
Messages are at-most-once; the Redis TTL (``shared_cache_ttl``) bounds how long a change
that never reached Redis can go unseen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from hoplink.events import Event, LinkChanged, ShortDomainChanged, WorkspaceChanged
from hoplink.redirect.cache import RedirectCache
from hoplink.redirect.shared_cache import MAX_PENDING, SharedLinkCache

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("hoplink.redirect")

# The subscriber pings this often when idle, and reconnects when nothing (not even the
# pong) has come back for _DEAD_AFTER: a silently dead connection would miss everything.
_PING_EVERY = 5.0
_DEAD_AFTER = 15.0
_MAX_BACKOFF = 5.0
# How long ``stop`` keeps trying to deliver pending changes.
_STOP_FLUSH_SECONDS = 5.0


class InvalidateOnCommit:
    """The after-commit listener: drops what committed events changed from this node's
    cache at once and, with ``shared`` (production mode), from Redis and every node."""

    def __init__(self, cache: RedirectCache, shared: LinkInvalidation | None) -> None:
        self.cache = cache
        self.shared = shared

    def __call__(self, events: Sequence[Event]) -> None:
        for event in events:
            if isinstance(event, LinkChanged):
                host = event.host.lower()
                self.cache.invalidate(host, event.code)
                if self.shared is not None:
                    self.shared.link(host, event.code)
            elif isinstance(event, WorkspaceChanged):
                self.cache.invalidate_workspace(event.workspace_id)
                if self.shared is not None:
                    self.shared.workspace(event.workspace_id)
            elif isinstance(event, ShortDomainChanged):
                self.cache.clear()
                if self.shared is not None:
                    self.shared.everything()


class LinkInvalidation:
    """Publisher (every runtime with Redis) and, with ``subscribe``, subscriber (serving
    runtimes). A runtime ``Service``: ``start``/``stop``."""

    def __init__(
        self,
        redis: Redis,
        shared: SharedLinkCache,
        cache: RedirectCache,
        *,
        channel: str,
        subscribe: bool,
    ) -> None:
        self.redis = redis
        self.shared = shared
        self.cache = cache
        self.channel = channel
        self.subscribe = subscribe
        self.node = uuid.uuid4().hex[:16]
        self.subscribed = asyncio.Event()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._publisher: asyncio.Task[None] | None = None
        # Changes made again while a publish of them was in flight stay pending after it:
        # the delete may have reached Redis before the second change was committed.
        self._again_links: set[str] = set()
        self._again_workspaces: set[str] = set()
        self._again_all = False
        self._subscriber: asyncio.Task[None] | None = None
        # Counted for metrics.
        self.published = 0
        self.publish_failures = 0
        self.received = 0
        self.resubscribes = 0
        self.subscriber_errors = 0

    # --- publishing (called by InvalidateOnCommit) ---

    def link(self, host: str, code: str) -> None:
        key = f"{host}/{code}"
        self.shared.pending_links.add(key)
        self._again_links.add(key)
        if len(self.shared.pending_links) > MAX_PENDING:
            self.everything()
            return
        self._kick()

    def workspace(self, workspace_id: str) -> None:
        self.shared.pending_workspaces.add(workspace_id)
        self._again_workspaces.add(workspace_id)
        self._kick()

    def everything(self) -> None:
        self.shared.pending_all = self._again_all = True
        self.shared.pending_links.clear()
        self.shared.pending_workspaces.clear()
        self._kick()

    @property
    def pending(self) -> bool:
        s = self.shared
        return s.pending_all or bool(s.pending_links) or bool(s.pending_workspaces)

    def _kick(self) -> None:
        self._idle.clear()
        self._wake.set()
        if self._publisher is None:
            # Not started (or already stopped): nothing will send it; say so once per call.
            self.publish_failures += 1
            log.error("link invalidation made outside a started runtime: not published")

    async def flushed(self, within: float | None = None) -> bool:
        """Wait until every change made so far has reached Redis; False after ``within`` s."""
        try:
            async with asyncio.timeout(within):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    async def _publish_loop(self) -> None:
        backoff = 0.1
        while True:
            if not self.pending:
                self._idle.set()
                await self._wake.wait()
            self._wake.clear()
            try:
                await self._publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.publish_failures += 1
                if self.publish_failures % 100 == 1:
                    log.warning(
                        "link invalidation not published yet, retrying (%d failures so far)",
                        self.publish_failures,
                        exc_info=True,
                    )
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(backoff):
                        await self._wake.wait()  # new changes retry at once, in the batch
                backoff = min(backoff * 2, _MAX_BACKOFF)
            else:
                backoff = 0.1

    async def _publish_pending(self) -> None:
        s = self.shared
        everything = s.pending_all
        links, workspaces = set(s.pending_links), set(s.pending_workspaces)
        if not (everything or links or workspaces):
            return
        self._again_links, self._again_workspaces, self._again_all = set(), set(), False
        await s.drop(links, workspaces, everything=everything)
        message: dict[str, Any] = {"node": self.node}
        if everything:
            message["all"] = True
        else:
            message["links"] = sorted(links)
            message["workspaces"] = sorted(workspaces)
        await self.redis.publish(self.channel, orjson.dumps(message))
        self.published += 1
        # Done: only what was sent, and not changed again since, leaves the pending sets.
        if everything and not self._again_all:
            s.pending_all = False
        s.pending_links -= links - self._again_links
        s.pending_workspaces -= workspaces - self._again_workspaces
        # A lookup on this node may have read the old entry from Redis between the change
        # and the delete: drop again (this also discards such a load still in flight).
        self._apply(message)

    # --- subscribing ---

    def _apply(self, message: dict[str, Any]) -> None:
        if message.get("all"):
            self.cache.clear()
            return
        for link in message.get("links", ()):
            host, _, code = str(link).partition("/")
            self.cache.invalidate(host, code)
        for workspace_id in message.get("workspaces", ()):
            self.cache.invalidate_workspace(str(workspace_id))

    def _receive(self, data: bytes) -> None:
        try:
            message = orjson.loads(data)
            if not isinstance(message, dict):
                raise TypeError("not an object")
        except (ValueError, TypeError):
            log.warning("ignoring a malformed link invalidation message")
            return
        self.received += 1
        if message.get("node") == self.node:
            return  # this node dropped its copies when it published
        self._apply(message)

    async def _subscribe_loop(self) -> None:
        backoff = 0.1
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                # Whatever was published while we were not subscribed is lost: start over.
                self.cache.clear()
                self.resubscribes += 1
                self.subscribed.set()
                backoff = 0.1
                last_heard = time.monotonic()
                pinged = False
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    now = time.monotonic()
                    if message is not None:
                        last_heard, pinged = now, False
                        if message["type"] == "message":
                            self._receive(message["data"])
                    elif now - last_heard > _DEAD_AFTER:
                        raise ConnectionError("no answer to PING: reconnecting")
                    elif now - last_heard > _PING_EVERY and not pinged:
                        await pubsub.ping()
                        pinged = True
            except asyncio.CancelledError:
                raise
            except Exception:
                self.subscriber_errors += 1
                if self.subscriber_errors % 100 == 1:
                    log.warning(
                        "link invalidation subscriber lost Redis, reconnecting"
                        " (the local link cache is cleared once it is back)",
                        exc_info=True,
                    )
            finally:
                self.subscribed.clear()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]  # typed from redis 8.2
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _MAX_BACKOFF)

    # --- Service ---

    async def start(self) -> None:
        """Start the publisher; with ``subscribe``, also the subscriber, waiting briefly for
        its first subscription (a Redis outage at start-up does not stop the process)."""
        self._publisher = asyncio.create_task(self._publish_loop(), name="link-invalidation-pub")
        if self.pending:
            self._kick()
        if self.subscribe:
            self._subscriber = asyncio.create_task(
                self._subscribe_loop(), name="link-invalidation-sub"
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self.subscribed.wait()

    async def stop(self) -> None:
        if self._subscriber is not None:
            self._subscriber.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._subscriber
            self._subscriber = None
        if self._publisher is not None:
            if not await self.flushed(_STOP_FLUSH_SECONDS):
                s = self.shared
                log.error(
                    "link invalidations could not reach Redis before shutdown (%d links,"
                    " %d workspaces%s): other nodes see them within the cache TTLs",
                    len(s.pending_links),
                    len(s.pending_workspaces),
                    ", everything" if s.pending_all else "",
                )
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publisher
            self._publisher = None
