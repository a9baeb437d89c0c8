"""Copy a whole hoplink database to another, empty one (SQLite ⇄ PostgreSQL).

Used to move an embedded installation to PostgreSQL. Every table of ``tables.metadata``
is copied, parents before children (the metadata's foreign-key order), so a table added
to the schema is copied without touching this module. Rows travel through the tables'
own SQLAlchemy types: JSON is decoded and re-encoded, SQLite's 0/1 become booleans, naive
SQLite timestamps become aware UTC ones and back, so each back-end stores its own form.

The source is read in ONE read transaction (a consistent snapshot on both back-ends, so
a running server does not tear the copy), and the target is written in ONE transaction:
an interrupted copy (Ctrl+C, network, disk full) leaves the target exactly as empty as it
was, and running the same command again is the whole recovery. Per-table commits would
need resume bookkeeping to be safe to re-run, and the target is unused until the copy
ends, so a long transaction costs nothing there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import JSON, Integer, MetaData, Table, func, insert, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hoplink.storage import migrate
from hoplink.storage.database import create_engine
from hoplink.storage.tables import metadata

DEFAULT_BATCH = 2000


class CopyRefused(Exception):
    """The copy cannot start; the message says why and what to do."""


class CopyFailed(Exception):
    """The copy broke off; its transaction was rolled back, the target is unchanged."""


@dataclass(frozen=True, slots=True)
class TableCount:
    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


@dataclass(frozen=True, slots=True)
class CopyResult:
    counts: list[TableCount]
    # Tables found in the source that this hoplink does not know (not copied).
    unknown_tables: list[str]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.counts)


class Progress(Protocol):
    """What the copy reports while it runs (the CLI draws a progress bar from it)."""

    def start(self, table: str, total: int) -> None: ...

    def advance(self, table: str, rows: int) -> None: ...


class _Quiet:
    def start(self, table: str, total: int) -> None:
        pass

    def advance(self, table: str, rows: int) -> None:
        pass


def async_url(url: str) -> str:
    """``sqlite:///…`` / ``postgresql://…`` as written by users → the async driver URL."""
    if "://" not in url:
        raise CopyRefused(f"{url!r} is not a database URL (sqlite:///path or postgresql://…)")
    scheme, rest = url.split("://", 1)
    base = scheme.split("+", 1)[0].lower()
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if base in ("postgresql", "postgres"):
        return f"postgresql+asyncpg://{rest}"
    raise CopyRefused(f"unsupported scheme {scheme!r}: use sqlite:///path or postgresql://…")


def same_database(a: str, b: str) -> bool:
    try:
        ua, ub = make_url(async_url(a)), make_url(async_url(b))
    except ArgumentError:
        return False
    return (ua.get_backend_name(), ua.host, ua.port, ua.database) == (
        ub.get_backend_name(),
        ub.host,
        ub.port,
        ub.database,
    )


def _missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite URL whose file does not exist (opening it would create an
    empty database there); None otherwise."""
    parsed = make_url(async_url(url))
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        return parsed.database or "(no path)"
    return None


def _copy_tables() -> list[Table]:
    """The schema's tables in dependency order, with JSON columns that keep SQL NULL as
    NULL (the default writes JSON ``null`` for None, which would change a nullable
    column's meaning on the target)."""
    copies = MetaData()
    out = []
    for table in metadata.sorted_tables:
        clone = table.to_metadata(copies)
        for column in clone.columns:
            if isinstance(column.type, JSON):
                column.type = JSON(none_as_null=True)
        out.append(clone)
    return out


async def _existing_tables(conn: AsyncConnection) -> set[str]:
    def names(sync: Connection) -> list[str]:
        return inspect(sync).get_table_names()

    return set(await conn.run_sync(names))


async def _count(conn: AsyncConnection, table: Table) -> int:
    return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def _check_source(engine: AsyncEngine) -> None:
    head = migrate.head_revision()
    current = await migrate.current_revision(engine)
    if current != head:
        raise CopyRefused(
            f"the source schema is at {current or 'nothing'}, this hoplink needs {head}:"
            " upgrade it first (`HOPLINK_DATABASE_URL=<source> hoplink db upgrade`)"
        )


async def _prepare_target(engine: AsyncEngine, tables: Sequence[Table]) -> None:
    """Refuse a target holding any row; bring an empty one to the head revision."""
    async with engine.connect() as conn:
        present = await _existing_tables(conn)
        busy = [
            f"{t.name}: {n:,} rows"
            for t in tables
            if t.name in present and (n := await _count(conn, t)) > 0
        ]
    if busy:
        more = f" and {len(busy) - 5} more tables" if len(busy) > 5 else ""
        raise CopyRefused(
            f"the target database is not empty ({', '.join(busy[:5])}{more}).\n"
            "hoplink db copy only writes into an empty database, so nothing is ever merged"
            " or overwritten. To start again, recreate the target, e.g. on PostgreSQL\n"
            "  dropdb hoplink && createdb --owner=hoplink hoplink\n"
            "or delete the SQLite file, then run the copy again. Do not start hoplink on the"
            " target before the copy: its first start creates rows."
        )
    if await migrate.current_revision(engine) != migrate.head_revision():
        await migrate.upgrade(engine)


async def _reset_sequences(conn: AsyncConnection, table: Table) -> None:
    """After explicit ids were inserted, move PostgreSQL sequences past them (serial and
    identity columns); SQLite's AUTOINCREMENT follows inserted ids by itself."""
    for column in table.columns:
        if not isinstance(column.type, Integer):
            continue
        seq = (
            await conn.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
            )
        ).scalar_one()
        if seq is not None:
            top = (await conn.execute(select(func.max(column)))).scalar_one()
            await conn.execute(
                text("SELECT setval(CAST(:s AS regclass), :v, :called)"),
                {"s": seq, "v": top if top is not None else 1, "called": top is not None},
            )


