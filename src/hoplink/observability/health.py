"""Health endpoints: ``/healthz`` (the process answers) and ``/readyz`` (it can do its job).

Liveness does no I/O, so a slow database never gets a healthy process restarted.
Readiness checks, each within ``readiness_timeout`` seconds and all at once: the database
answers, its schema is at this hoplink's migration head, and Redis answers when one is
configured. The JSON body lists every check; any failure makes it a 503. Failures are
described by kind only ("unreachable", "timed out"): the body is public and the
exception's text may name internal hosts, so the detail goes to the log.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson
from starlette.types import Receive, Scope, Send

from hoplink.storage import migrate

if TYPE_CHECKING:
    from hoplink.runtime import Runtime

log = logging.getLogger("hoplink.health")


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "ok": self.ok,
            "detail": self.detail,
            "ms": round(self.seconds * 1000, 1),
        }


@functools.cache
def _head() -> str | None:
    return migrate.head_revision()  # parses the migration scripts: once per process


async def _timed(
    name: str,
    probe: Callable[[], Awaitable[str]],
    timeout: float,  # noqa: ASYNC109 - one bound for every probe, reported in the body
) -> tuple[Check, str | None]:
    """Run one probe; (its check, the error text to log or None)."""
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            detail = await probe()
        return Check(name, True, detail, time.perf_counter() - start), None
    except TimeoutError:
        spent = time.perf_counter() - start
        return Check(name, False, f"timed out after {timeout:g} s", spent), "timed out"
    except Exception as exc:
        spent = time.perf_counter() - start
        return Check(name, False, f"unreachable ({type(exc).__name__})", spent), str(exc)


async def readiness(runtime: Runtime) -> list[Check]:
    """The checks above, run concurrently."""
    timeout = runtime.settings.readiness_timeout
    revision: list[str | None] = []

    async def database() -> str:
        revision.append(await migrate.current_revision(runtime.db.engine))
        return "sqlite" if runtime.db.is_sqlite else "postgresql"

    probes: list[tuple[str, Callable[[], Awaitable[str]]]] = [("database", database)]
    redis = runtime.redis
    if redis is not None:

        async def ping() -> str:
            await redis.ping()
            return "ok"

        probes.append(("redis", ping))
    results = await asyncio.gather(*(_timed(name, probe, timeout) for name, probe in probes))
    checks = [check for check, _ in results]
    for check, error in results:
        if error is not None:
            log.warning("readiness: %s %s: %s", check.name, check.detail, error)
    if checks[0].ok:
        current, head = revision[0], _head()
        ok = current == head
        detail = f"at {current}" if ok else f"at {current or 'nothing'}, needs {head}"
        checks.insert(1, Check("migrations", ok, detail, 0.0))
    else:
        checks.insert(1, Check("migrations", False, "unknown (database unreachable)", 0.0))
    return checks


class HealthEndpoints:
    """``/healthz`` and ``/readyz``; bound to the runtime once it has started."""

    def __init__(self) -> None:
        self.runtime: Runtime | None = None

    def bind(self, runtime: Runtime | None) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            await _json(send, 405, {"error": "use GET"}, method, [(b"allow", b"GET, HEAD")])
            return
        if scope["path"] == "/healthz":
            await _json(send, 200, {"status": "ok"}, method)
            return
        runtime = self.runtime
        if runtime is None:
            await _json(send, 503, {"status": "not started", "checks": []}, method)
            return
        checks = await readiness(runtime)
        ready = all(c.ok for c in checks)
        body: dict[str, object] = {
            "status": "ready" if ready else "not ready",
            "checks": [c.as_dict() for c in checks],
        }
        await _json(send, 200 if ready else 503, body, method)


async def _json(
    send: Send,
    status: int,
    body: dict[str, object],
    method: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    data = orjson.dumps(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        (b"cache-control", b"no-store"),
        *(extra or ()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else data})
