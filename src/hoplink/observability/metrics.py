"""Prometheus metrics: one registry per process, served at /metrics (and by ``hoplink worker``).

Two kinds of metric live here:

- objects updated where things happen: the worker's batch-duration histogram (a
  prometheus_client object other modules may import and update), and the request counter
  and latency histogram, kept as plain numbers by ``RequestRecorder`` (the dispatcher in
  ``hoplink.app`` records every request; the redirect path must stay cheap);
- values read at scrape time from the plain integer counters of live objects (redirect
  cache hits and misses, clicks lost at the edge, the worker's ``IngestCounters``, the
  journal's backlog on disk, the Redis stream's backlog). Objects register with
  ``watch_*`` and leave with ``unwatch_*``; they are held weakly. Reading plain ints costs
  the hot path nothing, and several apps in one process (tests) add up.

Every family is listed in docs/operations.md ("Monitoring").
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import logging
import re
import time
import weakref
from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from starlette.types import Receive, Scope, Send

from hoplink.clicks.adids import AdIdDrop
from hoplink.clicks.enriched import BotReason
from hoplink.ingest.backlog import journal_backlog
from hoplink.ingest.journal import ClickJournal
from hoplink.ingest.redis_stream import ClickStream, RedisClickSink, RedisClickSource
from hoplink.ingest.steps import DropReason, IngestCounters
from hoplink.redirect.breaker import CircuitBreaker

if TYPE_CHECKING:
    from hoplink.redirect.handler import RedirectApp
    from hoplink.runtime import Runtime

log = logging.getLogger("hoplink.metrics")

REGISTRY: Final = CollectorRegistry()
ProcessCollector(registry=REGISTRY)  # CPU seconds, resident memory, open files
GCCollector(registry=REGISTRY)

ROUTES: Final = ("redirect", "api", "dashboard", "health", "other")
STATUS_CLASSES: Final = ("2xx", "3xx", "4xx", "5xx")
_LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip

WORKER_BATCH_SECONDS: Final = Histogram(
    "hoplink_worker_batch_duration_seconds",
    "Time the click worker takes to enrich and commit one batch (retries included).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    registry=REGISTRY,
)

HEALTH_CHECKS: Final = Counter(
    "hoplink_health_checks_total",
    "Destination health checks of links, by the state each check found.",
    ["state"],
    registry=REGISTRY,
)

# A path the redirect app answers that cannot be a short code (scanners, /favicon.ico):
# counted as route "other", so the redirect class measures link lookups only.
_CODE_PATH = re.compile(r"/[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class _Series:
    """One (route, status class): a histogram kept as plain numbers."""

    __slots__ = ("buckets", "sum")

    def __init__(self) -> None:
        self.buckets = [0] * (len(_LATENCY_BUCKETS) + 1)  # the last one is +Inf
        self.sum = 0.0


class RequestRecorder:
    """Counts and times requests (``hoplink_http_requests_total`` and
    ``hoplink_http_request_duration_seconds``).

    The request path only bumps plain numbers (a bisect, two additions: ~0.3 µs; a
    prometheus_client Counter plus Histogram takes ~2.5 µs with their locks); the families
    are built from them at scrape time. Single-threaded by design: the web process records
    and is scraped on its event loop. All recorders of a process share one table.
    """

    _table: Final[dict[str, list[_Series]]] = {
        route: [_Series() for _ in STATUS_CLASSES] for route in ROUTES
    }

    def record(self, route: str, path: str, status: int, seconds: float) -> None:
        if route == "redirect" and status >= 400 and not _CODE_PATH.fullmatch(path):
            route = "other"
        index = status // 100 - 2
        series = self._table[route][index if 0 <= index < 4 else 3]
        series.buckets[bisect_left(_LATENCY_BUCKETS, seconds)] += 1
        series.sum += seconds

    @classmethod
    def collect(cls) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "hoplink_http_requests",
            "HTTP requests answered, by route class and status class.",
            labels=["route", "status"],
        )
        seconds = HistogramMetricFamily(
            "hoplink_http_request_duration_seconds",
            "Time from the request reaching hoplink to the end of its answer, by route class"
            " and status class.",
            labels=["route", "status"],
        )
        bounds = [*(repr(float(b)) for b in _LATENCY_BUCKETS), "+Inf"]  # as Histogram writes
        for route, row in cls._table.items():
            for status, series in zip(STATUS_CLASSES, row, strict=True):
                cumulative = list(itertools.accumulate(series.buckets))
                requests.add_metric([route, status], cumulative[-1])
                seconds.add_metric(
                    [route, status],
                    buckets=list(zip(bounds, cumulative, strict=True)),
                    sum_value=series.sum,
                )
        yield from (requests, seconds)


# --- values read from live objects at scrape time ---------------------------------------------


class WorkerStats(Protocol):
    counters: IngestCounters
    lag_seconds: float
    last_commit_at: float | None

    @property
    def source(self) -> object: ...


_WORKER_COUNTS = {
    "received": "Clicks the worker read from the queue.",
    "duplicates": "Clicks read twice within one batch (redelivered), processed once.",
    "batches": "Batches the worker committed.",
    "retries": "Batch commits that failed and were retried.",
    "written": "Clicks written to the click log and rollups.",
    "replayed": "Clicks already in the database (redelivered after a crash), not counted again.",
    "purged": "Raw clicks deleted by the retention purge.",
}


@dataclass(frozen=True, slots=True)
class QueueReading:
    """The Redis stream's backlog as last measured (``refresh_queues``)."""

    reachable: bool
    entries: int = 0  # in the stream: not yet acknowledged
    pending: int = 0  # delivered to a worker, not yet acknowledged
    oldest_age: float | None = None  # seconds since the oldest entry was added


