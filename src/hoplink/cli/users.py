"""``hoplink user``: people who sign in to the dashboard."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Annotated

import typer

from hoplink.accounts import totp
from hoplink.accounts.models import User
from hoplink.accounts.recovery import issue_reset
from hoplink.accounts.sessions import end_sessions
from hoplink.accounts.users import add_member, create_user, normalize_email
from hoplink.cli import _common
from hoplink.cli._common import out
from hoplink.config import Settings
from hoplink.workspaces.models import Role, Workspace
from hoplink.workspaces.service import find_workspace

app = typer.Typer(help="Manage users (people who sign in to the dashboard).", no_args_is_help=True)


def _read_password(password: str | None, from_stdin: bool) -> str:
    if password is not None and from_stdin:
        raise typer.BadParameter("give either --password or --password-stdin, not both")
    if password is not None:
        return password
    stdin = sys.stdin
    if from_stdin:
        return stdin.readline().rstrip("\r\n")
    if not stdin.isatty():
        raise typer.BadParameter(
            "no terminal to ask for the password on; pipe it in with --password-stdin",
            param_hint="password",
        )
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


async def _create(
    settings: Settings,
    *,
    email: str,
    password: str,
    admin: bool,
    workspace_ref: str | None,
    role: Role,
) -> tuple[User, Workspace | None]:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        workspace = None
        if workspace_ref is not None:
            workspace = await find_workspace(tx, workspace_ref)
        user = await create_user(tx, email=email, password=password, is_platform_admin=admin)
        if workspace is not None:
            await add_member(tx, user=user, workspace=workspace, role=role, actor="cli")
        return user, workspace


@app.command()
def create(
    email: Annotated[
        str,
        typer.Argument(metavar="EMAIL", help="The user's e-mail address; they sign in with it."),
    ],
    password: Annotated[
        str | None,
        typer.Option(
            help="The password (at least 10 characters). Visible in your shell history:"
            " prefer the prompt or --password-stdin.",
            show_default=False,
        ),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin", help="Read the password from the first line of standard input."
        ),
    ] = False,
    admin: Annotated[
        bool,
        typer.Option(
            "--admin", help="Make the user a platform admin (operator of the whole installation)."
        ),
    ] = False,
    workspace: Annotated[
        str | None,
        typer.Option(help="Add the user to this workspace (slug or id).", show_default=False),
    ] = None,
    role: Annotated[
        Role | None,
        typer.Option(
            help="Their role in --workspace: owner, admin (manage the workspace), member"
            " (edit links) or viewer (read only). Default: member.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Create a user, optionally as a member of a workspace.

    Without --password or --password-stdin the password is asked for twice.

    Examples:
    $ hoplink user create alice@example.com --workspace my-store --role admin
    $ echo "$PASSWORD" | hoplink user create ops@example.com --admin --password-stdin
    """
    if role is not None and workspace is None:
        raise typer.BadParameter("--role needs --workspace", param_hint="--role")
    settings = _common.settings()
    secret = _read_password(password, password_stdin)
    user, ws = _common.run(
        _create(
            settings,
            email=email,
            password=secret,
            admin=admin,
            workspace_ref=workspace,
            role=role or Role.MEMBER,
        )
    )
    what = "platform admin" if user.is_platform_admin else "user"
    line = f"Created {what} {user.email} ({user.id})"
    if ws is not None:
        line += f", {(role or Role.MEMBER).value} of {ws.slug}"
    out.print(line, markup=False, soft_wrap=True)


async def _signout_all(settings: Settings, email: str) -> int:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        found = await tx.users.by_email(normalize_email(email))
        if found is None:
            _common.fail(f"no user with the e-mail address {email!r}")
        return await end_sessions(tx, user_id=found[0].id, actor="cli")


@app.command("signout-all")
def signout_all(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The user's e-mail address.")],
) -> None:
    """End every dashboard session of a user at once (a lost laptop, a stolen cookie).

    Their open dashboards ask them to sign in again at the next click, on every node.

    Example:
    $ hoplink user signout-all alice@example.com
    """
    ended = _common.run(_signout_all(_common.settings(), email))
    out.print(f"Ended {ended} session(s) of {email}", markup=False, soft_wrap=True)


async def _reset_link(settings: Settings, email: str, minutes: int) -> str:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        found = await tx.users.by_email(normalize_email(email))
        if found is None:
            _common.fail(f"no user with the e-mail address {email!r}")
        secret, _ = await issue_reset(
            tx, user=found[0], lifetime=timedelta(minutes=minutes), origin="cli", actor="cli"
        )
    return f"{settings.dashboard_url}/app/reset/{secret}"


@app.command("reset-password")
def reset_password(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The user's e-mail address.")],
    minutes: Annotated[
        int | None,
        typer.Option(
            min=5,
            max=1440,
            help="How long the link works. Default: HOPLINK_PASSWORD_RESET_MINUTES (30).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Print a one-time link with which the user sets a new password.

    Give it to them over a channel you trust. The link works once, expires, and replaces
    any earlier link; using it signs the account out everywhere. Links use
    HOPLINK_PUBLIC_URL (or the default domain) as their address.

    Example:
    $ hoplink user reset-password alice@example.com --minutes 60
    """
    settings = _common.settings()
    link = _common.run(_reset_link(settings, email, minutes or settings.password_reset_minutes))
    out.print(f"Password reset link for {email} (works once):", markup=False, soft_wrap=True)
    out.print(link, markup=False, soft_wrap=True)


async def _two_factor_off(settings: Settings, email: str) -> bool:
    async with _common.runtime(settings) as rt, rt.db.transaction() as tx:
        found = await tx.users.by_email(normalize_email(email))
        if found is None:
            _common.fail(f"no user with the e-mail address {email!r}")
        return await totp.disable(tx, user_id=found[0].id, actor="cli")


@app.command("two-factor-off")
def two_factor_off(
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="The user's e-mail address.")],
) -> None:
    """Turn a user's two-factor sign-in off (a lost phone and lost recovery codes).

    Check who is asking first: this leaves their password as the only factor until they
    turn it on again (workspaces that require it ask them to at once). Audited.

    Example:
    $ hoplink user two-factor-off alice@example.com
    """
    if _common.run(_two_factor_off(_common.settings(), email)):
        out.print(f"Two-factor sign-in of {email} is off", markup=False, soft_wrap=True)
    else:
        out.print(f"{email} had no two-factor sign-in", markup=False, soft_wrap=True)
