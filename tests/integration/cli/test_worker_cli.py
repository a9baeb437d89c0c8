"""``hoplink worker``: refuses an outdated schema, runs, and drains on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from cli_harness import Cli


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPLINK_")}
    return env | {"HOPLINK_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}


def test_worker_refuses_a_database_without_schema(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()  # an empty SQLite file (a missing one: no installation)
    cli = Cli(
        {
            "HOPLINK_DATABASE_URL": f"sqlite:///{tmp_path}/empty.db",
            "HOPLINK_DATA_DIR": str(tmp_path),
        }
    )
    result = cli.fails("worker")
    assert "the database schema is not current: run `hoplink db upgrade`" in result.stderr


def test_worker_runs_until_sigterm(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Cli({"HOPLINK_DATABASE_URL": f"sqlite:///{data}/hoplink.db", "HOPLINK_DATA_DIR": str(data)}).ok(
        "db", "upgrade"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "hoplink.cli", "worker"],
        env=_env(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen = ""
        while "hoplink worker running" not in seen:  # blocks until ready (or exits)
            line = proc.stdout.readline()
            assert line, seen
            seen += line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