_SINK_COUNTS = {
    "added": "Clicks added to the Redis stream on the request path.",
    "pipelines": "Pipelined round-trips that carried them.",
    "spooled": "Clicks written to the local spool because Redis could not be reached.",
    "replayed": "Spooled clicks later added to the Redis stream.",
    "xadd_failures": "Round-trips to Redis that failed (their clicks went to the spool).",
}
# Production mode's Redis tier of link lookups and its invalidation messages.
_SHARED_CACHE_COUNTS = {
    "hits": "Link lookups answered by the Redis link cache.",
    "misses": "Link lookups the Redis link cache could not answer.",
    "errors": "Redis link cache calls that failed (the lookup went on to the database).",
}
_INVALIDATION_COUNTS = {
    "published": "Link invalidations published to the other nodes.",
    "publish_failures": "Invalidation publishes that failed (retried).",
    "received": "Invalidation messages received from other nodes.",
    "resubscribes": "Times the invalidation subscription was re-established.",
    "subscriber_errors": "Errors of the invalidation subscriber.",
}
_SOURCE_COUNTS = {
    "entries_read": "Stream entries delivered to this worker (XREADGROUP).",
    "claimed": "Stream entries taken over from a stalled worker (XAUTOCLAIM).",
    "acked": "Stream entries acknowledged after their batch committed.",
    "dropped": "Corrupt stream entries acknowledged and deleted unread.",
}


class ForwardGathering(Protocol):
    """The click worker's side of ad platform forwarding (forwarding.outbox.ForwardClicks)."""

    dropped: int
    queued: int

    @property
    def buffered(self) -> int: ...


class ForwardCounts(Protocol):
    requests: int
    sent: int
    retried: int
    dead: int
    rejected: int


class ForwardingStats(Protocol):
    """A forwarding loop (forwarding.delivery.ForwardDelivery)."""

    @property
    def clicks(self) -> ForwardGathering | None: ...

    @property
    def counters(self) -> ForwardCounts: ...


