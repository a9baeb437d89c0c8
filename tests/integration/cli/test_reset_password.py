"""``hoplink user reset-password`` (issue 14): a one-time link that expires, stored hashed,
replacing earlier links; ``hoplink user two-factor-off``."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pyotp
from cli_harness import DOMAIN, Cli

from hoplink.accounts import recovery, totp
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


def test_two_factor_off_removes_the_factor_and_its_recovery_codes(cli: Cli) -> None:
    cli.ok("user", "create", "bob@example.com", "--password", "correct horse battery")

    async def enrol(tx: Tx) -> str:
        found = await tx.users.by_email("bob@example.com")
        assert found is not None
        box = totp.TotpBox(cli.settings.resolve_secret_key())
        secret = await totp.begin_enrolment(tx, user_id=found[0].id, box=box)
        code = pyotp.TOTP(secret).now()
        await totp.confirm_enrolment(tx, user_id=found[0].id, code=code, box=box)
        return found[0].id

    user_id = cli.query(enrol)

    async def state(tx: Tx) -> tuple[bool, int]:
        return await totp.is_enabled(tx, user_id), await tx.totp.recovery_codes_left(user_id)

    assert cli.query(state) == (True, 10)
    assert "is off" in cli.ok("user", "two-factor-off", "Bob@Example.com").stdout
    assert cli.query(state) == (False, 0)
    assert "had no two-factor" in cli.ok("user", "two-factor-off", "bob@example.com").stdout
    assert "no user" in cli.fails("user", "two-factor-off", "nobody@example.com").stderr
