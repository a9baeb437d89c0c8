"""``hoplink serve``: check the database, set up a fresh installation, run uvicorn."""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.panel import Panel
from rich.table import Table
from uvicorn.supervisors import Multiprocess

from hoplink.app import create_app, default_services
from hoplink.cli import _common
from hoplink.cli._common import out
from hoplink.cli.bootstrap import FirstRun, bootstrap
from hoplink.config import ConfigError, Settings
from hoplink.ingest.redis_stream import check_production_mode
from hoplink.observability import logs

# uvicorn waits this long for open requests on SIGTERM/Ctrl+C, then closes them.
_GRACEFUL_SECONDS = 15
_HEALTHCHECK_SECONDS = 30  # see _uvicorn_config


async def prepare(settings: Settings) -> FirstRun | None:
    """Everything ``serve`` does before listening; raises what would stop it.

    Opens the database like the app will (SQLite is migrated, an outdated
    PostgreSQL schema raises ``SchemaOutOfDate``), then, on embedded storage
    only, sets up a fresh installation.
    """
    async with _common.runtime(settings, create=True) as rt:
        if not settings.is_sqlite:
            return None
        async with rt.db.transaction() as tx:
            return await bootstrap(tx)


def listen_url(settings: Settings) -> str:
    host = settings.host
    if host in ("127.0.0.1", "0.0.0.0", "::", "localhost"):  # noqa: S104 - we only print it
        host = "localhost"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/"


class _Server(uvicorn.Server):
    """uvicorn's server, saying when it really accepts connections and when it has stopped."""

    def __init__(self, config: uvicorn.Config, url: str) -> None:
        super().__init__(config)
        self.url = url

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            out.print(
                f"hoplink is running at {self.url} (press Ctrl+C to stop)",
                soft_wrap=True,
                markup=False,
            )

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        out.print("hoplink stopped")


class _Processes(Multiprocess):
    """uvicorn's supervisor of N worker processes, saying when all of them serve."""

    def __init__(self, config: uvicorn.Config, url: str) -> None:
        self.url = url
        self.ready = False
        super().__init__(config, sockets=[config.bind_socket()])

    def init_processes(self) -> None:
        super().init_processes()
        timeout = self.config.timeout_worker_healthcheck + 30
        if all(p.wait_until_ready(timeout, self.should_exit) for p in self.processes):
            self.ready = True
            out.print(
                f"hoplink is running at {self.url} with {len(self.processes)} web processes"
                " (press Ctrl+C to stop)",
                soft_wrap=True,
                markup=False,
            )

    def run(self) -> None:
        super().run()
        out.print("hoplink stopped")


def _uvicorn_config(settings: Settings, app: Any = None, workers: int = 1) -> uvicorn.Config:
    def have(module: str) -> bool:
        return importlib.util.find_spec(module) is not None

    return uvicorn.Config(
        app if app is not None else _app(settings),
        factory=isinstance(app, str),
        workers=workers,
        host=settings.host,
        port=settings.port,
        loop="uvloop" if have("uvloop") else "asyncio",
        http="httptools" if have("httptools") else "h11",
        lifespan="on",
        # Access logs would write client IP addresses, which hoplink never stores.
        access_log=False,
        # uvicorn's own start/stop chatter repeats what we print; keep its warnings.
        log_level="debug" if settings.log_level == "debug" else "warning",
        # uvicorn's lines go through hoplink's handler (hoplink.observability.logs), in its format.
        log_config=None,
        server_header=False,
        # The app reads forwarding headers itself, from HOPLINK_TRUSTED_PROXIES only; uvicorn
        # must hand it the real socket peer.
        proxy_headers=False,
        timeout_graceful_shutdown=_GRACEFUL_SECONDS,
        # --workers N: uvicorn kills a web process that does not answer its supervisor's
        # ping within this many seconds. Its default (5) killed processes still starting on
        # a busy host (a fresh interpreter's imports took longer), again and again: a
        # deploy under load never came up (bench/RESULTS.md, issue 17).
        timeout_worker_healthcheck=_HEALTHCHECK_SECONDS,
    )


def _app(settings: Settings) -> Any:
    """The app of a single web process: its embedded click worker (if on) runs as a child
    process unless HOPLINK_WORKER_PROCESS=false."""
    child = settings.worker_process
    return create_app(settings, default_services(settings, child_process=child))


def _own_command() -> str:
    """``hoplink`` if that is on PATH, else the path this process was started as (for
    ./scripts/serve that is .venv/bin/hoplink), so the printed command runs as shown."""
    if shutil.which("hoplink"):
        return "hoplink"
    started_as = Path(sys.argv[0])
    if started_as.name == "hoplink" and started_as.exists():
        try:
            return shlex.quote(str(started_as.resolve().relative_to(Path.cwd())))
        except ValueError:
            return shlex.quote(str(started_as.resolve()))
    return "hoplink"