_FORWARD_OUTCOMES = ("sent", "retried", "dead", "rejected")


class LiveCollector(Collector):
    def __init__(self) -> None:
        # Serving apps: (their redirect edge, their runtime), by id of the edge.
        self.apps: dict[int, tuple[RedirectApp, Runtime]] = {}
        self.workers: weakref.WeakSet[WorkerStats] = weakref.WeakSet()
        self.forwarders: weakref.WeakSet[ForwardingStats] = weakref.WeakSet()
        # The Redis stream, measured by ``refresh_queues`` (an await: not at collect time,
        # which may run in prometheus_client's server thread).
        self.queues: dict[str, QueueReading] = {}
        self.poll_streams = False  # ``hoplink worker --metrics-port``: refresh in the background
        self._poller: asyncio.Task[None] | None = None

    def sinks(self) -> list[RedisClickSink]:
        return [rt.click_sink for _, rt in self.apps.values() if rt.click_sink is not None]

    def streams(self) -> dict[str, ClickStream]:
        found = {s.stream.key: s.stream for s in self.sinks()}
        for worker in list(self.workers):
            if isinstance(worker.source, RedisClickSource):
                found[worker.source.stream.key] = worker.source.stream
        return found

    def collect(self) -> Iterator[Metric]:
        yield from RequestRecorder.collect()
        yield from self._edge()
        yield from self._queues()
        yield from self._redis()
        yield from self._workers()
        yield from self._forwarding()

    def _edge(self) -> Iterator[Metric]:
        apps = list(self.apps.values())
        caches = [rt.redirect_cache for _, rt in apps]
        edges = [edge for edge, _ in apps]
        yield _counter(
            "hoplink_redirect_cache_hits",
            "Link lookups answered from the in-process redirect cache.",
            sum(c.hits for c in caches),
        )
        yield _counter(
            "hoplink_redirect_cache_misses",
            "Link lookups the redirect cache could not answer (loaded from storage).",
            sum(c.misses for c in caches),
        )
        yield _gauge(
            "hoplink_redirect_cache_entries",
            "Links (and known misses) held in the redirect cache.",
            sum(len(c) for c in caches),
        )
        yield _counter(
            "hoplink_redirect_clicks_lost",
            "Redirects answered whose click could not be handed to the click queue.",
            sum(e.clicks_lost for e in edges),
        )
        yield _counter(
            "hoplink_redirect_lookups_failed",
            "Link lookups that failed (storage unreachable): answered 503.",
            sum(e.lookups_failed for e in edges),
        )
        yield _counter(
            "hoplink_redirect_misses_refused",
            "Unknown codes answered 429: the client asked for too many (enumeration limit).",
            sum(e.misses_refused for e in edges),
        )
        ad_ids = CounterMetricFamily(
            "hoplink_redirect_ad_click_ids_dropped",
            "Ad platforms' click ids (fbclid, gclid, ...) refused at the edge, by reason.",
            labels=["reason"],
        )
        for reason in AdIdDrop:
            value = sum(e.capture.ad_ids.counts[reason.value] for e in edges)
            ad_ids.add_metric([reason.value], value)
        yield ad_ids
        shared = [rt.shared_links for _, rt in apps if rt.shared_links is not None]
        if shared:
            for name, help_text in _SHARED_CACHE_COUNTS.items():
                value = sum(int(getattr(c, name)) for c in shared)
                yield _counter(f"hoplink_redis_link_cache_{name}", help_text, value)
        invalidations = [rt.invalidation for _, rt in apps if rt.invalidation is not None]
        if invalidations:
            for name, help_text in _INVALIDATION_COUNTS.items():
                value = sum(int(getattr(i, name)) for i in invalidations)
                yield _counter(f"hoplink_link_invalidation_{name}", help_text, value)
        breakers = [edge.resolver.db_breaker for edge in edges if hasattr(edge, "resolver")]
        breakers += [c.breaker for c in shared]
        yield from _breakers(breakers)

    def _queues(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "hoplink_click_queue_depth",
            "Clicks waiting in the click queue for a worker (Redis stream entries not yet"
            " acknowledged).",
            labels=["queue"],
        )
        size = GaugeMetricFamily(
            "hoplink_click_queue_backlog_bytes",
            "Bytes of the embedded click journal not yet acknowledged by the worker.",
            labels=["queue"],
        )
        lag = GaugeMetricFamily(
            "hoplink_click_consumer_lag_seconds",
            "Age of the oldest click not yet acknowledged by a worker (0: nothing waits).",
            labels=["queue"],
        )
        now = time.time()
        apps = list(self.apps.values())
        directories = {rt.journal.directory for _, rt in apps if rt.journal is not None}
        directories |= {
            w.source.directory for w in list(self.workers) if isinstance(w.source, ClickJournal)
        }
        for directory in sorted(directories):
            backlog = journal_backlog(directory)
            size.add_metric(["journal"], backlog.bytes)
            oldest = backlog.oldest_ts
            lag.add_metric(["journal"], 0.0 if oldest is None else max(0.0, now - oldest))
        pending = GaugeMetricFamily(
            "hoplink_click_queue_pending",
            "Clicks delivered to a worker and not yet acknowledged (Redis stream).",
            labels=["queue"],
        )
        reachable = GaugeMetricFamily(
            "hoplink_click_queue_reachable",
            "1 if the click queue answered the last measurement, else 0 (Redis stream).",
            labels=["queue"],
        )
        for name, reading in sorted(self.queues.items()):
            reachable.add_metric([name], 1 if reading.reachable else 0)
            if reading.reachable:
                depth.add_metric([name], reading.entries)
                pending.add_metric([name], reading.pending)
                lag.add_metric([name], reading.oldest_age or 0.0)
        yield from (depth, size, lag, pending, reachable)

    def _redis(self) -> Iterator[Metric]:
        sinks = self.sinks()
        if sinks:
            for name, help_text in _SINK_COUNTS.items():
                total = sum(int(getattr(s, name)) for s in sinks)
                yield _counter(f"hoplink_click_sink_{name}", help_text, total)
            yield _gauge(
                "hoplink_click_sink_degraded",
                "1 while clicks go to the local spool because Redis is unreachable.",
                max(int(s.degraded) for s in sinks),
            )
        sources = [w.source for w in list(self.workers) if isinstance(w.source, RedisClickSource)]
        if sources:
            for name, help_text in _SOURCE_COUNTS.items():
                total = sum(int(getattr(s, name)) for s in sources)
                yield _counter(f"hoplink_click_source_{name}", help_text, total)

    def _workers(self) -> Iterator[Metric]:
        workers = list(self.workers)
        totals: Tally[str] = Tally()
        for worker in workers:
            totals.update(worker.counters.snapshot())
        dropped = CounterMetricFamily(
            "hoplink_worker_clicks_dropped",
            "Clicks the worker dropped, by reason (see DropReason in hoplink.ingest.steps).",
            labels=["reason"],
        )
        for drop in DropReason:
            dropped.add_metric([drop.value], totals.pop(f"dropped.{drop.value}", 0))
        flagged = CounterMetricFamily(
            "hoplink_worker_clicks_flagged",
            "Clicks the worker flagged as bots or link previews (kept, counted apart).",
            labels=["reason"],
        )
        for flag in BotReason:
            flagged.add_metric([flag.value], totals.pop(f"flagged.{flag.value}", 0))
        yield from (dropped, flagged)
        for name, help_text in _WORKER_COUNTS.items():
            yield _counter(f"hoplink_worker_{name}", help_text, totals.pop(name, 0))
        for name, value in sorted(totals.items()):  # a counter added later is not lost
            metric = "hoplink_worker_" + re.sub(r"[^a-zA-Z0-9_]", "_", name)
            yield _counter(metric, f"Click worker count {name!r}.", value)
        yield _gauge(
            "hoplink_worker_commit_lag_seconds",
            "Age of the newest click of the last committed batch when it was committed.",
            max((w.lag_seconds for w in workers), default=0.0),
        )
        yield _gauge(
            "hoplink_worker_last_commit_timestamp_seconds",
            "Unix time of the worker's last committed batch (0: none yet).",
            max((w.last_commit_at or 0.0 for w in workers), default=0.0),
        )

    def _forwarding(self) -> Iterator[Metric]:
        loops = list(self.forwarders)
        gathering = [f.clicks for f in loops if f.clicks is not None]
        yield _counter(
            "hoplink_forwarding_clicks_dropped",
            "Clicks not forwarded to the ad platforms because the forwarding buffer was full"
            " (back-pressure: the forwarding loop falls behind the click worker).",
            sum(g.dropped for g in gathering),
        )
        yield _gauge(
            "hoplink_forwarding_clicks_buffered",
            "Clicks gathered for the ad platforms, not yet in the forwarding queue.",
            sum(g.buffered for g in gathering),
        )
        yield _counter(
            "hoplink_forwarding_events_queued",
            "Click events written to the forwarding queue (one per click and destination).",
            sum(g.queued for g in gathering),
        )
        outcomes = CounterMetricFamily(
            "hoplink_forwarding_events",
            "Events the forwarding loop handled, by outcome: sent, retried (a 5xx, 429 or"
            " network error), dead (refused for good or retries exhausted), rejected (aged"
            " out of the platform's window while queued).",
            labels=["outcome"],
        )
        for outcome in _FORWARD_OUTCOMES:
            value = sum(int(getattr(f.counters, outcome)) for f in loops)
            outcomes.add_metric([outcome], value)
        yield outcomes
        yield _counter(
            "hoplink_forwarding_requests",
            "Requests sent to the ad platforms' APIs by the forwarding loop.",
            sum(f.counters.requests for f in loops),
        )


