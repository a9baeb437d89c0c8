"""Enrichment: a ``Click`` becomes an ``Event`` through an ordered list of named steps.

Each step looks at one event and either fills in fields, flags it (bots, with a
``BotReason``) or drops it with a ``DropReason``. Every drop and flag is counted in
``IngestCounters``. The one step that needs the database (``check_links``) runs on a
whole batch inside the worker's transaction.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from urllib.parse import urlsplit

from hoplink.clicks.enriched import DIRECT, UNKNOWN, BotReason, DeviceClass, Event, LinkRef
from hoplink.clicks.models import Click
from hoplink.ingest.useragents import AgentClassifier

log = logging.getLogger("hoplink.ingest")

MAX_FUTURE_SECONDS = 86_400  # clock skew between web nodes and the worker that we accept


class DropReason(StrEnum):
    UNSUPPORTED_METHOD = "unsupported_method"  # only GET and HEAD reach a redirect
    INVALID_IDS = "invalid_ids"  # empty or oversized click, link or workspace id
    FUTURE_TIMESTAMP = "future_timestamp"  # more than a day ahead of the worker's clock
    EXPIRED = "expired"  # older than the raw-click retention: it could be counted twice
    UNKNOWN_LINK = "unknown_link"  # the link row no longer exists
    WORKSPACE_MISMATCH = "workspace_mismatch"  # the click names another workspace
    UNWRITABLE = "unwritable"  # the database rejected this one click again and again
    STEP_FAILED = "step_failed"  # a step raised (a bug): logged, the batch goes on


@dataclass(slots=True)
class IngestCounters:
    """Running totals since the worker started (``snapshot`` for metrics and logs)."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    def dropped(self, reason: DropReason, n: int = 1) -> None:
        self.counts[f"dropped.{reason.value}"] += n

    def flagged(self, reason: BotReason) -> None:
        self.counts[f"flagged.{reason.value}"] += 1

    def snapshot(self) -> dict[str, int]:
        return dict(self.counts)


@dataclass(frozen=True, slots=True)
class StepContext:
    now: float
    retention_seconds: float
    agents: AgentClassifier


Step = Callable[[Event, StepContext], DropReason | None]


# --- the steps -------------------------------------------------------------------------------


def check_method(event: Event, _ctx: StepContext) -> DropReason | None:
    if event.click.method not in ("GET", "HEAD"):
        return DropReason.UNSUPPORTED_METHOD
    return None


def check_ids(event: Event, _ctx: StepContext) -> DropReason | None:
    c = event.click
    if not (
        0 < len(c.click_id) <= 64 and 0 < len(c.link_id) <= 32 and 0 < len(c.workspace_id) <= 32
    ):
        return DropReason.INVALID_IDS
    return None


def check_time(event: Event, ctx: StepContext) -> DropReason | None:
    ts = event.click.ts
    if ts > ctx.now + MAX_FUTURE_SECONDS:
        return DropReason.FUTURE_TIMESTAMP
    if ts < ctx.now - ctx.retention_seconds:
        return DropReason.EXPIRED
    return None


def classify_agent(event: Event, ctx: StepContext) -> DropReason | None:
    agent = ctx.agents.classify(event.click.user_agent)
    event.device, event.os, event.browser = agent.device.value, agent.os, agent.browser
    if agent.bot is not None:
        event.bot, event.bot_name = agent.bot.reason, agent.bot.name
    return None


def flag_head(event: Event, _ctx: StepContext) -> DropReason | None:
    if event.click.method == "HEAD":
        event.bot, event.bot_name = BotReason.HEAD_REQUEST, "HEAD request"
        event.device = DeviceClass.BOT.value
    return None


def add_referrer(event: Event, _ctx: StepContext) -> DropReason | None:
    event.referrer = referrer_host(event.click.referrer)
    return None


def add_language(event: Event, _ctx: StepContext) -> DropReason | None:
    event.language = primary_language(event.click.accept_language)
    return None


_COUNTRY_RE = re.compile(r"^[A-Z0-9]{2}$")


def add_country(event: Event, _ctx: StepContext) -> DropReason | None:
    event.country = country_code(event.click.country)
    return None


STEPS: tuple[Step, ...] = (
    check_method,
    check_ids,
    check_time,
    classify_agent,
    flag_head,
    add_referrer,
    add_language,
    add_country,
)


# --- helpers the steps use -----------------------------------------------------------------

