"""What the public redirect edge reads and keeps: (host, code) → target, and visitor salts.

These are the only unscoped reads in hoplink: a visitor has no workspace, the Host header
and the code pick the link, and nothing else from the request is ever used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.links.plan import Plan
from hoplink.links.urls import CLICK_ID_PARAM, click_param_of
from hoplink.storage import tables as t
from hoplink.storage._rows import insert_ignore


@dataclass(frozen=True, slots=True)
class Target:
    link_id: str
    workspace_id: str
    final_url: str
    archived: bool
    forward_query: bool
    workspace_status: str
    # A platform admin banned the link: the redirect answers 410 (issue 6).
    banned: bool = False
    # The link's routing (rules) as stored JSON, and its compiled form: the resolver compiles
    # it once per load (hoplink.links.plan); the Redis tier stores only the JSON.
    routing: str | None = None
    # Schedule and limit (unix times; None: open): outside [starts, ends) or once exhausted
    # the link answers expiry_url, or a page.
    starts: float | None = None
    ends: float | None = None
    expiry_url: str | None = None
    exhausted: bool = False
    plan: Plan | None = field(default=None, compare=False)
    # The parameter the click id is appended under (the workspace's name or the operator's
    # default); None: the workspace turned it off, or the stored URL binds that name itself.
    click_param: str | None = None
    # Pass the ad platforms' click ids (fbclid, gclid, ...) on to the destination.
    pass_ad_click_ids: bool = False
    # Turned off by its owner: the visitor page (404) instead of the redirect (issue 14).
    disabled: bool = False
    # The workspace's "visit the shop" URL for that page, if set.
    fallback_url: str | None = None

    @property
    def routed(self) -> bool:
        """Whether a plan must be compiled: rules, a schedule or a limit."""
        return (
            bool(self.routing)
            or self.starts is not None
            or self.ends is not None
            or (self.exhausted or self.expiry_url is not None)
        )


def _select_targets(hostname: str) -> Select[Any]:
    L, D, W, B = t.links.c, t.domains.c, t.workspaces.c, t.link_bans.c
    return (
        select(
            L.code,
            L.id,
            L.workspace_id,
            L.final_url,
            L.archived,
            L.forward_query,
            W.status,
            B.id.is_not(None),
            L.routing,
            L.starts_at,
            L.ends_at,
            L.expiry_url,
            L.exhausted_at.is_not(None),
            W.click_id_enabled,
            W.click_id_param,
            L.pass_ad_click_ids,
            L.disabled,
            W.fallback_url,
        )
        .join(t.domains, D.id == L.domain_id)
        .join(t.workspaces, W.id == L.workspace_id)
        # The partial unique index on active bans answers this probe.
        .outerjoin(t.link_bans, (B.link_id == L.id) & B.lifted_at.is_(None))
        .where(D.hostname == hostname, L.deleted_at.is_(None))
    )


async def resolve_many(
    conn: AsyncConnection,
    hostname: str,
    codes: Sequence[str],
    *,
    click_param: str = CLICK_ID_PARAM,
) -> dict[str, Target]:
    """The targets of those ``codes`` (case-sensitive) that exist on ``hostname``;
    ``click_param`` is the operator's default click-id parameter name."""
    rows = await conn.execute(_select_targets(hostname).where(t.links.c.code.in_(codes)))
    return {
        row[0]: Target(
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            bool(row[7]),
            routing=row[8],
            starts=_unix(row[9]),
            ends=_unix(row[10]),
            expiry_url=row[11],
            exhausted=bool(row[12]),
            click_param=click_param_of(row[3], row[14] or click_param) if row[13] else None,
            pass_ad_click_ids=bool(row[15]),
            disabled=bool(row[16]),
            fallback_url=row[17],
        )
        for row in rows
    }


