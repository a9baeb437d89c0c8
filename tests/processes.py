"""hoplink as a child process (`.venv/bin/hoplink serve|worker|...`): free ports, the
environment of a production-mode node, its output, and waiting for it to come up."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

import factories

HOPLINK = str(Path(sys.executable).parent / "hoplink")
# The secret key of every hoplink the tests run, in process or not (the same everywhere,
# so that nodes of one test agree on whatever is derived from it).
SECRET = "test-secret-key-" + "x" * 32


def free_port() -> int:
    """A port nothing listens on now (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def production_env(
    *, db_url: str, redis_url: str, prefix: str, data_dir: Path, **extra: str
) -> dict[str, str]:
    env = {
        **os.environ,
        "HOPLINK_DATABASE_URL": db_url,
        "HOPLINK_REDIS_URL": redis_url,
        "HOPLINK_REDIS_KEY_PREFIX": prefix,
        "HOPLINK_DATA_DIR": str(data_dir),
        "HOPLINK_DEFAULT_DOMAIN": factories.DEFAULT_HOST,
        "HOPLINK_SECRET_KEY": SECRET,
        "HOPLINK_WORKER_FLUSH_INTERVAL": "0.05",
        "HOPLINK_LOG_LEVEL": "info",
    }
    env.update(extra)
    return env


@dataclass
class Proc:
    process: subprocess.Popen[bytes]
    log: Path  # stdout, and stderr unless it has a file of its own
    stderr: Path | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self) -> str:
        """The end of the output (of both files, when stderr has its own)."""
        if self.stderr is None:
            return self.text()[-3000:]
        errors = self.stderr.read_text(errors="replace")
        return f"{self.text()[-1500:]}\n--- stderr:\n{errors[-1500:]}"

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout: float = 20) -> int:
        return self.process.wait(timeout)

    def wait_for(self, needle: str, timeout: float = 20) -> None:
        """Until ``needle`` is in the output; fails at once if the process exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.text():
                return
            if not self.running():
                break
            time.sleep(0.05)
        raise AssertionError(f"{needle!r} not seen; output:\n{self.tail()}")


@contextmanager
def hoplink(
    args: list[str],
    env: dict[str, str],
    log: Path,
    *,
    stderr: Path | None = None,
    cwd: Path | None = None,
) -> Iterator[Proc]:
    """`.venv/bin/hoplink <args>` as a child process, its output appended to ``log`` (its
    stderr to ``stderr`` if given); killed at the end if still running."""
    with ExitStack() as files:
        out = files.enter_context(log.open("ab"))
        err = files.enter_context(stderr.open("ab")) if stderr else subprocess.STDOUT
        process = subprocess.Popen(  # noqa: S603 - our own entry point and arguments
            [HOPLINK, *args], env=env, stdout=out, stderr=err, cwd=cwd
        )
    proc = Proc(process, log, stderr)
    try:
        yield proc
    finally:
        if proc.running():
            process.send_signal(signal.SIGKILL)
            process.wait(10)


def wait_http(
    url: str, timeout: float = 30, proc: Proc | None = None, *, path: str = "/ready-check"
) -> None:
    """Until ``url`` answers ``path`` at all (any status: the server is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.running():
            raise AssertionError(f"exited: {proc.tail()}")
        try:
            httpx.get(f"{url}{path}", headers={"host": factories.DEFAULT_HOST}, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("server did not start")