_HOST_RE = re.compile(r"^[a-z0-9_]([a-z0-9_.-]{0,251}[a-z0-9_])?$")


# Pure functions of strings a batch repeats (a few referrers and Accept-Language headers
# carry most clicks): cached per distinct value, like user agents (AgentClassifier).
@lru_cache(maxsize=8192)
def referrer_host(referrer: str) -> str:
    """The lower-cased host of a referrer URL; never its path or query (personal data)."""
    referrer = referrer.strip()
    if not referrer:
        return DIRECT
    try:
        parts = urlsplit(referrer)
        host = parts.hostname
    except ValueError:
        return UNKNOWN
    if not parts.scheme or not host:
        return UNKNOWN
    host = host.rstrip(".")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return UNKNOWN
    return host if _HOST_RE.match(host) else UNKNOWN


@lru_cache(maxsize=1024)
def country_code(country: str | None) -> str:
    """The click's country code as stored: two upper-case letters or digits, else unknown."""
    code = (country or "").strip().upper()
    return code if _COUNTRY_RE.match(code) else UNKNOWN


_LANG_RE = re.compile(r"^[a-z]{2,3}$")


@lru_cache(maxsize=4096)
def primary_language(accept_language: str) -> str:
    """The primary subtag of the most preferred language: ``"zh-CN,zh;q=0.9"`` → ``"zh"``."""
    best, best_q = UNKNOWN, 0.0
    for part in accept_language.split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                continue
        primary = tag.strip().split("-", 1)[0].lower()
        if q > best_q and _LANG_RE.match(primary):
            best, best_q = primary, q
    return best


# --- running them ----------------------------------------------------------------------------


class Pipeline:
    def __init__(
        self,
        *,
        agents: AgentClassifier,
        retention_seconds: float,
        counters: IngestCounters | None = None,
        steps: tuple[Step, ...] = STEPS,
    ) -> None:
        self.agents = agents
        self.retention_seconds = retention_seconds
        self.counters = counters or IngestCounters()
        self.steps = steps

    def enrich(self, click: Click, now: float) -> Event | DropReason:
        ctx = StepContext(now=now, retention_seconds=self.retention_seconds, agents=self.agents)
        return self._run(click, ctx)

    def _run(self, click: Click, ctx: StepContext) -> Event | DropReason:
        event = Event(click=click, hour=int(click.ts // 3600))
        for step in self.steps:
            try:
                reason = step(event, ctx)
            except Exception:
                # One odd click must not stop the worker (it would be retried for ever).
                log.exception("step %s failed on click %s", step.__name__, click.click_id)
                return DropReason.STEP_FAILED
            if reason is not None:
                return reason
        return event

    def run(
        self, clicks: Iterable[Click], now: float, *, seen: set[str] | None = None
    ) -> list[Event]:
        """Enrich a batch: one event per distinct click id (``seen`` carries the ids across
        calls for a batch enriched in slices), drops and flags counted."""
        ctx = StepContext(now=now, retention_seconds=self.retention_seconds, agents=self.agents)
        events: list[Event] = []
        seen = set() if seen is None else seen
        received = 0
        for click in clicks:
            received += 1
            if click.click_id in seen:
                self.counters.add("duplicates")
                continue
            seen.add(click.click_id)
            result = self._run(click, ctx)
            if isinstance(result, DropReason):
                self.counters.dropped(result)
                continue
            if result.bot is not None:
                self.counters.flagged(result.bot)
            events.append(result)
        self.counters.add("received", received)
        return events


def check_links(
    events: list[Event], links: Mapping[str, LinkRef]
) -> tuple[list[Event], Counter[DropReason]]:
    """Drop clicks whose link is gone or belongs to another workspace than the click says;
    give the kept ones their link's current channel and campaign (attribution).

    ``links`` maps each existing link id to its ``LinkRef``. The drops are returned, to
    be counted once the batch is committed (a retried batch is checked again).
    """
    kept: list[Event] = []
    dropped: Counter[DropReason] = Counter()
    for event in events:
        link = links.get(event.click.link_id)
        if link is None:
            dropped[DropReason.UNKNOWN_LINK] += 1
        elif link.workspace_id != event.click.workspace_id:
            dropped[DropReason.WORKSPACE_MISMATCH] += 1
        else:
            event.channel, event.campaign = link.channel, link.campaign_id
            event.utm_content, event.utm_term = link.utm_content, link.utm_term
            kept.append(event)
    return kept, dropped
