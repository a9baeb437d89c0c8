"""``hoplink user signout-all`` (issue 15, finding 5) and unstorable arguments (finding 1-2)."""

from __future__ import annotations

from cli_harness import Cli

from hoplink.accounts import sessions
from hoplink.storage.tx import Tx


def test_signout_all_ends_every_session_of_the_user_only(cli: Cli) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme")
    for email in ("alice@example.com", "bob@example.com"):
        cli.ok(
            "user", "create", email, "--password", "correct horse battery", "--workspace", "acme"
        )

    async def sign_in_twice(tx: Tx) -> dict[str, str]:
        ids = {}
        for email in ("alice@example.com", "alice@example.com", "bob@example.com"):
            found = await tx.users.by_email(email)
            assert found is not None
            await sessions.start_session(tx, user_id=found[0].id)
            ids[email] = found[0].id
        return ids

    ids = cli.query(sign_in_twice)
    out = cli.ok("user", "signout-all", "Alice@Example.com").stdout
    assert "Ended 2 session(s) of Alice@Example.com" in out

    async def live(tx: Tx) -> dict[str, int]:
        return {e: len(await sessions.sessions_of(tx, user_id=i)) for e, i in ids.items()}

    assert cli.query(live) == {"alice@example.com": 0, "bob@example.com": 1}
    result = cli.fails("user", "signout-all", "nobody@example.com")
    assert "no user with the e-mail address" in result.stderr


def test_an_unstorable_argument_is_a_usage_error_naming_it(cli: Cli) -> None:
    result = cli.fails("workspace", "create", "Acme\x00", "--slug", "acme", code=2)
    assert "argument 3: must not contain the NUL character" in result.stderr
    result = cli.fails("workspace", "create", "Acme", "--slug", "ac\udcffme", code=2)
    assert "--slug: is not valid Unicode text" in result.stderr
    assert "acme" not in cli.ok("workspace", "list").stdout
