"""Queueing events for the ad platforms.

Conversions: ``forward_conversions`` runs in the transaction that records them (called by
``conversions.notify.emit_conversions``, beside the webhooks), so a rolled-back call
queues nothing and a committed one is never missed. Clicks: ``ForwardClicks`` gathers the
click worker's committed clicks in memory (the worker pays for an append, nothing more)
and the forwarding loop writes them to the queue, per workspace, at most every
``interval`` seconds. Gathered clicks not yet queued are lost if the process is killed
(the clicks themselves are committed); once queued they are sent at least once.

Every event a destination wants is journalled, in a batch (one row for up to a request's
worth of events: ``batches_for``): ``pending``, or ``rejected`` with the rule it breaks (a
GA4 event past the 72 h window, a TikTok refund ...): reported, never dropped silently.
Sampling of clicks is decided by the click id, so a replay samples alike.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hoplink.clicks.enriched import Event
from hoplink.conversions.models import EventResult, Outcome
from hoplink.forwarding.common import unix
from hoplink.forwarding.models import (
    Batch,
    ClickFacts,
    ConversionFacts,
    Destination,
    Kind,
    Status,
    queued_event,
)
from hoplink.forwarding.platforms import PLATFORMS
from hoplink.ids import new_id, utcnow

if TYPE_CHECKING:
    from hoplink.links.models import Link
    from hoplink.storage.database import Database
    from hoplink.storage.forwarding import ForwardRepo
    from hoplink.storage.tx import Tx

# Refused events journalled in one row (they are never sent: no request bounds them).
REJECTED_BATCH = 1000

log = logging.getLogger("hoplink.forwarding")

_KINDS = {"purchase": "purchase", "refund": "refund", "cancel": "refund", "lead": "lead"}
_FORWARDED = (Outcome.CREATED, Outcome.REFUNDED, Outcome.CANCELLED, Outcome.RECORDED)


def sampled(click_id: str, rate: float) -> bool:
    """Whether a click is in a destination's sample (the same answer every time)."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    try:
        return int(click_id[:8], 16) / 0x1_0000_0000 < rate
    except ValueError:
        return True


