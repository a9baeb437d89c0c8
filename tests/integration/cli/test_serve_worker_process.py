"""``hoplink serve`` runs its embedded click worker as a child process: clicks reach the
database, a child that dies is started again without losing clicks, SIGTERM drains, and a
child whose web server was killed drains the journal and exits on its own."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from cli_harness import DOMAIN, Cli, cli_env

from processes import Proc, free_port, hoplink

CODE = "sale-17"


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _until(check: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _clicks(data: Path) -> int:
    with contextlib.closing(sqlite3.connect(data / "hoplink.db", timeout=30)) as conn:
        return int(conn.execute("SELECT count(*) FROM clicks").fetchone()[0])


def _follow(port: int, times: int) -> None:
    for _ in range(times):
        r = httpx.get(f"http://127.0.0.1:{port}/{CODE}", headers={"host": DOMAIN}, timeout=10)
        assert r.status_code == 302


@contextlib.contextmanager
def _serving(tmp_path: Path) -> Iterator[tuple[Proc, int, Path]]:
    """An embedded installation with one link, served by ``hoplink serve`` (the defaults)."""
    data = tmp_path / "data"
    cli = Cli(cli_env(f"sqlite:///{data / 'hoplink.db'}", data))
    cli.ok("db", "upgrade")
    cli.ok("workspace", "create", "Acme", "--slug", "acme", "--verified")
    cli.ok("link", "create", "https://shop.example.com/p/1", "--workspace", "acme", "--code", CODE)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOPLINK_")}
    env |= cli.env | {"PYTHONUNBUFFERED": "1", "HOPLINK_PORT": str(port)}
    with hoplink(["serve"], env, tmp_path / "serve.log") as proc:
        proc.wait_for("hoplink is running at", timeout=90)
        _until(lambda: len(_children(proc.pid)) == 1, "the worker process")
        yield proc, port, data


def test_the_worker_child_counts_clicks_is_restarted_and_drains_on_sigterm(
    tmp_path: Path,
) -> None:
    with _serving(tmp_path) as (proc, port, data):
        [child] = _children(proc.pid)
        _follow(port, 5)
        _until(lambda: _clicks(data) == 5, "5 clicks in the database")
        # The worker gives way to the web process (HOPLINK_WORKER_PROCESS_NICE, default 5);
        # the web process keeps its own priority.
        assert os.sched_getscheduler(child) == os.SCHED_BATCH
        assert os.getpriority(os.PRIO_PROCESS, child) == os.getpriority(os.PRIO_PROCESS, 0) + 5
        assert os.sched_getscheduler(proc.pid) == os.sched_getscheduler(0)
        assert os.getpriority(os.PRIO_PROCESS, proc.pid) == os.getpriority(os.PRIO_PROCESS, 0)

        os.kill(child, signal.SIGKILL)
        _until(lambda: _children(proc.pid) not in ([], [child]), "a new worker process")
        [again] = _children(proc.pid)
        assert "the click worker process exited (status -9)" in proc.text()
        _follow(port, 5)

        proc.signal(signal.SIGTERM)
        assert proc.wait(90) in (0, -signal.SIGTERM)
        assert not _alive(again)
    # Every click answered is in the database: the new child, then the drain on stop.
    assert _clicks(data) == 10
    assert proc.text().rstrip().endswith("hoplink stopped")
    assert "Traceback" not in proc.text()


def test_a_worker_child_whose_web_server_is_killed_drains_and_exits(tmp_path: Path) -> None:
    with _serving(tmp_path) as (proc, port, data):
        [child] = _children(proc.pid)
        os.kill(child, signal.SIGSTOP)  # the clicks wait in the journal
        _follow(port, 7)
        proc.signal(signal.SIGKILL)
        proc.wait(30)
        os.kill(child, signal.SIGCONT)
        _until(lambda: not _alive(child), "the orphaned worker to exit")
    assert _clicks(data) == 7
    assert "the web process" in proc.text() and "is gone" in proc.text()
