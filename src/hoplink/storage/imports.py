"""Where imported links came from (``link_imports``), within one workspace."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hoplink.storage import tables as t
from hoplink.storage._rows import in_list

_I = t.link_imports.c
_L = t.links.c


class ImportRepo:
    def __init__(self, conn: AsyncConnection, workspace_id: str) -> None:
        self.conn = conn
        self.workspace_id = workspace_id

    async def imported(self, source: str, keys: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Source key → (code, hostname) of the live links an earlier run made from them."""
        wanted = list(set(keys))
        found: dict[str, tuple[str, str]] = {}
        for i in range(0, len(wanted), 500):
            q = (
                select(_I.source_key, _L.code, t.domains.c.hostname)
                .join(t.links, _L.id == _I.link_id)
                .join(t.domains, t.domains.c.id == _L.domain_id)
                .where(
                    _I.workspace_id == self.workspace_id,
                    _I.source == source,
                    in_list(self.conn, _I.source_key, wanted[i : i + 500]),
                    _L.deleted_at.is_(None),
                )
            )
            found.update((r.source_key, (r.code, r.hostname)) for r in await self.conn.execute(q))
        return found

    async def record(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.conn.execute(
                t.link_imports.insert(), [{**r, "workspace_id": self.workspace_id} for r in rows]
            )

    async def imported_clicks(self, link_ids: Sequence[str]) -> dict[str, int]:
        """The historical click totals of these links (the "imported" series)."""
        if not link_ids:
            return {}
        q = select(_I.link_id, _I.imported_clicks).where(
            _I.workspace_id == self.workspace_id, _I.link_id.in_(list(link_ids))
        )
        return {r.link_id: int(r.imported_clicks) for r in await self.conn.execute(q)}
