"""Everything one workspace owns, read for an export and deleted for an erase.

Driven by the schema itself: every table with a ``workspace_id`` column is included, so a
table added later is exported and erased without anyone remembering to list it here. The
few tables that reach a workspace only through another one are handled by name.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Table,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.storage import changes
from hoplink.storage import tables as t
from hoplink.storage._rows import insert_ignore

# Never exported: secrets, and data about people other than the workspace's own members
# (a visitor's contact address, keyed visitor hashes). A secret's hash or sealed form is a
# secret all the same: an export is a file that travels (tests/integration/moderation/
# test_privacy.py fails on a new column named like one that is not listed here).
EXCLUDED_COLUMNS: dict[str, frozenset[str]] = {
    "api_keys": frozenset({"key_hash"}),
    "ingest_keys": frozenset({"key_hash"}),
    "invitations": frozenset({"token_hash"}),
    "public_stats": frozenset({"token_hash"}),
    "link_reports": frozenset({"contact_email", "reporter_hash"}),
    "clicks": frozenset({"visitor_hash"}),
    # Ad platform credentials and webhook signing secrets (encrypted, but secrets).
    "forward_destinations": frozenset({"credential_enc", "credential_hint"}),
    "webhook_endpoints": frozenset({"secret_enc", "previous_secret_enc"}),
}
# Shared by every tenant or not tenant data at all.
_SKIPPED = frozenset(
    {"users", "visitor_salts", "visitor_seen", "retired_codes", "retired_host_codes"}
)
RETIRE_CHUNK = 1000  # retired codes per INSERT


def host_hash(hostname: str) -> str:
    """How an erased workspace's custom short domain is remembered: its codes stay reserved
    for whoever claims the host next, and the list names no domain."""
    return hashlib.sha256(hostname.lower().encode()).hexdigest()


def _owned_tables() -> list[Table]:
    """Tables with a workspace_id column, parents before children."""
    return [
        table
        for table in t.metadata.sorted_tables
        if "workspace_id" in table.c and table.name not in _SKIPPED
    ]


def export_tables() -> list[str]:
    """Section names of an export, in the order they are written."""
    names = ["workspace", "members"]
    names += [table.name for table in _owned_tables() if table.name != "memberships"]
    return [*names, "link_tags"]


class PrivacyRepo:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def snapshot(self) -> None:
        """Make the rest of this (fresh) transaction read one consistent snapshot: SQLite's
        read transactions already do; PostgreSQL's default reads each statement anew."""
        if self.conn.dialect.name == "postgresql":
            await self.conn.exec_driver_sql(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"
            )

    async def rows(self, section: str, workspace_id: str) -> AsyncIterator[dict[str, Any]]:
        """The rows of one export section, streamed (a workspace may have millions of clicks)."""
        if section == "workspace":
            q = select(t.workspaces).where(t.workspaces.c.id == workspace_id)
        elif section == "members":
            m = t.memberships.c
            q = (
                select(t.users.c.email, m.user_id, m.role, m.created_at)
                .join(t.users, t.users.c.id == m.user_id)
                .where(m.workspace_id == workspace_id)
                .order_by(t.users.c.email)
            )
        elif section == "link_tags":
            lt = t.link_tags.c
            q = (
                select(lt.link_id, lt.tag_id)
                .join(t.links, t.links.c.id == lt.link_id)
                .where(t.links.c.workspace_id == workspace_id)
                .order_by(lt.link_id, lt.tag_id)
            )
        else:
            table = t.metadata.tables[section]
            hidden = EXCLUDED_COLUMNS.get(section, frozenset())
            columns = [c for c in table.c if c.name not in hidden]
            q = (
                select(*columns)
                .where(table.c.workspace_id == workspace_id)
                .order_by(*table.primary_key.columns)
            )
        result = await self.conn.stream(q)
        async for row in result:
            yield dict(row._mapping)

    async def erase(self, workspace_id: str, at: datetime) -> dict[str, int]:
        """Delete every row of the workspace and the workspace itself; counts per table.

        Codes of its links on domains that stay (the platform's, another workspace's) are
        retired first (kept without any reference to the workspace), so they are never given
        to another seller; so are the codes on its own custom short domains, whose rows go
        with it, by the host name's hash (``retired_host_codes``).
        """
        L, D = t.links.c, t.domains.c
        mine = select(L.id).where(L.workspace_id == workspace_id)
        # Its links stop redirecting (and custom domains stop resolving) on every server:
        # one "everything" entry, and no entry left naming the workspace or its links.
        C = t.redirect_changes.c
        await self.conn.execute(
            delete(t.redirect_changes).where((C.ref == workspace_id) | C.ref.in_(mine))
        )
        await changes.record(self.conn, changes.EVERYTHING)
        # Lock the links before anything else: a click worker holds share locks on the links
        # of the batch it is writing (ClickRepo.link_refs), so this waits for its commit and
        # the rollups it wrote are deleted below; a worker coming later finds no link and
        # drops the clicks. No click in flight can leave rows behind. (SQLite: one writer.)
        await self.conn.execute(mine.order_by(L.id).with_for_update())  # the worker's order
        await self._hand_back_domains(workspace_id)
        await self.conn.execute(
            insert(t.retired_codes).from_select(
                ["domain_id", "code", "retired_at"],
                select(L.domain_id, L.code, literal(at, t.UTCDateTime()))
                .join(t.domains, D.id == L.domain_id)
                .where(
                    L.workspace_id == workspace_id,
                    or_(D.workspace_id.is_(None), D.workspace_id != workspace_id),
                )
                .where(
                    not_(
                        exists().where(
                            and_(
                                t.retired_codes.c.domain_id == L.domain_id,
                                t.retired_codes.c.code == L.code,
                            )
                        )
                    )
                ),
            )
        )
        await self._retire_host_codes(workspace_id, at)
        counts: dict[str, int] = {}
        seen = t.visitor_seen.c
        counts["visitor_seen"] = await self._delete(
            delete(t.visitor_seen).where((seen.scope_id == workspace_id) | seen.scope_id.in_(mine))
        )
        counts["link_tags"] = await self._delete(
            delete(t.link_tags).where(t.link_tags.c.link_id.in_(mine))
        )
        members = select(t.memberships.c.user_id).where(
            t.memberships.c.workspace_id == workspace_id
        )
        # Accounts that belonged to this workspace alone (and do not run the platform).
        orphans = [
            r[0]
            for r in await self.conn.execute(
                select(t.users.c.id).where(
                    t.users.c.id.in_(members),
                    t.users.c.is_platform_admin.is_(False),
                    not_(
                        exists().where(
                            and_(
                                t.memberships.c.user_id == t.users.c.id,
                                t.memberships.c.workspace_id != workspace_id,
                            )
                        )
                    ),
                )
            )
        ]
        for table in reversed(_owned_tables()):
            counts[table.name] = await self._delete(
                delete(table).where(table.c.workspace_id == workspace_id)
            )
        counts["users"] = (
            await self._delete(delete(t.users).where(t.users.c.id.in_(orphans))) if orphans else 0
        )
        counts["workspaces"] = await self._delete(
            delete(t.workspaces).where(t.workspaces.c.id == workspace_id)
        )
        return {name: n for name, n in counts.items() if n}

    async def _hand_back_domains(self, workspace_id: str) -> None:
        """A custom domain the workspace got by transfer may still carry the previous
        owner's links (their codes reserved there); the row cannot go with this workspace.
        It goes back to that workspace, *removed* and with nothing of this one's (token,
        redirects, robots.txt): re-adding it means proving it again."""
        L, D = t.links.c, t.domains.c
        for (domain_id,) in (
            await self.conn.execute(select(D.id).where(D.workspace_id == workspace_id))
        ).all():
            other = (
                await self.conn.execute(
                    select(L.workspace_id)
                    .where(L.domain_id == domain_id, L.workspace_id != workspace_id)
                    .order_by(L.created_at)
                    .limit(1)
                )
            ).scalar_one_or_none()
            if other is None:
                continue
            await self.conn.execute(
                update(t.domains)
                .where(D.id == domain_id)
                .values(
                    workspace_id=other, status="removed", token=None, method=None,
                    last_error=None, checked_at=None, verified_at=None, root_url=None,
                    not_found_url=None, robots=None, forward_query=False,
                    workspace_default=False, next_check_at=None, failed_checks=0,
                    failing_since=None,
                )
            )  # fmt: skip

    async def _retire_host_codes(self, workspace_id: str, at: datetime) -> None:
        """Every code ever used on the workspace's custom short domains (deleted links'
        tombstones and codes retired there before included), kept by the host's hash."""
        L, D, R = t.links.c, t.domains.c, t.retired_codes.c
        hosts = (
            await self.conn.execute(select(D.id, D.hostname).where(D.workspace_id == workspace_id))
        ).all()
        for domain_id, hostname in hosts:
            codes = (
                select(L.code)
                .where(L.domain_id == domain_id)
                .union(select(R.code).where(R.domain_id == domain_id))
            )
            found = list((await self.conn.execute(codes)).scalars())
            digest = host_hash(hostname)
            statement = insert_ignore(self.conn, t.retired_host_codes, None)
            for start in range(0, len(found), RETIRE_CHUNK):
                rows = [
                    {"host_hash": digest, "code": code, "retired_at": at}
                    for code in found[start : start + RETIRE_CHUNK]
                ]
                await self.conn.execute(statement, rows)

    async def _delete(self, statement: Any) -> int:
        result = await self.conn.execute(statement)
        return int(result.rowcount or 0)

    async def count_links(self, workspace_id: str) -> int:
        q = select(func.count()).select_from(t.links).where(t.links.c.workspace_id == workspace_id)
        return int((await self.conn.execute(q)).scalar_one())
