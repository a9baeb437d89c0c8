"""Destination health, as a workspace and the checker see it. The caller owns the
transaction (services never commit).

``record_check`` turns one check of a link (a verdict per URL) into its new state. A change
that matters (to degraded or broken, or back to healthy from them; the first "healthy" of
a new link is not news) writes a history entry — also the workspace's notification list —
and a ``link.health`` webhook through the outbox, in the same transaction. With automatic
fallback on, the link's destination is switched to its fallback URL (the link's own
expiry URL, else the workspace's fallback URL) through the ordinary link edit — policy
check, history, cache invalidation on every node — and switched back once the original
destination is healthy again; the checker keeps checking the original meanwhile.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from hoplink.errors import FieldError, HoplinkError, InvalidInput, NotFound
from hoplink.events import Event, LinkChanged
from hoplink.ids import new_id, utcnow
from hoplink.linkhealth.models import (
    AUTO_FALLBACK,
    AutoFallback,
    HealthEvent,
    HealthState,
    LinkHealth,
    Verdict,
    worse,
)
from hoplink.links.abtest import AbTest
from hoplink.links.routing import rules_from_json
from hoplink.links.service import update_link
from hoplink.links.spec import LinkEdit
from hoplink.safety.policy import DestinationPolicy
from hoplink.storage.linkhealth import ClaimedRow
from hoplink.storage.tx import Tx
from hoplink.webhooks.outbox import emit
from hoplink.workspaces.models import Workspace

log = logging.getLogger("hoplink.linkhealth")

ACTOR = "health-check"  # who the link history names for automatic switches
MAX_URLS = 12  # URLs checked per link: the destination, then rule and variant URLs


def target_urls(
    destination_url: str, routing: str | None, switched_from: str | None = None
) -> tuple[str, ...]:
    """What a check of the link fetches: its own destination (the original one while the
    fallback stands in), then every rule's and A/B variant's URL, each once."""
    urls = [switched_from or destination_url]
    data: dict[str, Any] = orjson.loads(routing) if routing else {}
    urls += [rule.action.url for rule in rules_from_json(data.get("rules") or [])]
    if data.get("ab"):
        urls += [v.url for v in AbTest.from_json(data["ab"]).variants if v.url]
    return tuple(dict.fromkeys(u for u in urls if u.startswith(("http://", "https://"))))[:MAX_URLS]


def urls_sig(urls: Sequence[str]) -> str:
    return hashlib.blake2b("\n".join(urls).encode(), digest_size=8).hexdigest()


def worst_of(checked: Sequence[tuple[str, Verdict]]) -> tuple[str, Verdict]:
    """The URL and verdict that decide the link's state (the first of the worst)."""
    url, verdict = checked[0]
    for other_url, other in checked[1:]:
        if worse(other.state, verdict.state):
            url, verdict = other_url, other
    return url, verdict


def newsworthy(old: HealthState, new: HealthState) -> bool:
    """Whether a change goes to history, notifications and the webhook."""
    if old == new or new == "unknown":
        return False
    return not (old == "unknown" and new == "healthy")


def _fallback_wanted(mode: AutoFallback, state: HealthState) -> bool:
    return state == "broken" or (mode == "degraded" and state == "degraded")


