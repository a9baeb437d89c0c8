"""SSRF: the safe fetcher against private addresses, redirects and DNS rebinding.

Canary TCP listeners wait on loopback addresses (127.0.0.1, 127.0.0.2, 127.0.0.3 and ::1 on
ports 80 and 443, plus a random port); every payload must be refused or fail *without* a
single connection reaching a canary. A local HTTP server plays the "public" host
allowed.test (reachable only through the test allowance by name), so redirect chains start
somewhere the fetcher really talks to.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import pytest_asyncio

from hoplink.net.addresses import IPAddress
from hoplink.net.fetch import (
    FetchFailed,
    FetchLimits,
    FetchRefused,
    Resolver,
    SafeFetcher,
    system_resolve,
)

CANARY_HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3", "::1")
CANARY_PORTS = (80, 443)


@dataclass
class Canaries:
    hits: list[tuple[str, int]] = field(default_factory=list)
    servers: list[asyncio.Server] = field(default_factory=list)
    spare_port: int = 0  # a random port with a canary on 127.0.0.2

    async def listen(self, host: str, port: int) -> int:
        async def hit(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.hits.append((host, port))
            writer.close()

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server = await asyncio.start_server(hit, host, port, family=family, reuse_address=True)
        self.servers.append(server)
        return int(server.sockets[0].getsockname()[1])


@pytest_asyncio.fixture
async def canaries() -> AsyncIterator[Canaries]:
    found = Canaries()
    for host in CANARY_HOSTS:
        for port in CANARY_PORTS:
            await found.listen(host, port)
    found.spare_port = await found.listen("127.0.0.2", 0)
    try:
        yield found
    finally:
        for server in found.servers:
            server.close()
            await server.wait_closed()


@dataclass
class Origin:
    """A tiny HTTP/1.1 server on 127.0.0.1 playing the public host "allowed.test"."""

    port: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, Host header)
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        path = head[0].split(" ")[1]
        host = next((h.split(":", 1)[1].strip() for h in head if h.lower().startswith("host:")), "")
        self.requests.append((path, host))
        if path in self.redirects:
            status, body = "302 Found", b""
            extra = f"Location: {self.redirects[path]}\r\n"
        elif path.startswith("/chain/"):
            left = int(path.rsplit("/", 1)[1])
            status, body, extra = "302 Found", b"", f"Location: /chain/{left - 1}\r\n"
            if left == 0:
                status, body, extra = "200 OK", b"end of chain", ""
        elif path == "/big":
            status, body, extra = "200 OK", b"x" * 300_000, ""
        elif path == "/slow":
            await asyncio.sleep(5)
            status, body, extra = "200 OK", b"late", ""
        else:
            status, body, extra = "200 OK", b"hello from " + path.encode(), ""
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{extra}"
            "Connection: close\r\n\r\n".encode("latin-1")
            + body
        )
        await writer.drain()
        writer.close()


@pytest_asyncio.fixture
async def origin() -> AsyncIterator[Origin]:
    found = Origin()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.port = int(server.sockets[0].getsockname()[1])
    try:
        yield found
    finally:
        server.close()
        await server.wait_closed()


def resolver_with(names: dict[str, list[str]]) -> Resolver:
    """The system resolver, except for ``names`` (the test's own DNS answers)."""

    async def resolve(host: str, port: int) -> list[IPAddress]:
        if host in names:
            return [ipaddress.ip_address(a) for a in names[host]]
        return await system_resolve(host, port)

    return resolve


# Production configuration: no allowance at all.
PRODUCTION = FetchLimits.build(connect_timeout=2, total_timeout=5)

LITERALS = [
    # IPv4 loopback, unspecified and private, dotted and in every other WHATWG spelling
    "http://127.0.0.1/",
    "https://127.0.0.1/",
    "http://127.0.0.2/",
    "https://127.0.0.3/",
    "http://127.1/",
    "http://127.0.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0x7F.0.0.1/",
    "http://0177.0.0.1/",
    "http://017700000001/",
    "http://0x7f.1/",
    "http://127.0.0.1./",
    "http://2130706434/",
    "http://0x7f000002/",
    "http://0.0.0.0/",
    "http://0/",
    "http://0x0/",
    "https://0.0.0.0/",
    "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/",  # fullwidth digits
    "http://127\u30020\u30020\u30022/",  # ideographic full stops
    "http://%31%32%37.0.0.1/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/latest/meta-data/",
    "http://0xa9fea9fe/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    # IPv6 loopback, mapped, compatible, NAT64, link-local with zone, unique local
    "http://[::1]/",
    "https://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:2]/",
    "http://[::127.0.0.1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[fe80::1%25lo]/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://[::ffff:169.254.169.254]/",
    # names that resolve to loopback, credentials, odd schemes
    "http://localhost/",
    "https://localhost/",
    "http://localhost./",
    "http://user@127.0.0.1/",
    "http://allowed.test@127.0.0.2/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:80/_GET",
    "ftp://127.0.0.1/",
    "//127.0.0.2/",
    "http:\\\\127.0.0.2\\",
]


async def test_private_addresses_in_every_spelling_reach_no_canary(canaries: Canaries) -> None:
    fetcher = SafeFetcher(PRODUCTION)
    payloads = [
        *LITERALS,
        f"http://127.0.0.2:{canaries.spare_port}/",
        f"http://localhost:{canaries.spare_port}/",
    ]
    assert len(payloads) >= 50
    outcomes: dict[str, str] = {}
    for url in payloads:
        with pytest.raises((FetchRefused, FetchFailed)) as exc:
            await fetcher.get(url)
        outcomes[url] = exc.value.code
    await asyncio.sleep(0.05)  # let any connection that slipped through be accepted
    assert canaries.hits == []
    # Refused by policy before any connection, never "failed while connecting".
    assert set(outcomes.values()) <= {"private_address", "invalid_url", "port"}, outcomes


async def test_names_resolving_to_private_addresses_are_refused(canaries: Canaries) -> None:
    names = {
        "rebind.test": ["127.0.0.2"],
        "mixed.test": ["93.184.215.14", "127.0.0.2"],  # ANY private answer refuses
        "v6.test": ["2606:2800:220:1:248:1893:25c8:1946", "::1"],
        "mapped.test": ["::ffff:127.0.0.1"],
        "metadata.test": ["169.254.169.254"],
        "public.test": ["93.184.215.14"],
    }
    fetcher = SafeFetcher(PRODUCTION, resolver=resolver_with(names))
    for host in ("rebind.test", "mixed.test", "v6.test", "mapped.test", "metadata.test"):
        for scheme in ("http", "https"):
            with pytest.raises(FetchRefused) as exc:
                await fetcher.get(f"{scheme}://{host}/")
            assert exc.value.code == "private_address"
    for port in (22, 6379, 8080, canaries.spare_port):  # a public host, but not a web port
        with pytest.raises(FetchRefused) as exc:
            await fetcher.get(f"http://public.test:{port}/")
        assert exc.value.code == "port"
    await asyncio.sleep(0.05)
    assert canaries.hits == []


async def test_redirect_chains_from_an_allowed_host_to_private_ones_stop(
    canaries: Canaries, origin: Origin
) -> None:
    limits = FetchLimits.build(allow_private=["allowed.test"], connect_timeout=2, total_timeout=5)
    names = {"allowed.test": ["127.0.0.1"], "rebind.test": ["127.0.0.2"]}
    fetcher = SafeFetcher(limits, resolver=resolver_with(names))
    base = f"http://allowed.test:{origin.port}"
    targets = [
        "http://127.0.0.1/",
        "http://127.0.0.2/",
        "https://127.0.0.3/",
        "http://[::1]/",
        "http://localhost/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://rebind.test/",
        f"http://127.0.0.2:{canaries.spare_port}/",
        "//127.0.0.2/",
        "/\\127.0.0.2/",
        "file:///etc/passwd",
    ]
    for i, target in enumerate(targets):
        origin.redirects[f"/r{i}"] = target
        # Two hops: allowed -> allowed -> private.
        origin.redirects[f"/via{i}"] = f"/r{i}"
        for start in (f"/r{i}", f"/via{i}"):
            with pytest.raises(FetchRefused):
                await fetcher.get(base + start)
    await asyncio.sleep(0.05)
    assert canaries.hits == []
    # The allowed hops really were requested (so the refusals above came at the private hop),
    # and with the host name in the Host header although the connection went to 127.0.0.1.
    assert (f"/via{len(targets) - 1}", f"allowed.test:{origin.port}") in origin.requests
    assert len(origin.requests) == 3 * len(targets)


async def test_the_connection_goes_to_the_first_resolved_address(
    canaries: Canaries, origin: Origin
) -> None:
    """DNS rebinding: the first answer passes the check, a second one would point at a
    canary. The fetcher asks once and connects to what it checked."""
    calls: list[str] = []
    answers = iter([["127.0.0.1"], ["127.0.0.2"], ["127.0.0.2"]])

    async def rebinding(host: str, port: int) -> list[IPAddress]:
        calls.append(host)
        return [ipaddress.ip_address(a) for a in next(answers)]

    limits = FetchLimits.build(allow_private=["127.0.0.1/32"], connect_timeout=2, total_timeout=5)
    result = await SafeFetcher(limits, resolver=rebinding).get(
        f"http://rebind.test:{origin.port}/token"
    )
    assert (result.status, result.body, result.address) == (200, b"hello from /token", "127.0.0.1")
    assert calls == ["rebind.test"]
    assert origin.requests == [("/token", f"rebind.test:{origin.port}")]
    assert canaries.hits == []


async def test_redirects_are_capped_at_three(origin: Origin) -> None:
    limits = FetchLimits.build(allow_private=["127.0.0.1/32"], connect_timeout=2, total_timeout=5)
    fetcher = SafeFetcher(limits)
    ok = await fetcher.get(f"http://127.0.0.1:{origin.port}/chain/3")
    assert ok.body == b"end of chain" and len(ok.hops) == 4
    with pytest.raises(FetchFailed) as exc:
        await fetcher.get(f"http://127.0.0.1:{origin.port}/chain/4")
    assert exc.value.code == "too_many_redirects"


async def test_size_cap_and_total_timeout(origin: Origin) -> None:
    limits = FetchLimits.build(
        allow_private=["127.0.0.1/32"], connect_timeout=2, total_timeout=0.5, max_bytes=100_000
    )
    fetcher = SafeFetcher(limits)
    with pytest.raises(FetchFailed) as exc:
        await fetcher.get(f"http://127.0.0.1:{origin.port}/big")
    assert exc.value.code == "too_large"
    with pytest.raises(FetchFailed) as exc:
        await fetcher.get(f"http://127.0.0.1:{origin.port}/slow")
    assert exc.value.code == "timeout"


async def test_the_canaries_do_see_a_fetch_that_reaches_them(canaries: Canaries) -> None:
    """Control: with the canary's address allowed, the same fetcher does reach it."""
    limits = FetchLimits.build(allow_private=["127.0.0.2/32"], connect_timeout=2, total_timeout=5)
    with pytest.raises(FetchFailed):  # the canary hangs up without an answer
        await SafeFetcher(limits).get("http://127.0.0.2/")
    await asyncio.sleep(0.05)
    assert canaries.hits == [("127.0.0.2", 80)]


async def test_the_allowance_is_off_by_default(origin: Origin) -> None:
    with pytest.raises(FetchRefused):
        await SafeFetcher(PRODUCTION).get(f"http://127.0.0.1:{origin.port}/")
    assert origin.requests == []


async def test_proxy_variables_of_the_environment_are_ignored(
    canaries: Canaries, origin: Origin, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.2:80")  # a canary
    monkeypatch.setenv("NO_PROXY", "")
    limits = FetchLimits.build(allow_private=["127.0.0.1/32"], connect_timeout=2, total_timeout=5)
    result = await SafeFetcher(limits).get(f"http://127.0.0.1:{origin.port}/direct")
    assert result.body == b"hello from /direct"
    assert canaries.hits == []
