"""``python -m hoplink.ingest.child``: the click worker ``hoplink serve`` runs as its child.

Not the ``hoplink worker`` command: that loads the whole CLI (the web app, the dashboard,
password hashing), which on a busy machine took longer to import than a load test lasts,
while the journal filled up. This loads only the worker. Arguments: ``--data-dir D
--parent-pid P``; everything else comes from the inherited HOPLINK_* environment.
See ``hoplink.ingest.process`` for the life cycle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from pathlib import Path

from hoplink.config import ConfigError, load_settings
from hoplink.ingest.worker import run_worker
from hoplink.observability import logs, metrics

READY_LINE = b"hoplink worker running"


def _ready() -> None:
    # The parent waits for this line before it may stop the child (see process.py). A
    # parent that was killed reads nothing any more: the worker must still run and drain.
    with contextlib.suppress(OSError):
        os.write(1, READY_LINE + b"\n")


def yield_cpu(niceness: int) -> None:
    """Make this process (and every thread it starts later) give way to the web process.

    The web server answers each redirect in a fraction of a millisecond and then sleeps; the
    worker runs a batch of tens to hundreds of milliseconds of CPU about once a second, its
    two threads (the event loop and aiosqlite's) waking each other per statement. On equal
    terms each such wake-up may preempt the web process mid-request, and a request waiting
    for a core behind a batch is the redirect's tail. SCHED_BATCH: its wake-ups preempt no
    one, while it keeps its share of the CPU; ``niceness`` lowers that share when both want
    the same core. Where the OS refuses either, the worker runs as it is.
    """
    with contextlib.suppress(OSError, AttributeError):  # not Linux: no SCHED_BATCH
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    if niceness > 0:
        with contextlib.suppress(OSError):
            os.nice(niceness)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hoplink.ingest.child")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--parent-pid", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        settings = load_settings(data_dir=args.data_dir)
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    yield_cpu(settings.worker_process_nice)  # before any thread starts: they inherit it
    logs.configure(settings)
    if settings.worker_metrics_port:
        metrics.serve_worker_metrics(host=settings.host, port=settings.worker_metrics_port)
    asyncio.run(run_worker(settings, on_ready=_ready, parent_pid=args.parent_pid))
    return 0


if __name__ == "__main__":
    sys.exit(main())