async def _copy_table(
    src: AsyncConnection,
    dst: AsyncConnection,
    table: Table,
    *,
    batch_size: int,
    progress: Progress,
) -> int:
    total = await _count(src, table)
    progress.start(table.name, total)
    if total == 0:
        return 0
    stmt = insert(table)
    # Primary-key order: the target's B-trees fill left to right, and self-references (a
    # row pointing at an earlier one) are satisfied in id order.
    query = select(table).order_by(*(table.primary_key.columns or table.columns))
    result = await src.stream(query)
    async for rows in result.partitions(batch_size):
        await dst.execute(stmt, [row._asdict() for row in rows])
        progress.advance(table.name, len(rows))
    if dst.dialect.name == "postgresql":
        await _reset_sequences(dst, table)
    return total


async def _unknown_tables(conn: AsyncConnection, tables: Sequence[Table]) -> list[str]:
    known = {t.name for t in tables}
    return sorted(
        name
        for name in await _existing_tables(conn)
        if name not in known and name != "alembic_version" and not name.startswith("sqlite_")
    )


async def _copy_all(
    source: AsyncEngine,
    target: AsyncEngine,
    tables: Sequence[Table],
    *,
    batch_size: int,
    progress: Progress,
) -> tuple[dict[str, int], list[str]]:
    """Rows copied per table (from the source's snapshot) and the tables left out."""
    async with source.connect() as src:
        if src.dialect.name == "postgresql":
            src = await src.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        async with src.begin(), target.connect() as dst, dst.begin():
            # The first read fixes the source's snapshot (SQLite WAL and PostgreSQL alike).
            unknown = await _unknown_tables(src, tables)
            copied = {
                table.name: await _copy_table(
                    src, dst, table, batch_size=batch_size, progress=progress
                )
                for table in tables
            }
    return copied, unknown


async def copy_database(
    source_url: str,
    target_url: str,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
) -> CopyResult:
    """Copy every row of ``source_url`` into the empty ``target_url``; counts per table.

    URLs are written as users write them (``sqlite:///…``, ``postgresql://…``). Raises
    ``CopyRefused`` before writing anything if the source is not at the head revision, or
    the target is the source or holds any row; ``CopyFailed`` if the copy broke off.
    """
    if same_database(source_url, target_url):
        raise CopyRefused("the source and the target are the same database")
    missing = _missing_sqlite_file(source_url)
    if missing is not None:
        raise CopyRefused(f"no SQLite database at {missing}")
    tables = _copy_tables()
    source = create_engine(async_url(source_url))
    target = create_engine(async_url(target_url))
    try:
        await _check_source(source)
        await _prepare_target(target, tables)
        try:
            copied, unknown = await _copy_all(
                source, target, tables, batch_size=batch_size, progress=progress or _Quiet()
            )
        except DBAPIError as exc:
            raise CopyFailed(
                f"the copy failed and was rolled back, the target is unchanged: {exc.orig}"
            ) from exc
        async with target.connect() as conn:
            counts = [TableCount(t.name, copied[t.name], await _count(conn, t)) for t in tables]
        return CopyResult(counts=counts, unknown_tables=unknown)
    finally:
        await source.dispose()
        await target.dispose()
