"""Redis for tests: a prefix of the test's own on the shared server, or a redis-server of
the test's own on a free port for tests that make Redis go away (the shared one at 6379
must never be stopped)."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis

from dbs import REDIS_URL as SHARED_REDIS
from processes import free_port

REDIS_SERVER = "/usr/bin/redis-server"


@contextmanager
def key_prefix(url: str = SHARED_REDIS) -> Iterator[str]:
    """A prefix of this test's own on the shared Redis; its keys are deleted afterwards."""
    prefix = f"hltest:{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(url)
        try:
            keys = list(client.scan_iter(match=prefix + "*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


@dataclass
class PrivateRedis:
    """A redis-server of the test's own, which the test may stop and start again on the
    same port. With ``append_only`` it keeps its data across that (an fsync'd append-only
    file in ``workdir``, as a production Redis would); without, it starts empty again."""

    workdir: Path
    append_only: bool = False
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start, then wait until it answers PONG (not -LOADING the append-only file)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        persistence = ["--appendonly", "yes", "--appendfsync", "always"]
        self.process = subprocess.Popen(  # noqa: S603 - a fixed binary and our own arguments
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             *(persistence if self.append_only else ["--appendonly", "no"]),
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        """SIGTERM: Redis finishes its append-only file (if any) and exits."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def private_redis(workdir: Path, *, append_only: bool = False) -> Iterator[PrivateRedis]:
    """A started :class:`PrivateRedis`, killed at the end (nothing of it is kept)."""
    server = PrivateRedis(workdir, append_only=append_only)
    server.start()
    try:
        yield server
    finally:
        server.kill()