async def record_check(
    tx: Tx,
    claimed: ClaimedRow,
    checked: Sequence[tuple[str, Verdict]],
    validators: Mapping[str, Mapping[str, Any]],
    *,
    now: datetime,
    next_check_at: datetime,
    policy: DestinationPolicy | None,
) -> HealthEvent | None:
    """Store one check's outcome if this checker still holds the link; the history entry
    written, if the change was news (or the fallback switched)."""
    old = claimed.health
    url, verdict = worst_of(checked)
    state = verdict.state
    values: dict[str, Any] = {
        "state": state,
        "reason": verdict.reason,
        "detail": verdict.detail[:300] or None,
        "url": url,
        "status_code": verdict.status_code,
        "checked_at": now,
        "next_check_at": next_check_at,
        "validators": orjson.dumps(validators).decode(),
        "urls_sig": urls_sig([u for u, _ in checked]),
    }
    if state != old.state:
        values["changed_at"] = now
    if not await tx.health_queue.release(old.link_id, lease=claimed.lease, values=values):
        log.info("health check of %s finished after its lease; dropped", old.link_id)
        return None
    switch = await _reconcile_fallback(tx, old, state, policy=policy)
    if not newsworthy(old.state, state) and switch is None:
        return None
    event = HealthEvent(
        id=new_id("hev"),
        workspace_id=old.workspace_id,
        link_id=old.link_id,
        at=now,
        old_state=old.state,
        new_state=state,
        reason=verdict.reason,
        detail=verdict.detail[:300] or None,
        url=url,
        status_code=verdict.status_code,
        switch=switch,
        acknowledged_at=None,
    )
    await tx.health(old.workspace_id).add_event(event)
    link = await tx.links(old.workspace_id).get(old.link_id)
    await emit(
        tx,
        workspace_id=old.workspace_id,
        event_type="link.health",
        data={
            "link_id": old.link_id,
            "host": link.domain if link else None,
            "code": link.code if link else None,
            "state": state,
            "previous_state": old.state,
            "reason": verdict.reason,
            "detail": event.detail,
            "url": url,
            "status_code": verdict.status_code,
            "checked_at": now.isoformat().replace("+00:00", "Z"),
            "fallback": switch,
            "destination_url": link.destination_url if link else None,
        },
    )
    return event


async def _reconcile_fallback(
    tx: Tx, health: LinkHealth, state: HealthState, *, policy: DestinationPolicy | None
) -> str | None:
    """Switch to the fallback (``to_fallback``) or back (``restored``) as the state asks."""
    mode = health.auto_fallback
    if health.switched and (state == "healthy" or mode == "off"):
        return await _restore(tx, health, policy=policy)
    if mode == "off" or health.switched or not _fallback_wanted(mode, state):
        return None
    workspace = await tx.workspaces.get(health.workspace_id)
    link = await tx.links(health.workspace_id).get(health.link_id)
    if workspace is None or link is None:
        return None
    fallback = link.expiry_url or workspace.fallback_url
    if not fallback or fallback == link.destination_url:
        return None
    try:
        async with tx.savepoint():
            switched = await update_link(
                tx, workspace=workspace, link_id=link.id, edit=LinkEdit(url=fallback),
                actor=ACTOR, policy=policy,
            )  # fmt: skip
    except HoplinkError as exc:  # e.g. the policy now refuses the fallback URL
        log.warning("link %s: cannot switch to its fallback URL: %s", link.id, exc)
        return None
    await tx.health(health.workspace_id).update(
        link.id,
        {"switched_from": link.destination_url, "switched_to": switched.destination_url},
    )
    return "to_fallback"


async def _restore(tx: Tx, health: LinkHealth, *, policy: DestinationPolicy | None) -> str:
    repo = tx.health(health.workspace_id)
    workspace = await tx.workspaces.get(health.workspace_id)
    link = await tx.links(health.workspace_id).get(health.link_id)
    # Someone edited the destination meanwhile: theirs stands, nothing to put back.
    restore = health.switched_from
    if (
        workspace is not None
        and link is not None
        and restore is not None
        and link.destination_url == health.switched_to
    ):
        try:
            async with tx.savepoint():
                await update_link(
                    tx, workspace=workspace, link_id=link.id,
                    edit=LinkEdit(url=restore), actor=ACTOR, policy=policy,
                )  # fmt: skip
        except HoplinkError as exc:
            log.warning("link %s: cannot restore its destination: %s", link.id, exc)
    await repo.update(health.link_id, {"switched_from": None, "switched_to": None})
    return "restored"


# --- what the workspace does ------------------------------------------------------------


async def _health(tx: Tx, workspace: Workspace, link_id: str) -> LinkHealth:
    link = await tx.links(workspace.id).get(link_id)
    if link is None:
        raise NotFound("no link with this id")
    repo = tx.health(workspace.id)
    found = await repo.get(link_id)
    if found is None:  # a link older than the checker's first sync
        await repo.ensure([link_id], due=utcnow())
        found = await repo.get(link_id)
        assert found is not None
    return found


async def link_health(
    tx: Tx, *, workspace: Workspace, link_id: str, history: int = 20
) -> tuple[LinkHealth, list[HealthEvent]]:
    """A link's health and its last ``history`` changes (newest first)."""
    found = await _health(tx, workspace, link_id)
    events = await tx.health(workspace.id).events(link_id=link_id, limit=history)
    return found, events


