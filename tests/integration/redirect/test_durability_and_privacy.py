"""A real uvicorn child process: kill -9 under load, restart, and no IP written anywhere."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import text
from uvicorn_server import Server, create_link, uvicorn_server

import factories
from clickids import without_click_id
from hoplink.clicks.models import Click
from hoplink.ingest.journal import ClickJournal
from hoplink.links.models import Link
from hoplink.storage.database import Database

CONCURRENCY = 16


async def journaled(data_dir: Path) -> list[Click]:
    """Everything in the journal, read by a fresh consumer (as after a restart)."""
    journal = ClickJournal(data_dir / "journal", write=False)
    out: list[Click] = []
    while clicks := (await journal.read(10_000, timeout=0))[0]:
        out.extend(clicks)
    await journal.close()
    return out


async def hammer(
    server: Server,
    link: Link,
    user_agents: list[str],
    *,
    extra_headers: Callable[[int], dict[str, str]] = lambda _n: {},
    after_each: Callable[[list[str]], None] = lambda _got: None,
) -> list[str]:
    """Send one GET per user agent; return the user agents whose 302 came back."""
    received: list[str] = []
    pending = iter(enumerate(user_agents))
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=10) as http:

        async def client() -> None:
            for n, ua in pending:
                if server.process.poll() is not None:
                    return
                headers = {"host": factories.DEFAULT_HOST, "user-agent": ua, **extra_headers(n)}
                try:
                    r = await http.get(f"/{link.code}", headers=headers)
                except httpx.TransportError:
                    continue
                if (
                    r.status_code == 302
                    and without_click_id(r.headers["location"]) == link.final_url
                ):
                    received.append(ua)
                    after_each(received)

        await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return received


async def test_kill_9_under_load_then_restart_loses_and_duplicates_no_click(
    sqlite_db_url: str, tmp_path: Path
) -> None:
    db = Database.from_url(sqlite_db_url.replace("sqlite://", "sqlite+aiosqlite://", 1))
    link = await create_link(db)
    await db.dispose()
    data, log = tmp_path / "data", tmp_path / "server.log"
    sent = [f"before-kill/{n}" for n in range(600)]

    with uvicorn_server(db_url=sqlite_db_url, data_dir=data, log=log) as server:

        def kill_halfway(got: list[str]) -> None:
            if len(got) == 250:
                server.kill()

        received = await hammer(server, link, sent, after_each=kill_halfway)
        assert server.process.returncode == -9
    assert len(received) >= 250

    clicks = await journaled(data)
    agents = [c.user_agent for c in clicks]
    assert len({c.click_id for c in clicks}) == len(clicks)  # nothing duplicated
    assert len(set(agents)) == len(agents)
    assert set(received) <= set(agents)  # every 302 a client got was counted: 0 lost
    # Clicks journaled whose 302 never arrived were in flight when the process died.
    assert len(set(agents) - set(received)) <= CONCURRENCY
    assert set(agents) <= set(sent)

    with uvicorn_server(db_url=sqlite_db_url, data_dir=data, log=log) as server:
        later = await hammer(server, link, [f"after-restart/{n}" for n in range(40)])
        assert server.stop()
    assert len(later) == 40
    everything = await journaled(data)
    assert len({c.click_id for c in everything}) == len(everything) == len(clicks) + 40
    assert [c.user_agent for c in everything[: len(clicks)]] == agents


def _distinct_ips(count: int) -> list[str]:
    rng = random.Random(20261127)
    ips: set[str] = set()
    while len(ips) < count:
        if len(ips) % 5 == 4:
            a, b = rng.randrange(0x1000, 0xFFFF), rng.randrange(0x1000, 0xFFFF)
            ips.add(f"2a03:2880:{a:x}::{b:x}")
        else:
            # Two or three digits per octet, public ranges: never a substring of anything else.
            ips.add(".".join(str(rng.randrange(11, 224)) for _ in range(4)))
    return sorted(ips)


def _everything_under(root: Path) -> tuple[list[Path], bytes]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return files, b"\n".join(p.read_bytes() for p in files)


async def _database_text(db: Database) -> str:
    """Every row of every table, as text (PostgreSQL; SQLite is searched as its files)."""
    async with db.engine.connect() as conn:
        names = (
            await conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
        ).scalars()
        parts: list[str] = []
        for name in list(names):
            rows = await conn.execute(text(f'SELECT t::text FROM "{name}" t'))
            parts.extend(row[0] for row in rows)
    return "\n".join(parts)


async def test_no_ip_address_is_written_to_the_database_journal_or_logs(
    db_url: str, db: Database, tmp_path: Path
) -> None:
    link = await create_link(db)
    ips = _distinct_ips(1000)
    data, log = tmp_path / "data", tmp_path / "server.log"
    # The whole pipeline runs: the embedded worker writes raw clicks and rollups.
    env = {"HOPLINK_TRUSTED_PROXIES": "127.0.0.1/32", "HOPLINK_EMBEDDED_WORKER": "true"}
    with uvicorn_server(db_url=db_url, data_dir=data, log=log, env=env) as server:
        received = await hammer(
            server,
            link,
            [f"Mozilla/5.0 (privacy test {n:04d})" for n in range(len(ips))],
            extra_headers=lambda n: {"x-forwarded-for": ips[n]},
        )
        assert server.stop()  # the worker drains on SIGTERM
    assert len(received) == len(ips)
    async with db.engine.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM clicks")) == len(ips)
    # The worker acknowledged everything; read the journal again from its start.
    (data / "journal" / "consumer.offset").unlink()
    clicks = await journaled(data)
    assert len(clicks) == len(ips)
    # The forwarded addresses were used (each one a different visitor) ...
    assert len({c.visitor_hash for c in clicks}) == len(ips)
    # ... and are nowhere: not in the SQLite files, the journal, the logs.
    files, blob = _everything_under(tmp_path)
    assert any(p.suffix == ".seg" for p in files) and log in files
    leaked = [ip for ip in ips if ip.encode() in blob]
    if not db.is_sqlite:
        dump = await _database_text(db)
        assert link.id in dump  # the dump does see the data
        leaked += [ip for ip in ips if ip in dump]
    assert leaked == []
