"""Click limits: the worker marks a link exhausted once its human clicks reach max_clicks.

Counted from the link's daily rollups (``human_pv``), which the same transaction has just
updated, so the count is exact across every web node and worker: the only slack is the time
the redirect edge takes to learn of the change (see docs/campaigns.md, "Click limits").

The change is told to the edge two ways, like any link edit: the ``LinkChanged`` events
(after commit: this process's cache and, with Redis, every node) and a ``redirect_changes``
entry written in the same transaction. The second is what reaches a web process without
Redis — ``hoplink serve`` whose embedded worker is its child process, or a separate
``hoplink worker`` on the same database — whose change feed polls it every 0.5 s
(hoplink.redirect.changefeed); without it that process kept serving until its cache TTL.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.events import LinkChanged
from hoplink.storage import changes
from hoplink.storage import tables as t
from hoplink.storage._rows import in_list

_L, _D, _R = t.links.c, t.domains.c, t.rollup_link_days.c


async def mark_exhausted(
    conn: AsyncConnection, link_ids: Iterable[str], *, now: datetime
) -> list[LinkChanged]:
    """Set ``exhausted_at`` on those of ``link_ids`` whose human clicks reached their limit;
    the change events to record on the transaction (the redirect then reloads them)."""
    wanted = sorted(set(link_ids))
    if not wanted:
        return []
    limited = list(
        (
            await conn.execute(
                select(_L.id, _L.max_clicks).where(
                    in_list(conn, _L.id, wanted),
                    _L.max_clicks.is_not(None),
                    _L.exhausted_at.is_(None),
                )
            )
        ).all()
    )
    if not limited:
        return []
    rows = await conn.execute(
        select(_R.link_id, func.coalesce(func.sum(_R.human_pv), 0))
        .where(in_list(conn, _R.link_id, [row[0] for row in limited]))
        .group_by(_R.link_id)
    )
    counted: dict[str, int] = {str(link_id): int(n) for link_id, n in rows}
    done = [link_id for link_id, limit in limited if int(counted.get(link_id, 0)) >= limit]
    if not done:
        return []
    await conn.execute(
        update(t.links)
        .where(in_list(conn, _L.id, done), _L.exhausted_at.is_(None))
        .values(exhausted_at=now)
    )
    for link_id in done:  # the change feed of web processes without Redis
        await changes.record(conn, changes.LINK, link_id)
    keys = await conn.execute(
        select(_L.workspace_id, _L.id, _D.hostname, _L.code)
        .join(t.domains, _D.id == _L.domain_id)
        .where(in_list(conn, _L.id, done))
    )
    return [LinkChanged(str(w), str(i), str(h), str(c), "updated") for w, i, h, c in keys]
