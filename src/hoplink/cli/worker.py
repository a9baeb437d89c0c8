"""``hoplink worker``: the click worker as a process of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hoplink.cli import _common
from hoplink.config import ConfigError
from hoplink.ingest.redis_stream import check_production_mode
from hoplink.ingest.worker import run_worker
from hoplink.observability import logs, metrics


def _ready() -> None:
    _common.out.print("hoplink worker running (SIGTERM or Ctrl+C drains and stops)")


def worker(
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Directory holding the click journal (<data dir>/journal) the web server writes."
            " Overrides HOPLINK_DATA_DIR (default ./hoplink-data).",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="Serve Prometheus metrics on this port (on HOPLINK_HOST, no token: keep it"
            " private). Overrides HOPLINK_WORKER_METRICS_PORT (default 0: off).",
            min=0,
            max=65535,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Consume clicks and write the click log and rollups until stopped (SIGTERM drains).

    The web server runs a worker in-process by default; run this instead when you
    want it separate, and start the web server with HOPLINK_EMBEDDED_WORKER=false.

    In production mode (HOPLINK_REDIS_URL and a PostgreSQL HOPLINK_DATABASE_URL) the
    web servers never run one: start one or more of these, on any machines. They share
    the Redis click stream through a consumer group; SIGTERM finishes the batch in hand.

    Example:

        $ HOPLINK_EMBEDDED_WORKER=false hoplink serve &
        $ hoplink worker
    """
    settings = _common.settings(data_dir=data_dir, worker_metrics_port=metrics_port)
    try:  # a configuration mistake first: production mode on SQLite has no file to find
        check_production_mode(settings)
    except ConfigError as exc:
        _common.fail(f"configuration error:\n{exc}", code=2)
    # Only serve and db upgrade create an installation; serve's own worker child is
    # started as ``python -m hoplink.ingest.child`` once serve has created it.
    _common.require_installation(settings)
    logs.configure(settings)
    port = settings.worker_metrics_port
    if port:
        try:
            metrics.serve_worker_metrics(host=settings.host, port=port)
        except OSError as exc:
            _common.fail(f"error: cannot serve metrics on port {port}: {exc}")
    try:
        _common.run(run_worker(settings, on_ready=_ready))
    except ConfigError as exc:
        _common.fail(f"configuration error:\n{exc}", code=2)
    except RuntimeError as exc:
        _common.fail(f"error: {exc}")
