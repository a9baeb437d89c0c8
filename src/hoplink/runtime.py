"""What a running hoplink process holds: settings, database, default domain."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from hoplink.config import Settings
from hoplink.domains import ensure_default_domain
from hoplink.links.models import Domain
from hoplink.storage import migrate
from hoplink.storage.database import Database

log = logging.getLogger("hoplink")


class SchemaOutOfDate(Exception):
    pass


@dataclass(slots=True)
class Runtime:
    settings: Settings
    db: Database
    default_domain: Domain

    @classmethod
    async def start(cls, settings: Settings) -> Runtime:
        """Open the database, bring or check its schema, and make sure the default domain exists."""
        db = Database.from_url(settings.database_url_async)
        try:
            if not await migrate.is_current(db.engine):
                if db.is_sqlite and settings.auto_migrate:
                    log.info("applying database migrations")
                    await migrate.upgrade(db.engine)
                else:
                    current = await migrate.current_revision(db.engine)
                    raise SchemaOutOfDate(
                        f"the database schema is at {current or 'nothing'}, this hoplink needs"
                        f" {migrate.head_revision()}: run `hoplink db upgrade` first"
                    )
            async with db.transaction() as tx:
                domain = await ensure_default_domain(tx, settings.domain)
        except BaseException:
            await db.dispose()
            raise
        return cls(settings=settings, db=db, default_domain=domain)

    def short_url(self, domain: str, code: str) -> str:
        return self.settings.short_url(domain, code)

    async def close(self) -> None:
        await self.db.dispose()
