"""``hoplink db``: the schema revision of the configured database, and upgrading it."""

from __future__ import annotations

from typing import Annotated

import typer

from hoplink.cli import _common
from hoplink.cli._common import out
from hoplink.config import Settings
from hoplink.storage import migrate
from hoplink.storage.database import Database

app = typer.Typer(
    help="Inspect and upgrade the database schema (migrations).",
    no_args_is_help=True,
)


async def _revisions(settings: Settings, *, upgrade: bool) -> tuple[str | None, str | None]:
    """(revision before, revision after); they differ only if ``upgrade`` applied something."""
    db = Database.from_url(settings.database_url_async)
    try:
        before = await migrate.current_revision(db.engine)
        if upgrade and before != migrate.head_revision():
            await migrate.upgrade(db.engine)
            return before, await migrate.current_revision(db.engine)
        return before, before
    finally:
        await db.dispose()


def _target(settings: Settings) -> None:
    out.print(f"database  {_common.safe_url(settings.database_url_async)}", markup=False)


@app.command()
def upgrade() -> None:
    """Apply pending migrations to the configured database (HOPLINK_DATABASE_URL).

    Safe to run again: an up-to-date database is left alone. Needed on PostgreSQL
    before starting a new hoplink version; SQLite upgrades itself when hoplink starts.
    Back up the database first.

    Example:
    $ HOPLINK_DATABASE_URL=postgresql://hoplink@db.internal/hoplink hoplink db upgrade
    """
    settings = _common.settings()
    _target(settings)
    before, after = _common.run(_revisions(settings, upgrade=True))
    if before == after:
        out.print(f"already at {after or 'nothing'} (head), nothing to do", markup=False)
    else:
        out.print(f"upgraded {before or 'nothing'} → {after}", markup=False)


@app.command()
def current(
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Exit with code 1 when the schema is not up to date (for scripts)."
        ),
    ] = False,
) -> None:
    """Show the schema revision of the configured database and the one this hoplink needs.

    Example:
    $ hoplink db current --check || hoplink db upgrade
    """
    settings = _common.settings()
    _target(settings)
    revision, _ = _common.run(_revisions(settings, upgrade=False))
    head = migrate.head_revision()
    out.print(f"current   {revision or 'nothing (empty database)'}", markup=False)
    out.print(f"head      {head}", markup=False)
    if revision == head:
        out.print("up to date", style="green")
        return
    out.print("out of date: run `hoplink db upgrade`", style="yellow", markup=False)
    if check:
        raise typer.Exit(1)
