"""``hoplink db``: schema revisions and upgrades, copying a database, SQLite backups."""

from __future__ import annotations

import os
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from sqlalchemy.engine.url import URL, make_url

from hoplink.cli import _common
from hoplink.cli._common import out
from hoplink.config import Settings
from hoplink.storage import copy, migrate
from hoplink.storage.backup import BackupFailed, backup_sqlite
from hoplink.storage.database import Database

app = typer.Typer(
    help="Database schema (migrations), copying to another database, backups.",
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
    _common.require_installation(settings)  # reading a missing SQLite file would create it
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


class _Bars(copy.Progress):
    """One progress bar per table."""

    def __init__(self, bars: RichProgress) -> None:
        self.bars = bars
        self.tasks: dict[str, TaskID] = {}

    def start(self, table: str, total: int) -> None:
        self.tasks[table] = self.bars.add_task(table, total=total)

    def advance(self, table: str, rows: int) -> None:
        self.bars.advance(self.tasks[table], rows)


@app.command("copy")
def copy_(
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="The database to read, e.g. sqlite:///hoplink-data/hoplink.db.",
            show_default=False,
        ),
    ],
    target: Annotated[
        str,
        typer.Option(
            "--to",
            help="The EMPTY database to write, e.g. postgresql://hoplink@db/hoplink;"
            " migrated to the current schema first.",
            show_default=False,
        ),
    ],
    batch_size: Annotated[
        int, typer.Option(help="Rows per insert.", min=1, max=100_000)
    ] = copy.DEFAULT_BATCH,
) -> None:
    """Copy every table of one hoplink database into another, empty one.

    Moves an embedded installation to PostgreSQL (or back): links, users,
    API keys, workspaces, clicks, rollups, everything. Stop hoplink on the
    source first: the copy reads one consistent snapshot, and clicks that
    arrive later would not be in it. The target is written in one
    transaction: if the copy fails, the target stays empty and the same
    command can simply be run again. A target holding any row is refused.
    At the end the row count of every table is compared: exit code 1 when
    any differs.

    Example:
    $ hoplink db copy --from sqlite:///hoplink-data/hoplink.db \\
        --to postgresql://hoplink@db.internal/hoplink
    """
    out.print(f"from  {_common.safe_url(source)}", markup=False)
    out.print(f"to    {_common.safe_url(target)}", markup=False)
    source_file = _common.sqlite_file(source)
    if source_file is not None and not source_file.exists():
        _common.fail(f"error: --from: no SQLite database at {source_file.absolute()}")
    columns = (
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with RichProgress(*columns, console=out) as bars:
            result = _common.run(
                copy.copy_database(source, target, batch_size=batch_size, progress=_Bars(bars))
            )
    except (copy.CopyRefused, copy.CopyFailed) as exc:
        _common.fail(f"error: {exc}")
    grid = _common.table("table", "source rows", "target rows", "")
    for count in result.counts:
        mark = "[green]ok[/green]" if count.ok else "[red]DIFFERENT[/red]"
        grid.add_row(count.table, f"{count.source:,}", f"{count.target:,}", mark)
    out.print(grid)
    for name in result.unknown_tables:
        out.print(f"not copied: table {name!r} is not part of hoplink's schema", style="yellow")
    if not result.ok:
        _common.fail("verification failed: the row counts above differ; do not use the target")
    total = sum(c.target for c in result.counts)
    out.print(f"copied {total:,} rows; verified", style="green")


def _default_backup_path(settings: Settings) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return settings.data_dir / "backups" / f"hoplink-{stamp}.db"


def _pg_dump_command(url: str) -> str:
    parsed = make_url(url)
    stamp = "$(date -u +%Y%m%d-%H%M%S)"
    # Without the password: it belongs in PGPASSWORD or ~/.pgpass, not in shell history.
    plain = URL.create(
        "postgresql",
        username=parsed.username,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
        query=parsed.query,
    )
    shown = plain.render_as_string(hide_password=False)
    return f'pg_dump --format=custom --no-owner --file="hoplink-{stamp}.dump" {shlex.quote(shown)}'


@app.command()
def backup(
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="File to write, or a directory (existing, or ending in /) to put it in; default"
            " <data dir>/backups/hoplink-<UTC time>.db. Never overwritten.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Back up the embedded SQLite database while hoplink keeps running.

    Uses SQLite's online backup: the copy is the database as of one instant,
    and the server goes on answering and writing meanwhile. Keep
    <data dir>/secret_key with it. On PostgreSQL use pg_dump instead (this
    command prints the exact line).

    Examples:
    $ hoplink db backup
    $ hoplink db backup --to /var/backups/hoplink/
    """
    settings = _common.settings()
    if not settings.is_sqlite:
        _common.fail(
            "error: hoplink db backup is for the embedded SQLite database. On PostgreSQL"
            " use pg_dump (give the password through PGPASSWORD or ~/.pgpass):\n"
            f"  {_pg_dump_command(settings.database_url_async)}\n"
            "restore with pg_restore --clean --if-exists --no-owner --dbname=<url> FILE"
        )
    database = make_url(settings.database_url_async).database
    if not database or database == ":memory:":
        _common.fail("error: an in-memory database cannot be backed up")
    _common.require_installation(settings)  # sqlite3 would create the missing file, empty
    # A str, not a Path: Path drops the trailing "/" that says "a directory".
    path = Path(to) if to else _default_backup_path(settings)
    if path.is_dir() or (to or "").endswith(("/", os.sep)):
        path = path / _default_backup_path(settings).name
    try:
        result = backup_sqlite(Path(database), path)
    except BackupFailed as exc:
        _common.fail(f"error: {exc}")
    out.print(f"backup written to {result.path} ({result.size:,} bytes)", markup=False)
    out.print(
        f"also keep {settings.data_dir / 'secret_key'} (or HOPLINK_SECRET_KEY) with it",
        markup=False,
    )
