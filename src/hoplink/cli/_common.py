"""What every command shares: settings, consoles, running async work, errors, formatting."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Collection, Coroutine
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.engine.url import make_url

from hoplink.config import ConfigError, Settings, load_settings
from hoplink.errors import HoplinkError, InvalidInput
from hoplink.runtime import Runtime, SchemaOutOfDate

T = TypeVar("T")

# Both consoles look up sys.stdout / sys.stderr when they write, so tests that swap
# the streams (typer's CliRunner) see the output. No highlighting: it would colour
# parts of URLs and keys at random.
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

WORKSPACE_HELP = "The workspace, by slug (my-store) or id (ws_...)."

_PASSWORD_IN_URL = re.compile(r"(://[^:/@]+:)[^@/]+@")
_DRIVER = re.compile(r"^(\w+)\+\w+://")


def settings(**overrides: Any) -> Settings:
    """Settings from HOPLINK_* (options given on the command line win); exit 2 if unusable."""
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        fail(f"configuration error:\n{exc}", code=2)


def fail(message: str, *, code: int = 1) -> NoReturn:
    err.print(Text(message, style="red"), soft_wrap=True)
    raise typer.Exit(code)


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's async work; errors a user can cause end it with a message, exit 1."""
    try:
        return asyncio.run(work)
    except InvalidInput as exc:
        lines = [f"error: {exc.title.lower()}"]
        lines += [f"  {e.field}: {e.message}" if e.field else f"  {e.message}" for e in exc.errors]
        fail("\n".join(lines))
    except HoplinkError as exc:
        fail(f"error: {exc.message}")
    except SchemaOutOfDate as exc:
        fail(f"error: {exc}")
    except OSError as exc:
        if exc.filename is not None:  # a file the user named: --to in a missing directory …
            fail(f"error: {exc.filename}: {exc.strerror}")
        # Mostly "connection refused" from PostgreSQL; nothing a traceback would explain better.
        fail(f"error: cannot reach the database: {exc}")


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL (None: PostgreSQL, or SQLite in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def require_installation(settings: Settings) -> None:
    """Refuse to go on when the configured SQLite database does not exist.

    Opening it would create an empty installation wherever the command was run (a
    ``./hoplink-data`` next to the user's files), then answer "no workspace 'x'". Only
    ``hoplink serve`` and ``hoplink db upgrade`` create an installation. PostgreSQL
    databases are created by their server: an empty one is refused by the schema check.
    """
    path = sqlite_file(settings.database_url_async)
    if path is None or path.exists():
        return
    if settings.database_url:
        looked = "the file HOPLINK_DATABASE_URL names"
    else:
        looked = (
            f"hoplink.db in the data directory {settings.data_dir} (HOPLINK_DATA_DIR;"
            " HOPLINK_DATABASE_URL is not set)"
        )
    fail(
        f"error: no hoplink database at {path.absolute()}; nothing was created.\n"
        f"  hoplink looked for {looked}.\n"
        "  Run the command where your hoplink-data directory is, or point at your installation\n"
        "  with HOPLINK_DATA_DIR=/path/to/hoplink-data or\n"
        "  HOPLINK_DATABASE_URL=sqlite:////path/to/hoplink.db (postgresql://… for PostgreSQL).\n"
        "  `hoplink serve` (or `hoplink db upgrade`) creates a new installation."
    )


@asynccontextmanager
async def runtime(settings: Settings, *, create: bool = False) -> AsyncIterator[Runtime]:
    """The database behind a command, with the same schema rule as ``hoplink serve``.

    SQLite is migrated on the spot (unless HOPLINK_AUTO_MIGRATE=false); an outdated
    PostgreSQL schema is refused with "run `hoplink db upgrade` first". A SQLite
    database that does not exist is refused (``require_installation``) unless
    ``create``: only ``serve`` creates an installation this way.
    """
    if not create:
        require_installation(settings)
    rt = await Runtime.start(settings)
    try:
        yield rt
    finally:
        await rt.close()


def table(*headers: str, whole: Collection[str] = ()) -> Table:
    """A borderless table. Columns in ``whole`` (ids, URLs, times) are never cut or wrapped,
    so they can be copied; the others wrap when the terminal is narrow."""
    grid = Table(box=None, header_style="bold", pad_edge=False)
    for header in headers:
        if header in whole:
            grid.add_column(header, no_wrap=True)
        else:
            grid.add_column(header, overflow="fold")
    return grid


def when(value: datetime | None) -> str:
    """A time for tables (always UTC, as the commands' help says)."""
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def safe_url(url: str) -> str:
    """A database URL fit to print: as the user writes it, the password masked."""
    return _PASSWORD_IN_URL.sub(r"\1***@", _DRIVER.sub(r"\1://", url))