async def check_now(tx: Tx, *, workspace: Workspace, link_id: str | None = None) -> int:
    """Make one link (or every link of the workspace) due now: the next checker poll
    takes it; how many links were made due."""
    now = utcnow()
    repo = tx.health(workspace.id)
    if link_id is None:
        return await repo.mark_due(now=now)
    found = await _health(tx, workspace, link_id)
    if found.next_check_at <= now:
        return 1
    return await repo.mark_due(now=now, link_id=link_id)


async def set_auto_fallback(
    tx: Tx,
    *,
    workspace: Workspace,
    link_id: str,
    mode: str,
    actor: str | None,
    policy: DestinationPolicy | None = None,
) -> LinkHealth:
    """Turn automatic fallback off, or on for broken (or degraded and broken) states.
    Turning it off while switched puts the original destination back at once."""
    if mode not in AUTO_FALLBACK:
        raise InvalidInput(
            FieldError("auto_fallback", "invalid", f"use one of {', '.join(AUTO_FALLBACK)}")
        )
    found = await _health(tx, workspace, link_id)
    link = await tx.links(workspace.id).get(link_id)
    assert link is not None
    if mode != "off" and not (link.expiry_url or workspace.fallback_url):
        raise InvalidInput(
            FieldError(
                "auto_fallback",
                "no_fallback_url",
                "set the link's expiry URL or the workspace's fallback URL first",
            )
        )
    repo = tx.health(workspace.id)
    await repo.update(link_id, {"auto_fallback": mode})
    if mode == "off" and found.switched:
        await _restore(tx, found, policy=policy)
    elif mode != "off" and not found.switched and _fallback_wanted(mode, found.state):
        await repo.mark_due(now=utcnow(), link_id=link_id)  # switch within one poll
    updated = await repo.get(link_id)
    assert updated is not None
    return updated


async def notifications(
    tx: Tx, *, workspace: Workspace, unacknowledged: bool = False, limit: int = 50
) -> list[HealthEvent]:
    return await tx.health(workspace.id).events(unacknowledged=unacknowledged, limit=limit)


async def acknowledge(tx: Tx, *, workspace: Workspace, event_id: str | None = None) -> int:
    """Dismiss one notification (or all); NotFound for an unknown or foreign id."""
    repo = tx.health(workspace.id)
    count = await repo.acknowledge(now=utcnow(), event_id=event_id)
    if event_id is not None and count == 0 and not await repo.has_event(event_id):
        raise NotFound("no notification with this id")
    return count


async def summary(tx: Tx, *, workspace: Workspace) -> dict[str, int]:
    counts = await tx.health(workspace.id).counts()
    return {s: counts.get(s, 0) for s in ("healthy", "degraded", "broken", "unknown")}


class HealthOnCommit:
    """Before-commit listener: a created link gets a health row due at once; an edit that
    changes the URLs a link sends to makes it due at once; an owner's edit of the
    destination while the fallback stands in ends the switch (theirs wins)."""

    async def __call__(self, tx: Tx, events: Sequence[Event]) -> None:
        now = utcnow()
        created: dict[str, list[str]] = {}
        updated: list[LinkChanged] = []
        for event in events:
            if isinstance(event, LinkChanged):
                if event.change == "created":
                    created.setdefault(event.workspace_id, []).append(event.link_id)
                elif event.change == "updated":
                    updated.append(event)
        for workspace_id, ids in created.items():
            await tx.health(workspace_id).ensure(ids, due=now)
        for event in {e.link_id: e for e in updated}.values():
            await self._updated(tx, event, now)

    async def _updated(self, tx: Tx, event: LinkChanged, now: datetime) -> None:
        repo = tx.health(event.workspace_id)
        found = await repo.get(event.link_id)
        link = await tx.links(event.workspace_id).get(event.link_id)
        if found is None or link is None:
            return
        values: dict[str, Any] = {}
        switched_from = found.switched_from
        if found.switched and link.destination_url != found.switched_to:
            values |= {"switched_from": None, "switched_to": None}
            switched_from = None
        sig = urls_sig(target_urls(link.destination_url, link.routing, switched_from))
        if sig != await repo.sig(event.link_id) and found.checked_at is not None:
            values |= {"next_check_at": now, "urls_sig": sig}
        if values:
            await repo.update(event.link_id, values)