async def most_clicked(
    conn: AsyncConnection, *, since_day: int, limit: int
) -> list[tuple[str, str]]:
    """(hostname, code) of the ``limit`` links with the most page views since ``since_day``
    (days since the epoch, UTC), most first: what a web process loads before it serves.
    Reads the daily rollup (one row per link and day), so it costs a scan of the links
    clicked in that range, not of the raw clicks."""
    R, L, D = t.rollup_link_days.c, t.links.c, t.domains.c
    views = func.sum(R.pv)
    rows = await conn.execute(
        select(D.hostname, L.code)
        .select_from(t.rollup_link_days)
        .join(t.links, L.id == R.link_id)
        .join(t.domains, D.id == L.domain_id)
        .where(R.day >= since_day, L.deleted_at.is_(None))
        .group_by(L.id, D.hostname, L.code)
        .order_by(views.desc(), L.id)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


def _unix(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


async def resolve(
    conn: AsyncConnection, hostname: str, code: str, *, click_param: str = CLICK_ID_PARAM
) -> Target | None:
    return (await resolve_many(conn, hostname, [code], click_param=click_param)).get(code)


@dataclass(frozen=True, slots=True)
class Site:
    """A short domain as the redirect edge keeps it in memory, one per known host: what
    "/", robots.txt and unknown codes answer there, and whose links it serves."""

    domain_id: str
    workspace_id: str | None  # None: a platform domain (every workspace's links)
    # Suspended by the operator (or its workspace is): every path answers the "gone" page.
    suspended: bool = False
    root_url: str | None = None
    not_found_url: str | None = None
    robots: str | None = None
    # False: a custom domain that is not served (pending, removed). It answers 404 on every
    # path, and it is known only so that it never shows the platform's own pages (/app).
    served: bool = True

    def as_json(self) -> list[Any]:
        return [
            self.domain_id,
            self.workspace_id,
            self.suspended,
            self.root_url,
            self.not_found_url,
            self.robots,
            self.served,
        ]

    @classmethod
    def from_json(cls, value: list[Any]) -> Site:
        domain_id, workspace_id, suspended, root, not_found, robots, *rest = value
        served = bool(rest[0]) if rest else True  # a map written before ``served`` existed
        return cls(str(domain_id), workspace_id, bool(suspended), root, not_found, robots, served)


async def sites(conn: AsyncConnection) -> dict[str, Site]:
    """Every short domain by host: the ones the redirect serves (platform domains, verified
    and suspended custom ones) and the custom ones it does not (pending, removed: ``served``
    False). A request for an unserved or unknown Host is answered 404 at once, with no
    query."""
    D, W = t.domains.c, t.workspaces.c
    query = select(
        D.hostname,
        D.id,
        D.workspace_id,
        D.status,
        W.status,
        D.root_url,
        D.not_found_url,
        D.robots,
    ).outerjoin(t.workspaces, W.id == D.workspace_id)
    return {
        row[0]: Site(
            domain_id=row[1],
            workspace_id=row[2],
            suspended=row[3] == "suspended" or row[4] == "suspended",
            root_url=row[5],
            not_found_url=row[6],
            robots=row[7],
            served=row[3] in ("verified", "suspended"),
        )
        for row in await conn.execute(query)
    }


async def ensure_salt(conn: AsyncConnection, *, day: date, candidate: str, now: datetime) -> str:
    """The salt of ``day``: ``candidate`` if this call created it, else the one already stored.

    Insert-if-absent then read, so concurrent web nodes all end up with the same secret.
    """
    row = {"day": day, "secret": candidate, "created_at": now}
    await conn.execute(insert_ignore(conn, t.visitor_salts, [row]))
    stored = await conn.scalar(select(t.visitor_salts.c.secret).where(t.visitor_salts.c.day == day))
    if stored is None:  # pragma: no cover - the insert above guarantees a row
        raise RuntimeError(f"no visitor salt for {day}")
    return str(stored)


async def delete_salts_before(conn: AsyncConnection, day: date) -> int:
    """Forget the salts of days before ``day``: their visitor hashes become unlinkable."""
    result = await conn.execute(delete(t.visitor_salts).where(t.visitor_salts.c.day < day))
    return int(result.rowcount or 0)
