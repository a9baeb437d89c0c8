"""``hoplink db backup``: an online SQLite backup taken while a writer keeps committing is a
consistent, sound file hoplink starts from; PostgreSQL is pointed at pg_dump."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from cli_harness import Cli, cli_env

UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 " * 4


def _click(i: int, prefix: str) -> tuple[object, ...]:
    return (
        f"{prefix}{i:09d}",
        "2026-11-27 05:00:00.000000",
        "ws_x",
        "lnk_x",
        "hop.test",
        "GET",
        "DE",
        f"{i:064d}",
        UA,
        "m.facebook.com",
        "de",
        "mobile",
        "iOS",
        "Mobile Safari",
    )


_INSERT = (
    "INSERT INTO clicks (click_id, ts, workspace_id, link_id, domain, method, country,"
    " visitor_hash, user_agent, referrer_host, language, device, os, browser)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class Writer(threading.Thread):
    """Commits one click after another (its own connection, WAL) until told to stop."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.committed = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with contextlib.closing(sqlite3.connect(self.path, isolation_level=None)) as conn:
                conn.execute("PRAGMA busy_timeout=10000")
                while not self.stop.is_set():
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute(_INSERT, _click(self.committed, "w"))
                    conn.execute("COMMIT")
                    self.committed += 1
        except BaseException as exc:
            self.error = exc


@pytest.fixture
def embedded(sqlite_template: Path, tmp_path: Path) -> tuple[Cli, Path]:
    """A running-size embedded installation: a workspace, a link and ~30 MB of clicks."""
    path = tmp_path / "data" / "hoplink.db"
    path.parent.mkdir()
    shutil.copy(sqlite_template, path)
    cli = Cli(cli_env(f"sqlite:///{path}", tmp_path / "data"))
    cli.ok("workspace", "create", "Backup Shop")
    cli.ok("workspace", "verify", "backup-shop")
    cli.ok("link", "create", "https://shop.example.com/kept", "--workspace", "backup-shop")
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executemany(_INSERT, (_click(i, "p") for i in range(60_000)))
    return cli, path


def test_backup_while_a_writer_commits_is_consistent_and_starts(
    embedded: tuple[Cli, Path], tmp_path: Path
) -> None:
    cli, _ = embedded
    writer = Writer(embedded[1])
    writer.start()
    try:
        while writer.committed < 50 and writer.error is None:
            threading.Event().wait(0.005)
        at_start = writer.committed
        result = cli.ok("db", "backup", "--to", f"{tmp_path / 'backups'}/")
        at_end = writer.committed
    finally:
        writer.stop.set()
        writer.join()
    assert writer.error is None
    assert at_end > at_start  # the writer kept committing while the backup ran

    [written] = list((tmp_path / "backups").iterdir())
    assert written.name.startswith("hoplink-") and written.suffix == ".db"
    assert f"backup written to {written}" in result.output
    assert f"({written.stat().st_size:,} bytes)" in result.output
    assert not Path(f"{written}-wal").exists()  # one self-contained file

    with contextlib.closing(sqlite3.connect(written)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert conn.execute("SELECT count(*) FROM clicks WHERE click_id LIKE 'p%'").fetchone() == (
            60_000,
        )
        ids = [r[0] for r in conn.execute("SELECT click_id FROM clicks WHERE click_id LIKE 'w%'")]
    # One instant of the database: exactly the writer's first k commits, no gap, no torn row.
    assert sorted(ids) == [f"w{i:09d}" for i in range(len(ids))]
    assert at_start <= len(ids) <= at_end

    restored = Cli(cli_env(f"sqlite:///{written}", tmp_path / "restored"))
    restored.ok("db", "current", "--check")
    listed = restored.ok("link", "list", "--workspace", "backup-shop")
    assert "https://shop.example.com/kept" in listed.output


def test_default_location_and_never_overwriting(embedded: tuple[Cli, Path], tmp_path: Path) -> None:
    cli, _ = embedded
    result = cli.ok("db", "backup")
    [written] = list((tmp_path / "data" / "backups").iterdir())
    assert str(written) in result.output
    assert oct(written.stat().st_mode & 0o777) == "0o600"

    again = cli.fails("db", "backup", "--to", str(written))
    assert "already exists" in again.output
    assert [p.name for p in written.parent.iterdir()] == [written.name]  # nothing left behind


def test_postgresql_is_refused_with_the_pg_dump_command(tmp_path: Path) -> None:
    url = "postgresql://hoplink:s3cret@db.internal:5433/hoplink"
    result = Cli(cli_env(url, tmp_path / "data")).fails("db", "backup")
    assert "pg_dump --format=custom --no-owner" in result.output
    assert "postgresql://hoplink@db.internal:5433/hoplink" in result.output
    assert "s3cret" not in result.output
    assert "pg_restore" in result.output
