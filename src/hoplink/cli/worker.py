"""``hoplink worker``: the click worker as a process of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hoplink.cli import _common
from hoplink.ingest.worker import run_worker


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
) -> None:
    """Consume clicks and write the click log and rollups until stopped (SIGTERM drains).

    The web server runs a worker in-process by default; run this instead when you
    want it separate, and start the web server with HOPLINK_EMBEDDED_WORKER=false.

    Example:

        $ HOPLINK_EMBEDDED_WORKER=false hoplink serve &
        $ hoplink worker
    """
    settings = _common.settings(data_dir=data_dir)
    try:
        _common.run(run_worker(settings, on_ready=_ready))
    except RuntimeError as exc:
        _common.fail(f"error: {exc}")
