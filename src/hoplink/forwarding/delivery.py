"""Sending the forwarding queue: claim due batches, POST their events (one request per
batch; GA4: one per client_id in it), record the answer, retry or dead-letter.

It runs as its own task beside the click worker (its own loop and queue table): a slow or
failing platform holds up only this loop, never redirects or the worker's rollups; the
worker's part is an append to ``ForwardClicks`` (bounded: past ``buffer`` clicks are
counted as dropped instead of slowing the worker).

The loop, lease and backoff are hoplink.delivery_loop's, shared with the webhooks:
at-least-once per batch. A worker killed between the claim and the outcome leaves the
batch pending and it is sent again after the lease, with the same event ids, which the
platforms dedupe by (Meta and TikTok: ``event_id``; GA4 purchases: ``transaction_id``).
A batch is at most one request's worth of events (GA4: 25), so that is all a kill can send
twice, as before batching (docs/adr/0021-forwarding-in-batches.md).

A 2xx accepted answer → ``sent``. A 5xx, 429, the platform's rate-limit codes or a network
error → retried with exponential backoff until ``retry_window`` after queueing, then
``dead``. Any other 4xx (or TikTok's non-zero code) → ``dead`` at once with the platform's
message. Events that aged out of the platform's window while waiting → ``rejected``, each
with its rule. A batch whose requests (GA4) get different answers is split: each outcome
keeps its events in a row of its own, written in the same transaction.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Unpack

import orjson

from hoplink.delivery_loop import DeliveryLoop, LoopOptions
from hoplink.forwarding.common import snippet, unix
from hoplink.forwarding.models import Answer, Batch, Built, ClickFacts, Destination, Status
from hoplink.forwarding.outbox import ForwardClicks, chain
from hoplink.forwarding.platforms import PLATFORMS, Endpoints
from hoplink.ids import new_id, utcnow
from hoplink.net.fetch import FetchError, SafeFetcher
from hoplink.observability import metrics
from hoplink.storage.database import Database
from hoplink.webhooks.secrets import SecretBox

if TYPE_CHECKING:
    from hoplink.config import Settings
    from hoplink.runtime import Runtime

log = logging.getLogger("hoplink.forwarding")

CLAIM = 8  # batches one worker takes at a time (up to 8,000 Meta / TikTok events)
PARALLEL = 8  # requests in flight at once


@dataclass(slots=True)
class Counters:
    """Events (and requests) by outcome, since the start of the process."""

    requests: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    rejected: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def endpoints_from_settings(settings: Settings) -> Endpoints:
    return Endpoints(
        ga4=settings.ga4_base_url.rstrip("/"),
        meta=settings.meta_base_url.rstrip("/"),
        tiktok=settings.tiktok_base_url.rstrip("/"),
        meta_api_version=settings.meta_api_version,
    )


def _scrub(text: str, credential: str) -> str:
    return text.replace(credential, "••••") if credential else text


@dataclass(slots=True)
class _Outcome:
    """Events of a batch that got one answer, and what becomes of them."""

    status: Status
    events: list[dict[str, Any]]
    values: dict[str, Any]


class ForwardDelivery(DeliveryLoop):
    """A service (start/stop) that sends the forwarding queue until stopped."""

    name = "forwarding"
    clicks: ForwardClicks | None

    def __init__(
        self,
        *,
        db: Database,
        fetcher: SafeFetcher,
        box: SecretBox,
        endpoints: Endpoints,
        clicks: ForwardClicks | None = None,
        **options: Unpack[LoopOptions],
    ) -> None:
        super().__init__(db=db, fetcher=fetcher, log=log, clicks=clicks, **options)
        self.box = box
        self.endpoints = endpoints
        self.counters = Counters()
        self._gate = asyncio.Semaphore(PARALLEL)

    async def start(self) -> None:
        metrics.watch_forwarding(self)  # held weakly
        await super().start()

    async def stop(self) -> None:
        await super().stop()
        metrics.unwatch_forwarding(self)

    async def deliver_due(self, limit: int = CLAIM) -> int:
        """Claim and send up to ``limit`` due batches; how many events were attempted."""
        now = self.clock()
        async with self.db.transaction() as tx:
            claimed = await tx.forward_queue.claim(
                now=now, lease_until=now + self.lease, limit=limit
            )
        await asyncio.gather(*(self._deliver(batch, dest) for batch, dest in claimed))
        return sum(len(batch.events) for batch, _ in claimed)

    async def _deliver(self, batch: Batch, dest: Destination) -> None:
        platform = PLATFORMS[dest.kind]
        now = self.clock()
        outcomes: list[_Outcome] = []
        late: list[dict[str, Any]] = []
        due: list[dict[str, Any]] = []
        cutoff = unix(now - platform.window)  # one comparison per event
        for e in batch.events:
            if e["at"] >= cutoff:
                due.append(e)
            else:
                at = datetime.fromtimestamp(e["at"], UTC)
                problem = platform.due_problem(orjson.loads(e["payload"]), at, now) or "too old"
                late.append({**e, "error": problem[:300]})
        if late:
            outcomes.append(_Outcome("rejected", late, {"error": None}))
        requests: dict[str, list[list[dict[str, Any]]]] = {}
        if any("group" in e for e in due):  # GA4: one client_id per request
            for e in due:
                chunks = requests.setdefault(e.get("group", ""), [[]])
                if len(chunks[-1]) >= platform.max_batch:
                    chunks.append([])
                chunks[-1].append(e)
        elif due:
            size = platform.max_batch
            requests[""] = [due[i : i + size] for i in range(0, len(due), size)]
        sends = [(group, chunk) for group, chunks in requests.items() for chunk in chunks]
        answers = await asyncio.gather(*(self._post(dest, g, chunk) for g, chunk in sends))
        by_answer: dict[tuple[Status, int | None, str], _Outcome] = {}
        for (_group, chunk), (answer, message) in zip(sends, answers, strict=True):
            values: dict[str, Any] = {
                "sent_at": now,
                "answer_status": answer.status,
                "answer": message,
            }
            status: Status
            if answer.ok:
                status, values["error"] = "sent", None
            else:
                values["error"] = message[:300]
                next_at = (
                    self.next_attempt(batch.attempts + 1, created_at=batch.created_at, now=now)
                    if answer.retry
                    else None
                )
                status = "pending" if next_at is not None else "dead"
                if next_at is not None:
                    values["next_attempt_at"] = next_at
            # Retries share one row whatever their messages: one next attempt for all.
            key = (status, None, "") if status == "pending" else (status, answer.status, message)
            if key in by_answer:
                by_answer[key].events.extend(chunk)
            else:
                by_answer[key] = _Outcome(status, list(chunk), values)
        outcomes += by_answer.values()
        await self._record(batch, outcomes)
        self._count(dest, outcomes)

    async def _post(
        self, dest: Destination, group: str, events: list[dict[str, Any]]
    ) -> tuple[Answer, str]:
        """One request; the answer and its message with the credential masked."""
        platform = PLATFORMS[dest.kind]
        credential = ""
        async with self._gate:
            try:
                credential = self.box.open(dest.credential_enc)
                payloads: list[Any] = (
                    [orjson.Fragment(e["payload"]) for e in events]
                    if platform.takes_fragments
                    else [orjson.loads(e["payload"]) for e in events]
                )
                request = platform.request(
                    dest,
                    credential=credential,
                    endpoints=self.endpoints,
                    events=payloads,
                    group=group,
                )
                self.counters.requests += 1
                result = await self.fetcher.post(
                    request.url, body=request.body, headers=request.headers
                )
                answer = platform.answer(result.status, result.body)
            except FetchError as exc:
                answer = Answer(ok=False, retry=True, message=f"{exc.code}: {exc.message}")
            except ValueError as exc:  # sealed under another secret key: needs a new credential
                answer = Answer(ok=False, retry=False, message=f"credential: {exc}")
        return answer, _scrub(answer.message, credential)[:500]

    async def _record(self, batch: Batch, outcomes: list[_Outcome]) -> None:
        """One transaction: the batch's row takes the first outcome (and only its events, if
        there are others), each other outcome a new row with the batch's history."""
        if not outcomes:  # an empty batch: nothing to send
            outcomes = [_Outcome("sent", [], {"sent_at": self.clock()})]
        first, *others = outcomes
        split = [
            replace(
                batch,
                id=new_id("fwb"),
                status=o.status,
                events=o.events,
                attempts=batch.attempts + 1,
                **{k: v for k, v in o.values.items() if k != "error"},
                error=o.values.get("error"),
            )
            for o in others
        ]
        async with self.db.transaction() as tx:
            await tx.forward_queue.settle(
                batch.id,
                {**first.values, "status": first.status},
                events=first.events if others else None,
                split=split,
            )

    def _count(self, dest: Destination, outcomes: list[_Outcome]) -> None:
        for o in outcomes:
            n = len(o.events)
            if o.status == "sent":
                self.counters.sent += n
            elif o.status == "rejected":
                self.counters.rejected += n
            elif o.status == "dead":
                self.counters.dead += n
                log.info(
                    "forwarding to %s refused %d events: %s",
                    dest.id,
                    n,
                    str(o.values.get("error"))[:200],
                )
            else:
                self.counters.retried += n
                log.info(
                    "forwarding to %s failed (%s); %d events retried",
                    dest.id,
                    str(o.values.get("error"))[:200],
                    n,
                )


