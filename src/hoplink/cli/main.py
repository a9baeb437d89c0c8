"""The ``hoplink`` command: one typer app with a sub-command group per concept."""

from __future__ import annotations

from typing import Annotated

import typer

from hoplink import __version__
from hoplink.cli import apikeys, db, links, rules, users, workspaces
from hoplink.cli.serve import serve
from hoplink.cli.worker import worker

app = typer.Typer(
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
app.add_typer(rules.app, name="rule", rich_help_panel="Administer")
