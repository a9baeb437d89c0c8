"""The admin commands end to end: workspaces, users, API keys, links, and their errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_harness import DOMAIN, Cli, cli_env

from hoplink.accounts import apikeys
from hoplink.accounts.models import ApiKey, Scope
from hoplink.accounts.passwords import verify_password
from hoplink.cli.main import app
from hoplink.errors import AuthenticationFailed
from hoplink.links.models import LinkQuery
from hoplink.storage.tx import Tx
from hoplink.workspaces.models import Role, WorkspaceStatus

PRODUCT = "https://shop.example.com/item/1005006?sku=red"
KEY_RE = re.compile(r"hl_[0-9A-Za-z]{10}_[0-9A-Za-z]{32}")


def _ws_status(cli: Cli, slug: str) -> WorkspaceStatus:
    async def get(tx: Tx) -> WorkspaceStatus:
        ws = await tx.workspaces.find(slug)
        assert ws is not None
        return ws.status

    return cli.query(get)


def test_workspace_create_list_verify_suspend(cli: Cli) -> None:
    out = cli.ok(
        "workspace", "create", "Acme Store", "--slug", "acme", "--seller-id", "S1001",
        "--timezone", "Asia/Shanghai", "--param", "aff_seller={seller_id}",
    ).stdout  # fmt: skip
    assert "Created workspace acme (ws_" in out
    assert "hoplink workspace verify acme" in out
    cli.ok("workspace", "create", "Beta Shop")

    listing = cli.ok("workspace", "list").stdout
    lines = [line for line in listing.splitlines() if "ws_" in line]
    assert len(lines) == 2
    assert all(h in listing for h in ("id", "slug", "name", "seller id", "status", "created"))
    assert re.search(r"ws_\w{16}\s+acme\s+Acme Store\s+S1001\s+unverified\s+\d{4}-", lines[0])
    assert "beta-shop" in lines[1]

    assert cli.ok("workspace", "verify", "acme").stdout.strip() == "acme is now verified"
    assert _ws_status(cli, "acme") is WorkspaceStatus.VERIFIED
    assert "suspended" in cli.ok("workspace", "suspend", "acme").stdout
    assert _ws_status(cli, "acme") is WorkspaceStatus.SUSPENDED
    assert re.search(r"acme\s+Acme Store\s+S1001\s+suspended", cli.ok("workspace", "list").stdout)


def test_workspace_is_found_by_id_as_well_as_slug(cli: Cli) -> None:
    out = cli.ok("workspace", "create", "Acme Store", "--verified").stdout
    ws_id = re.search(r"\((ws_\w+)\)", out)
    assert ws_id is not None and "verified" in out
    assert "acme-store is now suspended" in cli.ok("workspace", "suspend", ws_id.group(1)).stdout


def test_workspace_create_reports_every_bad_field(cli: Cli) -> None:
    result = cli.fails(
        "workspace", "create", "Acme", "--slug", "A!", "--seller-id", "has space",
        "--timezone", "Mars/Olympus",
    )  # fmt: skip
    for field in ("slug: ", "seller_id: ", "timezone: 'Mars/Olympus' is not an IANA time zone"):
        assert field in result.stderr
    assert result.stdout == ""
    assert cli.ok("workspace", "list").stdout.startswith("No workspaces yet")


def test_workspace_param_must_be_key_value(cli: Cli) -> None:
    result = cli.fails("workspace", "create", "Acme", "--param", "novalue", code=2)
    assert "KEY=VALUE" in result.stderr


def test_duplicate_slug_is_a_conflict(cli: Cli) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme")
    result = cli.fails("workspace", "create", "Acme again", "--slug", "acme")
    assert "a workspace with slug 'acme' already exists" in result.stderr


def test_user_create_reads_password_from_stdin_and_joins_workspace(cli: Cli) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme")
    out = cli.ok(
        "user", "create", "Alice@Example.com", "--password-stdin",
        "--workspace", "acme", "--role", "admin",
        input="correct horse battery\n",
    ).stdout  # fmt: skip
    assert re.match(r"Created user alice@example\.com \(usr_\w+\), admin of acme", out)

    async def check(tx: Tx) -> tuple[bool, bool, Role | None]:
        found = await tx.users.by_email("alice@example.com")
        assert found is not None
        user, password_hash = found
        ws = await tx.workspaces.find("acme")
        assert ws is not None
        membership = await tx.users.membership(user.id, ws.id)
        return (
            user.is_platform_admin,
            verify_password(password_hash, "correct horse battery"),
            membership.role if membership else None,
        )

    assert cli.query(check) == (False, True, Role.ADMIN)

    again = cli.fails("user", "create", "alice@example.com", "--password", "another password")
    assert "already exists" in again.stderr


def test_user_create_platform_admin_with_default_role(cli: Cli) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme")
    out = cli.ok(
        "user", "create", "ops@example.com", "--admin", "--password", "0123456789",
        "--workspace", "acme",
    ).stdout  # fmt: skip
    assert out.startswith("Created platform admin ops@example.com")
    assert "member of acme" in out


def test_user_create_refuses_weak_password_and_bad_email(cli: Cli) -> None:
    result = cli.fails("user", "create", "alice@example.com", "--password", "short")
    assert "password: must be at least 10 characters long" in result.stderr
    result = cli.fails("user", "create", "not-an-email", "--password", "long enough pw")
    assert "email: is not a valid e-mail address" in result.stderr


def test_user_create_without_a_terminal_needs_password_stdin(cli: Cli) -> None:
    result = cli.fails("user", "create", "alice@example.com", code=2)
    assert "--password-stdin" in result.stderr
    result = cli.fails("user", "create", "a@example.com", "--role", "owner", code=2)
    assert "--role needs --workspace" in result.stderr


def _authenticate(cli: Cli, raw: str) -> ApiKey:
    async def auth(tx: Tx) -> ApiKey:
        return await apikeys.authenticate(tx, raw)

    return cli.query(auth)


def test_apikey_create_authenticates_and_revoke_refuses_it(cli: Cli) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme", "--verified")
    raw = cli.ok(
        "apikey", "create", "--workspace", "acme", "--name", "zapier",
        "--scope", "links:read", "--scope", "links:write", "--quiet",
    ).stdout.strip()  # fmt: skip
    assert KEY_RE.fullmatch(raw)
    key = _authenticate(cli, raw)
    assert key.scopes == {Scope.LINKS_READ, Scope.LINKS_WRITE}
    assert key.name == "zapier"

    listing = cli.ok("apikey", "list", "--workspace", "acme").stdout
    assert raw not in listing
    assert re.search(
        rf"{key.id}\s+{key.prefix}\s+zapier\s+links:read links:write\s+\d{{4}}-", listing
    )

    assert "Revoked" in cli.ok("apikey", "revoke", key.id, "--workspace", "acme").stdout
    with pytest.raises(AuthenticationFailed):
        _authenticate(cli, raw)
    listing = cli.ok("apikey", "list", "-w", "acme").stdout
    [row] = [line for line in listing.splitlines() if key.id in line]
    assert re.search(r"\s+-\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}$", row.rstrip())  # never used, revoked

    missing = cli.fails("apikey", "revoke", "key_doesnotexist0000", "--workspace", "acme")
    assert "no such API key in this workspace" in missing.stderr


def test_apikey_create_shows_the_key_once_with_a_warning(cli: Cli) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme")
    out = cli.ok(
        "apikey", "create", "--workspace", "acme", "--scope", "links:read",
        "--scope", "links:write", "--scope", "stats:read",
    ).stdout  # fmt: skip
    [raw] = KEY_RE.findall(out)
    assert "links:read, links:write, stats:read" in out
    assert "only time the key is shown" in out
    assert _authenticate(cli, raw).scopes == {Scope.LINKS_READ, Scope.LINKS_WRITE, Scope.STATS_READ}


def test_apikey_create_needs_a_known_scope(cli: Cli) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme")
    result = cli.fails("apikey", "create", "-w", "acme", "--scope", "admin", code=2)
    assert "links:read" in result.stderr
    result = cli.fails("apikey", "create", "-w", "acme", code=2)
    assert "--scope" in result.stderr


def test_link_create_prints_short_url_and_encoded_final_url(cli: Cli) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme", "--seller-id", "S1",
           "--param", "aff={seller_id}", "--verified")  # fmt: skip
    out = cli.ok(
        "link", "create", PRODUCT, "--workspace", "acme",
        "--utm-source", "facebook", "--utm-medium", "social", "--utm-campaign", "双11 大促",
        "--channel", "Facebook", "--tag", "summer", "--tag", "shoes", "--title", "Red shoes",
    ).stdout  # fmt: skip
    short = re.search(rf"^short URL\s+(http://{DOMAIN}/(\w{{7}}))$", out, re.M)
    assert short is not None
    final = re.search(r"^final URL\s+(\S+)$", out, re.M)
    assert final is not None
    assert final.group(1) == (
        PRODUCT + "&aff=S1&utm_source=facebook&utm_medium=social"
        "&utm_campaign=%E5%8F%8C11%20%E5%A4%A7%E4%BF%83"
    )

    custom = cli.ok("link", "create", "https://shop.example.com/item/2", "-w", "acme",
                    "--code", "summer-sale", "--channel", "tiktok").stdout  # fmt: skip
    assert f"http://{DOMAIN}/summer-sale" in custom
    taken = cli.fails("link", "create", "https://shop.example.com/item/3", "-w", "acme",
                      "--code", "summer-sale")  # fmt: skip
    assert "code: 'summer-sale' is already taken" in taken.stderr

    listing = cli.ok("link", "list", "-w", "acme").stdout
    assert listing.index("summer-sale") < listing.index(short.group(1))  # newest first
    row = rf"{short.group(1)}\s+Red shoes\s+{re.escape(PRODUCT)}\s+facebook\s+shoes, summer"
    assert re.search(row, listing)
    only = cli.ok("link", "list", "-w", "acme", "--channel", "tiktok").stdout
    assert "summer-sale" in only and short.group(2) not in only
    tagged = cli.ok("link", "list", "-w", "acme", "--tag", "shoes").stdout
    assert short.group(2) in tagged and "summer-sale" not in tagged
    found = cli.ok("link", "list", "-w", "acme", "--search", "RED SHOES").stdout
    assert short.group(2) in found and "summer-sale" not in found
    assert "No links in acme match" in cli.ok("link", "list", "-w", "acme", "--tag", "x").stdout
    limited = cli.ok("link", "list", "-w", "acme", "--limit", "1").stdout
    assert "1 of 2 links" in limited


def test_a_command_run_without_the_servers_domain_leaves_the_default_domain(cli: Cli) -> None:
    """An operator's shell often lacks the server's HOPLINK_DEFAULT_DOMAIN (the README's
    commands name only the data directory or database): an administering command then
    took localhost:8080 as the platform default, and every link the running server made
    afterwards got a short URL that answered 404 (QA finding)."""
    cli.ok("workspace", "create", "Acme", "--slug", "acme", "--verified")
    shell = Cli({k: v for k, v in cli.env.items() if k != "HOPLINK_DEFAULT_DOMAIN"})
    shell.ok("apikey", "create", "-w", "acme", "--scope", "links:read", "--quiet")
    out = shell.ok("link", "create", PRODUCT, "-w", "acme", "--code", "from-shell").stdout
    assert f"http://{DOMAIN}/from-shell" in out

    async def default_host(tx: Tx) -> str | None:
        domain = await tx.short_domains.default()
        return domain.hostname if domain else None

    assert cli.query(default_host) == DOMAIN


def test_link_create_names_each_bad_field(cli: Cli) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme", "--verified")
    result = cli.fails(
        "link", "create", "javascript:alert(1)", "-w", "acme", "--channel", "myspace",
        "--utm-source", "bad\x07value",
    )  # fmt: skip
    assert result.stdout == ""
    err = result.stderr
    assert "error: invalid input" in err
    assert re.search(r"^  url: .*http", err, re.M)
    assert re.search(r"^  channel: 'myspace' is not a channel of this workspace", err, re.M)
    assert re.search(r"^  utm_source: ", err, re.M)
    assert "Traceback" not in err

    bad = cli.fails("link", "create", "not a url", "-w", "acme")
    assert bad.stderr.startswith("error: invalid input\n  url: ")


def test_link_create_in_a_suspended_workspace_is_refused(cli: Cli) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme")
    cli.ok("workspace", "suspend", "acme")
    result = cli.fails("link", "create", PRODUCT, "-w", "acme")
    assert "suspended" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("link", "create", PRODUCT, "--workspace", "nope"),
        ("link", "list", "--workspace", "nope"),
        ("apikey", "create", "--workspace", "nope", "--scope", "links:read"),
        ("apikey", "list", "--workspace", "nope"),
        ("apikey", "revoke", "key_x", "--workspace", "nope"),
        ("workspace", "verify", "nope"),
        ("workspace", "suspend", "nope"),
        ("user", "create", "a@example.com", "--password", "0123456789", "--workspace", "nope"),
    ],
)
def test_unknown_workspace_is_a_clear_error(cli: Cli, args: tuple[str, ...]) -> None:
    result = cli.fails(*args)
    assert result.stderr.strip() == "error: no workspace with id or slug 'nope'"
    assert result.stdout == ""


def test_unsupported_database_scheme_exits_2(tmp_path: Path) -> None:
    cli = Cli(cli_env("mysql://x", tmp_path))
    for args in (("workspace", "list"), ("db", "current"), ("serve",)):
        result = cli.fails(*args, code=2)
        assert "HOPLINK_DATABASE_URL: unsupported scheme" in result.stderr


def _commands() -> list[tuple[str, ...]]:
    import typer.main

    group = typer.main.get_group(app)
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        sub = getattr(command, "commands", None)
        if sub:
            found += [(name, s) for s in sub]
        else:
            found.append((name,))
    return found


def test_every_command_has_help_with_an_example(tmp_path: Path) -> None:
    cli = Cli(cli_env("sqlite:///unused.db", tmp_path))
    commands = _commands()
    # A new command must join this check (and have an example). Issue 11 added 5:
    # integration list / add / journal / replay / test; issue 14 accounts 2 (user
    # reset-password, two-factor-off); destination health 4; short-domain 7 (issue 16);
    # orders 2 (issue 10).
    assert len(commands) == 34 + 5 + 2 + 4 + 7 + 2
    for command in commands:
        out = cli.ok(*command, "--help").stdout
        assert "$ hoplink" in out or "$ HOPLINK_" in out, command
        assert "--help" in out


def test_rule_add_list_set_delete_and_presets(cli: Cli, tmp_path: Path) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme", "--verified")
    out = cli.ok("link", "create", PRODUCT, "-w", "acme", "--code", "sale").stdout
    assert "sale" in out
    assert "No rules" in cli.ok("rule", "list", "sale", "-w", "acme").stdout
    rule = (
        '{"name": "TikTok app", "conditions": [{"type": "in_app", "values": ["tiktok"]}],'
        ' "action": {"type": "app", "preset": "amazon", "url": "https://www.amazon.com/dp/B1"}}'
    )
    added = cli.ok("rule", "add", "sale", rule, "-w", "acme").stdout
    assert "TikTok app" in added and "app:amazon" in added
    rule_id = re.search(r"rul_\w+", added)
    assert rule_id is not None
    first = tmp_path / "rules.json"
    first.write_text(
        '[{"conditions": [{"type": "country", "values": ["de"]}],'
        ' "action": {"type": "url", "url": "https://shop.example.com/de"}},'
        f' {{"id": "{rule_id.group(0)}", "conditions": [{{"type": "in_app"}}],'
        ' "action": {"type": "url", "url": "https://shop.example.com/app"}}]'
    )
    listing = cli.ok("rule", "set", "sale", f"@{first}", "-w", "acme").stdout
    assert listing.index("https://shop.example.com/de") < listing.index(rule_id.group(0))
    bad = cli.fails(
        "rule", "add", "sale", '{"conditions": [], "action": {"type": "url"}}', "-w", "acme"
    )
    assert "conditions: give at least one condition" in bad.stderr
    assert "action.url" in bad.stderr
    refused = cli.fails(
        "rule", "add", "sale",
        '{"conditions": [{"type": "os", "values": ["ios"]}],'
        ' "action": {"type": "url", "url": "http://192.168.1.1/"}}',
        "-w", "acme",
    )  # fmt: skip
    assert "private address" in refused.stderr
    assert "not readable JSON" in cli.fails("rule", "add", "sale", "{", "-w", "acme").stderr
    gone = cli.ok("rule", "delete", "sale", rule_id.group(0), "-w", "acme").stdout
    assert rule_id.group(0) not in gone and "/de" in gone
    assert "no link with the code" in cli.fails("rule", "list", "nope", "-w", "acme").stderr
    assert "com.amazon.mShop.android.shopping" in cli.ok("rule", "presets").stdout


def test_link_pass_ad_click_ids_is_set_at_create_and_changed_with_link_set(cli: Cli) -> None:
    cli.ok("workspace", "create", "Acme", "--slug", "acme", "--verified")
    cli.ok("link", "create", PRODUCT, "-w", "acme", "--code", "ads-on", "--pass-ad-click-ids")
    cli.ok("link", "create", PRODUCT, "-w", "acme", "--code", "ads-off")

    def flags(tx_codes: tuple[str, ...] = ("ads-on", "ads-off")) -> dict[str, tuple[str, bool]]:
        async def get(tx: Tx) -> dict[str, tuple[str, bool]]:
            ws = await tx.workspaces.find("acme")
            assert ws is not None
            links, _ = await tx.links(ws.id).search(LinkQuery())
            return {k.code: (k.id, k.pass_ad_click_ids) for k in links if k.code in tx_codes}

        return cli.query(get)

    before = flags()
    assert {code: on for code, (_, on) in before.items()} == {"ads-on": True, "ads-off": False}
    off_id = before["ads-off"][0]
    out = cli.ok("link", "set", off_id, "-w", "acme", "--pass-ad-click-ids").stdout
    assert "pass ad click ids  on" in out
    assert flags()["ads-off"][1] is True
    cli.ok("link", "set", off_id, "-w", "acme", "--no-pass-ad-click-ids")
    assert flags()["ads-off"][1] is False
    assert "nothing to change" in cli.fails("link", "set", off_id, "-w", "acme", code=2).output
    # Another workspace's link is not found from here.
    cli.ok("workspace", "create", "Other", "--slug", "other", "--verified")
    missing = cli.fails("link", "set", off_id, "-w", "other", "--pass-ad-click-ids")
    assert "no link with this id" in missing.stderr
