"""The pinned connection still speaks TLS to the host name: SNI, Host and certificate check.

A throwaway CA (openssl) signs a certificate for tls.acme.test only; a TLS server on a
random loopback address, port 443, records the SNI name it was asked for. The fetcher
resolves the names through the test's own answers and connects to that address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio

from hoplink.net.addresses import IPAddress
from hoplink.net.fetch import FetchFailed, FetchLimits, SafeFetcher

OPENSSL = "/usr/bin/openssl"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True)  # noqa: S603 (fixed arguments)


def make_ca_and_leaf(where: Path) -> None:
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "1", "-subj", "/CN=hoplink test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=where,
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr",
        "-subj", "/CN=tls.acme.test",
        cwd=where,
    )  # fmt: skip
    (where / "leaf.ext").write_text("subjectAltName=DNS:tls.acme.test\n")
    _openssl(
        "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "leaf.pem", "-days", "1", "-extfile", "leaf.ext",
        cwd=where,
    )  # fmt: skip


@dataclass
class TlsSite:
    address: str
    ca: Path
    sni: list[str | None] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        self.hosts += [h.split(":", 1)[1].strip() for h in head if h.lower().startswith("host:")]
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecure")
        await writer.drain()
        writer.close()


@pytest_asyncio.fixture
async def site(tmp_path: Path) -> AsyncIterator[TlsSite]:
    make_ca_and_leaf(tmp_path)
    address = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    found = TlsSite(address, tmp_path / "ca.pem")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "leaf.key")
    context.sni_callback = lambda sock, name, ctx: found.sni.append(name)  # type: ignore[assignment,misc,return-value]
    server = await asyncio.start_server(found.handle, address, 443, ssl=context)
    try:
        yield found
    finally:
        server.close()
        await server.wait_closed()


def _fetcher(site: TlsSite) -> SafeFetcher:
    async def resolve(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address(site.address)]  # every test name points at the site

    trust = ssl.create_default_context(cafile=str(site.ca))
    limits = FetchLimits.build(allow_private=[f"{site.address}/32"], total_timeout=5)
    return SafeFetcher(limits, resolver=resolve, ssl_context=trust)


async def test_sni_host_and_certificate_use_the_name_while_the_ip_is_pinned(
    site: TlsSite,
) -> None:
    result = await _fetcher(site).get("https://tls.acme.test/token")
    assert (result.status, result.body, result.address) == (200, b"secure", site.address)
    assert site.sni == ["tls.acme.test"] and site.hosts == ["tls.acme.test"]


async def test_a_certificate_for_another_name_is_refused(site: TlsSite) -> None:
    with pytest.raises(FetchFailed) as exc:
        await _fetcher(site).get("https://other.acme.test/")
    assert exc.value.code == "tls" and "certificate" in exc.value.message.lower()
    assert site.hosts == []
