"""A tiny HTTP/1.1 server on a random loopback address, port 80, for the domain
verification tests: it answers the paths it is given (a well-known token) and 404s the
rest, and records what was asked (path and Host). Port 80 needs root, as on CI here."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class Site:
    """HTTP on <random loopback address>:80, answering the paths in ``bodies``."""

    address: str
    bodies: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Host)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        path = head[0].split(" ")[1]
        host = next((h.split(":", 1)[1].strip() for h in head if h.lower().startswith("host:")), "")
        self.requests.append((path, host))
        body = self.bodies.get(path)
        status = "200 OK" if body is not None else "404 Not Found"
        body = body if body is not None else b"not here"
        head_out = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
        writer.write(head_out.encode() + b"\r\n" + body)
        await writer.drain()
        writer.close()


@asynccontextmanager
async def site() -> AsyncIterator[Site]:
    address = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    found = Site(address)
    server = await asyncio.start_server(found.handle, address, 80)
    try:
        yield found
    finally:
        server.close()
        await server.wait_closed()
