"""``hoplink db copy``: a populated SQLite installation moved to a fresh PostgreSQL database
(and back), compared row by row; refusals; the verification count failing the command."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cli_harness import Cli, cli_env
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text

import factories
from dbs import PG_ADMIN_URL, pg_url
from hoplink import audit
from hoplink.accounts.models import Scope
from hoplink.accounts.users import add_member, create_user
from hoplink.clicks.models import Click
from hoplink.clicks.salts import VisitorSalts
from hoplink.ingest.worker import Worker
from hoplink.links import service
from hoplink.links.campaigns import create_campaign
from hoplink.links.service import LinkSpec
from hoplink.links.spec import LinkEdit, LinkRules
from hoplink.storage import migrate
from hoplink.storage.copy import _reset_sequences, async_url
from hoplink.storage.database import Database, create_engine
from hoplink.storage.tables import metadata
from hoplink.workspaces.models import Role

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
PREVIEW = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"

# Tables the populated installation must have rows in, so the comparison means something.
# (Tables added later may stay empty here; they are still compared.)
POPULATED = {
    "workspaces",
    "users",
    "memberships",
    "api_keys",
    "domains",
    "campaigns",
    "links",
    "tags",
    "link_tags",
    "link_history",
    "visitor_salts",
    "clicks",
    "visitor_seen",
    "audit_log",
    *(t.name for t in metadata.sorted_tables if t.name.startswith("rollup_")),
}


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgresql://", "postgres://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def fresh_pg() -> Iterator[str]:
    """A brand-new, unmigrated PostgreSQL database (plain URL), dropped afterwards."""
    name = f"hoplink_copy_{secrets.token_hex(4)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    yield pg_url(name)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class _NoSource:
    """The worker's source is not used: batches are handed to ``Worker.process``."""

    async def read(self, max_items: int, timeout: float) -> tuple[list[Click], object]:  # noqa: ASYNC109
        raise AssertionError("not used")

    async def ack(self, token: object) -> None:
        raise AssertionError("not used")


async def _populate(db: Database) -> None:
    """An installation in use: accounts, links with everything, and clicks through the worker."""
    async with db.transaction() as tx:
        dom = await factories.domain(tx)
        ws = await factories.workspace(
            tx, name="Shenzhen Store", param_template={"aff": "{seller_id}"}, seller_id="S-1"
        )
        other = await factories.workspace(tx, name="Other Shop", custom_channels=["line"])
        await factories.api_key(tx, ws, frozenset({Scope.LINKS_READ}))
        admin = await create_user(
            tx, email="admin@example.com", password="correct horse battery", is_platform_admin=True
        )
        await add_member(tx, user=admin, workspace=ws, role=Role.OWNER)
        await add_member(tx, user=admin, workspace=other, role=Role.VIEWER)
        camp = await create_campaign(tx, workspace_id=ws.id, name="双11 大促", external_id="fb-9")
        links = []
        for i in range(30):
            spec = LinkSpec(
                url=f"https://shop.example.com/item/{i}?sku=é{i}",
                utm={"utm_source": "facebook", "utm_campaign": "spring sale"},
                channel="facebook" if i % 2 else "tiktok",
                campaign_id=camp.id if i % 3 == 0 else None,
                tags=["q4", f"t{i % 4}"],
                title=f"Item {i}" if i % 5 else None,
                forward_query=i % 7 == 0,
            )
            links.append(
                await service.create_link(
                    tx, workspace=ws, domain=dom, spec=spec, actor="test", rules=LinkRules()
                )
            )
        await service.update_link(
            tx, workspace=ws, link_id=links[0].id, edit=LinkEdit(archived=True), actor="ed"
        )
        await service.update_link(
            tx, workspace=ws, link_id=links[1].id, edit=LinkEdit(title="Renamed"), actor="ed"
        )
        await service.delete_link(tx, workspace=ws, link_id=links[2].id)
        # A table added after this test was written (JSON detail, nullable columns).
        await audit.record(
            tx,
            action="link.ban",
            actor=None,
            workspace_id=ws.id,
            target=links[3].id,
            detail={"reason": "phishing — 钓鱼"},
        )

    now = time.time()
    salts = VisitorSalts(db, secret_key="copy-test", clock=lambda: now)
    await salts.prepare()
    key = await salts.key_at(now)
    assert key
    clicks = [
        Click(
            click_id=f"clk{i:08d}",
            ts=now - 7200 + i * 5,
            link_id=links[i % 10].id,
            workspace_id=ws.id,
            domain=factories.DEFAULT_HOST,
            method="HEAD" if i % 11 == 0 else "GET",
            user_agent=PREVIEW if i % 13 == 0 else PHONE,
            referrer="https://m.facebook.com/story.php?id=1" if i % 2 else "",
            accept_language="zh-CN,zh;q=0.9",
            country="CN" if i % 3 else None,
            visitor_hash=f"v{i % 17}",
        )
        for i in range(600)
    ]
    worker = Worker(db=db, source=_NoSource())
    for i in range(0, len(clicks), 200):
        await worker.process(clicks[i : i + 200])


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, as the schema's types read them, in a stable order."""

    async def read() -> dict[str, list[tuple[Any, ...]]]:
        engine = create_engine(async_url(url))
        try:
            out = {}
            async with engine.connect() as conn:
                for table in metadata.sorted_tables:
                    rows = (await conn.execute(select(table))).all()
                    out[table.name] = sorted((tuple(r) for r in rows), key=repr)
            return out
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _on_target(url: str, *statements: str, upgrade: bool = True) -> None:
    """Migrate the target (as `hoplink db upgrade` would) and run SQL on it."""

    async def run() -> None:
        engine = create_engine(async_url(url))
        try:
            if upgrade:
                await migrate.upgrade(engine)
            async with engine.begin() as conn:
                for sql in statements:
                    await conn.execute(text(sql))
        finally:
            await engine.dispose()

    asyncio.run(run())


