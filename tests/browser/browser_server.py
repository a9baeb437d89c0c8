"""hoplink under a real uvicorn in a child process, for the browser tests.

The child runs ``uvicorn --factory hoplink.app:create_app_from_env``: the app from the
environment, with the embedded click worker on, as in ``hoplink serve``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
HOST = "hop.test"
SECRET = "browser-test-secret-" + "s" * 32
PASSWORD = "correct horse battery"
OWNER = "owner@shop.test"
VIEWER = "viewer@shop.test"
SLUG = "my-store"
TESTS = Path(__file__).resolve().parents[1]


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync test code. In a thread of its own: Playwright's
    sync API keeps an event loop running in the test's thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def _env(data_dir: Path) -> dict[str, str]:
    return {
        "HOPLINK_DATA_DIR": str(data_dir),
        "HOPLINK_DEFAULT_DOMAIN": HOST,
        "HOPLINK_SECRET_KEY": SECRET,
        "HOPLINK_EMBEDDED_WORKER": "true",
        "HOPLINK_WORKER_FLUSH_INTERVAL": "0.05",
        # Every workspace may add custom short domains (test_short_domains_phone.py).
        "HOPLINK_CUSTOM_DOMAINS": "automatic",
    }


async def _prepare(data_dir: Path) -> None:
    """Migrate the database and create the workspace, an owner and a viewer."""
    from hoplink.accounts.users import add_member, create_user
    from hoplink.config import load_settings
    from hoplink.runtime import Runtime
    from hoplink.workspaces.models import Role, WorkspaceStatus
    from hoplink.workspaces.service import create_workspace

    settings = load_settings(data_dir=data_dir, default_domain=HOST, secret_key=SECRET)
    runtime = await Runtime.start(settings)
    try:
        async with runtime.db.transaction() as tx:
            ws = await create_workspace(
                tx,
                name="My Store",
                slug=SLUG,
                status=WorkspaceStatus.VERIFIED,
                timezone="Asia/Shanghai",
            )
            for email, role in ((OWNER, Role.OWNER), (VIEWER, Role.VIEWER)):
                user = await create_user(tx, email=email, password=PASSWORD)
                await add_member(tx, user=user, workspace=ws, role=role)
    finally:
        await runtime.close()


@dataclass
class Server:
    url: str
    port: int
    data_dir: Path
    log: Path

    def short(self, code: str, **kw: Any) -> httpx.Response:
        """Follow a short link like a visitor's phone would reach the default domain."""
        headers = {"host": HOST, **kw.pop("headers", {})}
        return httpx.get(f"{self.url}/{code}", headers=headers, follow_redirects=False, **kw)


@contextmanager
def running_server(data_dir: Path, log: Path) -> Iterator[Server]:
    run_async(lambda: _prepare(data_dir))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    paths = [TESTS / "browser", TESTS / "integration" / "dashboard", TESTS]
    env = {
        **os.environ,
        **_env(data_dir),
        "PYTHONPATH": os.pathsep.join([*map(str, paths), os.environ.get("PYTHONPATH", "")]),
    }
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "hoplink.app:create_app_from_env",
        "--fd", str(sock.fileno()), "--log-level", "warning",
    ]  # fmt: skip
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
            command, env=env, stdout=out, stderr=subprocess.STDOUT, pass_fds=[sock.fileno()]
        )
    sock.close()
    server = Server(url=f"http://127.0.0.1:{port}", port=port, data_dir=data_dir, log=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{server.url}/app/signin").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
