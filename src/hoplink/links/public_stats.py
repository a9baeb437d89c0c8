"""A link's public stats page (issue 16): opt-in, read-only, revocable.

The owner turns it on and gets an unguessable URL (``/stats/<token>``, 256 random bits)
to share with, say, a brand or a KOL. Only the SHA-256 of the token is stored, so the URL
is shown once (turning it on again makes a new URL and the old one stops working), and a
database leak opens no page. The page shows aggregates only — page views, unique visitors
per day, countries and device types — never a visitor, a referrer, a click id or the link's
destination. Revoking deletes the row: the URL answers 404 at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from hoplink import audit
from hoplink.analytics.query import parse_scope, parse_stats_query
from hoplink.analytics.service import StatsResult, run_stats
from hoplink.errors import NotFound
from hoplink.ids import utcnow
from hoplink.links.models import Link
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Workspace, WorkspaceStatus

PATH = "/stats/"
BREAKDOWNS = ("countries", "devices")
DAYS = 30  # what the page says it shows


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


async def _link(tx: Tx, workspace: Workspace, link_id: str) -> Link:
    link = await tx.links(workspace.id).get(link_id)
    if link is None:
        raise NotFound("no link with this id")
    return link


async def enable(tx: Tx, *, workspace: Workspace, link_id: str, actor: str | None = None) -> str:
    """Make the link's stats public; the new token (shown once)."""
    link = await _link(tx, workspace, link_id)
    token = secrets.token_urlsafe(32)
    await tx.public_stats.replace(
        workspace_id=workspace.id, link_id=link.id, token_hash=_hash(token), at=utcnow()
    )
    await audit.record(
        tx,
        action=audit.PUBLIC_STATS_ENABLED,
        actor=actor,
        workspace_id=workspace.id,
        target=link.id,
        detail={"code": link.code},
    )
    return token


async def revoke(tx: Tx, *, workspace: Workspace, link_id: str, actor: str | None = None) -> bool:
    """Take the page down; whether there was one."""
    link = await _link(tx, workspace, link_id)
    if not await tx.public_stats.revoke(workspace_id=workspace.id, link_id=link.id):
        return False
    await audit.record(
        tx,
        action=audit.PUBLIC_STATS_REVOKED,
        actor=actor,
        workspace_id=workspace.id,
        target=link.id,
        detail={"code": link.code},
    )
    return True


@dataclass(frozen=True, slots=True)
class PublicStats:
    short_url_host: str
    code: str
    title: str | None
    timezone: str
    result: StatsResult


async def read(tx: Tx, token: str) -> PublicStats:
    """What the page at ``token`` shows; NotFound for a wrong or revoked token, a deleted
    link, or a suspended workspace."""
    if not 20 <= len(token) <= 100:
        raise NotFound("no such page")
    found = await tx.public_stats.by_token_hash(_hash(token))
    if found is None:
        raise NotFound("no such page")
    workspace = await tx.workspaces.get(found[0])
    if workspace is None or workspace.status is WorkspaceStatus.SUSPENDED:
        raise NotFound("no such page")
    link = await tx.links(workspace.id).get(found[1])
    if link is None:
        raise NotFound("no such page")
    today = utcnow().astimezone(ZoneInfo(workspace.timezone)).date()
    query = parse_stats_query(
        workspace_id=workspace.id,
        timezone=workspace.timezone,
        scope=parse_scope("link", link.id),
        from_=(today - timedelta(days=DAYS - 1)).isoformat(),
        granularity="day",
        metric="human_pv",
    )
    result = await run_stats(tx, query, breakdowns=BREAKDOWNS)
    return PublicStats(link.domain, link.code, link.title, workspace.timezone, result)
