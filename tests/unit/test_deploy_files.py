"""The deployment files name only settings and commands that exist (a typo in a setting
name would be silently ignored by the container or unit it is in)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import typer.main
import yaml

from hoplink.cli.main import app
from hoplink.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTING = re.compile(r"\bHOPLINK_([A-Z0-9_]+)")
# Read by the packaging or shell around hoplink, not by Settings.
NOT_SETTINGS = {"CONFIG_FILE"}
FILES = [
    "docker-compose.yml",
    "Dockerfile",
    "deploy/env.example",
    "deploy/systemd/hoplink-web.service",
    "deploy/systemd/hoplink-worker@.service",
    "deploy/nginx/hoplink.conf",
    "deploy/caddy/Caddyfile",
    "docs/deploy.md",
    "docs/scaling.md",
]


def test_every_hoplink_variable_in_the_deployment_files_is_a_setting() -> None:
    known = {name.upper() for name in Settings.model_fields}
    for name in FILES:
        text = (ROOT / name).read_text()
        used = set(SETTING.findall(text)) - NOT_SETTINGS
        # Caddy's own placeholders for its upstream; documented in the Caddyfile.
        used -= {"UPSTREAM_HOST"}
        # Named in scaling.md as a setting that does not exist yet (a proposal).
        used -= {"DATABASE_READ_URL"}
        unknown = sorted(used - known)
        assert not unknown, f"{name}: {unknown}"


def _command(args: list[str]) -> click.Command:
    group: click.Command = typer.main.get_command(app)
    for word in args:
        if not isinstance(group, click.Group) or word.startswith("-"):
            break
        group = group.commands[word]
    return group


def test_compose_commands_exist_and_web_runs_without_its_embedded_worker() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("migrate", "web", "worker"):
        command = services[name]["command"]
        assert not isinstance(_command(command), click.Group), (name, command)
    assert services["migrate"]["command"] == ["db", "upgrade"]
    web_env = services["web"]["environment"]
    assert web_env["HOPLINK_EMBEDDED_WORKER"] == "false"
    # The only trusted proxy is Caddy's fixed address.
    caddy_ip = services["caddy"]["networks"]["default"]["ipv4_address"]
    assert web_env["HOPLINK_TRUSTED_PROXIES"] == f"{caddy_ip}/32"
    for name in ("web", "worker"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"


def test_systemd_units_start_existing_commands() -> None:
    for unit, expected in (
        ("hoplink-web.service", ["serve", "--workers", "2"]),
        ("hoplink-worker@.service", ["worker"]),
    ):
        text = (ROOT / "deploy/systemd" / unit).read_text()
        [line] = [ln for ln in text.splitlines() if ln.startswith("ExecStart=")]
        args = line.split()[1:]
        assert args == expected
        assert not isinstance(_command(args), click.Group)
        assert "NoNewPrivileges=yes" in text and "ProtectSystem=strict" in text