def print_first_run(first: FirstRun, *, url: str, env: dict[str, str]) -> None:
    """The one time the admin password is shown, and what to do next."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("Open", url)
    grid.add_row("API docs", f"{url}api/docs")
    grid.add_row("E-mail", first.email)
    grid.add_row("Password", first.password)
    grid.add_row("", "[yellow]shown only this once: store it now[/yellow]")
    grid.add_row("Workspace", f"{first.workspace.name} ({first.workspace.slug})")
    out.print(Panel(grid, title="hoplink is set up", title_align="left", expand=False))

    # Outside the panel and never wrapped by us, so they copy and paste as they are.
    prefix = "".join(f"{name}={shlex.quote(value)} " for name, value in env.items())
    slug = first.workspace.slug
    key_cmd = (
        f"{prefix}{_own_command()} apikey create --workspace {slug}"
        " --scope links:read --scope links:write --scope stats:read"
    )
    body = (
        '{"url": "https://shop.example.com/item/1005006", "utm_source": "facebook",'
        ' "utm_medium": "social", "utm_campaign": "spring-sale", "channel": "facebook"}'
    )
    curl_cmd = (
        f"curl -X POST {url}api/v1/links -H 'Authorization: Bearer <API key>'"
        f" -H 'Content-Type: application/json' -d '{body}'"
    )
    out.print("Next, create an API key (it is printed once):", style="bold")
    out.print(f"  {key_cmd}", soft_wrap=True, markup=False)
    out.print("then create a short link with it:", style="bold")
    out.print(f"  {curl_cmd}", soft_wrap=True, markup=False)
    out.print()


def serve(
    host: Annotated[
        str | None,
        typer.Option(
            help="Address to listen on; 0.0.0.0 accepts other machines."
            " Overrides HOPLINK_HOST (default 127.0.0.1).",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="TCP port to listen on. Overrides HOPLINK_PORT (default 8080).",
            min=1,
            max=65535,
            show_default=False,
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Directory for the embedded database and the secret key; created if missing."
            " Overrides HOPLINK_DATA_DIR (default ./hoplink-data).",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            help="Web processes sharing the port. More than 1 needs production mode"
            " (HOPLINK_REDIS_URL and a PostgreSQL HOPLINK_DATABASE_URL).",
            min=1,
            max=256,
        ),
    ] = 1,
) -> None:
    """Run hoplink: short-link redirects and the REST API on one port.

    On the first start with embedded storage (SQLite, no user yet) it creates the
    workspace "My Store" and an admin user, and prints their password once.
    On PostgreSQL the schema must be current: run `hoplink db upgrade` first.
    Stop it with Ctrl+C or SIGTERM; requests in flight are finished first.

    Examples:
    $ hoplink serve
    $ hoplink serve --host 0.0.0.0 --port 8080 --data-dir /var/lib/hoplink
    $ HOPLINK_DATABASE_URL=postgresql://hoplink@db/hoplink hoplink serve
    $ HOPLINK_DATABASE_URL=postgresql://hoplink@db/hoplink HOPLINK_REDIS_URL=redis://cache \
      hoplink serve --workers 4
    """
    settings = _common.settings(host=host, port=port, data_dir=data_dir)
    try:
        check_production_mode(settings)
    except ConfigError as exc:
        _common.fail(f"configuration error:\n{exc}", code=2)
    if workers > 1 and not settings.redis_url:
        _common.fail(
            "error: --workers needs production mode (HOPLINK_REDIS_URL and a PostgreSQL"
            " HOPLINK_DATABASE_URL). With embedded storage each data directory has one click"
            " journal with one writer process, and SQLite one writer: run one web process.",
            code=2,
        )
    logs.configure(settings)  # JSON or console lines, never an IP address (observability.logs)
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    first = _common.run(prepare(settings))
    url = listen_url(settings)
    if first is not None:
        # The next command must open this same database, from whatever directory it is run
        # in: the data directory in use (option, variable or default), made absolute.
        env = {"HOPLINK_DATA_DIR": str(settings.data_dir.resolve())}
        listen = {"HOPLINK_HOST": host, "HOPLINK_PORT": port}
        env |= {name: str(value) for name, value in listen.items() if value is not None}
        print_first_run(first, url=url, env=env)
    if workers > 1:
        # The processes read their settings from the environment, as `uvicorn --factory
        # hoplink.app:create_app_from_env` does: options given here must reach them.
        given = {"HOPLINK_DATA_DIR": data_dir, "HOPLINK_HOST": host, "HOPLINK_PORT": port}
        os.environ.update({name: str(v) for name, v in given.items() if v is not None})
        config = _uvicorn_config(settings, "hoplink.app:create_app_from_env", workers)
        processes = _Processes(config, url)
        processes.run()  # SIGTERM: each process finishes its requests and sends its clicks
        if not processes.ready:
            raise typer.Exit(1)
        return
    server = _Server(_uvicorn_config(settings), url)
    try:
        # After a graceful stop uvicorn raises the signal that asked for it again, so the
        # exit status says "terminated by SIGTERM" as supervisors expect.
        server.run()
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    if not server.started:
        raise typer.Exit(1)
