"""The click as it travels from the redirect edge to the worker.

The edge turns the request into a ``Click`` at once: anything that needs the
client IP (country, visitor hash) is derived there, and the IP itself is
dropped before the click touches a journal, a queue or a log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import orjson


# Neither frozen nor slotted, for the redirect's sake: a frozen dataclass sets each of its
# 14 fields through object.__setattr__ (building one cost twice as much), and orjson
# serialises a dataclass with a __dict__ from that dict, four times as fast as by its
# slots (~1.1 against ~4.5 µs; the same bytes). Treat it as immutable all the same: only
# the edge sets ``rule``/``variant`` (``answered_by``) on a click it has just captured
# and not yet handed off.
@dataclass
class Click:
    click_id: str  # random, unique; every later step is idempotent on it
    ts: float  # unix time (seconds, UTC) the redirect was answered
    link_id: str
    workspace_id: str
    domain: str
    method: str  # GET or HEAD
    user_agent: str
    referrer: str
    accept_language: str
    country: str | None  # ISO 3166-1 alpha-2, from a trusted CDN header or a geo lookup
    visitor_hash: str  # keyed hash of (daily salt, workspace, IP, user agent)
    # The ad platforms' click ids on the short link's query ({"fbclid": ...}, validated at
    # the edge, see clicks/adids.py); None for the usual click that has none.
    ad_click_ids: dict[str, str] | None = None
    # The routing rule that answered (links with rules only; "default": none matched).
    rule: str | None = None
    variant: str | None = None  # the A/B test variant the visitor was sent to

    def answered_by(self, rule: str, variant: str | None = None) -> Click:
        """Set the routing rule that answered. Only the edge calls it, on a click it has
        just captured and not yet handed off (nothing else holds it): a copy costs as much
        as the whole rule evaluation."""
        self.rule = rule
        self.variant = variant
        return self

    def to_json(self) -> bytes:
        """The click as a JSON object (the Redis stream's entry)."""
        return orjson.dumps(self)  # orjson serialises dataclasses natively (asdict is slow)

    @classmethod
    def from_json(cls, data: bytes | str) -> Click:
        values: dict[str, Any] = orjson.loads(data)
        return cls(**values)

    def to_record(self) -> bytes:
        """The click as a JSON array of its fields in declaration order: the click journal's
        record. A third smaller than ``to_json``'s object and about a quarter of its CPU
        (orjson reads a slotted dataclass field by field); read back by ``from_record``.
        New fields go at the end, with a default."""
        return orjson.dumps(
            (
                self.click_id,
                self.ts,
                self.link_id,
                self.workspace_id,
                self.domain,
                self.method,
                self.user_agent,
                self.referrer,
                self.accept_language,
                self.country,
                self.visitor_hash,
                self.ad_click_ids,
                self.rule,
                self.variant,
            )
        )

    @classmethod
    def from_record(cls, data: bytes) -> Click:
        """A click from ``to_record``'s array, or from the JSON object that journals held
        before it (a journal written by an earlier release, read after an upgrade)."""
        values: list[Any] | dict[str, Any] = orjson.loads(data)
        if isinstance(values, list):
            return cls(*values)
        return cls(**values)


@dataclass(frozen=True, slots=True)
class StoredClick:
    """A raw click as written by the worker, found by its id (conversions attribute an
    order reported with ``hl_click`` to it)."""

    click_id: str
    workspace_id: str
    link_id: str
    ts: datetime
    visitor_hash: str
    ad_click_ids: dict[str, str]  # {} when the visit carried none
    bot: str | None  # why it was flagged as a bot; None: a person


class ClickSink(Protocol):
    """Where the edge hands a click. When ``put`` returns, the click survives a crash
    of this process (kill -9); the redirect is answered only after that.

    Awaitable, since production mode's sink waits for Redis (``RedisClickSink``). The
    embedded ``ClickJournal`` writes synchronously (``ClickJournal.put``), and the
    redirect handler calls it directly, without a coroutine per click."""

    async def put(self, click: Click) -> None: ...


class ClickSource(Protocol):
    """What the worker consumes: at-least-once delivery, acknowledged after commit."""

    async def read(
        self,
        max_items: int,
        timeout: float,  # noqa: ASYNC109 - a bound on waiting for data, not a cancellation
    ) -> tuple[list[Click], object]:
        """Up to ``max_items`` clicks, waiting at most ``timeout`` seconds for the first;
        the second value is a token to pass to ``ack`` once they are committed."""
        ...

    async def ack(self, token: object) -> None:
        """The clicks of ``token``'s read are committed."""
        ...


@runtime_checkable
class AcksTogether(Protocol):
    """A ClickSource that acknowledges a batch's reads in one call (one round trip)."""

    async def ack_all(self, tokens: Sequence[object]) -> None: ...