def _revision(url: str) -> str | None:
    async def read() -> str | None:
        engine = create_engine(async_url(url))
        try:
            return await migrate.current_revision(engine)
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.fixture
def populated(sqlite_template: Path, tmp_path: Path) -> str:
    """An embedded installation in use (plain sqlite:// URL)."""
    path = tmp_path / "embedded.db"
    shutil.copy(sqlite_template, path)

    async def fill() -> None:
        db = Database.from_url(f"sqlite+aiosqlite:///{path}")
        try:
            await _populate(db)
        finally:
            await db.dispose()

    asyncio.run(fill())
    return f"sqlite:///{path}"


def _cli(tmp_path: Path, url: str) -> Cli:
    return Cli(cli_env(url, tmp_path / "data"))


def test_sqlite_to_postgresql_and_back_keeps_every_row(
    populated: str, fresh_pg: str, tmp_path: Path
) -> None:
    cli = _cli(tmp_path, populated)
    result = cli.ok("db", "copy", "--from", populated, "--to", fresh_pg, "--batch-size", "64")
    assert "copied" in result.output and "verified" in result.output
    assert "DIFFERENT" not in result.output

    source = _rows(populated)
    empty = sorted(n for n in POPULATED if not source[n])
    assert empty == [], f"the fixture left {empty} empty"
    on_pg = _rows(fresh_pg)
    for name, rows in source.items():
        assert on_pg[name] == rows, name
        assert f"{name} " in result.output  # one verification line per table

    # Back to a new SQLite file (tests and rollbacks go this way).
    back = f"sqlite:///{tmp_path / 'back.db'}"
    cli.ok("db", "copy", "--from", fresh_pg, "--to", back)
    assert _rows(back) == source

    # The copy is a working installation: hoplink opens it and finds the links.
    pg_cli = _cli(tmp_path, fresh_pg)
    pg_cli.ok("db", "current", "--check")
    listed = pg_cli.ok("link", "list", "--workspace", "shenzhen-store")
    assert "shop.example.com/item/29" in listed.output


