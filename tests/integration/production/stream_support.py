"""What the click-stream tests share: a durable redis-server of their own, hoplink
processes (`.venv/bin/hoplink serve|worker`) in production mode, a load generator, counts."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

import factories
from hoplink.links import service
from hoplink.links.models import Link
from hoplink.links.service import LinkSpec
from hoplink.storage.database import Database
from hoplink.storage.tables import clicks, rollup_link_days, rollup_link_hours

HOPLINK = str(Path(sys.executable).parent / "hoplink")
REDIS_SERVER = "/usr/bin/redis-server"
SECRET = "test-secret-key-" + "x" * 32


def async_url(url: str) -> str:
    """The postgresql:// URL of a test database with the driver hoplink's engine uses."""
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class DurableRedis:
    """A redis-server of the test's own with an append-only file, so that stopping and
    starting it again on the same port keeps the stream (as a production Redis would)."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(  # noqa: S603 - a fixed binary and our own arguments
            [
                REDIS_SERVER,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--dir", str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):  # not -LOADING
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        """SIGTERM: Redis finishes the append-only file and exits."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def durable_redis(workdir: Path) -> Iterator[DurableRedis]:
    server = DurableRedis(workdir)
    server.start()
    try:
        yield server
    finally:
        if server.process is not None:
            server.process.kill()
            server.process.wait(10)


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
        # Unknown codes are never asked for here; keep the load tests clear of 404 limits.
        "HOPLINK_LOG_LEVEL": "info",
    }
    env.update(extra)
    return env


@dataclass
class Proc:
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout: float = 20) -> int:
        return self.process.wait(timeout)

    def wait_for(self, needle: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.text():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{needle!r} not seen; output:\n{self.text()[-3000:]}")


@contextmanager
def hoplink(args: list[str], env: dict[str, str], log: Path) -> Iterator[Proc]:
    """`.venv/bin/hoplink <args>` as a child process; killed at the end if still running."""
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our own entry point and arguments
            [HOPLINK, *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    proc = Proc(process, log)
    try:
        yield proc
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(10)


async def create_link(db: Database) -> Link:
    async with db.transaction() as tx:
        dom = await factories.domain(tx)
        ws = await factories.workspace(tx)
        return await service.create_link(
            tx,
            workspace=ws,
            domain=dom,
            spec=LinkSpec(url="https://shop.example.com/item/1"),
            actor=None,
            code_length=7,
        )


async def counted(db: Database, link_id: str) -> tuple[int, int, int]:
    """(raw clicks, hourly rollup PV, daily rollup PV) of one link."""
    async with db.engine.connect() as conn:
        raw = await conn.scalar(select(func.count()).where(clicks.c.link_id == link_id))
        hours = await conn.scalar(
            select(func.coalesce(func.sum(rollup_link_hours.c.pv), 0)).where(
                rollup_link_hours.c.link_id == link_id
            )
        )
        days = await conn.scalar(
            select(func.coalesce(func.sum(rollup_link_days.c.pv), 0)).where(
                rollup_link_days.c.link_id == link_id
            )
        )
    return int(raw or 0), int(hours or 0), int(days or 0)


async def wait_counted(db: Database, link_id: str, expected: int, within: float = 20) -> None:
    """Until the link's raw clicks and rollups all say ``expected`` (or the time is up)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await counted(db, link_id) == (expected, expected, expected):
            return
        await asyncio.sleep(0.1)


@dataclass
class Load:
    """Concurrent GETs of one short link; counts the answers by status."""

    url: str
    path: str
    concurrency: int = 32
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    first_error_at: float | None = None

    @property
    def redirects(self) -> int:
        return self.statuses.get(302, 0)

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=self.concurrency)
        async with httpx.AsyncClient(
            base_url=self.url, limits=limits, timeout=10, headers={"host": factories.DEFAULT_HOST}
        ) as client:
            await asyncio.gather(*(self._one(client) for _ in range(self.concurrency)))

    async def _one(self, client: httpx.AsyncClient) -> None:
        while not self.stop.is_set():
            try:
                response = await client.get(self.path)
            except httpx.TransportError:
                self.errors += 1
                if self.first_error_at is None:
                    self.first_error_at = time.monotonic()
                await asyncio.sleep(0.01)
                continue
            self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1

    async def until(self, redirects: int, within: float = 20) -> None:
        deadline = time.monotonic() + within
        while self.redirects < redirects and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        assert self.redirects >= redirects, f"only {self.statuses} (errors {self.errors})"


def wait_http(url: str, timeout: float = 30, proc: Proc | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.process.poll() is not None:
            raise AssertionError(f"exited: {proc.text()[-3000:]}")
        try:
            httpx.get(f"{url}/ready-check", headers={"host": factories.DEFAULT_HOST}, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError("server did not start")


def stream_info(redis_url: str, key: str) -> dict[str, Any]:
    """XLEN and the group's pending count, via a throwaway synchronous client."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        groups = client.xinfo_groups(key) if client.exists(key) else []
        return {
            "length": client.xlen(key),
            "pending": sum(int(g["pending"]) for g in groups),
        }
    finally:
        client.close()
