"""``hoplink`` run in-process (typer's CliRunner) on a real database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner, Result

from hoplink.cli.main import app
from hoplink.config import Settings, load_settings
from hoplink.storage.database import Database
from hoplink.storage.tables import metadata
from hoplink.storage.tx import Tx

T = TypeVar("T")
DOMAIN = "hop.test"


@dataclass
class Cli:
    """``hoplink`` on one database; each call is a fresh process-like invocation."""

    env: dict[str, str]

    @property
    def settings(self) -> Settings:
        return load_settings(
            database_url=self.env["HOPLINK_DATABASE_URL"],
            data_dir=Path(self.env["HOPLINK_DATA_DIR"]),
        )

    def __call__(self, *args: str, input: str | None = None) -> Result:
        result = CliRunner().invoke(app, list(args), env=self.env, input=input)
        # An exit code alone can hide a crash: CliRunner reports those as 1 as well.
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert "Traceback" not in result.output
        return result

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, result.output
        return result

    def fails(self, *args: str, code: int = 1, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == code, result.output
        return result

    def query(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        """Look into the database (on an event loop of its own, like the CLI's)."""

        async def run() -> T:
            db = Database.from_url(self.settings.database_url_async)
            try:
                async with db.transaction(write=False) as tx:
                    return await work(tx)
            finally:
                await db.dispose()

        return asyncio.run(run())


def cli_env(database_url: str, data_dir: Path) -> dict[str, str]:
    return {
        "HOPLINK_DATABASE_URL": database_url,
        "HOPLINK_DATA_DIR": str(data_dir),
        "HOPLINK_DEFAULT_DOMAIN": DOMAIN,
        # Wide enough that tables never fold an id we look for.
        "COLUMNS": "250",
    }


async def empty_postgres(engine: AsyncEngine) -> None:
    """Remove what earlier tests left in the session's shared PostgreSQL database."""
    if engine.dialect.name != "postgresql":
        return
    names = ", ".join(t.name for t in metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} CASCADE"))