def batches_for(dest: Destination, events: list[dict[str, Any]], *, now: datetime) -> list[Batch]:
    """``events`` (``queued_event``s) for ``dest`` as batches: those to send in batches of
    the platform's largest request (GA4: ordered by client_id, so that one client's events
    share a request), the refused ones in ``rejected`` batches, each with its rule."""
    pending = [e for e in events if "error" not in e]
    refused = [e for e in events if "error" in e]
    platform = PLATFORMS[dest.kind]
    if platform.kind is Kind.GA4:
        pending.sort(key=lambda e: e.get("group", ""))
    out: list[Batch] = []
    status: Status
    for status, group, size in (
        ("pending", pending, platform.max_batch),
        ("rejected", refused, REJECTED_BATCH),
    ):
        for i in range(0, len(group), size):
            chunk = group[i : i + size]
            batch_id = new_id("fwb")
            for n, event in enumerate(chunk):
                event["id"] = f"{batch_id}.{n}"  # the journal's entry id, kept if it moves
            out.append(
                Batch(
                    id=batch_id,
                    workspace_id=dest.workspace_id,
                    destination_id=dest.id,
                    status=status,
                    events=chunk,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
    return out


def _click_facts(row: dict[str, Any], link: Link | None, workspace_id: str) -> ClickFacts:
    ts = row["ts"]
    return ClickFacts(
        click_id=row["click_id"],
        workspace_id=workspace_id,
        link_id=row["link_id"],
        ts=ts.replace(tzinfo=ts.tzinfo or UTC).timestamp() if isinstance(ts, datetime) else ts,
        visitor_hash=row["visitor_hash"],
        user_agent=row.get("user_agent") or "",
        ad_click_ids=row.get("ad_click_ids") or {},
        country=row.get("country"),
        device=row.get("device"),
        link_code=link.code if link else "",
        link_host=link.domain if link else "",
        page_url=link.final_url if link else "",
        utm=dict(link.utm) if link else {},
        channel=link.channel if link else None,
        campaign_id=link.campaign_id if link else None,
    )


async def forward_conversions(
    tx: Tx, *, workspace_id: str, results: Sequence[EventResult], now: datetime | None = None
) -> int:
    """Queue the recorded purchases, refunds, cancellations and leads of ``results`` for
    every enabled destination that wants them; the number of events queued."""
    ids = [r.event_id for r in results if r.outcome in _FORWARDED]
    if not ids:
        return 0
    repo = tx.forwarding(workspace_id)
    destinations = [d for d in await repo.destinations() if d.enabled]
    if not destinations:
        return 0
    now = now or utcnow()
    rows = [r for r in await repo.conversion_rows(ids) if r["type"] in _KINDS]
    clicks = await repo.click_rows([r["click_id"] for r in rows if r["click_id"]])
    link_ids = list({c["link_id"] for c in clicks.values()})
    links = {link.id: link for link in await tx.links(workspace_id).get_many(link_ids)}
    wanted: dict[str, list[dict[str, Any]]] = {d.id: [] for d in destinations}
    for row in rows:
        kind = _KINDS[row["type"]]
        click = clicks.get(row["click_id"] or "")
        customer = dict(row["order_customer"] or {}) | dict(row["customer"] or {})
        facts = ConversionFacts(
            event_id=row["event_id"],
            kind=kind,
            occurred_at=row["occurred_at"],
            order_id=row["order_id"],
            amount=row["amount"],
            currency=row["currency"],
            items=list(row["items"] or (row["order_items"] if kind == "purchase" else []) or []),
            customer={k: v for k, v in customer.items() if isinstance(v, str)},
            click=_click_facts(click, links.get(click["link_id"]), workspace_id) if click else None,
        )
        at = unix(facts.occurred_at)
        for dest in destinations:
            if dest.wants(kind):
                built = PLATFORMS[dest.kind].build_conversion(dest, facts, now)
                wanted[dest.id].append(
                    queued_event(built, kind=kind, ref=facts.event_id, unix_at=at)
                )
    return await _queue(repo, destinations, wanted, now)


class ForwardClicks:
    """Gathers the click worker's committed clicks for the forwarding loop to queue."""

    def __init__(self, *, db: Database, interval: float = 2.0, buffer: int = 50_000) -> None:
        self.db = db
        self.interval = interval
        self.buffer = buffer
        self._pending: list[Event] = []
        self._wanted = False
        self._checked_at = float("-inf")
        # Clicks not gathered because the buffer was full (back-pressure), and events
        # queued: exported as hoplink_forwarding_clicks_dropped_total / _events_queued_total.
        self.dropped = 0
        self.queued = 0

    @property
    def buffered(self) -> int:
        """Clicks gathered, not yet queued."""
        return len(self._pending)

    async def after_write(self, events: Sequence[Event]) -> None:
        """The worker's hook, after its commit: keep the human clicks if anyone wants them."""
        if time.monotonic() - self._checked_at >= self.interval:
            self._checked_at = time.monotonic()
            try:
                async with self.db.transaction(write=False) as tx:
                    self._wanted = bool(await tx.forward_queue.destinations_wanting("click"))
            except Exception as exc:  # never hold up the clicks
                log.warning("click forwarding: destination check failed: %s", exc)
                return
        if not self._wanted:
            return
        room = self.buffer - len(self._pending)
        humans = [e for e in events if e.bot is None]
        if len(humans) > room:
            self.dropped += len(humans) - max(room, 0)
            humans = humans[: max(room, 0)]
        self._pending.extend(humans)

    async def flush(self, now: datetime | None = None) -> int:
        """Queue what was gathered; the number of events queued."""
        pending, self._pending = self._pending, []
        if not pending:
            return 0
        by_workspace: dict[str, list[Event]] = {}
        for event in pending:
            by_workspace.setdefault(event.click.workspace_id, []).append(event)
        written = 0
        for workspace_id, events in by_workspace.items():
            try:
                async with self.db.transaction() as tx:
                    written += await queue_clicks(
                        tx, workspace_id=workspace_id, events=events, now=now or utcnow()
                    )
            except Exception as exc:
                log.warning("click forwarding: %d clicks not queued: %s", len(events), exc)
        self.queued += written
        return written


async def queue_clicks(tx: Tx, *, workspace_id: str, events: Sequence[Event], now: datetime) -> int:
    repo = tx.forwarding(workspace_id)
    destinations = [d for d in await repo.destinations() if d.wants("click")]
    if not destinations:
        return 0
    link_ids = list({e.click.link_id for e in events})
    links = {link.id: link for link in await tx.links(workspace_id).get_many(link_ids)}
    wanted: dict[str, list[dict[str, Any]]] = {d.id: [] for d in destinations}
    # Per destination, once: its builder, its rate, and where its events go.
    targets = [
        (d, PLATFORMS[d.kind].click, d.click_sample_rate, wanted[d.id]) for d in destinations
    ]
    for event in events:
        c = event.click
        link = links.get(c.link_id)
        if link is None:  # deleted since the click
            continue
        facts = ClickFacts(
            click_id=c.click_id,
            workspace_id=workspace_id,
            link_id=c.link_id,
            ts=c.ts,
            visitor_hash=c.visitor_hash,
            user_agent=c.user_agent,
            ad_click_ids=c.ad_click_ids or {},
            country=event.country,
            device=event.device,
            link_code=link.code,
            link_host=link.domain,
            page_url=link.final_url,
            utm=dict(link.utm),
            channel=event.channel,
            campaign_id=event.campaign,
        )
        for dest, build, rate, out in targets:
            if rate >= 1.0 or sampled(c.click_id, rate):
                built = build(dest, facts, now=now)
                out.append(queued_event(built, kind="click", ref=c.click_id, unix_at=c.ts))
    return await _queue(repo, destinations, wanted, now)


async def _queue(
    repo: ForwardRepo,
    destinations: Sequence[Destination],
    wanted: dict[str, list[dict[str, Any]]],
    now: datetime,
) -> int:
    batches: list[Batch] = []
    for dest in destinations:
        batches += batches_for(dest, wanted[dest.id], now=now)
    await repo.insert_batches(batches)
    return sum(len(b.events) for b in batches)


Hook = Callable[[Sequence[Event]], Awaitable[None]]


def chain(first: Hook | None, second: Hook) -> Hook:
    """Both hooks, the second even when the first fails (each is the worker's after-write
    hook for its own consumer: webhooks, forwarding)."""

    async def both(events: Sequence[Event]) -> None:
        if first is not None:
            try:
                await first(events)
            except Exception as exc:
                log.warning("after-write hook failed: %s", exc)
        await second(events)

    return both