def _breakers(breakers: list[CircuitBreaker]) -> Iterator[Metric]:
    failures = CounterMetricFamily(
        "hoplink_circuit_breaker_failures",
        "Failed calls through a circuit breaker (database lookups, Redis link cache).",
        labels=["breaker"],
    )
    rejected = CounterMetricFamily(
        "hoplink_circuit_breaker_rejected",
        "Calls refused at once because the breaker was open (the service is down).",
        labels=["breaker"],
    )
    is_open = GaugeMetricFamily(
        "hoplink_circuit_breaker_open", "1 while the breaker is open.", labels=["breaker"]
    )
    by_name: dict[str, list[CircuitBreaker]] = {}
    for breaker in breakers:
        by_name.setdefault(breaker.name, []).append(breaker)
    for name, group in sorted(by_name.items()):
        failures.add_metric([name], sum(b.failures for b in group))
        rejected.add_metric([name], sum(b.rejected for b in group))
        is_open.add_metric([name], max(int(b.is_open) for b in group))
    yield from (failures, rejected, is_open)


def _counter(name: str, help_text: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, help_text, value=value)


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, value=value)


LIVE: Final = LiveCollector()
REGISTRY.register(LIVE)


def watch_app(edge: RedirectApp, runtime: Runtime) -> None:
    """A serving app, once started: its edge, caches, click queue and breakers count."""
    LIVE.apps[id(edge)] = (edge, runtime)


