"""/healthz answers without I/O; /readyz checks the database, its schema and Redis."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import pytest
from obs_support import running
from sqlalchemy import text

from chaos import ChaosProxy
from dbs import REDIS_URL as SHARED_REDIS
from dbs import async_url
from hoplink.links.codes import RESERVED_CODES
from hoplink.storage.database import Database
from private_redis import key_prefix
from processes import free_port


def _checks(body: dict[str, object]) -> dict[str, dict[str, object]]:
    checks = body["checks"]
    assert isinstance(checks, list)
    return {c["name"]: c for c in checks}


def test_health_paths_are_reserved_codes() -> None:
    assert {"healthz", "readyz", "metrics"} <= RESERVED_CODES


async def test_ready_on_a_current_database(db_url: str, tmp_path: Path) -> None:
    async with running(db_url, tmp_path / "data") as app:
        live = await app.http.get("/healthz")
        assert live.status_code == 200
        assert live.json() == {"status": "ok"}
        ready = await app.http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.headers["cache-control"] == "no-store"
        body = ready.json()
        assert body["status"] == "ready"
        checks = _checks(body)
        assert set(checks) == {"database", "migrations"}  # no Redis configured
        assert all(c["ok"] for c in checks.values())
        backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
        assert checks["database"]["detail"] == backend
        head = await app.http.head("/readyz")
        assert head.status_code == 200 and head.content == b""
        assert (await app.http.post("/healthz")).status_code == 405


async def test_not_ready_when_the_schema_is_behind(db_url: str, tmp_path: Path) -> None:
    async with running(db_url, tmp_path / "data") as app:
        async with app.db.transaction() as tx:
            (revision,) = (
                await tx.conn.execute(text("SELECT version_num FROM alembic_version"))
            ).one()
            await tx.conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        try:
            ready = await app.http.get("/readyz")
            assert ready.status_code == 503
            checks = _checks(ready.json())
            assert checks["database"]["ok"] is True
            assert checks["migrations"]["ok"] is False
            assert checks["migrations"]["detail"] == f"at 0001, needs {revision}"
        finally:
            async with app.db.transaction() as tx:
                await tx.conn.execute(
                    text("UPDATE alembic_version SET version_num = :v"), {"v": revision}
                )
        assert (await app.http.get("/readyz")).status_code == 200


@pytest.mark.parametrize("mode", ["reset", "blackhole"])
async def test_not_ready_when_postgresql_is_unreachable(
    pg_database: str, tmp_path: Path, mode: Literal["reset", "blackhole"]
) -> None:
    where = urlsplit(pg_database)
    assert where.hostname is not None and where.port is not None
    async with ChaosProxy(where.hostname, where.port) as proxy:
        url = pg_database.replace(f":{where.port}/", f":{proxy.port}/", 1)
        async with running(url, tmp_path / "data", readiness_timeout=0.5) as app:
            assert (await app.http.get("/readyz")).status_code == 200
            await proxy.cut(mode)
            ready = await app.http.get("/readyz")
            assert ready.status_code == 503
            body = ready.json()
            assert body["status"] == "not ready"
            checks = _checks(body)
            assert checks["database"]["ok"] is False
            expected = "timed out after 0.5 s" if mode == "blackhole" else "unreachable ("
            assert str(checks["database"]["detail"]).startswith(expected)
            assert checks["migrations"]["ok"] is False
            assert "127.0.0.1" not in ready.text  # the body never names internal hosts
            # Liveness does no I/O: the process is fine, only its database is not.
            assert (await app.http.get("/healthz")).status_code == 200
            await proxy.restore()
            assert (await app.http.get("/readyz")).status_code == 200


async def test_not_ready_when_the_database_port_is_dead(pg_database: str, tmp_path: Path) -> None:
    """A runtime whose database moved to a port nothing listens on (as after a failover to
    a wrong address): the check fails fast with 503 instead of hanging."""
    async with running(pg_database, tmp_path / "data") as app:
        where = urlsplit(pg_database)
        bad = Database.from_url(
            async_url(pg_database.replace(f":{where.port}/", f":{free_port()}/", 1))
        )
        good, app.runtime.db = app.runtime.db, bad
        try:
            ready = await app.http.get("/readyz")
        finally:
            app.runtime.db = good
            await bad.dispose()
        assert ready.status_code == 503
        assert _checks(ready.json())["database"]["detail"] == "unreachable (ConnectionRefusedError)"


async def test_redis_is_checked_when_configured(pg_database: str, tmp_path: Path) -> None:
    with key_prefix() as prefix:
        async with running(
            pg_database, tmp_path / "data", redis_url=SHARED_REDIS, redis_key_prefix=prefix
        ) as app:
            ready = await app.http.get("/readyz")
            assert ready.status_code == 200, ready.text
            redis = _checks(ready.json())["redis"]
            assert redis["ok"] is True and redis["detail"] == "ok"


async def test_not_ready_when_redis_is_unreachable(pg_database: str, tmp_path: Path) -> None:
    async with running(
        pg_database,
        tmp_path / "data",
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        readiness_timeout=1.0,
    ) as app:
        ready = await app.http.get("/readyz")
        assert ready.status_code == 503
        checks = _checks(ready.json())
        assert checks["database"]["ok"] is True and checks["migrations"]["ok"] is True
        assert checks["redis"]["ok"] is False
        assert str(checks["redis"]["detail"]).startswith("unreachable (")
        assert (await app.http.get("/healthz")).status_code == 200
