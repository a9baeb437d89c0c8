"""``click`` webhooks: the click worker hands each committed batch's new clicks here (a
hook, ``Worker.after_write``); they are gathered per workspace and written to the outbox
as messages of up to ``batch`` clicks, at most every ``interval`` seconds (the webhook
delivery loop calls ``flush``, and once more when it stops).

Only active while some enabled endpoint subscribes to ``click`` (looked up at most once per
interval). Gathered clicks not yet in the outbox are lost if the process is killed (the
clicks themselves are committed); once in the outbox they are delivered at least once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from hoplink.clicks.enriched import Event
from hoplink.storage.database import Database
from hoplink.webhooks.outbox import emit_many

log = logging.getLogger("hoplink.webhooks")


def click_data(event: Event) -> dict[str, Any]:
    c = event.click
    return {
        "id": c.click_id,
        "link_id": c.link_id,
        "host": c.domain,
        "at": datetime.fromtimestamp(c.ts, UTC).isoformat().replace("+00:00", "Z"),
        "country": event.country,
        "device": event.device,
        "browser": event.browser,
        "os": event.os,
        "referrer": event.referrer,
        "bot": event.bot.value if event.bot is not None else None,
        "channel": event.channel,
        "campaign_id": event.campaign,
    }


class ClickWebhooks:
    def __init__(self, *, db: Database, batch: int = 100, interval: float = 5.0) -> None:
        self.db = db
        self.batch = batch
        self.interval = interval
        self._pending: dict[str, list[dict[str, Any]]] = {}
        self._subscribed = False
        self._checked_at = float("-inf")

    async def after_write(self, events: Sequence[Event]) -> None:
        """The worker's hook, after its commit: gather the clicks if anyone listens."""
        try:
            if time.monotonic() - self._checked_at >= self.interval:
                async with self.db.transaction(write=False) as tx:
                    self._subscribed = await tx.webhook_queue.any_endpoint_wants("click")
                self._checked_at = time.monotonic()
        except Exception as exc:  # never hold up the clicks
            log.warning("click webhooks: subscription check failed: %s", exc)
            return
        if self._subscribed:
            for event in events:
                self._pending.setdefault(event.click.workspace_id, []).append(click_data(event))

    async def flush(self) -> int:
        """Write what was gathered to the outbox; the number of messages written."""
        pending, self._pending = self._pending, {}
        written = 0
        for workspace_id, clicks in pending.items():
            items = [
                ("click", {"clicks": clicks[i : i + self.batch]})
                for i in range(0, len(clicks), self.batch)
            ]
            try:
                async with self.db.transaction() as tx:
                    written += await emit_many(tx, workspace_id=workspace_id, items=items)
            except Exception as exc:
                log.warning("click webhooks: %d clicks not queued: %s", len(clicks), exc)
        return written
