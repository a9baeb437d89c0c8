"""``hoplink user reset-password`` (issue 14): a one-time link that expires, stored hashed,
replacing earlier links."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from cli_harness import DOMAIN, Cli

from hoplink.accounts import recovery
from hoplink.ids import utcnow
from hoplink.storage.tx import Tx


def _secret(stdout: str) -> str:
    match = re.search(rf"http://{re.escape(DOMAIN)}/app/reset/([A-Za-z0-9_-]{{43}})\s*$", stdout)
    assert match, stdout
    return match.group(1)


def test_reset_password_prints_a_one_time_expiring_link(cli: Cli) -> None:
    cli.ok("user", "create", "alice@example.com", "--password", "correct horse battery")
    first = _secret(cli.ok("user", "reset-password", "Alice@Example.com").stdout)
    second = _secret(
        cli.ok("user", "reset-password", "alice@example.com", "--minutes", "90").stdout
    )

    async def state(tx: Tx) -> tuple[object, object, list[str]]:
        old = await recovery.open_reset(tx, secret=first)
        new = await recovery.open_reset(tx, secret=second)
        rows = await tx.conn.exec_driver_sql("SELECT id, expires_at FROM password_resets")
        return old, new, [r[0] for r in rows]

    old, new, ids = cli.query(state)
    assert old is None  # the newer link replaced it
    assert new is not None
    reset, _ = new  # type: ignore[misc]
    assert timedelta(minutes=89) < reset.expires_at - utcnow() <= timedelta(minutes=90)
    assert hashlib.sha256(second.encode()).hexdigest() in ids and second not in ids
    result = cli.fails("user", "reset-password", "nobody@example.com")
    assert "no user with the e-mail address" in result.stderr
    assert cli.fails("user", "reset-password", "alice@example.com", "--minutes", "1", code=2)
