"""A local fake marketplace for the destination health tests.

One small HTTP/1.1 server on a random loopback address plays a marketplace's public host
(the tests' resolver answers that address for its name; the fetcher reaches it only
through the test allowance ``allow_networks``). Each product path has a behaviour the
test can change between rounds; every request is recorded (method, path, headers) with
the most requests that were ever in flight at once.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from hoplink.net.addresses import IPAddress


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Product:
    status: int = 200
    body: str = "<html><h1>Phone case</h1><button>Add to cart</button></html>"
    location: str | None = None
    delay: float = 0.0
    etag: str | None = None
    head_status: int | None = None  # answer HEAD with this instead (e.g. 405)


@dataclass
class Marketplace:
    address: str = ""
    port: int = 0
    products: dict[str, Product] = field(default_factory=dict)
    robots: str = "User-agent: *\nDisallow: /cart/\n"
    requests: list[Request] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    server: asyncio.Server | None = None

    def seen(self, path: str, method: str | None = None) -> list[Request]:
        return [
            r for r in self.requests if r.path == path and (method is None or r.method == method)
        ]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, target, _ = head[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in head[1:] if line)
            }
            self.requests.append(Request(method, target, headers))
            await self._answer(writer, method, target, headers)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.in_flight -= 1
            writer.close()

    async def _answer(
        self, writer: asyncio.StreamWriter, method: str, target: str, headers: dict[str, str]
    ) -> None:
        path = target.split("?", 1)[0]
        if path == "/robots.txt":
            return await _send(writer, 200, self.robots, method=method)
        product = self.products.get(path)
        if product is None:
            return await _send(writer, 200, "<html>Search results</html>", method=method)
        if product.delay:
            await asyncio.sleep(product.delay)
        extra: list[tuple[str, str]] = []
        if product.location:
            extra.append(("Location", product.location))
        if product.etag:
            extra.append(("ETag", product.etag))
            if headers.get("if-none-match") == product.etag:
                return await _send(writer, 304, "", method=method, extra=extra)
        status = product.status
        if method == "HEAD" and product.head_status is not None:
            status = product.head_status
        await _send(writer, status, product.body, method=method, extra=extra)


async def _send(
    writer: asyncio.StreamWriter,
    status: int,
    body: str,
    *,
    method: str,
    extra: list[tuple[str, str]] | None = None,
) -> None:
    data = body.encode()
    lines = [
        f"HTTP/1.1 {status} X",
        "Content-Type: text/html; charset=utf-8",
        f"Content-Length: {len(data) if status != 304 else 0}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in (extra or [])),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    if method != "HEAD" and status != 304:
        writer.write(data)
    await writer.drain()


def loopback() -> str:
    """A random loopback address away from the SSRF canaries (127.0.0.1-3)."""
    return f"127.{random.randint(10, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"


@asynccontextmanager
async def running(
    market: Marketplace, *, port: int = 80, tls: ssl.SSLContext | None = None
) -> AsyncIterator[Marketplace]:
    market.address = market.address or loopback()
    market.server = await asyncio.start_server(
        market.handle, market.address, port, ssl=tls, reuse_address=True
    )
    market.port = int(market.server.sockets[0].getsockname()[1])
    try:
        yield market
    finally:
        market.server.close()
        await market.server.wait_closed()


def self_signed(where: Path, name: str) -> ssl.SSLContext:
    """A server context with a self-signed certificate for ``name``: no client trusts it."""
    subprocess.run(  # noqa: S603 (fixed arguments)
        [
            "/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", "key.pem", "-out", "cert.pem", "-days", "1", "-subj", f"/CN={name}",
            "-addext", f"subjectAltName=DNS:{name}",
        ],
        cwd=where, check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(where / "cert.pem", where / "key.pem")
    return context


def resolver_for(names: dict[str, str]) -> Callable[[str, int], asyncio.Future[list[IPAddress]]]:
    """The test's DNS: exactly these names; any other name does not resolve."""
    import ipaddress

    async def resolve(host: str, port: int) -> list[IPAddress]:
        if host not in names:
            raise OSError(f"{host}: no such name in the test")
        return [ipaddress.ip_address(names[host])]

    return resolve  # type: ignore[return-value]
