"""A command run outside the data directory (QA finding): administering and reading
commands refuse a SQLite database that does not exist — naming the file and how to point
at the installation, exit code 1 — and create nothing (they made an empty ./hoplink-data,
then said "no workspace 'my-store'"). ``hoplink db upgrade`` (and ``serve``) create one."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from hoplink.cli.main import app

# No configured installation: settings fall back to ./hoplink-data in the working directory.
UNSET: dict[str, str | None] = {
    "HOPLINK_DATABASE_URL": None,
    "HOPLINK_DATA_DIR": None,
    "HOPLINK_CONFIG_FILE": None,
    "HOPLINK_DEFAULT_DOMAIN": "hop.test",
    "COLUMNS": "250",
}


def _run(*args: str, env: dict[str, str | None] = UNSET) -> Result:
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


@pytest.mark.parametrize(
    "args",
    [
        ("link", "list", "--workspace", "my-store"),
        ("link", "create", "https://shop.example.com/a", "--workspace", "my-store"),
        ("workspace", "list"),
        ("workspace", "create", "My Store"),
        ("user", "create", "ops@example.com", "--password", "0123456789abc"),
        ("apikey", "list", "--workspace", "my-store"),
        ("short-domain", "list"),
        ("db", "current"),
        ("db", "backup"),
        ("worker",),
    ],
    ids=lambda args: " ".join(args[:2]),
)
def test_commands_outside_the_data_directory_create_nothing(
    args: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = _run(*args)
    assert result.exit_code == 1, result.output
    said = " ".join(result.stderr.split())
    assert f"no hoplink database at {tmp_path / 'hoplink-data' / 'hoplink.db'}" in said
    assert "HOPLINK_DATA_DIR" in said and "HOPLINK_DATABASE_URL" in said
    assert "hoplink serve" in said
    assert list(tmp_path.iterdir()) == []  # no ./hoplink-data, no secret key


def test_a_database_url_naming_a_missing_file_is_refused_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "elsewhere" / "hoplink.db"
    env = {**UNSET, "HOPLINK_DATABASE_URL": f"sqlite:///{missing}"}
    result = _run("workspace", "list", env=env)
    assert result.exit_code == 1
    said = " ".join(result.stderr.split())
    assert f"no hoplink database at {missing}" in said and "HOPLINK_DATABASE_URL names" in said
    assert list(tmp_path.iterdir()) == []
    copy = _run("db", "copy", "--from", f"sqlite:///{missing}", "--to", "sqlite:///x.db")
    assert copy.exit_code == 1 and f"no SQLite database at {missing}" in copy.stderr
    assert list(tmp_path.iterdir()) == []


def test_db_upgrade_creates_the_installation_the_others_then_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _run("db", "upgrade").exit_code == 0
    assert (tmp_path / "hoplink-data" / "hoplink.db").is_file()
    created = _run("workspace", "create", "My Store")
    assert created.exit_code == 0, created.output
    listed = _run("workspace", "list")
    assert listed.exit_code == 0 and "my-store" in listed.stdout
