"""hoplink under a real uvicorn (uvloop + httptools) in a child process, and a client for it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

import factories
from hoplink.links import service
from hoplink.links.models import Link
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkRules
from hoplink.storage.database import Database


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> bool:
        """SIGTERM, like a process manager; whether uvicorn drained and shut the app down.

        (uvicorn re-raises the signal once it has shut down, so the exit status is -15.)
        """
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(20)
        return "Application shutdown complete" in self.log.read_text()


@contextmanager
def uvicorn_server(
    *, db_url: str, data_dir: Path, log: Path, env: dict[str, str] | None = None
) -> Iterator[Server]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    port = sock.getsockname()[1]
    child_env = {
        **os.environ,
        "HOPLINK_DATABASE_URL": db_url,
        "HOPLINK_DATA_DIR": str(data_dir),
        "HOPLINK_DEFAULT_DOMAIN": factories.DEFAULT_HOST,
        "HOPLINK_SECRET_KEY": "test-secret-key-" + "x" * 32,
        # No worker: the journal must still hold every click when the test reads it.
        "HOPLINK_EMBEDDED_WORKER": "false",
        **(env or {}),
    }
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "hoplink.app:create_app_from_env",
        "--fd", str(sock.fileno()), "--loop", "uvloop", "--http", "httptools",
        # The access log stays at uvicorn's default (on) and the level is debug: the app
        # itself must keep client addresses out of what is printed.
        "--log-level", "debug",
        # uvicorn must hand over the real socket peer: forwarding headers are hoplink's job.
        "--no-proxy-headers",
    ]  # fmt: skip
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, env=child_env, stdout=out, stderr=subprocess.STDOUT, pass_fds=[sock.fileno()]
        )
    sock.close()
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        _wait_ready(server)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def _wait_ready(server: Server, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited: {server.log.read_text()[-2000:]}")
        try:
            httpx.get(f"{server.url}/ready-check", headers={"host": factories.DEFAULT_HOST})
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


async def create_link(db: Database, url: str = "https://shop.example.com/item/1?sku=2") -> Link:
    """A workspace on the default domain with one link, written before the server starts."""
    async with db.transaction() as tx:
        dom = await factories.domain(tx)
        ws = await factories.workspace(tx)
        return await service.create_link(
            tx, workspace=ws, domain=dom, spec=LinkSpec(url=url), actor=None, rules=LinkRules()
        )
