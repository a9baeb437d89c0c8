"""What the accounts features (issue 14) cost per request, on SQLite and PostgreSQL.

- ``viewer check``: the two reads every workspace page now makes before anything else
  (the workspace's two-factor rule, and whether the user has a second factor), inside the
  read transaction the page opens anyway (``dashboard/context.load_viewer``), so the
  figure is what the feature adds to a page; 1,000 users, half
  with a second factor, 200 workspaces, a quarter requiring one.
- ``totp verify``: checking a six-digit code (``matching_step``: three HMAC-SHA1 codes
  compared) plus the conditional UPDATE that makes it single-use, in a write transaction.
- ``argon2 hash`` and ``verify``: a password change or a sign-in (argon2-cffi defaults),
  for scale.

Figures: p50 / p95 / mean in milliseconds over ``--n`` runs after 20 warm-up runs.

    .venv/bin/python bench/accounts.py [--only sqlite|postgresql] [--n 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pyotp

from hoplink.accounts import totp
from hoplink.accounts.passwords import hash_password, verify_password
from hoplink.ids import new_id, utcnow
from hoplink.storage.database import Database
from hoplink.storage.migrate import upgrade
from hoplink.storage.tables import user_totp, users, workspace_security, workspaces

PG = "postgresql://127.0.0.1:5432"


def _figures(name: str, samples: list[float]) -> None:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[int(len(ms) * 0.95) - 1]
    print(
        f"  {name:<14} p50 {statistics.median(ms):7.3f} ms   p95 {p95:7.3f} ms"
        f"   mean {statistics.fmean(ms):7.3f} ms   (n={len(ms)})"
    )


async def _time(n: int, work: Callable[[], Awaitable[object]]) -> list[float]:
    for _ in range(20):
        await work()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await work()
        out.append(time.perf_counter() - start)
    return out


async def _seed(db: Database, box: totp.TotpBox) -> tuple[list[str], list[str], str]:
    now = utcnow()
    user_ids = [new_id("usr") for _ in range(1000)]
    ws_ids = [new_id("wsp") for _ in range(200)]
    secret = pyotp.random_base32()
    async with db.transaction() as tx:
        await tx.conn.execute(
            users.insert(),
            [
                {"id": u, "email": f"u{i}@bench.test", "password_hash": "x",
                 "is_platform_admin": False, "created_at": now}
                for i, u in enumerate(user_ids)
            ],
        )  # fmt: skip
        await tx.conn.execute(
            workspaces.insert(),
            [
                {"id": w, "slug": f"ws-{i}", "name": f"WS {i}", "timezone": "UTC",
                 "status": "verified", "created_at": now}
                for i, w in enumerate(ws_ids)
            ],
        )  # fmt: skip
        await tx.conn.execute(
            user_totp.insert(),
            [
                {"user_id": u, "secret_sealed": box.seal(secret), "created_at": now,
                 "confirmed_at": now, "last_step": 0}
                for u in user_ids[::2]
            ],
        )  # fmt: skip
        await tx.conn.execute(
            workspace_security.insert(),
            [{"workspace_id": w, "require_totp": True, "updated_at": now} for w in ws_ids[::4]],
        )
    return user_ids, ws_ids, secret


async def _run(label: str, db: Database, n: int) -> None:
    box = totp.TotpBox(secrets.token_urlsafe(32))
    user_ids, ws_ids, secret = await _seed(db, box)
    print(f"{label}:")

    # Inside the read transaction the page opens anyway: only the two reads are added.
    async with db.transaction(write=False) as tx:

        async def viewer_check() -> object:
            required = await tx.workspace_security.requires_totp(random.choice(ws_ids))
            enabled = await totp.is_enabled(tx, random.choice(user_ids))
            return required and enabled

        _figures("viewer check", await _time(n, viewer_check))
    step = [int(time.time() // 30) * 100]  # advance beyond any real step: always accepted
    app = pyotp.TOTP(secret)

    async def verify_code() -> object:  # the app's code is made here too (one HMAC more)
        assert totp.matching_step(secret, app.now()) is not None
        step[0] += 1
        async with db.transaction() as tx:
            return await tx.totp.advance(user_ids[0], step[0])

    _figures("totp verify", await _time(n, verify_code))


async def _sqlite(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.from_url(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        try:
            await upgrade(db.engine)
            await _run("SQLite (file, WAL)", db, n)
        finally:
            await db.dispose()


async def _postgres(n: int) -> None:
    name = f"hoplink_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(f"{PG}/test")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        db = Database.from_url(f"postgresql+asyncpg://127.0.0.1:5432/{name}")
        try:
            await upgrade(db.engine)
            await _run("PostgreSQL (127.0.0.1)", db, n)
        finally:
            await db.dispose()
    finally:
        await admin.execute(f'DROP DATABASE "{name}"')
        await admin.close()


def _argon2(n: int) -> None:
    print("argon2 (one core, for scale):")
    hashed = hash_password("correct horse battery")
    samples = []
    for _ in range(max(5, n // 100)):
        start = time.perf_counter()
        hash_password("correct horse battery")
        samples.append(time.perf_counter() - start)
    _figures("argon2 hash", samples)
    samples = []
    for _ in range(max(5, n // 100)):
        start = time.perf_counter()
        verify_password(hashed, "correct horse battery")
        samples.append(time.perf_counter() - start)
    _figures("argon2 verify", samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    if args.only in (None, "sqlite"):
        asyncio.run(_sqlite(args.n))
    if args.only in (None, "postgresql"):
        asyncio.run(_postgres(args.n))
    _argon2(args.n)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
