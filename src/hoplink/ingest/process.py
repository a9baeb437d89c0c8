"""The embedded click worker as a child process of ``hoplink serve`` (the default).

Why a process: as a task of the web process the worker shares its event loop and its GIL.
Under load each batch (tens of ms of CPU) holds up the redirects waiting behind it (p99 in
the hundreds of ms), and the redirects starve the worker (the backlog grows for as long as
the load lasts). The child runs ``hoplink worker``'s loop on the same data directory: it
consumes the click journal the web process writes — the journal hands off across processes (one
writer and one reader, each holding its flock) — on the other core. It is started as
``python -m hoplink.ingest.child``, which imports only the worker (fast to start).

The life cycle is the in-process worker's. The runtime starts this service last and stops
it first: on SIGTERM the web server finishes its requests, then ``stop`` sends the child
SIGTERM, the child drains the journal and exits, then the journal closes. A child that dies
on its own (a crash, the OOM killer, kill -9) is started again after a back-off; nothing is
lost, the journal keeps what was not acknowledged and the worker dedupes replays by click
id. The child runs in a session of its own (Ctrl+C in a terminal reaches only the web
server, which then stops the child in order) and watches its parent: if the web process
dies without stopping it (kill -9), the child drains what the journal holds and exits, so a
restarted ``serve`` can take the journal's reader lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys

from hoplink.config import Settings
from hoplink.ingest.child import READY_LINE
from hoplink.runtime import Runtime

log = logging.getLogger("hoplink.worker")

RESTART_MIN = 0.5  # seconds before the first restart of a child that died
RESTART_MAX = 30.0  # the back-off doubles up to this while the child keeps dying
STABLE_AFTER = 60.0  # a child that ran this long resets the back-off
STOP_GRACE = 30.0  # seconds the child may take to drain on stop, then it is killed


def worker_command(settings: Settings, *, parent_pid: int) -> list[str]:
    """The worker (``hoplink.ingest.child``) on this data directory, run by this Python."""
    return [
        sys.executable,
        "-m",
        "hoplink.ingest.child",
        "--data-dir",
        str(settings.data_dir),
        "--parent-pid",
        str(parent_pid),
    ]


class WorkerProcess:
    """A ``Service``: keeps one worker child process running beside the web app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.restarts = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._ready = asyncio.Event()  # the child has its signal handlers in place
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    async def start(self) -> None:
        await self._spawn()
        self._task = asyncio.get_running_loop().create_task(
            self._supervise(), name="click-worker-process"
        )

    async def _spawn(self) -> None:
        # The child reads the same HOPLINK_* environment; the data directory is passed
        # explicitly because ``serve --data-dir`` may have overridden it.
        env = {
            **os.environ,
            "HOPLINK_DATA_DIR": str(self.settings.data_dir),
            "PYTHONUNBUFFERED": "1",
        }
        self._ready.clear()
        self._proc = await asyncio.create_subprocess_exec(
            *worker_command(self.settings, parent_pid=os.getpid()),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,  # its "running" line; its logs go to stderr
            start_new_session=True,
        )
        self._reader = asyncio.get_running_loop().create_task(self._read_stdout(self._proc))
        log.info("click worker process %d started", self._proc.pid)

    async def _read_stdout(self, proc: asyncio.subprocess.Process) -> None:
        """Until the child says it runs, SIGTERM would kill it before it can drain (its
        handlers are not installed yet): ``stop`` waits for this line first."""
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            if READY_LINE in line:
                self._ready.set()
            else:
                sys.stdout.buffer.write(line)

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        delay = RESTART_MIN
        while True:
            assert self._proc is not None
            started = loop.time()
            code = await self._proc.wait()
            if self._stopping:
                return
            if loop.time() - started >= STABLE_AFTER:
                delay = RESTART_MIN
            log.error(
                "the click worker process exited (status %s); starting it again in %.1f s",
                code,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(RESTART_MAX, delay * 2)
            if self._stopping:
                return
            self.restarts += 1
            await self._spawn()

    async def stop(self) -> None:
        """SIGTERM the child and wait while it drains the journal (killed after
        ``STOP_GRACE`` seconds: what it did not acknowledge waits for the next start)."""
        self._stopping = True
        proc = self._proc
        if proc is not None and proc.returncode is None:
            try:
                async with asyncio.timeout(STOP_GRACE):
                    # A child still starting up would die of SIGTERM without draining.
                    ready = asyncio.ensure_future(self._ready.wait())
                    await asyncio.wait(
                        [ready, asyncio.ensure_future(proc.wait())],
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    ready.cancel()
                    if proc.returncode is None:
                        proc.send_signal(signal.SIGTERM)
                    await proc.wait()
            except TimeoutError:
                log.warning("the click worker process did not drain in %.0f s", STOP_GRACE)
                proc.kill()
                await proc.wait()
        for task in (self._task, self._reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._reader = None


def worker_process(runtime: Runtime) -> WorkerProcess:
    """A ``ServiceFactory``: the embedded worker as a child process (``hoplink serve``)."""
    if runtime.journal is None:
        raise RuntimeError("the embedded worker needs a serving runtime (with a journal)")
    return WorkerProcess(runtime.settings)