async def send_test(
    dest: Destination,
    *,
    fetcher: SafeFetcher,
    box: SecretBox,
    endpoints: Endpoints,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Send one made-up click to ``dest`` now (Meta and TikTok: with its test event code,
    if set) and return what was sent (credentials masked) and the platform's answer. Not
    journalled: it is no visitor's click."""
    now = now or utcnow()
    platform = PLATFORMS[dest.kind]
    facts = ClickFacts(
        click_id=secrets.token_hex(16),
        workspace_id=dest.workspace_id,
        link_id="test",
        ts=now.replace(tzinfo=now.tzinfo or UTC).timestamp(),
        visitor_hash=secrets.token_hex(16),
        user_agent="hoplink-test-event/1.0",
        ad_click_ids={},
        country="US",
        device="mobile",
        link_code="test",
        link_host="hoplink.test",
        page_url="https://hoplink.test/test-event",
        utm={"utm_source": "hoplink", "utm_medium": "test", "utm_campaign": "test_event"},
    )
    built = platform.build_click(dest, facts, now)
    if not isinstance(built, Built):
        return {"ok": False, "request": built.payload, "status": None, "answer": built.rule}
    credential = box.open(dest.credential_enc)
    request = platform.request(
        dest,
        credential=credential,
        endpoints=endpoints,
        events=[built.payload],
        group=built.group_key,
    )
    try:
        result = await fetcher.post(request.url, body=request.body, headers=request.headers)
    except FetchError as exc:
        return {
            "ok": False,
            "request": request.shown,
            "status": None,
            "answer": _scrub(f"{exc.code}: {exc.message}", credential),
        }
    answer = platform.answer(result.status, result.body)
    return {
        "ok": answer.ok,
        "request": request.shown,
        "status": result.status,
        "answer": _scrub(snippet(result.body), credential) or answer.message,
    }


def delivery_from_settings(settings: Settings, *, db: Database) -> ForwardDelivery:
    return ForwardDelivery(
        db=db,
        fetcher=SafeFetcher.from_settings(settings),
        box=SecretBox(settings.resolve_secret_key()),
        endpoints=endpoints_from_settings(settings),
        poll_interval=settings.forward_poll_interval,
        lease=settings.forward_lease,
        retry_base=settings.forward_retry_base,
        retry_window=timedelta(hours=settings.forward_retry_hours),
        clicks=ForwardClicks(
            db=db,
            interval=settings.forward_click_interval,
            buffer=settings.forward_click_buffer,
        ),
    )


def attach(worker: Any, delivery: ForwardDelivery) -> None:
    """Hand the click worker's committed clicks to ``delivery`` too (after any other
    after-write hook, such as click webhooks)."""
    if delivery.clicks is not None:
        worker.after_write = chain(worker.after_write, delivery.clicks.after_write)


def embedded_forwarding(runtime: Runtime) -> ForwardDelivery:
    """A ``ServiceFactory``: the serving process forwards beside its click worker."""
    from hoplink.ingest.worker import Worker

    delivery = delivery_from_settings(runtime.settings, db=runtime.db)
    for service in runtime.services:
        if isinstance(service, Worker):
            attach(service, delivery)
    return delivery
