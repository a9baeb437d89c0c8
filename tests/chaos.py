"""A TCP proxy of our own that tests put between hoplink and a real service, then cut.

The shared PostgreSQL and Redis must never go down for one test, so an outage test points
hoplink at ``ChaosProxy`` instead and calls ``cut()``: every open connection is reset and
every new one is reset as soon as it is accepted (what a client sees when the service is
gone), or, with ``cut("blackhole")``, accepted and left silent (packets dropped: only the
client's own timeouts end the wait). ``restore()`` forwards again on the same port.

    async with ChaosProxy("127.0.0.1", 5432) as proxy:
        url = f"postgresql://127.0.0.1:{proxy.port}/db"
        ...
        await proxy.cut()
        ...
        await proxy.restore()
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Literal, Self

Mode = Literal["forward", "reset", "blackhole"]
_CHUNK = 64 * 1024


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST (SO_LINGER 0), like a peer whose host went away, not a clean FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class ChaosProxy:
    def __init__(
        self, target_host: str, target_port: int, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.host = host
        self.listen_port = port  # 0: any free port; a closed proxy's port to listen there again
        self.mode: Mode = "forward"
        self.accepted = 0  # connections accepted, whatever the mode (for assertions)
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the proxy is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        """Listen on a free port, or the one given (see ``port``)."""
        self._server = await asyncio.start_server(self._accept, self.host, self.listen_port)

    async def cut(self, mode: Literal["reset", "blackhole"] = "reset") -> None:
        """Reset every open connection; new ones are reset (or, blackhole, left hanging)."""
        self.mode = mode
        for writer in list(self._conns):
            _reset(writer)
        self._conns.clear()
        await asyncio.sleep(0)  # let the pumps see their sockets closed

    async def restore(self) -> None:
        """Forward new connections again (hanging blackholed ones are reset)."""
        self.mode = "forward"
        for writer in list(self._conns):
            _reset(writer)
        self._conns.clear()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._conns):
            _reset(writer)
        self._conns.clear()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.mode == "reset":
            _reset(writer)
            return
        self._conns.add(writer)
        if self.mode == "blackhole":
            return  # kept open and silent until restore() or close()
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            self._conns.discard(writer)
            _reset(writer)
            return
        if self.mode != "forward" or writer not in self._conns:  # cut while connecting
            _reset(up_writer)
            self._conns.discard(writer)
            _reset(writer)
            return
        self._conns.add(up_writer)
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(src, dst, (writer, up_writer)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(
        self,
        src: asyncio.StreamReader,
        dst: asyncio.StreamWriter,
        pair: tuple[asyncio.StreamWriter, asyncio.StreamWriter],
    ) -> None:
        try:
            while data := await src.read(_CHUNK):
                dst.write(data)
                await dst.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            # One side gone: the other is closed too (a half-open pair would leak).
            for writer in pair:
                if writer in self._conns:
                    self._conns.discard(writer)
                    writer.close()