def test_a_non_empty_target_is_refused_and_left_alone(
    populated: str, fresh_pg: str, tmp_path: Path
) -> None:
    cli = _cli(tmp_path, populated)
    cli.ok("db", "copy", "--from", populated, "--to", fresh_pg)
    before = _rows(fresh_pg)

    result = cli.fails("db", "copy", "--from", populated, "--to", fresh_pg)
    assert "not empty" in result.output
    assert "clicks: 600 rows" in result.output
    assert "dropdb" in result.output  # how to start again
    assert _rows(fresh_pg) == before

    same = cli.fails("db", "copy", "--from", populated, "--to", populated)
    assert "same database" in same.output

    missing = tmp_path / "typo.db"
    gone = cli.fails("db", "copy", "--from", f"sqlite:///{missing}", "--to", fresh_pg)
    assert f"no SQLite database at {missing}" in gone.output
    assert not missing.exists()  # not created by looking


def test_a_row_count_that_differs_fails_the_command(
    populated: str, fresh_pg: str, tmp_path: Path
) -> None:
    """A trigger on the target silently drops one click: the verification must notice."""
    _on_target(
        fresh_pg,
        "CREATE FUNCTION drop_one() RETURNS trigger AS $$ BEGIN"
        " IF NEW.click_id = 'clk00000007' THEN RETURN NULL; END IF;"
        " RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER drop_one BEFORE INSERT ON clicks FOR EACH ROW EXECUTE FUNCTION drop_one()",
    )

    result = _cli(tmp_path, populated).fails("db", "copy", "--from", populated, "--to", fresh_pg)
    [line] = [ln for ln in result.output.splitlines() if "DIFFERENT" in ln]
    assert line.split() == ["clicks", "600", "599", "DIFFERENT"]
    assert "verification failed" in result.output


def test_a_failed_copy_leaves_the_target_empty_so_it_can_be_run_again(
    populated: str, fresh_pg: str, tmp_path: Path
) -> None:
    """The target is written in one transaction: an error in the LAST table rolls back all."""
    source = _rows(populated)
    last = [t.name for t in metadata.sorted_tables if source[t.name]][-1]
    _on_target(
        fresh_pg,
        "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN"
        " RAISE EXCEPTION 'disk full (simulated)'; END $$ LANGUAGE plpgsql",
        f"CREATE TRIGGER refuse BEFORE INSERT ON {last} EXECUTE FUNCTION refuse()",
    )

    cli = _cli(tmp_path, populated)
    failed = cli.fails("db", "copy", "--from", populated, "--to", fresh_pg)
    assert "disk full (simulated)" in failed.output
    assert "target is unchanged" in failed.output
    assert all(rows == [] for rows in (_rows(fresh_pg)).values())

    _on_target(fresh_pg, f"DROP TRIGGER refuse ON {last}", upgrade=False)
    cli.ok("db", "copy", "--from", populated, "--to", fresh_pg)
    assert _rows(fresh_pg) == source


def test_a_source_behind_the_schema_is_refused(
    populated: str, fresh_pg: str, tmp_path: Path
) -> None:
    old = f"sqlite:///{tmp_path / 'old.db'}"

    async def old_schema() -> None:
        engine = create_engine(async_url(old))
        try:
            await migrate.upgrade(engine, "0003")
        finally:
            await engine.dispose()

    asyncio.run(old_schema())
    result = _cli(tmp_path, populated).fails("db", "copy", "--from", old, "--to", fresh_pg)
    assert "source schema is at 0003" in result.output
    assert "hoplink db upgrade" in result.output
    assert _revision(fresh_pg) is None  # not even migrated


def test_postgresql_sequences_move_past_copied_ids(fresh_pg: str) -> None:
    """No hoplink table has a serial column today; one added later must keep working
    after a copy (explicit ids were inserted, the sequence must not hand them out again)."""
    events = Table(
        "copy_seq_probe",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("name", String(10)),
    )

    async def run() -> list[int]:
        engine = create_engine(async_url(fresh_pg))
        try:
            async with engine.begin() as conn:
                await conn.run_sync(events.metadata.create_all)
                await conn.execute(insert(events), [{"id": i, "name": "old"} for i in (1, 2, 7)])
                await _reset_sequences(conn, events)
                new = await conn.execute(
                    insert(events).returning(events.c.id), [{"name": "new"}, {"name": "new"}]
                )
                return sorted(new.scalars())
        finally:
            await engine.dispose()

    assert asyncio.run(run()) == [8, 9]