def unwatch_app(edge: RedirectApp) -> None:
    LIVE.apps.pop(id(edge), None)
    if not LIVE.streams():
        LIVE.queues.pop("redis", None)


def watch_worker(worker: WorkerStats) -> None:
    LIVE.workers.add(worker)
    if LIVE.poll_streams and LIVE._poller is None and LIVE.streams():
        LIVE._poller = asyncio.get_running_loop().create_task(
            _poll_queues(), name="metrics-queue-poller"
        )


def watch_forwarding(loop: ForwardingStats) -> None:
    """A running forwarding loop: its back-pressure and outcome counts."""
    LIVE.forwarders.add(loop)


def unwatch_forwarding(loop: ForwardingStats) -> None:
    LIVE.forwarders.discard(loop)


def unwatch_worker(worker: WorkerStats) -> None:
    LIVE.workers.discard(worker)
    if not LIVE.streams():
        LIVE.queues.pop("redis", None)
        if LIVE._poller is not None:
            LIVE._poller.cancel()
            LIVE._poller = None


QUEUE_POLL_SECONDS = 5.0
_QUEUE_TIMEOUT = 1.0


async def refresh_queues() -> None:
    """Measure the Redis stream's backlog (XLEN, XINFO GROUPS, the oldest entry's id); the
    web /metrics endpoint awaits this before each scrape, a worker polls it."""
    for stream in LIVE.streams().values():
        try:
            async with asyncio.timeout(_QUEUE_TIMEOUT):
                backlog = await stream.backlog()
                first = await stream.redis.xrange(stream.key, count=1)
        except Exception as exc:
            log.debug("measuring the click stream failed: %s", exc)
            LIVE.queues["redis"] = QueueReading(reachable=False)
            continue
        age: float | None = None
        if first:
            entry_id = first[0][0]  # "<milliseconds>-<sequence>", the time it was added
            text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
            millis = int(text.split("-")[0])
            age = max(0.0, time.time() - millis / 1000)
        LIVE.queues["redis"] = QueueReading(
            reachable=True, entries=backlog.length, pending=backlog.pending, oldest_age=age
        )


