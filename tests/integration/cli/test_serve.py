"""``hoplink serve`` and ``hoplink db``: start-up checks, first-run set-up, migrations."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from cli_harness import Cli, cli_env

from dbs import PG_ADMIN_URL, pg_url
from hoplink.accounts.passwords import verify_password
from hoplink.cli.bootstrap import ADMIN_EMAIL, FirstRun
from hoplink.cli.serve import prepare
from hoplink.runtime import SchemaOutOfDate
from hoplink.storage import migrate
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Role, WorkspaceStatus
from processes import HOPLINK, free_port, hoplink


def _sqlite_cli(tmp_path: Path) -> Cli:
    """A CLI on an embedded installation that does not exist yet (no database file)."""
    data = tmp_path / "data"
    return Cli(cli_env(f"sqlite:///{data / 'hoplink.db'}", data))


Everyone = tuple[int, list[tuple[str, str, WorkspaceStatus]], list[tuple[str, str, Role]]]


def _everyone(cli: Cli) -> Everyone:
    """How many users, which workspaces, and who is a member of them."""

    async def look(tx: Tx) -> Everyone:
        count = await tx.conn.exec_driver_sql("SELECT count(*) FROM users")
        users = int(count.scalar_one())
        workspaces = await tx.workspaces.all()
        members = [m for ws in workspaces for m in await tx.workspaces.members(ws.id)]
        return users, [(w.slug, w.name, w.status) for w in workspaces], members

    return cli.query(look)


def test_bootstrap_sets_up_an_empty_sqlite_once(tmp_path: Path) -> None:
    cli = _sqlite_cli(tmp_path)
    first = asyncio.run(prepare(cli.settings))
    assert isinstance(first, FirstRun)
    assert first.email == ADMIN_EMAIL == "admin@hoplink.local"
    assert len(first.password) >= 16
    assert first.workspace.slug == "my-store"

    users, workspaces, members = _everyone(cli)
    assert users == 1
    assert workspaces == [("my-store", "My Store", WorkspaceStatus.VERIFIED)]
    [(_, email, role)] = members
    assert (email, role) == (ADMIN_EMAIL, Role.OWNER)

    async def admin(tx: Tx) -> tuple[bool, bool]:
        found = await tx.users.by_email(ADMIN_EMAIL)
        assert found is not None
        return found[0].is_platform_admin, verify_password(found[1], first.password)

    assert cli.query(admin) == (True, True)

    assert asyncio.run(prepare(cli.settings)) is None
    assert _everyone(cli) == (users, workspaces, members)


def test_bootstrap_leaves_an_installation_with_users_alone(tmp_path: Path) -> None:
    cli = _sqlite_cli(tmp_path)
    cli.ok("db", "upgrade")  # the operator creates the installation, then its first user
    cli.ok("user", "create", "ops@example.com", "--password", "0123456789abc")
    assert asyncio.run(prepare(cli.settings)) is None
    users, workspaces, _ = _everyone(cli)
    assert (users, workspaces) == (1, [])


def test_db_upgrade_on_an_empty_sqlite_then_current_is_up_to_date(tmp_path: Path) -> None:
    cli = _sqlite_cli(tmp_path)
    head = migrate.head_revision()
    # No database file: refused, naming the file (reading it would create it).
    missing = cli.fails("db", "current").stderr
    assert f"no hoplink database at {tmp_path / 'data' / 'hoplink.db'}" in missing
    assert not (tmp_path / "data").exists()
    # An empty file: no schema yet.
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "hoplink.db").touch()
    before = cli.ok("db", "current").stdout
    assert "current   nothing (empty database)" in before
    assert "out of date: run `hoplink db upgrade`" in before
    cli.fails("db", "current", "--check")
    (tmp_path / "data" / "hoplink.db").unlink()

    out = cli.ok("db", "upgrade").stdout  # creates the installation
    assert f"upgraded nothing → {head}" in out
    assert f"already at {head}" in cli.ok("db", "upgrade").stdout
    now = cli.ok("db", "current", "--check").stdout
    assert f"current   {head}\nhead      {head}\nup to date" in now
    assert f"database  sqlite:///{tmp_path}" in now


@pytest.fixture
def empty_pg() -> Iterator[str]:
    """A PostgreSQL database of its own with no schema at all."""
    name = f"hoplink_cli_{secrets.token_hex(4)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql://", "postgres://", 1))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_url(name)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.postgres
def test_serve_refuses_an_outdated_postgres_schema(empty_pg: str, tmp_path: Path) -> None:
    cli = Cli(cli_env(empty_pg, tmp_path / "data"))
    with pytest.raises(SchemaOutOfDate, match="run `hoplink db upgrade` first"):
        asyncio.run(prepare(cli.settings))

    result = cli.fails("serve", "--port", "1")
    assert "run `hoplink db upgrade` first" in result.stderr
    # Every other command that needs the schema holds to the same rule.
    assert "hoplink db upgrade" in cli.fails("workspace", "list").stderr

    head = migrate.head_revision()
    assert f"upgraded nothing → {head}" in cli.ok("db", "upgrade").stdout
    cli.ok("db", "current", "--check")
    # On PostgreSQL nobody is set up automatically.
    assert asyncio.run(prepare(cli.settings)) is None
    assert cli.ok("workspace", "list").stdout.startswith("No workspaces yet")


def test_serve_runs_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPLINK_")}
    env |= {"PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    args = ["serve", "--port", str(port), "--data-dir", str(tmp_path / "data")]
    stderr = tmp_path / "stderr.log"
    url = f"http://localhost:{port}/"
    with hoplink(args, env, tmp_path / "stdout.log", stderr=stderr) as proc:
        proc.wait_for(f"hoplink is running at {url}", timeout=60)
        output = proc.text()
        assert ADMIN_EMAIL in output and "Password" in output
        assert "hoplink apikey create --workspace my-store --scope links:read" in output
        assert f"curl -X POST {url}api/v1/links" in output
        assert (tmp_path / "data" / "hoplink.db").exists()

        r = httpx.get(f"http://127.0.0.1:{port}/api/v1/workspace", timeout=10)
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "unauthenticated"
        assert "server" not in r.headers
        proc.signal(signal.SIGTERM)
        # uvicorn re-raises the signal after its graceful shutdown.
        assert proc.wait(30) in (0, -signal.SIGTERM)
    assert proc.text().rstrip().endswith("hoplink stopped")
    assert "Traceback" not in stderr.read_text()


def test_the_start_up_hint_works_from_another_directory(tmp_path: Path) -> None:
    """Started with a relative --data-dir, the printed command still reaches that database
    when pasted in another directory (issue 14)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPLINK_")}
    env |= {"PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    env["PATH"] = f"{Path(HOPLINK).parent}{os.pathsep}{env.get('PATH', '')}"
    (tmp_path / "site").mkdir()
    (tmp_path / "elsewhere").mkdir()
    args = ["serve", "--port", str(port), "--data-dir", "data"]
    with hoplink(args, env, tmp_path / "stdout.log", cwd=tmp_path / "site") as proc:
        proc.wait_for("hoplink is running at", timeout=60)
        output = proc.text()
        proc.signal(signal.SIGTERM)
        proc.wait(30)
    line = next(x.strip() for x in output.splitlines() if "apikey create" in x)
    assert line.startswith(f"HOPLINK_DATA_DIR={tmp_path / 'site' / 'data'} "), line
    pasted = subprocess.run(  # noqa: S603 - the command our own server printed
        ["bash", "-c", line],  # noqa: S607
        cwd=tmp_path / "elsewhere",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert pasted.returncode == 0, pasted.stderr
    assert "Created API key" in pasted.stdout and "for my-store" in pasted.stdout, pasted.stdout
    assert not (tmp_path / "elsewhere" / "hoplink-data").exists()
