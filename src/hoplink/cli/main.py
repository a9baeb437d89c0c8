"""The ``hoplink`` command: one typer app with a sub-command group per concept."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from hoplink import __version__, storable
from hoplink.cli import (
    apikeys,
    db,
    fx,
    health,
    integrations,
    links,
    orders,
    rules,
    short_domains,
    users,
    webhooks,
    workspaces,
)
from hoplink.cli.imports import import_links
from hoplink.cli.serve import serve
from hoplink.cli.worker import worker


class _CheckedGroup(TyperGroup):
    """Every argument must be storable text (``hoplink.storable``) before any command
    runs: a NUL or an undecodable byte (a lone surrogate, as Python sees argv) is a usage
    error (exit status 2) naming the option, never a database error half-way through a
    command."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's own click Context
        for i, arg in enumerate(args):
            found = storable.problem(arg, limit=storable.MAX_TEXT)
            if found is not None:
                before = args[i - 1] if i else ""
                name = before if before.startswith("--") else f"argument {i + 1}"
                if arg.startswith("--") and "=" in arg:
                    name = arg.split("=", 1)[0]
                typer.echo(f"Error: {name}: {found.message}", err=True)
                raise typer.Exit(2)
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_CheckedGroup,
    name="hoplink",
    help="hoplink: short links and click attribution for cross-border e-commerce.\n\n"
    "Settings come from HOPLINK_* environment variables (or the TOML file named by"
    " HOPLINK_CONFIG_FILE); see docs/configuration.md. Start with: hoplink serve",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    # A crash report must never print local variables: they can hold passwords and keys.
    pretty_exceptions_show_locals=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hoplink {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    pass


app.command(rich_help_panel="Run")(serve)
app.command(rich_help_panel="Run")(worker)
app.add_typer(db.app, name="db", rich_help_panel="Run")
app.add_typer(workspaces.app, name="workspace", rich_help_panel="Administer")
app.add_typer(users.app, name="user", rich_help_panel="Administer")
app.add_typer(apikeys.app, name="apikey", rich_help_panel="Administer")
app.add_typer(links.app, name="link", rich_help_panel="Administer")
app.command("import", rich_help_panel="Administer")(import_links)
app.add_typer(fx.app, name="fx", rich_help_panel="Administer")
app.add_typer(orders.app, name="orders", rich_help_panel="Administer")
app.add_typer(webhooks.app, name="webhook", rich_help_panel="Administer")
app.add_typer(integrations.app, name="integration", rich_help_panel="Administer")
app.add_typer(rules.app, name="rule", rich_help_panel="Administer")
app.add_typer(health.app, name="health", rich_help_panel="Administer")
app.add_typer(short_domains.app, name="short-domain", rich_help_panel="Administer")