async def _poll_queues() -> None:
    while True:
        await refresh_queues()
        await asyncio.sleep(QUEUE_POLL_SECONDS)


# --- exposition ----------------------------------------------------------------------------


def exposition(accept: str | None) -> tuple[bytes, str]:
    """The registry in the format the scraper asked for (OpenMetrics or text 0.0.4)."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(REGISTRY), content_type


class MetricsEndpoint:
    """``GET /metrics`` on the web port: only for ``Bearer <token>``; without a token only
    when the operator made it public, else to nobody (private by default)."""

    def __init__(self, token: str, *, public: bool = False) -> None:
        self._expected = f"Bearer {token}".encode() if token else None
        self._closed = not token and not public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(_lower(scope["headers"]))
        if scope["method"] not in ("GET", "HEAD"):
            await _plain(send, 405, b"use GET\n", [(b"allow", b"GET, HEAD")])
            return
        if self._closed:
            await _plain(send, 401, b"metrics: set HOPLINK_METRICS_TOKEN to scrape them\n", [
                (b"www-authenticate", b'Bearer realm="metrics"'),
            ])  # fmt: skip
            return
        if self._expected is not None and not hmac.compare_digest(
            headers.get(b"authorization", b""), self._expected
        ):
            await _plain(send, 401, b"metrics: bearer token required\n", [
                (b"www-authenticate", b'Bearer realm="metrics"'),
            ])  # fmt: skip
            return
        if LIVE.sinks():
            await refresh_queues()
        body, content_type = exposition(headers.get(b"accept", b"").decode("latin-1"))
        await send({
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        })  # fmt: skip
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )


def _lower(headers: Iterable[tuple[bytes, bytes]]) -> Iterator[tuple[bytes, bytes]]:
    for name, value in headers:
        yield name.lower(), value


async def _plain(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *(extra or ()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def serve_worker_metrics(*, host: str, port: int) -> None:
    """``hoplink worker --metrics-port``: prometheus_client's HTTP server in a daemon thread,
    on this process's registry (scrapes only read plain counters, never the event loop)."""
    from prometheus_client import start_http_server

    start_http_server(port, addr=host, registry=REGISTRY)
    LIVE.poll_streams = True
